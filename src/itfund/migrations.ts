// Migrations of the medical IT support fund subsidy life cycle and ledger (0007_*).

import type { Kysely, Migration } from 'kysely';
import type { Types } from '../migrations/types.ts';

export function itFundMigrations(t: Types): Record<string, Migration> {
  return {
    '0007_itfund': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('itfund_cases')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('facility_code', 'text', (c) => c.notNull().unique().references('facilities.code'))
          .addColumn('category', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('paper', 'integer', (c) => c.notNull())
          .addColumn('readers_requested', 'integer')
          .addColumn('readers_provided', 'integer')
          .addColumn('reader_unit_cost_yen', 'integer')
          .addColumn('readers_delivered_on', t.date)
          .addColumn('work_completed_on', t.date)
          .addColumn('subsidy_applied_on', t.date)
          .addColumn('computed_subsidy_yen', 'integer')
          .addColumn('approved_yen', 'integer')
          .addColumn('decided_on', t.date)
          .addColumn('received_on', t.date)
          .addColumn('cancelled_on', t.date)
          .addColumn('cancel_reason', 'text')
          .addColumn('return_principal_yen', 'integer')
          .addColumn('return_due_on', t.date)
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('created_at', t.instant, (c) => c.notNull())
          .addColumn('updated_at', t.instant, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('itfund_cases_state').on('itfund_cases').column('state').execute();

        await db.schema
          .createTable('itfund_cost_items')
          .addColumn('case_id', 'text', (c) => c.notNull().references('itfund_cases.id'))
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('amount_yen', 'integer', (c) => c.notNull())
          .addColumn('units', 'integer')
          .addColumn('evidence', 'text', (c) => c.notNull())
          .addColumn('excluded_reason', 'text')
          .addPrimaryKeyConstraint('itfund_cost_items_pk', ['case_id', 'seq'])
          .execute();

        // Every state change: who, when, why. Append-only.
        await db.schema
          .createTable('itfund_events')
          .addColumn('case_id', 'text', (c) => c.notNull().references('itfund_cases.id'))
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('from_state', 'text', (c) => c.notNull())
          .addColumn('to_state', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('at', t.instant, (c) => c.notNull())
          .addColumn('on_date', t.date, (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('paper', 'integer', (c) => c.notNull())
          .addColumn('details', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('itfund_events_pk', ['case_id', 'seq'])
          .execute();

        await db.schema
          .createTable('itfund_return_payments')
          .addColumn('case_id', 'text', (c) => c.notNull().references('itfund_cases.id'))
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('paid_on', t.date, (c) => c.notNull())
          .addColumn('amount_yen', 'integer', (c) => c.notNull())
          .addColumn('recorded_by', 'text', (c) => c.notNull())
          .addColumn('recorded_at', t.instant, (c) => c.notNull())
          .addPrimaryKeyConstraint('itfund_return_payments_pk', ['case_id', 'seq'])
          .execute();
      },
    },
  };
}
