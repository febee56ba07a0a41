// Migrations of the paper-card transition, eligibility certificates (資格確認書) and notices (0006_*).

import type { Kysely, Migration } from 'kysely';
import type { Types } from '../../migrations/types.ts';

export function transitionMigrations(t: Types): Record<string, Migration> {
  return {};
}
