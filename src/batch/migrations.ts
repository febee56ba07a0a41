// Migrations of batch inquiries (一括照会) as persistent jobs (0005_*).

import type { Kysely, Migration } from 'kysely';
import type { Types } from '../migrations/types.ts';

export function batchMigrations(t: Types): Record<string, Migration> {
  return {};
}
