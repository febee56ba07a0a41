// Registry storage. Every function takes the database (or a transaction) first.

import type { Db, EligibilityPeriodsTable, MembershipsTable } from '../platform/db.ts';
import { chunks, flatChunks, insertFlat, insertMany, runStatement } from '../platform/db.ts';
import type { PeriodRecord } from '../confirmation/rules.ts';
import { CompiledQuery, SqliteAdapter, sql } from 'kysely';

export interface InsurerRow {
  insurerNumber: string;
  name: string;
  kind: string;
  createdAt: string;
}

export interface FacilityRow {
  code: string;
  name: string;
  type: string;
  prefecture: string;
  createdAt: string;
}

export async function insertInsurer(db: Db, row: InsurerRow): Promise<void> {
  await db.insertInto('insurers').values({ insurer_number: row.insurerNumber, name: row.name, kind: row.kind, created_at: row.createdAt }).execute();
}

export async function findInsurer(db: Db, insurerNumber: string): Promise<InsurerRow | undefined> {
  const r = await db.selectFrom('insurers').selectAll().where('insurer_number', '=', insurerNumber).executeTakeFirst();
  return r && { insurerNumber: r.insurer_number, name: r.name, kind: r.kind, createdAt: r.created_at };
}

export async function listInsurers(db: Db): Promise<InsurerRow[]> {
  const rows = await db.selectFrom('insurers').selectAll().orderBy('insurer_number').execute();
  return rows.map((r) => ({ insurerNumber: r.insurer_number, name: r.name, kind: r.kind, createdAt: r.created_at }));
}

export async function insertInsurers(db: Db, rows: readonly InsurerRow[]): Promise<void> {
  for (const chunk of chunks(rows, 4)) {
    await db
      .insertInto('insurers')
      .values(chunk.map((r) => ({ insurer_number: r.insurerNumber, name: r.name, kind: r.kind, created_at: r.createdAt })))
      .execute();
  }
}

export async function insertFacilities(db: Db, rows: readonly FacilityRow[]): Promise<void> {
  for (const chunk of chunks(rows, 5)) {
    await db
      .insertInto('facilities')
      .values(chunk.map((r) => ({ code: r.code, name: r.name, type: r.type, prefecture: r.prefecture, created_at: r.createdAt })))
      .execute();
  }
}

export async function findFacility(db: Db, code: string): Promise<FacilityRow | undefined> {
  const r = await db.selectFrom('facilities').selectAll().where('code', '=', code).executeTakeFirst();
  return r && { code: r.code, name: r.name, type: r.type, prefecture: r.prefecture, createdAt: r.created_at };
}

export async function listFacilities(db: Db, filter: { prefecture?: string; type?: string; limit: number; after?: string }): Promise<FacilityRow[]> {
  let q = db.selectFrom('facilities').selectAll().orderBy('code').limit(filter.limit);
  if (filter.prefecture) q = q.where('prefecture', '=', filter.prefecture);
  if (filter.type) q = q.where('type', '=', filter.type);
  if (filter.after) q = q.where('code', '>', filter.after);
  const rows = await q.execute();
  return rows.map((r) => ({ code: r.code, name: r.name, type: r.type, prefecture: r.prefecture, createdAt: r.created_at }));
}

export async function upsertMonthlyClaims(db: Db, rows: readonly { facilityCode: string; month: string; claims: number }[]): Promise<void> {
  for (const chunk of chunks(rows, 3)) {
    await db
      .insertInto('facility_monthly_claims')
      .values(chunk.map((r) => ({ facility_code: r.facilityCode, month: r.month, claims: r.claims })))
      .onConflict((oc) => oc.columns(['facility_code', 'month']).doUpdateSet((eb) => ({ claims: eb.ref('excluded.claims') })))
      .execute();
  }
}

export async function monthlyClaims(db: Db, facilityCode: string): Promise<{ month: string; claims: number }[]> {
  return db.selectFrom('facility_monthly_claims').select(['month', 'claims']).where('facility_code', '=', facilityCode).orderBy('month').execute();
}

