import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestContext, storeKinds, type TestContext } from '../../test/support/stores.ts';
import { seedPopulation, type SeedSummary } from './seed.ts';
import { withInsurerCheckDigit } from './rules.ts';

const AS_OF = '2025-06-01';
const PEOPLE = 2_000;

/** The secondary indexes of the people tables as SQLite stores them (name and definition). */
async function peopleIndexes(ctx: TestContext): Promise<{ name: string; sql: string }[]> {
  const { rows } = await sql<{ name: string; sql: string }>`
    select name, sql from sqlite_master
    where type = 'index' and sql is not null and tbl_name in ('persons', 'memberships', 'eligibility_periods')
    order by name`.execute(ctx.database.db);
  return rows;
}

describe.each(storeKinds)('seedPopulation on %s', (kind) => {
  let a: TestContext;
  let b: TestContext;
  let summary: SeedSummary;
  let other: SeedSummary;
  let freshIndexes: { name: string; sql: string }[] = [];

  beforeAll(async () => {
    a = await createTestContext(kind);
    b = await createTestContext(kind);
    if (kind === 'sqlite') freshIndexes = await peopleIndexes(a);
    summary = await seedPopulation(a.database.db, { people: PEOPLE, facilities: 30, seed: 'seed-test', asOf: AS_OF, batchSize: 700 });
    other = await seedPopulation(b.database.db, { people: PEOPLE, facilities: 30, seed: 'seed-test', asOf: AS_OF });
  }, 120_000);
  afterAll(async () => {
    await a?.dispose();
    await b?.dispose();
  });

  it('is deterministic: the same seed gives the same population, whatever the batch size', async () => {
    const strip = ({ seconds: _s, ...rest }: SeedSummary) => rest;
    expect(strip(other)).toEqual(strip(summary));
    expect(summary.persons).toBe(PEOPLE);
    for (const table of ['persons', 'memberships', 'eligibility_periods'] as const) {
      const rows = (ctx: TestContext) => ctx.database.db.selectFrom(table).selectAll().orderBy('id').execute();
      const [x, y] = [await rows(a), await rows(b)];
      expect(x.length).toBeGreaterThanOrEqual(PEOPLE);
      expect(y).toEqual(x);
    }
    expect(summary.memberships).toBeGreaterThan(PEOPLE);
    expect(summary.periods).toBeGreaterThan(summary.memberships);
  });

  it('keeps its shapes: valid check digits, households sharing a card number with their own branches, lost eligibility', async () => {
    const db = a.database.db;
    const members = await db.selectFrom('memberships').select(['insurer_number', 'symbol', 'number', 'branch', 'lost_on', 'person_id']).execute();
    for (const m of members) expect(withInsurerCheckDigit(m.insurer_number.slice(0, -1))).toBe(m.insurer_number);
    const households = new Map<string, Set<string>>();
    for (const m of members) {
      const key = `${m.insurer_number}|${m.symbol}|${m.number}`;
      households.set(key, (households.get(key) ?? new Set()).add(m.branch));
    }
    expect([...households.values()].some((branches) => branches.size >= 3)).toBe(true);
    expect(members.some((m) => m.lost_on !== null)).toBe(true);
    const people = new Map<string, number>();
    for (const m of members) people.set(m.person_id, (people.get(m.person_id) ?? 0) + 1);
    expect([...people.values()].some((n) => n >= 2)).toBe(true); // job changes
    const labels = summary.samples.map((s) => s.label);
    expect(labels).toEqual(expect.arrayContaining(['dependant (家族), valid', 'eligibility lost (資格喪失)', 'expired paper card (有効期限切れ)', 'municipal NHI, 6-digit insurer (国保), valid']));
  });

  it('refuses a database that already has members', async () => {
    await expect(seedPopulation(a.database.db, { people: 10, facilities: 1, seed: 'again', asOf: AS_OF })).rejects.toMatchObject({ code: 'ONSHI_REGISTRY_INVALID_FIELDS' });
  });

  if (kind === 'sqlite') {
    it('leaves the indexes it builds after the load exactly as the migrations made them', async () => {
      expect(freshIndexes.length).toBeGreaterThanOrEqual(4);
      expect(await peopleIndexes(a)).toEqual(freshIndexes);
      const { rows } = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(a.database.db);
      expect(rows).toEqual([{ integrity_check: 'ok' }]);
    });

    it('is one transaction: a seed that fails part way leaves nothing, and the indexes stay', async () => {
      const c = await createTestContext(kind);
      try {
        const before = await peopleIndexes(c);
        const failing = seedPopulation(c.database.db, {
          people: PEOPLE,
          facilities: 5,
          seed: 'fails',
          asOf: AS_OF,
          onProgress: (phase, done) => {
            if (phase === 'people' && done > 500) throw new Error('stopped');
          },
        });
        await expect(failing).rejects.toThrow('stopped');
        expect(await peopleIndexes(c)).toEqual(before);
        const count = await c.database.db.selectFrom('persons').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        expect(Number(count.n)).toBe(0);
        const again = await seedPopulation(c.database.db, { people: 100, facilities: 5, seed: 'fails', asOf: AS_OF });
        expect(again.persons).toBe(100);
      } finally {
        await c.dispose();
      }
    });
  }
});
