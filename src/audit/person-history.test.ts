// The person index's compact entries (migration 0011) on SQLite: the rebuild from the 0010 layout,
// the keys, and exact reads whatever the index holds.
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../platform/db.ts';
import { migrateToLatest, migrateUpTo } from '../migrations/index.ts';
import { indexPersonHistory, personRefs } from './person-history.ts';

const ALICE = '0193a4c2-7f00-7000-8000-00000000a11c';
const BOB = '0193a4c2-7f00-7000-8000-000000000b0b';
/** An id that is not a UUID (imported from elsewhere): its key is the id itself. */
const LEGACY = 'legacy-person-7';

let handle: DatabaseHandle | undefined;
afterEach(async () => {
  await handle?.close();
  handle = undefined;
});

let nextEvent = 0;
async function usageEvent(db: DatabaseHandle['db'], personId: string, method: string, result = 'valid'): Promise<number> {
  const n = ++nextEvent;
  const r = await sql<{ id: number }>`insert into usage_events (confirmation_id, occurred_at, occurred_on, facility_code, method, result, person_id)
    values (${`c-${n}`}, ${`2026-12-01T00:00:${String(n).padStart(2, '0')}.000Z`}, '2026-12-01', '1310000019', ${method}, ${result}, ${personId}) returning id`.execute(db);
  return r.rows[0].id;
}
async function accessEntry(db: DatabaseHandle['db'], personId: string): Promise<number> {
  const n = ++nextEvent;
  const r = await sql<{ seq: number }>`insert into access_log (id, occurred_at, actor, role, facility_code, person_id, what, basis_kind, basis_id)
    values (${`a-${n}`}, ${`2026-12-01T00:01:${String(n).padStart(2, '0')}.000Z`}, 'staff', 'doctor', '1310000019', ${personId}, 'medication', 'consent', 'k') returning seq`.execute(db);
  return r.rows[0].seq;
}
async function consent(db: DatabaseHandle['db'], personId: string): Promise<number> {
  const n = ++nextEvent;
  await sql`insert into consents (id, person_id, facility_code, scopes, method, granted_at, expires_at)
    values (${`k-${n}`}, ${personId}, '1310000019', 'medication', 'reader', '2026-12-01T00:02:00.000Z', '2026-12-02T00:02:00.000Z')`.execute(db);
  const r = await sql<{ r: number }>`select rowid as r from consents where id = ${`k-${n}`}`.execute(db);
  return r.rows[0].r;
}

/** The refs of `personId`'s rows of each source, through personRefs (index + tail). */
async function refsOf(db: DatabaseHandle['db'], personId: string) {
  const usage = await db.selectFrom('usage_events as u').select('u.id').where('u.person_id', '=', personId).where(personRefs('usage', 'u', personId)).orderBy('u.id').execute();
  const access = await db.selectFrom('access_log as l').select('l.seq').where('l.person_id', '=', personId).where(personRefs('access', 'l', personId)).orderBy('l.seq').execute();
  const consents = await sql<{ r: number }>`select c.rowid as r from consents c where c.person_id = ${personId} and ${personRefs('consent', 'c', personId)} order by 1`.execute(db);
  return { usage: usage.map((r) => r.id), access: access.map((r) => r.seq), consent: consents.rows.map((r) => r.r) };
}

async function entries(db: DatabaseHandle['db']) {
  const r = await sql<{ person: string; source: number; ref: number }>`select case when typeof(person) = 'blob' then 'x' || hex(person) else person end as person, source, ref from person_history order by 1, 2, 3`.execute(db);
  return r.rows.map((e) => `${e.person}/${e.source}/${e.ref}`);
}

const key = (uuid: string) => `x${uuid.replaceAll('-', '').toUpperCase()}`;

describe('person_history (SQLite)', () => {
  it('0011 rebuilds the 0010 entries as compact keys, leaves the tail after the marks alone, and reads stay exact', async () => {
    handle = openDatabase('sqlite::memory:');
    const db = handle.db;
    await migrateUpTo(db, 'sqlite', '0008b_batch_blocks');
    await sql`pragma foreign_keys = off`.execute(db);
    // Before 0010: rows its backfill indexes.
    const a1 = await usageEvent(db, ALICE, 'insurance_card');
    const aCard = await usageEvent(db, ALICE, 'my_number_card');
    await usageEvent(db, ALICE, 'insurance_card', 'invalid');
    const b1 = await usageEvent(db, BOB, 'insurance_card');
    const l1 = await usageEvent(db, LEGACY, 'insurance_card');
    const aAccess = await accessEntry(db, ALICE);
    const bConsent = await consent(db, BOB);
    await migrateUpTo(db, 'sqlite', '0010_person_history');
    // After 0010, before 0011: the tail.
    const a2 = await usageEvent(db, ALICE, 'insurance_card');
    const aAccess2 = await accessEntry(db, ALICE);
    // Alice's card event is not indexed (nor found through personRefs): the audit service shows its access-log entry instead.
    const expectedAlice = { usage: [a1, a2], access: [aAccess, aAccess2], consent: [] as number[] };
    expect(aCard).toBeGreaterThan(a1);
    await migrateToLatest(db, 'sqlite');

    // Indexed: the backfilled rows, without the card path's event (its access-log entry stands for it) and the invalid one.
    expect(await entries(db)).toEqual([`${key(BOB)}/1/${b1}`, `${key(BOB)}/3/${bConsent}`, `${key(ALICE)}/1/${a1}`, `${key(ALICE)}/2/${aAccess}`, `${LEGACY}/1/${l1}`].sort());
    // Reads: the indexed rows and the tail after the marks.
    expect(await refsOf(db, ALICE)).toEqual(expectedAlice);
    expect(await refsOf(db, BOB)).toEqual({ usage: [b1], access: [], consent: [bConsent] });
    expect(await refsOf(db, LEGACY)).toEqual({ usage: [l1], access: [], consent: [] });

    // The indexer takes the tail; the reads do not change at any point.
    for (;;) {
      const r = indexPersonHistory(db, 1);
      expect(await refsOf(db, ALICE)).toEqual(expectedAlice);
      expect(await refsOf(db, LEGACY)).toEqual({ usage: [l1], access: [], consent: [] });
      if (!r || r.taken === 0) break;
    }
    expect(await entries(db)).toContain(`${key(ALICE)}/1/${a2}`);
    expect(await entries(db)).toContain(`${key(ALICE)}/2/${aAccess2}`);
  });
});