// Persons, memberships and eligibility periods.

export async function insertPersons(db: Db, rows: readonly { id: string; linkKey: string | null; createdAt: string }[]): Promise<void> {
  await insertMany(db, 'persons', rows.map((r) => ({ id: r.id, link_key: r.linkKey, created_at: r.createdAt })));
}

export async function findPersonByLinkKey(db: Db, linkKey: string): Promise<string | undefined> {
  const r = await db.selectFrom('persons').select('id').where('link_key', '=', linkKey).executeTakeFirst();
  return r?.id;
}

/**
 * Whether the insurer holds or held (an ended membership counts) a membership of this person: the
 * only persons an insurer may name by id. Others join a person through the My Number link key.
 */
export async function insurerHeldPerson(db: Db, insurerNumber: string, personId: string): Promise<boolean> {
  const r = await db.selectFrom('memberships').select('id').where('person_id', '=', personId).where('insurer_number', '=', insurerNumber).limit(1).executeTakeFirst();
  return r !== undefined;
}

export async function insertMemberships(db: Db, rows: readonly MembershipsTable[]): Promise<void> {
  await insertMany(db, 'memberships', rows);
}

export async function insertPeriods(db: Db, rows: readonly EligibilityPeriodsTable[]): Promise<void> {
  await insertMany(db, 'eligibility_periods', rows);
}

export interface MembershipRow {
  memberId: string;
  personId: string;
  insurerNumber: string;
  symbol: string;
  number: string;
  branch: string;
  relationship: string;
  qualifiedFrom: string;
  lostOn: string | null;
  lossReason: string | null;
  createdAt: string;
}

function toMembership(r: Pick<MembershipsTable, 'id' | 'person_id' | 'insurer_number' | 'symbol' | 'number' | 'branch' | 'relationship' | 'qualified_from' | 'lost_on' | 'loss_reason' | 'created_at'>): MembershipRow {
  return {
    memberId: r.id,
    personId: r.person_id,
    insurerNumber: r.insurer_number,
    symbol: r.symbol,
    number: r.number,
    branch: r.branch,
    relationship: r.relationship,
    qualifiedFrom: r.qualified_from,
    lostOn: r.lost_on,
    lossReason: r.loss_reason,
    createdAt: r.created_at,
  };
}

export interface StoredPeriod extends PeriodRecord {
  id: string;
  recordedAt: string;
  recordedBy: string | null;
}

export function toPeriod(r: EligibilityPeriodsTable): StoredPeriod {
  return {
    id: r.id,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    name: r.name,
    nameKana: r.name_kana,
    birthDate: r.birth_date,
    sex: r.sex,
    address: r.address,
    postalCode: r.postal_code,
    copayRate: r.copay_rate,
    limitCategory: r.limit_category,
    paperCardIssuedOn: r.paper_card_issued_on,
    paperCardExpiresOn: r.paper_card_expires_on,
    recordedAt: r.recorded_at,
    recordedBy: r.recorded_by,
  };
}

export async function findMembership(db: Db, memberId: string): Promise<MembershipRow | undefined> {
  const r = await db.selectFrom('memberships').selectAll().where('id', '=', memberId).executeTakeFirst();
  return r && toMembership(r);
}

export async function findMembershipByNumbers(db: Db, key: { insurerNumber: string; symbol: string; number: string; branch: string }): Promise<MembershipRow | undefined> {
  const r = await db
    .selectFrom('memberships')
    .selectAll()
    .where('insurer_number', '=', key.insurerNumber)
    .where('symbol', '=', key.symbol)
    .where('number', '=', key.number)
    .where('branch', '=', key.branch)
    .executeTakeFirst();
  return r && toMembership(r);
}

/**
 * Lookups of a bulk import go in chunks of this many values, each chunk padded to the full size by
 * repeating its last value (harmless in IN lists): every chunk then runs the same statement, compiled
 * once per dialect.
 */
