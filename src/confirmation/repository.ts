// Confirmation storage: the card-number lookup (hot path) and usage events.

import type { Db, UsageEventsTable } from '../platform/db.ts';
import { chunks } from '../platform/db.ts';
import { periodForDate, type Candidate } from './rules.ts';
import { toPeriod } from '../registry/repository.ts';

export interface CardKey {
  insurerNumber: string;
  symbol: string;
  number: string;
  /** '' to match every branch (the card has none). */
  branch: string;
}

/**
 * Memberships under the card numbers with the period that matters on `asOf`. One query over the
 * unique card-number index joined to the insurer and the membership's periods.
 */
export async function findCandidates(db: Db, key: CardKey, asOf: string): Promise<Candidate[]> {
  let q = db
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
    ])
    .where('m.insurer_number', '=', key.insurerNumber)
    .where('m.symbol', '=', key.symbol)
    .where('m.number', '=', key.number);
  if (key.branch !== '') q = q.where('m.branch', '=', key.branch);
  const rows = await q.orderBy('m.id').orderBy('p.valid_from').orderBy('p.recorded_at').execute();
  const byMember = new Map<string, typeof rows>();
  for (const r of rows) {
    const list = byMember.get(r.member_id);
    if (list) list.push(r);
    else byMember.set(r.member_id, [r]);
  }
  const candidates: Candidate[] = [];
  for (const list of byMember.values()) {
    const m = list[0];
    const periods = list.map(toPeriod);
    const period = periodForDate(periods, asOf)!;
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
      period,
      latestBirthDate: periods[periods.length - 1].birthDate,
    });
  }
  return candidates;
}

export type NewUsageEvent = Omit<UsageEventsTable, 'id'>;

export async function insertUsageEvents(db: Db, events: readonly NewUsageEvent[]): Promise<void> {
  for (const chunk of chunks(events, 9)) await db.insertInto('usage_events').values(chunk).execute();
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
