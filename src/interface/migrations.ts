// Migrations of the real interface (0008_*): idempotent request results, 照会番号 registrations and
// the face results' index.

import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { Types } from '../migrations/types.ts';

export function interfaceMigrations(t: Types): Record<string, Migration> {
  return {
    '0008_interface': {
      async up(db: Kysely<any>) {
        // A request sent with an Idempotency-Key: its result, stored in the transaction that did the
        // work (usage event, batch), so a retry is answered from here and never processed twice.
        await db.schema
          .createTable('interface_idempotency')
          .addColumn('facility_code', 'text', (c) => c.notNull())
          .addColumn('idempotency_key', 'text', (c) => c.notNull())
          .addColumn('file_name', 'text', (c) => c.notNull())
          .addColumn('result_file_name', 'text', (c) => c.notNull())
          .addColumn('result_bytes', t.dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
          .addColumn('created_at', t.instant, (c) => c.notNull())
          .addPrimaryKeyConstraint('interface_idempotency_pk', ['facility_code', 'idempotency_key'])
          .execute();
        // 照会番号: a facility's own patient id for a member (by card numbers), echoed in its results.
        await db.schema
          .createTable('interface_reference_numbers')
          .addColumn('facility_code', 'text', (c) => c.notNull())
          .addColumn('insurer_number', 'text', (c) => c.notNull())
          .addColumn('symbol', 'text', (c) => c.notNull())
          .addColumn('number', 'text', (c) => c.notNull())
          .addColumn('branch', 'text', (c) => c.notNull())
          .addColumn('reference_number', 'text', (c) => c.notNull())
          .addColumn('registered_at', t.instant, (c) => c.notNull())
          .addPrimaryKeyConstraint('interface_reference_numbers_pk', ['facility_code', 'insurer_number', 'symbol', 'number', 'branch'])
          .execute();
        // The face results of a facility after a cursor: its card confirmations in id order. Partial,
        // so the insurance-card events of the hot path do not pay for it.
        await db.schema
          .createIndex('usage_events_card_facility')
          .on('usage_events')
          .columns(['facility_code', 'id'])
          .where(sql.ref('method'), '=', sql.lit('my_number_card'))
          .execute();
      },
    },
  };
}