const LOOKUP_CHUNK = 450;

function padded<T>(chunk: readonly T[]): T[] {
  const out = chunk.slice();
  while (out.length < LOOKUP_CHUNK) out.push(chunk[chunk.length - 1]);
  return out;
}

function* lookupChunks<T>(values: readonly T[]): Generator<T[]> {
  for (let i = 0; i < values.length; i += LOOKUP_CHUNK) yield padded(values.slice(i, i + LOOKUP_CHUNK));
}

/** The keys among `keys` that already exist (bulk duplicate check). Keys are `symbol\tnumber\tbranch`. */
export async function existingMembershipKeys(db: Db, insurerNumber: string, keys: readonly { symbol: string; number: string; branch: string }[]): Promise<Set<string>> {
  const found = new Set<string>();
  if (keys.length === 0 || !(await anyMembershipInRange(db, insurerNumber, keys))) return found;
  const pairs = [...new Map(keys.map((k) => [`${k.symbol}\t${k.number}`, k])).values()];
  // (symbol, number) IN ((?, ?), …): both dialects walk the card-number index for each pair. A bare
  // `number IN (…)` could use only the insurer prefix and scanned the whole insurer per chunk.
  for (const chunk of lookupChunks(pairs)) {
    const parameters: string[] = [insurerNumber];
    for (const k of chunk) parameters.push(k.symbol, k.number);
    const rows = await runStatement<{ symbol: string; number: string; branch: string }>(
      db,
      `registry.existingMembershipKeys.${LOOKUP_CHUNK}`,
      (d) =>
        d
          .selectFrom('memberships')
          .select(['symbol', 'number', 'branch'])
          .where('insurer_number', '=', insurerNumber)
          .where(({ eb, refTuple, tuple }) => eb(refTuple('symbol', 'number'), 'in', chunk.map((k) => tuple(k.symbol, k.number)))),
      parameters,
    );
    for (const r of rows) found.add(`${r.symbol}\t${r.number}\t${r.branch}`);
  }
  return found;
}

const RANGE_SYMBOLS = 64;
const ASCII_DIGITS = /^[0-9]+$/;

/**
 * Whether the insurer may hold any of `keys`: false when no membership of the insurer has one of
 * their symbols and a number between their smallest and largest. A bulk file numbered in order (the
 * usual case) then needs one seek per symbol instead of one per row. SQLite only (its BINARY order is
 * the order of JS strings for digits); elsewhere, and with many symbols, it answers true.
 */
async function anyMembershipInRange(db: Db, insurerNumber: string, keys: readonly { symbol: string; number: string }[]): Promise<boolean> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return true;
  const symbols = new Set<string>();
  let low = keys[0].number;
  let high = low;
  for (const k of keys) {
    if (!ASCII_DIGITS.test(k.number)) return true;
    if (k.number < low) low = k.number;
    if (k.number > high) high = k.number;
    symbols.add(k.symbol);
    if (symbols.size > RANGE_SYMBOLS) return true;
  }
  const list = [...symbols];
  while (list.length < RANGE_SYMBOLS) list.push(list[0]);
  const rows = await runStatement<{ one: number }>(
    db,
    `registry.anyMembershipInRange.${RANGE_SYMBOLS}`,
    (d) =>
      d
        .selectFrom('memberships')
        .select(sql<number>`1`.as('one'))
        .where('insurer_number', '=', insurerNumber)
        .where('symbol', 'in', list)
        .where('number', '>=', low)
        .where('number', '<=', high)
        .limit(1),
    [insurerNumber, ...list, low, high, 1],
  );
  return rows.length > 0;
}

/** The person ids among `ids` that the insurer holds or held (see insurerHeldPerson). */
export async function personIdsHeldByInsurer(db: Db, insurerNumber: string, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const chunk of lookupChunks([...new Set(ids)])) {
    const rows = await runStatement<{ person_id: string }>(
      db,
      `registry.personIdsHeldByInsurer.${LOOKUP_CHUNK}`,
      (d) => d.selectFrom('memberships').select('person_id').where('person_id', 'in', chunk).where('insurer_number', '=', insurerNumber),
      [...chunk, insurerNumber],
    );
    for (const r of rows) found.add(r.person_id);
  }
  return found;
}

