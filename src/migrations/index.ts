// Numbered migrations, one set for both dialects. A migration never changes once released: add a
// new one. Types differ only where the dialects do (dates, instants, identity columns).

import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Database, Dialect } from '../platform/db.ts';

import { typesFor } from './types.ts';
import { cardMigrations } from '../cards/migrations.ts';
import { clinicalMigrations } from '../clinical/migrations.ts';
import { statisticsMigrations } from '../statistics/migrations.ts';
import { batchMigrations } from '../batch/migrations.ts';
import { transitionMigrations } from '../programmes/transition/migrations.ts';
import { itFundMigrations } from '../itfund/migrations.ts';
import { interfaceMigrations } from '../interface/migrations.ts';
import { personHistoryMigrations } from '../audit/person-history.ts';
import { eventsFileMigrations } from './events-file.ts';

function migrations(dialect: Dialect): Record<string, Migration> {
  const t = typesFor(dialect);
  return {
    '0001_registry_and_confirmation': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('system_secrets')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('created_at', t.instant, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('insurers')
          .addColumn('insurer_number', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('created_at', t.instant, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('facilities')
          .addColumn('code', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('prefecture', 'text', (c) => c.notNull())
          .addColumn('created_at', t.instant, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('facilities_prefecture').on('facilities').column('prefecture').execute();

        await db.schema
          .createTable('facility_monthly_claims')
          .addColumn('facility_code', 'text', (c) => c.notNull().references('facilities.code'))
          .addColumn('month', 'text', (c) => c.notNull())
          .addColumn('claims', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('facility_monthly_claims_pk', ['facility_code', 'month'])
          .execute();

        await db.schema
          .createTable('credentials')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('facility_code', 'text', (c) => c.references('facilities.code'))
          .addColumn('insurer_number', 'text', (c) => c.references('insurers.insurer_number'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('label', 'text')
          .addColumn('created_at', t.instant, (c) => c.notNull())
          .addColumn('revoked_at', t.instant)
          .execute();

        await db.schema
          .createTable('persons')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('link_key', 'text', (c) => c.unique())
          .addColumn('created_at', t.instant, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('memberships')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
          .addColumn('insurer_number', 'text', (c) => c.notNull().references('insurers.insurer_number'))
          .addColumn('symbol', 'text', (c) => c.notNull())
          .addColumn('number', 'text', (c) => c.notNull())
          .addColumn('branch', 'text', (c) => c.notNull())
          .addColumn('relationship', 'text', (c) => c.notNull())
          .addColumn('qualified_from', t.date, (c) => c.notNull())
          .addColumn('lost_on', t.date)
          .addColumn('loss_reason', 'text')
          .addColumn('loss_recorded_at', t.instant)
          .addColumn('loss_recorded_by', 'text')
          .addColumn('created_at', t.instant, (c) => c.notNull())
          .execute();
        // The card-number lookup: one unique index on the individual insured number.
        await db.schema
          .createIndex('memberships_card_numbers')
          .on('memberships')
          .columns(['insurer_number', 'symbol', 'number', 'branch'])
          .unique()
          .execute();
        await db.schema.createIndex('memberships_person').on('memberships').column('person_id').execute();

        await db.schema
          .createTable('eligibility_periods')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('membership_id', 'text', (c) => c.notNull().references('memberships.id'))
          .addColumn('valid_from', t.date, (c) => c.notNull())
          .addColumn('valid_until', t.date)
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('name_kana', 'text', (c) => c.notNull())
          .addColumn('birth_date', t.date, (c) => c.notNull())
          .addColumn('sex', 'text', (c) => c.notNull())
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('postal_code', 'text')
          .addColumn('copay_rate', 'integer', (c) => c.notNull())
          .addColumn('limit_category', 'text')
          .addColumn('paper_card_issued_on', t.date)
          .addColumn('paper_card_expires_on', t.date)
          .addColumn('recorded_at', t.instant, (c) => c.notNull())
          .addColumn('recorded_by', 'text')
          .execute();
        // "As of D" is one indexed lookup: the membership's periods ordered by start.
        await db.schema
          .createIndex('eligibility_periods_membership_from')
          .on('eligibility_periods')
          .columns(['membership_id', 'valid_from'])
          .execute();

        // On SQLite a plain INTEGER PRIMARY KEY (the rowid): AUTOINCREMENT would add a write to
        // sqlite_sequence to every group commit, and ids are never reused here (events are never deleted).
        const idColumn = dialect === 'postgres' ? 'bigserial' : 'integer';
        await db.schema
          .createTable('usage_events')
          .addColumn('id', idColumn as 'integer', (c) => c.primaryKey())
          .addColumn('confirmation_id', 'text', (c) => c.notNull().unique())
          .addColumn('occurred_at', t.instant, (c) => c.notNull())
          .addColumn('occurred_on', t.date, (c) => c.notNull())
          .addColumn('facility_code', 'text', (c) => c.notNull())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('result', 'text', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('insurer_number', 'text')
          .addColumn('person_id', 'text')
          .execute();
        await db.schema
          .createIndex('usage_events_facility_day')
          .on('usage_events')
          .columns(['facility_code', 'occurred_on'])
          .execute();
      },
    },
    // Later migrations live with their capability; names keep the global order.
    ...cardMigrations(t),
    ...clinicalMigrations(t),
    ...statisticsMigrations(t),
    ...batchMigrations(t),
    ...transitionMigrations(t),
    ...itFundMigrations(t),
    ...interfaceMigrations(t),
    ...personHistoryMigrations(t),
    ...eventsFileMigrations(t),
  };
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations() {
    return migrations(this.dialect);
  }
}

/** Applies the pending migrations up to and including `name` (tests of a later migration's data step). */
export async function migrateUpTo(db: Kysely<Database>, dialect: Dialect, name: string): Promise<void> {
  const { error } = await new Migrator({ db, provider: new StaticProvider(dialect) }).migrateTo(name);
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>, dialect: Dialect): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Used by tests to check the schema exists. */
export async function tableNames(db: Kysely<Database>): Promise<string[]> {
  const tables = await db.introspection.getTables();
  return tables.map((x) => x.name).sort();
}

