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
    // The issuer's records of cards (no My Number, no private key, no PIN in clear) and the
    // one-time challenges of the reader protocol and the patient sign-in (in the database so that
    // any node can answer the challenge another issued).
    '0002b_cards': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('cards')
          .addColumn('serial', 'text', (c) => c.primaryKey())
          .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
          .addColumn('certificate', 'text', (c) => c.notNull())
          .addColumn('not_after', t.instant, (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('pin_hash', 'text', (c) => c.notNull())
          .addColumn('pin_failures', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('pin_locked_at', t.instant)
          .addColumn('registered_at', t.instant)
          .addColumn('issued_at', t.instant, (c) => c.notNull())
          .addColumn('issued_by', 'text', (c) => c.notNull())
          .addColumn('status_changed_at', t.instant)
          .execute();
        await db.schema.createIndex('cards_person').on('cards').column('person_id').execute();

        await db.schema
          .createTable('card_challenges')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('audience', 'text', (c) => c.notNull())
          .addColumn('nonce', 'text', (c) => c.notNull())
          .addColumn('expires_at', t.instant, (c) => c.notNull())
          .addColumn('used_at', t.instant)
          .execute();
        await db.schema.createIndex('card_challenges_expires').on('card_challenges').column('expires_at').execute();
      },
    },
    // Stateless challenges (see challenges.ts): issuing one writes nothing; the table keeps only the
    // challenges already answered, so that a replay is refused on every node. A row can go once its
    // challenge has expired (expiry is checked first). The table of 0002b is no longer used; it is
    // left as it is (migrations are append-only) and a later migration may drop it.
    '0003b_card_used_challenges': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('card_used_challenges')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('expires_at', t.instant, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('card_used_challenges_expires').on('card_used_challenges').column('expires_at').execute();
      },
    },
    // A card confirmation's usage event names the consent answers given with it, so its face result
    // (src/interface/face.ts) shows exactly those; events from before keep null and are matched by time.
    '0012_usage_event_consent': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('usage_events').addColumn('consent_id', 'text').execute();
      },
    },
  };
}
