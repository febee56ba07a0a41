// Migrations of batch inquiries (一括照会) as persistent jobs (0005_*, 0008b_*).

import { sql, type Kysely, type Migration } from 'kysely';
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
    // Rows and answers in blocks (see codec.ts): one table row per range of rows instead of one per row.
    '0008b_batch_blocks': {
      async up(db: Kysely<any>) {
        for (const [table, column] of [['batch_inquiry_input_blocks', 'input'], ['batch_inquiry_answer_blocks', 'answers']] as const) {
          await db.schema
            .createTable(table)
            .addColumn('reception_number', 'text', (c) => c.notNull())
            .addColumn('first_row', 'integer', (c) => c.notNull())
            .addColumn('row_count', 'integer', (c) => c.notNull())
            /** The encoded rows first_row … first_row + row_count - 1, joined by U+001E. */
            .addColumn(column, 'text', (c) => c.notNull())
            .addPrimaryKeyConstraint(`${table}_pk`, ['reception_number', 'first_row'])
            .execute();
        }
        // Rows of earlier batches move into blocks of 1,000 in the codec's JSON form (U+0001 + the
        // input's JSON; 'J' + the answer's JSON), so their jobs resume and their results stay readable.
        const agg = (expr: string) =>
          t.dialect === 'postgres' ? `string_agg(${expr}, chr(30) order by row_no)` : `group_concat(${expr}, char(30) order by row_no)`;
        const soh = t.dialect === 'postgres' ? 'chr(1)' : 'char(1)';
        await sql
          .raw(
            `insert into batch_inquiry_input_blocks (reception_number, first_row, row_count, input)
             select reception_number, min(row_no), count(*), ${agg(`${soh} || input`)} from batch_inquiry_rows
             group by reception_number, (row_no - 1) / 1000`,
          )
          .execute(db);
        await sql
          .raw(
            `insert into batch_inquiry_answer_blocks (reception_number, first_row, row_count, answers)
             select reception_number, min(row_no), count(*), ${agg(`'J' || answer`)} from batch_inquiry_results
             group by reception_number, (row_no - 1) / 1000`,
          )
          .execute(db);
        await db.schema.dropTable('batch_inquiry_results').execute();
        await db.schema.dropTable('batch_inquiry_rows').execute();
      },
    },
  };
}