/** The persons holding any of these link keys: link key → person id. */
export async function personsByLinkKeys(db: Db, linkKeys: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const chunk of lookupChunks([...new Set(linkKeys)])) {
    const rows = await runStatement<{ id: string; link_key: string }>(
      db,
      `registry.personsByLinkKeys.${LOOKUP_CHUNK}`,
      (d) => d.selectFrom('persons').select(['id', 'link_key']).where('link_key', 'in', chunk),
      chunk,
    );
    for (const r of rows) found.set(r.link_key, r.id);
  }
  return found;
}

/** Column order of the flat value arrays that insertImportedMembers takes. */
export const IMPORT_PERSON_COLUMNS = ['id', 'link_key', 'created_at'] as const;
export const IMPORT_MEMBERSHIP_COLUMNS = [
  'id', 'person_id', 'insurer_number', 'symbol', 'number', 'branch', 'relationship', 'qualified_from',
  'lost_on', 'loss_reason', 'loss_recorded_at', 'loss_recorded_by', 'created_at',
] as const satisfies readonly (keyof MembershipsTable)[];
export const IMPORT_PERIOD_COLUMNS = [
  'id', 'membership_id', 'valid_from', 'valid_until', 'name', 'name_kana', 'birth_date', 'sex', 'address', 'postal_code',
  'copay_rate', 'limit_category', 'paper_card_issued_on', 'paper_card_expires_on', 'recorded_at', 'recorded_by',
] as const satisfies readonly (keyof EligibilityPeriodsTable)[];

/** Writes a batch of imported members given as flat value arrays (persons first, for the foreign keys). */
export async function insertImportedMembers(db: Db, rows: { persons: unknown[]; memberships: unknown[]; periods: unknown[] }): Promise<void> {
  const insert = db.getExecutor().adapter instanceof SqliteAdapter ? insertSharingConstants : insertFlat;
  await insert(db, 'persons', IMPORT_PERSON_COLUMNS, rows.persons);
  await insert(db, 'memberships', IMPORT_MEMBERSHIP_COLUMNS, rows.memberships);
  await insert(db, 'eligibility_periods', IMPORT_PERIOD_COLUMNS, rows.periods);
}

/** Statement texts of insertSharingConstants, by table, row count and shared columns. */
const sharedInsertTexts = new Map<string, string>();
const lastSharedColumns = new Map<string, boolean[]>();

/**
 * SQLite: insertFlat, except that a column holding one value in every row of a chunk (the insurer,
 * the timestamps, the actor, the nulls) is bound once instead of once per row. Binding a text copies
 * it twice and allocates for it (V8 to UTF-8, then SQLite's own copy); that was a fifth of the
 * insert, and an import's rows share about half their columns. The rows go in file order:
 * `INSERT … SELECT` from the VALUES list CROSS JOIN the one row of shared values (CROSS JOIN keeps
 * the VALUES the outer loop, read as a co-routine rather than copied into a temporary table first).
 */
