// Migrations of batch inquiries (一括照会) as persistent jobs (0005_*).

import type { Kysely, Migration } from 'kysely';
import type { Types } from '../migrations/types.ts';

export function batchMigrations(t: Types): Record<string, Migration> {
  return {
    '0005_batch': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('batch_inquiries')
          .addColumn('reception_number', 'text', (c) => c.primaryKey())
          .addColumn('facility_code', 'text', (c) => c.notNull())
          // queued → running → done; a restarted server resumes every job not done.
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('total_rows', 'integer', (c) => c.notNull())
          .addColumn('processed_rows', 'integer', (c) => c.notNull())
          .addColumn('valid_rows', 'integer', (c) => c.notNull())
          .addColumn('invalid_rows', 'integer', (c) => c.notNull())
          .addColumn('error_rows', 'integer', (c) => c.notNull())
          .addColumn('as_of', t.date, (c) => c.notNull())
          /** JSON: what the XML face echoes (ArbitraryFileIdentifier, CharacterCodeIdentifier, …). */
          .addColumn('meta', 'text')
          .addColumn('created_at', t.instant, (c) => c.notNull())
          .addColumn('started_at', t.instant)
          .addColumn('finished_at', t.instant)
          .execute();
        await db.schema.createIndex('batch_inquiries_status').on('batch_inquiries').column('status').execute();
        await db.schema.createIndex('batch_inquiries_facility').on('batch_inquiries').columns(['facility_code', 'created_at']).execute();

        await db.schema
          .createTable('batch_inquiry_rows')
          .addColumn('reception_number', 'text', (c) => c.notNull())
          .addColumn('row_no', 'integer', (c) => c.notNull())
          /** JSON: the row as submitted (card numbers, birth date, asOf; the XML search block). */
          .addColumn('input', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('batch_inquiry_rows_pk', ['reception_number', 'row_no'])
          .execute();

        await db.schema
          .createTable('batch_inquiry_results')
          .addColumn('reception_number', 'text', (c) => c.notNull())
          .addColumn('row_no', 'integer', (c) => c.notNull())
          .addColumn('result', 'text', (c) => c.notNull())
          /** JSON: the confirmation answer without its id (nothing is recorded for a batch row). */
          .addColumn('answer', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('batch_inquiry_results_pk', ['reception_number', 'row_no'])
          .execute();
      },
    },
  };
}
