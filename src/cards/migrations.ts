// Migrations of the cards capability (0002*): patient sessions, cards, certificates, challenges.

import type { Kysely, Migration } from 'kysely';
import type { Types } from '../migrations/types.ts';

export function cardMigrations(t: Types): Record<string, Migration> {
  return {
    // A patient signs in with the card (challenge + PIN) and gets a short-lived session token, kept
    // hashed in credentials like every other token.
    '0002a_patient_sessions': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('credentials').addColumn('person_id', 'text').execute();
        await db.schema.alterTable('credentials').addColumn('expires_at', t.instant).execute();
      },
    },
  };
}
