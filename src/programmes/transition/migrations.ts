// Migrations of the paper-card transition, eligibility certificates (資格確認書) and notices (0006_*).

import type { Kysely, Migration } from 'kysely';
import type { Types } from '../../migrations/types.ts';

export function transitionMigrations(t: Types): Record<string, Migration> {
  return {
    '0006_transition': {
      async up(db: Kysely<any>) {
        // 資格確認書: one row per certificate issued; never deleted (revoked_on ends one early).
        await db.schema
          .createTable('eligibility_certificates')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('number', 'text', (c) => c.notNull().unique())
          .addColumn('membership_id', 'text', (c) => c.notNull().references('memberships.id'))
          .addColumn('insurer_number', 'text', (c) => c.notNull())
          .addColumn('issued_on', t.date, (c) => c.notNull())
          .addColumn('valid_until', t.date, (c) => c.notNull())
          .addColumn('revoked_on', t.date)
          .addColumn('origin', 'text', (c) => c.notNull())
          .addColumn('request_reason', 'text')
          // The issue-due job's idempotency key (membership + the day the paper card stops); null on request.
          .addColumn('automatic_key', 'text', (c) => c.unique())
          .addColumn('job_id', 'text')
          .addColumn('issued_at', t.instant, (c) => c.notNull())
          .addColumn('issued_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('eligibility_certificates_membership').on('eligibility_certificates').column('membership_id').execute();
        await db.schema.createIndex('eligibility_certificates_insurer_issued').on('eligibility_certificates').columns(['insurer_number', 'issued_on']).execute();

        await db.schema
          .createTable('certificate_serials')
          .addColumn('insurer_number', 'text', (c) => c.primaryKey())
          .addColumn('last_serial', 'integer', (c) => c.notNull())
          .execute();

        // Restartable jobs: the cursor moves in the same transaction as the rows a chunk writes.
        await db.schema
          .createTable('transition_jobs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('job_key', 'text', (c) => c.notNull().unique())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('params', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('cursor', 'text')
          .addColumn('examined', 'integer', (c) => c.notNull())
          .addColumn('written', 'integer', (c) => c.notNull())
          .addColumn('started_at', t.instant, (c) => c.notNull())
          .addColumn('finished_at', t.instant)
          .execute();
      },
    },
  };
}
