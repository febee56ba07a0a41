// Migrations of consent, clinical information, disaster mode and audit (0003_*).

import type { Kysely, Migration } from 'kysely';
import type { Types } from '../migrations/types.ts';

export function clinicalMigrations(t: Types): Record<string, Migration> {
  return {};
}
