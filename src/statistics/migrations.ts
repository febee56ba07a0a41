// Migrations of usage statistics, aggregates and programmes (0004_*).

import type { Kysely, Migration } from 'kysely';
import type { Types } from '../migrations/types.ts';

export function statisticsMigrations(t: Types): Record<string, Migration> {
  return {};
}
