// Confirmation storage: the card-number lookup (hot path) and usage events.

import type { Db, UsageEventsTable } from '../platform/db.ts';
import { insertMany, runRead, runReadTuples } from '../platform/db.ts';
import { periodForDate, type Candidate } from './rules.ts';
import type { StoredPeriod } from '../registry/repository.ts';

export interface CardKey {
  insurerNumber: string;
  symbol: string;
  number: string;
  /** '' to match every branch (the card has none). */
  branch: string;
}

/**
 * Memberships joined to their periods, columns in the order the tuples are read below (the hot path
 * reads rows as arrays). The insurer's name comes from insurerName: insurers are never changed.
 */
function candidateRows(db: Db) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('eligibility_periods as p', 'p.membership_id', 'm.id')
    .select([
      'm.id as member_id', // 0
      'm.person_id', // 1
      'm.insurer_number', // 2
      'm.symbol', // 3
      'm.number', // 4
      'm.branch', // 5
      'm.relationship', // 6
      'm.qualified_from', // 7
      'm.lost_on', // 8
      'm.loss_reason', // 9
      'p.id', // 10
      'p.valid_from', // 11
      'p.valid_until', // 12
      'p.name', // 13
      'p.name_kana', // 14
      'p.birth_date', // 15
      'p.sex', // 16
      'p.address', // 17
      'p.postal_code', // 18
      'p.copay_rate', // 19
      'p.limit_category', // 20
      'p.paper_card_issued_on', // 21
      'p.paper_card_expires_on', // 22
      'p.recorded_at', // 23
      'p.recorded_by', // 24
    ]);
  // No ORDER BY: a card or a person has a handful of rows, sorted below for less than SQLite's temp b-tree costs.
}

/** By the unique card-number index; without a branch number every branch of the card matches. */
function cardNumberQuery(db: Db, withBranch: boolean) {
  const q = candidateRows(db).where('m.insurer_number', '=', '').where('m.symbol', '=', '').where('m.number', '=', '');
  return withBranch ? q.where('m.branch', '=', '') : q;
}

type CandidateTuple = [
  string, string, string, string, string, string, string, string, string | null, string | null,
  string, string, string | null, string, string, string, string, string, string | null, number, string | null, string | null, string | null, string, string | null,
];

function byMemberThenPeriod(a: CandidateTuple, b: CandidateTuple): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[11] !== b[11]) return a[11] < b[11] ? -1 : 1;
  return a[23] < b[23] ? -1 : a[23] > b[23] ? 1 : 0;
}

function periodOf(r: CandidateTuple): StoredPeriod {
  return {
    id: r[10],
    validFrom: r[11],
    validUntil: r[12],
    name: r[13],
    nameKana: r[14],
    birthDate: r[15],
    sex: r[16],
    address: r[17],
    postalCode: r[18],
    copayRate: Number(r[19]),
    limitCategory: r[20],
    paperCardIssuedOn: r[21],
    paperCardExpiresOn: r[22],
    recordedAt: r[23],
    recordedBy: r[24],
  };
}

/** Insurer names by number, per store: insurers are only ever added, so a name once read stays true. */
const insurerNames = new WeakMap<object, Map<string, string>>();

async function insurerName(db: Db, insurerNumber: string): Promise<string> {
  let cache = db.isTransaction ? undefined : insurerNames.get(db);
  if (!db.isTransaction && !cache) insurerNames.set(db, (cache = new Map()));
  const known = cache?.get(insurerNumber);
  if (known !== undefined) return known;
  const [row] = await runRead<{ name: string }>(db, 'confirmation.insurerName', (d) => d.selectFrom('insurers').select('name').where('insurer_number', '=', ''), [insurerNumber]);
  // A membership cannot exist without its insurer (foreign key), so the row is there.
  const name = row?.name ?? '';
  if (cache && row) {
    if (cache.size > 10_000) cache.clear();
    cache.set(insurerNumber, name);
  }
  return name;
}

/** One Candidate per membership, with the period that matters on `asOf`. */
async function toCandidates(db: Db, rows: CandidateTuple[], asOf: string): Promise<Candidate[]> {
  if (rows.length > 1) rows.sort(byMemberThenPeriod);
  const candidates: Candidate[] = [];
  for (let start = 0; start < rows.length; ) {
    let end = start + 1;
    while (end < rows.length && rows[end][0] === rows[start][0]) end++;
    const m = rows[start];
    const periods: StoredPeriod[] = [];
    for (let i = start; i < end; i++) periods.push(periodOf(rows[i]));
    candidates.push({
      memberId: m[0],
      personId: m[1],
      insurerNumber: m[2],
      insurerName: await insurerName(db, m[2]),
      symbol: m[3],
      number: m[4],
      branch: m[5],
      relationship: m[6],
      qualifiedFrom: m[7],
      lostOn: m[8],
      lossReason: m[9],
      period: periodForDate(periods, asOf)!,
      latestBirthDate: periods[periods.length - 1].birthDate,
    });
    start = end;
  }
  return candidates;
}

/** Memberships under the card numbers (the hot path: compiled once per dialect and variant). */
export async function findCandidates(db: Db, key: CardKey, asOf: string): Promise<Candidate[]> {
  const rows =
    key.branch !== ''
      ? await runReadTuples(db, 'confirmation.candidates+branch', (d) => cardNumberQuery(d, true), [key.insurerNumber, key.symbol, key.number, key.branch])
      : await runReadTuples(db, 'confirmation.candidates', (d) => cardNumberQuery(d, false), [key.insurerNumber, key.symbol, key.number]);
  return toCandidates(db, rows as CandidateTuple[], asOf);
}

/** Every membership of a person (memberships_person index): the My Number card path. */
export async function candidatesOfPerson(db: Db, personId: string, asOf: string): Promise<Candidate[]> {
  const rows = await runReadTuples(db, 'confirmation.personCandidates', (d) => candidateRows(d).where('m.person_id', '=', ''), [personId]);
  return toCandidates(db, rows as CandidateTuple[], asOf);
}

export type NewUsageEvent = Omit<UsageEventsTable, 'id'>;

export async function insertUsageEvents(db: Db, events: readonly NewUsageEvent[]): Promise<void> {
  await insertMany(db, 'usage_events', events);
}

export async function countUsageEvents(db: Db, filter: { facilityCode?: string } = {}): Promise<number> {
  let q = db.selectFrom('usage_events').select((eb) => eb.fn.countAll<number>().as('n'));
  if (filter.facilityCode) q = q.where('facility_code', '=', filter.facilityCode);
  const r = await q.executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function findUsageEvent(db: Db, confirmationId: string) {
  return db.selectFrom('usage_events').selectAll().where('confirmation_id', '=', confirmationId).executeTakeFirst();
}
