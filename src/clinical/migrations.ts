// Migrations of consent, clinical information, disaster mode and audit (0003_*).

import { sql, type Kysely, type Migration } from 'kysely';
import type { Types } from '../migrations/types.ts';

export function clinicalMigrations(t: Types): Record<string, Migration> {
  return {
    '0003_clinical': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('consents')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
          .addColumn('facility_code', 'text', (c) => c.notNull().references('facilities.code'))
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('attested_by', 'text')
          .addColumn('granted_at', t.instant, (c) => c.notNull())
          .addColumn('expires_at', t.instant, (c) => c.notNull())
          .execute();
        // require(): the consents of one person at one facility, newest first.
        await db.schema.createIndex('consents_person_facility').on('consents').columns(['person_id', 'facility_code', 'granted_at']).execute();

        await db.schema
          .createTable('medications')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
          .addColumn('dispensed_on', t.date, (c) => c.notNull())
          .addColumn('facility_code', 'text', (c) => c.notNull())
          .addColumn('drug_code', 'text', (c) => c.notNull())
          .addColumn('drug_name', 'text', (c) => c.notNull())
          .addColumn('quantity', 'real', (c) => c.notNull())
          .addColumn('unit', 'text', (c) => c.notNull())
          .addColumn('days', 'integer')
          .addColumn('claim_ref', 'text')
          .addColumn('loaded_at', t.instant, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('medications_person_date').on('medications').columns(['person_id', 'dispensed_on']).execute();

        await db.schema
          .createTable('checkups')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
          .addColumn('exam_date', t.date, (c) => c.notNull())
          .addColumn('insurer_number', 'text', (c) => c.notNull())
          .addColumn('items', 'text', (c) => c.notNull())
          .addColumn('judgement', 'text', (c) => c.notNull())
          .addColumn('loaded_at', t.instant, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('checkups_person_date').on('checkups').columns(['person_id', 'exam_date']).execute();

        await db.schema
          .createTable('disasters')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('starts_at', t.instant, (c) => c.notNull())
          .addColumn('ends_at', t.instant, (c) => c.notNull())
          .addColumn('declared_by', 'text', (c) => c.notNull())
          .addColumn('declared_at', t.instant, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('disaster_scope')
          .addColumn('disaster_id', 'text', (c) => c.notNull().references('disasters.id'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('disaster_scope_pk', ['disaster_id', 'kind', 'value'])
          .execute();
        // Which disasters cover a facility: by its prefecture or its code.
        await db.schema.createIndex('disaster_scope_value').on('disaster_scope').columns(['kind', 'value']).execute();

        // Disaster-mode search by name and birth date: the birth date narrows to a handful of rows.
        await db.schema.createIndex('eligibility_periods_birth_date').on('eligibility_periods').column('birth_date').execute();

        const seqColumn = t.dialect === 'postgres' ? 'bigserial' : 'integer';
        await db.schema
          .createTable('access_log')
          .addColumn('seq', seqColumn as 'integer', (c) => c.primaryKey())
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('occurred_at', t.instant, (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('facility_code', 'text')
          .addColumn('person_id', 'text', (c) => c.notNull())
          .addColumn('what', 'text', (c) => c.notNull())
          .addColumn('basis_kind', 'text', (c) => c.notNull())
          .addColumn('basis_id', 'text')
          .addColumn('detail', 'text')
          .execute();
        await db.schema.createIndex('access_log_person_time').on('access_log').columns(['person_id', 'occurred_at']).execute();
        await db.schema.createIndex('access_log_facility_time').on('access_log').columns(['facility_code', 'occurred_at']).execute();

        // Append-only in the store itself: no route can change it, and neither can a stray query.
        if (t.dialect === 'postgres') {
          await sql`create function access_log_append_only() returns trigger language plpgsql as $$
            begin raise exception 'access_log is append-only'; end $$`.execute(db);
          await sql`create trigger access_log_no_update before update or delete on access_log
            for each statement execute function access_log_append_only()`.execute(db);
          await sql`create trigger access_log_no_truncate before truncate on access_log
            for each statement execute function access_log_append_only()`.execute(db);
        } else {
          await sql`create trigger access_log_no_update before update on access_log
            begin select raise(abort, 'access_log is append-only'); end`.execute(db);
          await sql`create trigger access_log_no_delete before delete on access_log
            begin select raise(abort, 'access_log is append-only'); end`.execute(db);
        }
      },
    },
    // The patient's access history also lists the confirmations that returned their record
    // (AuditService.history): one person's usage events, newest first, without a scan. One more
    // index entry per usage event on the confirmation path.
    '0003a_usage_events_person': {
      async up(db: Kysely<any>) {
        await db.schema.createIndex('usage_events_person_time').on('usage_events').columns(['person_id', 'occurred_at']).execute();
      },
    },
  };
}
