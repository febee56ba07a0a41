// Synthetic population (onshi seed): deterministic for a given seed, realistic in shape. What it
// holds is made in seed-generator.ts; this writes it. On SQLite the whole seed is one transaction and
// the secondary indexes of the people tables are built after the load when those tables start empty
// (one sorted build instead of a million random B-tree inserts); a failed seed leaves nothing behind,
// not even dropped indexes. PostgreSQL commits a batch at a time as before.

import { SqliteAdapter, sql, type Kysely } from 'kysely';
import { insertFlat, type Database, type Db } from '../platform/db.ts';
import { todayJst } from '../platform/time.ts';
import { OnshiError } from '../platform/errors.ts';
import * as repo from './repository.ts';
import { PopulationGenerator, type PeopleBatch, membershipColumns, periodColumns, personColumns, type SeedSample } from './seed-generator.ts';

export type { SeedSample } from './seed-generator.ts';

export interface SeedOptions {
  people: number;
  facilities: number;
  seed: string | number;
  /** The date the population is "as of" (default: today in JST). */
  asOf?: string;
  /** People per write (a transaction on PostgreSQL). */
  batchSize?: number;
  onProgress?: (phase: 'facilities' | 'people', done: number, total: number) => void;
}

export interface SeedSummary {
  insurers: number;
  facilities: number;
  persons: number;
  memberships: number;
  periods: number;
  seconds: number;
  asOf: string;
  /** Card numbers to try, one of each kind of case. */
  samples: SeedSample[];
  /** The first facility codes (for demo credentials). */
  facilityCodes: string[];
}

const peopleTables = ['persons', 'memberships', 'eligibility_periods'] as const;

/**
 * SQLite, inside the seed's transaction: when the people tables are empty, drops their secondary
 * indexes and answers a function that creates them again from their own stored SQL text (same names,
 * same definitions, same order). Answers undefined when a table already has rows.
 */
async function deferPeopleIndexes(trx: Db): Promise<(() => Promise<void>) | undefined> {
  for (const table of peopleTables) {
    const { rows } = await sql<{ n: number }>`select exists (select 1 from ${sql.table(table)}) as n`.execute(trx);
    if (rows[0].n) return undefined;
  }
  const { rows: indexes } = await sql<{ name: string; sql: string }>`
    select name, sql from sqlite_master
    where type = 'index' and sql is not null and tbl_name in (${sql.join(peopleTables.map((t) => sql.lit(t)))})
    order by rowid`.execute(trx);
  for (const index of indexes) await sql`drop index ${sql.id(index.name)}`.execute(trx);
  return async () => {
    for (const index of indexes) await sql.raw(index.sql).execute(trx);
  };
}

/**
 * insertFlat in statements of a few sizes only: full ones, then the remainder in power-of-two row
 * counts. Each statement size is compiled and prepared once, so batches of any size cost no new
 * statement text (compiling a 1,000-row INSERT costs more than running it).
 */
async function insertInFixedSizes(trx: Db, table: keyof Database & string, columns: readonly string[], values: unknown[]): Promise<void> {
  const width = columns.length;
  const perStatement = Math.floor(MAX_PARAMETERS / width);
  const rows = values.length / width;
  let done = rows - (rows % perStatement);
  if (done > 0) await insertFlat(trx, table, columns, done === rows ? values : values.slice(0, done * width), MAX_PARAMETERS);
  for (let size = 1 << 30; done < rows; size >>= 1) {
    if (rows - done < size) continue;
    await insertFlat(trx, table, columns, values.slice(done * width, (done + size) * width), MAX_PARAMETERS);
    done += size;
  }
}
const MAX_PARAMETERS = 4_000;

/** Seeds an empty database. Refuses a database that already has members (nothing is mixed in). */
export async function seedPopulation(db: Kysely<Database>, options: SeedOptions): Promise<SeedSummary> {
  const started = performance.now();
  const asOf = options.asOf ?? todayJst();
  const existing = await repo.countMembers(db);
  if (existing > 0) throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors: [{ field: 'database', code: 'not_allowed', ja: 'database: 既に被保険者が登録されています。空のデータベースに投入してください。', en: `database already has ${existing} members; seed an empty database` }] });
  const population = new PopulationGenerator({ people: options.people, facilities: options.facilities, seed: options.seed, asOf });
  const createdAt = `${asOf}T00:00:00.000Z`;
  const batchSize = options.batchSize ?? 20_000;
  const counts = { persons: 0, memberships: 0, periods: 0 };
  const facilityCodes: string[] = [];

  const writeInsurers = (trx: Db) => repo.insertInsurers(trx, population.insurers.map((i) => ({ ...i, createdAt })));
  const writeFacilities = async (trx: Db, chunk: NonNullable<ReturnType<PopulationGenerator['nextFacilities']>>) => {
    await repo.insertFacilities(trx, chunk.rows.map((f) => ({ ...f, createdAt })));
    await repo.upsertMonthlyClaims(trx, chunk.claims);
    for (const f of chunk.rows) facilityCodes.push(f.code);
    options.onProgress?.('facilities', facilityCodes.length, options.facilities);
  };
  const writePeople = async (trx: Db, batch: PeopleBatch) => {
    await insertFlat(trx, 'persons', personColumns, batch.persons);
    await insertFlat(trx, 'memberships', membershipColumns, batch.memberships);
    await insertFlat(trx, 'eligibility_periods', periodColumns, batch.periods);
    count(batch);
  };
  const count = (batch: PeopleBatch) => {
    counts.persons += batch.people;
    counts.memberships += batch.memberships.length / membershipColumns.length;
    counts.periods += batch.periods.length / periodColumns.length;
    options.onProgress?.('people', counts.persons, options.people);
  };

  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    await db.transaction().execute(async (trx) => {
      const restoreIndexes = await deferPeopleIndexes(trx);
      await writeInsurers(trx);
      for (let chunk = population.nextFacilities(); chunk; chunk = population.nextFacilities()) await writeFacilities(trx, chunk);
      // Small batches: the generated values die young, which makes them cheap to collect.
      for (let batch = population.nextPeople(Math.min(batchSize, 2_000)); batch; batch = population.nextPeople(Math.min(batchSize, 2_000))) {
        await insertInFixedSizes(trx, 'persons', personColumns, batch.persons);
        await insertInFixedSizes(trx, 'memberships', membershipColumns, batch.memberships);
        await insertInFixedSizes(trx, 'eligibility_periods', periodColumns, batch.periods);
        count(batch);
      }
      await restoreIndexes?.();
    });
  } else {
    await db.transaction().execute(writeInsurers);
    for (let chunk = population.nextFacilities(); chunk; chunk = population.nextFacilities()) await db.transaction().execute((trx) => writeFacilities(trx, chunk));
    for (let batch = population.nextPeople(batchSize); batch; batch = population.nextPeople(batchSize)) await db.transaction().execute((trx) => writePeople(trx, batch));
  }

  return {
    insurers: population.insurers.length,
    facilities: facilityCodes.length,
    ...counts,
    seconds: Math.round(performance.now() - started) / 1000,
    asOf,
    samples: population.samples,
    facilityCodes: facilityCodes.slice(0, 5),
  };
}
