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
    // The ledger's recorded facts, the tax-deduction reports and the bulk applications (取りまとめ者).
    '0007b_itfund_bulk': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('itfund_ledger_property')
          .addColumn('case_id', 'text', (c) => c.primaryKey().references('itfund_cases.id'))
          .addColumn('useful_life_years', 'integer', (c) => c.notNull())
          .addColumn('disposed_on', t.date)
          .addColumn('recorded_by', 'text', (c) => c.notNull())
          .addColumn('recorded_at', t.instant, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('itfund_tax_reports')
          .addColumn('case_id', 'text', (c) => c.notNull().references('itfund_cases.id'))
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('deduction_yen', 'integer', (c) => c.notNull())
          .addColumn('reported_on', t.date, (c) => c.notNull())
          .addColumn('due_on', t.date, (c) => c.notNull())
          .addColumn('recorded_by', 'text', (c) => c.notNull())
          .addColumn('recorded_at', t.instant, (c) => c.notNull())
          .addPrimaryKeyConstraint('itfund_tax_reports_pk', ['case_id', 'seq'])
          .execute();

        await db.schema
          .createTable('itfund_organisations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('representative_facility_code', 'text', (c) => c.notNull().references('facilities.code'))
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('registered_by', 'text', (c) => c.notNull())
          .addColumn('registered_at', t.instant, (c) => c.notNull())
          .addColumn('confirmed_by', 'text')
          .addColumn('confirmed_at', t.instant)
          .addColumn('version', 'integer', (c) => c.notNull())
          .execute();

        // A facility belongs to at most one organisation for the fund.
        await db.schema
          .createTable('itfund_organisation_members')
          .addColumn('organisation_id', 'text', (c) => c.notNull().references('itfund_organisations.id'))
          .addColumn('facility_code', 'text', (c) => c.notNull().unique().references('facilities.code'))
          .addPrimaryKeyConstraint('itfund_organisation_members_pk', ['organisation_id', 'facility_code'])
          .execute();

        await db.schema
          .createTable('itfund_bulk_applications')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('organisation_id', 'text', (c) => c.notNull().references('itfund_organisations.id'))
          .addColumn('submitted_on', t.date, (c) => c.notNull())
          .addColumn('submitted_by', 'text', (c) => c.notNull())
          .addColumn('submitted_at', t.instant, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('itfund_bulk_items')
          .addColumn('bulk_id', 'text', (c) => c.notNull().references('itfund_bulk_applications.id'))
          .addColumn('case_id', 'text', (c) => c.notNull().references('itfund_cases.id'))
          .addPrimaryKeyConstraint('itfund_bulk_items_pk', ['bulk_id', 'case_id'])
          .execute();
      },
    },
    // Evidence files of the subsidy application (receipts, invoices, photographs), their bytes kept in the database.
    '0007c_itfund_evidence': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('itfund_evidence')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('case_id', 'text', (c) => c.notNull().references('itfund_cases.id'))
          .addColumn('file_name', 'text', (c) => c.notNull())
          .addColumn('content_type', 'text', (c) => c.notNull())
          .addColumn('size_bytes', 'integer', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('bytes', t.dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
          .addColumn('uploaded_by', 'text', (c) => c.notNull())
          .addColumn('uploaded_at', t.instant, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('itfund_evidence_case').on('itfund_evidence').column('case_id').execute();
      },
    },
  };
}
