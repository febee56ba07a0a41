// Migrations of usage statistics, aggregates and programmes (0004_*).

import { sql, type Kysely, type Migration } from 'kysely';
import type { Types } from '../migrations/types.ts';

export function statisticsMigrations(t: Types): Record<string, Migration> {
  return {
    '0004_statistics': {
      async up(db: Kysely<any>) {
        // One row per facility and month: rolled up from usage events (source 'events') or imported
        // from published-style aggregates (source 'import', authoritative for its facility-month).
        await db.schema
          .createTable('facility_month_stats')
          .addColumn('facility_code', 'text', (c) => c.notNull())
          .addColumn('month', 'text', (c) => c.notNull())
          .addColumn('confirmations', 'integer', (c) => c.notNull())
          .addColumn('card_uses', 'integer', (c) => c.notNull())
          .addColumn('card_users', 'integer', (c) => c.notNull())
          .addColumn('claims', 'integer')
          .addColumn('source', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('facility_month_stats_pk', ['facility_code', 'month'])
          // On SQLite the rows live in primary-key order: a page of facilities reads its months
          // sequentially instead of one table lookup per index entry.
          .$call((b) => (t.dialect === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
          .execute();
        await db.schema.createIndex('facility_month_stats_month').on('facility_month_stats').columns(['month', 'facility_code']).execute();

        await db.schema
          .createTable('insurer_month_stats')
          .addColumn('insurer_number', 'text', (c) => c.notNull())
          .addColumn('month', 'text', (c) => c.notNull())
          .addColumn('confirmations', 'integer', (c) => c.notNull())
          .addColumn('card_uses', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('insurer_month_stats_pk', ['insurer_number', 'month'])
          .execute();

        // How far the event rollup has read (usage event ids only grow).
        await db.schema
          .createTable('stats_rollup_state')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('last_event_id', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', t.instant, (c) => c.notNull())
          .execute();

        // Facility-months touched by new events, recomputed whole on the next rollup.
        await db.schema
          .createTable('stats_dirty_months')
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('month', 'text', (c) => c.notNull())
          .addColumn('first_day', t.date, (c) => c.notNull())
          .addColumn('next_first_day', t.date, (c) => c.notNull())
          .addPrimaryKeyConstraint('stats_dirty_months_pk', ['kind', 'key', 'month'])
          .execute();

        // What a facility attests for the incentive, and the free readers it received.
        await db.schema
          .createTable('facility_programme_profiles')
          .addColumn('facility_code', 'text', (c) => c.primaryKey())
          .addColumn('poster', 'integer', (c) => c.notNull())
          .addColumn('ask_patients', 'integer', (c) => c.notNull())
          .addColumn('flyers', 'integer', (c) => c.notNull())
          .addColumn('free_readers', 'integer', (c) => c.notNull())
          .addColumn('updated_at', t.instant, (c) => c.notNull())
          .execute();

        // Target rates an insurer sets for months, in hundredths of a percent.
        await db.schema
          .createTable('insurer_targets')
          .addColumn('insurer_number', 'text', (c) => c.notNull())
          .addColumn('month', 'text', (c) => c.notNull())
          .addColumn('target_basis_points', 'integer', (c) => c.notNull())
          .addColumn('updated_at', t.instant, (c) => c.notNull())
          .addPrimaryKeyConstraint('insurer_targets_pk', ['insurer_number', 'month'])
          .execute();
      },
    },
  };
}
