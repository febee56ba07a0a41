// Migrations of the medical IT support fund subsidy life cycle and ledger (0007_*).

import type { Kysely, Migration } from 'kysely';
import type { Types } from '../migrations/types.ts';

export function itFundMigrations(t: Types): Record<string, Migration> {
  return {};
}