async function insertSharingConstants(db: Db, table: 'persons' | 'memberships' | 'eligibility_periods', columns: readonly string[], values: readonly unknown[], maxParameters = 30_000): Promise<void> {
  const width = columns.length;
  for (const { start, count } of flatChunks(`insertSharingConstants(${table})`, values.length, width, maxParameters)) {
    const first = start * width;
    let shared: boolean[] = new Array(width);
    for (let c = 0; c < width; c++) {
      const v = values[first + c];
      let same = count > 1;
      for (let r = 1; same && r < count; r++) same = values[first + r * width + c] === v;
      shared[c] = same;
    }
    // Keep the previous chunk's choice while it still holds (it may share fewer columns): a column
    // that happens to repeat in one chunk only would otherwise make a new statement to prepare.
    const previous = lastSharedColumns.get(`${table}|${count}`);
    if (previous && previous.some(Boolean) && previous.every((s, c) => !s || shared[c])) shared = previous;
    else lastSharedColumns.set(`${table}|${count}`, shared);
    const sharedCount = shared.filter(Boolean).length;
    if (sharedCount === 0 || sharedCount === width) {
      await insertFlat(db, table, columns, values.slice(first, first + count * width), maxParameters);
      continue;
    }
    const key = `${table}|${count}|${shared.map((s) => (s ? 1 : 0)).join('')}`;
    let text = sharedInsertTexts.get(key);
    if (text === undefined) {
      const select: string[] = [];
      const constants: string[] = [];
      let varying = 0;
      for (let c = 0; c < width; c++) {
        if (shared[c]) {
          select.push(`k.k${c}`);
          constants.push(`? as k${c}`);
        } else select.push(`v.column${++varying}`);
      }
      const row = `(${new Array(varying).fill('?').join(', ')})`;
      text =
        `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) select ${select.join(', ')} ` +
        `from (values ${new Array(count).fill(row).join(', ')}) as v cross join (select ${constants.join(', ')}) as k`;
      if (sharedInsertTexts.size > 100) {
        sharedInsertTexts.clear();
        lastSharedColumns.clear();
      }
      sharedInsertTexts.set(key, text);
    }
    const parameters: unknown[] = new Array((width - sharedCount) * count + sharedCount);
    let i = 0;
    for (let r = 0, o = first; r < count; r++, o += width) {
      for (let c = 0; c < width; c++) if (!shared[c]) parameters[i++] = values[o + c];
    }
    for (let c = 0; c < width; c++) if (shared[c]) parameters[i++] = values[first + c];
    await db.executeQuery(CompiledQuery.raw(text, parameters));
  }
}

export async function membershipsOfInsurer(db: Db, insurerNumber: string, filter: { symbol?: string; number?: string; branch?: string; limit: number; after?: string }): Promise<MembershipRow[]> {
  let q = db.selectFrom('memberships').selectAll().where('insurer_number', '=', insurerNumber).orderBy('id').limit(filter.limit);
  if (filter.symbol !== undefined) q = q.where('symbol', '=', filter.symbol);
  if (filter.number !== undefined) q = q.where('number', '=', filter.number);
  if (filter.branch !== undefined) q = q.where('branch', '=', filter.branch);
  if (filter.after) q = q.where('id', '>', filter.after);
  return (await q.execute()).map(toMembership);
}

export async function periodsOf(db: Db, memberId: string): Promise<StoredPeriod[]> {
  const rows = await db.selectFrom('eligibility_periods').selectAll().where('membership_id', '=', memberId).orderBy('valid_from').orderBy('recorded_at').execute();
  return rows.map(toPeriod);
}

export async function closePeriod(db: Db, periodId: string, validUntil: string): Promise<void> {
  await db.updateTable('eligibility_periods').set({ valid_until: validUntil }).where('id', '=', periodId).execute();
}

export async function setMembershipLoss(db: Db, memberId: string, loss: { lostOn: string; lossReason: string; recordedAt: string; recordedBy: string }): Promise<void> {
  await db
    .updateTable('memberships')
    .set({ lost_on: loss.lostOn, loss_reason: loss.lossReason, loss_recorded_at: loss.recordedAt, loss_recorded_by: loss.recordedBy })
    .where('id', '=', memberId)
    .execute();
}

export async function otherMembershipsOfPerson(db: Db, personId: string, exceptMemberId: string): Promise<MembershipRow[]> {
  const rows = await db.selectFrom('memberships').selectAll().where('person_id', '=', personId).where('id', '!=', exceptMemberId).execute();
  return rows.map(toMembership);
}

export async function countMembers(db: Db): Promise<number> {
  const r = await db.selectFrom('memberships').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}
