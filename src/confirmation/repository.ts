// Confirmation storage: the card-number lookup (hot path) and usage events.

import type { Db, UsageEventsTable } from '../platform/db.ts';
import { insertMany, runRead } from '../platform/db.ts';
import { periodForDate, type Candidate } from './rules.ts';
import { toPeriod } from '../registry/repository.ts';

export interface CardKey {
  insurerNumber: string;
  symbol: string;
  number: string;
  /** '' to match every branch (the card has none). */
  branch: string;
}

/** Memberships joined to their insurer and periods: every column a Candidate is built from. */
function candidateRows(db: Db) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('insurers as i', 'i.insurer_number', 'm.insurer_number')
    .innerJoin('eligibility_periods as p', 'p.membership_id', 'm.id')
    .select([
      'm.id as member_id',
      'm.person_id',
      'm.insurer_number',
      'i.name as insurer_name',
      'm.symbol',
      'm.number',
      'm.branch',
      'm.relationship',
      'm.qualified_from',
      'm.lost_on',
      'm.loss_reason',
      'p.id',
      'p.membership_id',
      'p.valid_from',
      'p.valid_until',
      'p.name',
      'p.name_kana',
      'p.birth_date',
      'p.sex',
      'p.address',
      'p.postal_code',
      'p.copay_rate',
      'p.limit_category',
      'p.paper_card_issued_on',
      'p.paper_card_expires_on',
      'p.recorded_at',
      'p.recorded_by',
    ]);
  // No ORDER BY: a card or a person has a handful of rows, sorted below for less than SQLite's temp b-tree costs.
}

/** By the unique card-number index; without a branch number every branch of the card matches. */
function cardNumberQuery(db: Db, withBranch: boolean) {
  const q = candidateRows(db).where('m.insurer_number', '=', '').where('m.symbol', '=', '').where('m.number', '=', '');
  return withBranch ? q.where('m.branch', '=', '') : q;
}

type CandidateRow = Awaited<ReturnType<ReturnType<typeof candidateRows>['execute']>>[number];

function byMemberThenPeriod(a: CandidateRow, b: CandidateRow): number {
  if (a.member_id !== b.member_id) return a.member_id < b.member_id ? -1 : 1;
  if (a.valid_from !== b.valid_from) return a.valid_from < b.valid_from ? -1 : 1;
  return a.recorded_at < b.recorded_at ? -1 : a.recorded_at > b.recorded_at ? 1 : 0;
}

/** One Candidate per membership, with the period that matters on `asOf`. */
function toCandidates(rows: CandidateRow[], asOf: string): Candidate[] {
  if (rows.length > 1) rows.sort(byMemberThenPeriod);
  const byMember = new Map<string, CandidateRow[]>();
  for (const r of rows) {
    const list = byMember.get(r.member_id);
    if (list) list.push(r);
    else byMember.set(r.member_id, [r]);
  }
  const candidates: Candidate[] = [];
  for (const list of byMember.values()) {
    const m = list[0];
    const periods = list.map(toPeriod);
    candidates.push({
      memberId: m.member_id,
      personId: m.person_id,
      insurerNumber: m.insurer_number,
      insurerName: m.insurer_name,
      symbol: m.symbol,
      number: m.number,
      branch: m.branch,
      relationship: m.relationship,
      qualifiedFrom: m.qualified_from,
      lostOn: m.lost_on,
      lossReason: m.loss_reason,
      period: periodForDate(periods, asOf)!,
      latestBirthDate: periods[periods.length - 1].birthDate,
    });
  }
  return candidates;
}

/** Memberships under the card numbers (the hot path: compiled once per dialect and variant). */
export async function findCandidates(db: Db, key: CardKey, asOf: string): Promise<Candidate[]> {
  const rows =
    key.branch !== ''
      ? await runRead<CandidateRow>(db, 'confirmation.candidates+branch', (d) => cardNumberQuery(d, true), [key.insurerNumber, key.symbol, key.number, key.branch])
      : await runRead<CandidateRow>(db, 'confirmation.candidates', (d) => cardNumberQuery(d, false), [key.insurerNumber, key.symbol, key.number]);
  return toCandidates(rows, asOf);
}

/** Every membership of a person (memberships_person index): the My Number card path. */
export async function candidatesOfPerson(db: Db, personId: string, asOf: string): Promise<Candidate[]> {
  const rows = await runRead<CandidateRow>(db, 'confirmation.personCandidates', (d) => candidateRows(d).where('m.person_id', '=', ''), [personId]);
  return toCandidates(rows, asOf);
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
