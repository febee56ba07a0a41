// The access log (閲覧履歴): every read of personal or clinical data, append-only. Who (actor,
// role, facility), what, when and on which legal basis (consent, disaster, the confirmation itself,
// the patient's own view, administration). Writes go through record(); the store refuses any
// UPDATE or DELETE on the table (triggers of migration 0003_clinical).
//
// The access history (history(): what the patient and the administrators see) is the access log
// merged, newest first, with the eligibility reads already on record as usage events: every
// confirmation whose answer was 'valid' returned the person's record to the facility (name, birth
// date, address, …), so it is a read of their personal data. The card path writes its own access-log
// entry (with the staff credential and role) for its confirmation; a usage event with such an entry
// is not listed twice. A usage event does not record which credential asked, so its entry has
// actor = null and role = null: onshi does not claim a role it does not know (any facility role,
// not only reception, may confirm). Its method (insurance_card, my_number_card, …) is shown.

import { sql } from 'kysely';
import { insertMany, type Db } from '../platform/db.ts';
import { byPersonHistory, personRefs } from './person-history.ts';
import { auditRow } from './rows.ts';
import { OnshiError } from '../platform/errors.ts';
import { isIsoDate, addDays } from '../platform/time.ts';
import '../clinical/tables.ts';

export type AuditBasis =
  | { kind: 'consent'; consentId: string }
  | { kind: 'disaster'; disasterId: string }
  | { kind: 'confirmation'; confirmationId: string }
  | { kind: 'self' }
  | { kind: 'administration' };

export interface AuditEntry {
  actor: string;
  role: string;
  facilityCode: string | null;
  personId: string;
  /** What was read: 'eligibility', 'medication', 'checkups', 'limit_category', … */
  what: string;
  basis: AuditBasis;
  detail?: Record<string, unknown>;
}

export interface AccessLogRecord {
  id: string;
  at: string;
  actor: string;
  role: string;
  facilityCode: string | null;
  facilityName: string | null;
  personId: string;
  what: string;
  basis: { kind: AuditBasis['kind']; id: string | null };
  detail: Record<string, unknown> | null;
}

export interface AccessLogFilter {
  personId?: string;
  facilityCode?: string;
  /** JST dates, inclusive. */
  from?: string;
  to?: string;
  limit?: number;
}

/** One entry of the access history: an access-log entry, or a confirmation that returned the record. */
export interface AccessHistoryEntry {
  /** The access-log id, or the confirmation id. */
  id: string;
  at: string;
  /** Null for a confirmation: the usage event does not record the credential. */
  actor: string | null;
  role: string | null;
  facilityCode: string | null;
  facilityName: string | null;
  personId: string;
  what: string;
  /** How eligibility was confirmed (insurance_card, my_number_card, …), when the entry says. */
  method: string | null;
  basis: { kind: AuditBasis['kind']; id: string | null };
  source: 'access_log' | 'confirmation';
  detail: Record<string, unknown> | null;
}

export interface AccessHistoryFilter extends AccessLogFilter {
  /** The `next` cursor of the previous page. */
  before?: string;
}

export interface AccessHistoryPage {
  entries: AccessHistoryEntry[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  next: string | null;
}

/**
 * The merged stream is ordered by (time, source, sequence), newest first; at the same instant an
 * access-log entry (rank 1) comes before a confirmation (rank 0), as a view follows its confirmation.
 */
interface Position {
  at: string;
  rank: 0 | 1;
  n: number;
}

function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.at, p.rank, p.n])).toString('base64url');
}

function decodeCursor(cursor: string): Position {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && !Number.isNaN(Date.parse(v[0])) && (v[1] === 0 || v[1] === 1) && Number.isSafeInteger(v[2])) {
      return { at: new Date(v[0]).toISOString(), rank: v[1], n: v[2] };
    }
  } catch {
    // reported below
  }
  throw new OnshiError('ONSHI_REQUEST_INVALID', { field: 'before', expected: 'the next cursor of a previous page' });
}

function comparePositions(a: Position, b: Position): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  if (a.rank !== b.rank) return a.rank - b.rank;
  return a.n - b.n;
}

/** The UTC instant where a JST calendar date begins. */
function jstDayStart(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00+09:00`)).toISOString();
}

export class AuditService {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
    /** Where entries are written (DatabaseHandle.events: never behind a long registry transaction). */
    private readonly events: Db = db,
  ) {}

  /** Appends one entry. */
  async record(entry: AuditEntry, db: Db = this.events): Promise<string> {
    const row = auditRow(entry, this.clock());
    await insertMany(db, 'access_log', [row]);
    return row.id;
  }

  /** The access log alone, newest first. A filter with from/to takes JST dates (inclusive). */
  async search(filter: AccessLogFilter): Promise<AccessLogRecord[]> {
    checkDates(filter);
    let q = this.db
      .selectFrom('access_log as l')
      .leftJoin('facilities as f', 'f.code', 'l.facility_code')
      .select(['l.id', 'l.occurred_at', 'l.actor', 'l.role', 'l.facility_code', 'f.name as facility_name', 'l.person_id', 'l.what', 'l.basis_kind', 'l.basis_id', 'l.detail']);
    if (filter.personId !== undefined) q = q.where('l.person_id', '=', filter.personId);
    if (filter.personId !== undefined && byPersonHistory(this.db)) q = q.where(personRefs('access', 'l', filter.personId));
    if (filter.facilityCode !== undefined) q = q.where('l.facility_code', '=', filter.facilityCode);
    if (filter.from !== undefined) q = q.where('l.occurred_at', '>=', jstDayStart(filter.from));
    if (filter.to !== undefined) q = q.where('l.occurred_at', '<', jstDayStart(addDays(filter.to, 1)));
    const rows = await q
      .orderBy('l.occurred_at', 'desc')
      .orderBy('l.seq', 'desc')
      .limit(Math.min(Math.max(filter.limit ?? 200, 1), 1000))
      .execute();
    return rows.map((r) => ({
      id: r.id,
      at: r.occurred_at,
      actor: r.actor,
      role: r.role,
      facilityCode: r.facility_code,
      facilityName: r.facility_name ?? null,
      personId: r.person_id,
      what: r.what,
      basis: { kind: r.basis_kind as AuditBasis['kind'], id: r.basis_id },
      detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
    }));
  }

  /** The access log merged with the confirmations that returned the person's record (see accessHistory). */
  history(filter: AccessHistoryFilter): Promise<AccessHistoryPage> {
    return accessHistory(this.db, filter);
  }
}

function checkDates(filter: AccessLogFilter): void {
  for (const key of ['from', 'to'] as const) {
    if (filter[key] !== undefined && !isIsoDate(filter[key])) throw new OnshiError('ONSHI_REQUEST_INVALID', { field: key, expected: 'YYYY-MM-DD' });
  }
}

/**
 * The access history: the access log and the confirmations that returned the person's record, merged
 * newest first, `limit` a page (default 200, at most 1000), keyset-paged with `before` = the previous
 * page's `next`. Each source is read with the same filter and cursor, at most limit + 1 rows each; the
 * merge keeps the first limit + 1, so whether an older page exists is known without counting.
 * Filters apply to both sources: person, facility, and JST dates (a usage event's occurred_on is its
 * JST date).
 */
export async function accessHistory(db: Db, filter: AccessHistoryFilter): Promise<AccessHistoryPage> {
  checkDates(filter);
  const limit = Math.min(Math.max(filter.limit ?? 200, 1), 1000);
  const cursor = filter.before === undefined ? undefined : decodeCursor(filter.before);

  let logs = db
    .selectFrom('access_log as l')
    .leftJoin('facilities as f', 'f.code', 'l.facility_code')
    .select(['l.seq', 'l.id', 'l.occurred_at', 'l.actor', 'l.role', 'l.facility_code', 'f.name as facility_name', 'l.person_id', 'l.what', 'l.basis_kind', 'l.basis_id', 'l.detail']);
  // On SQLite the person's rows are found through person_history (see person-history.ts).
  const byPersonIndex = filter.personId !== undefined && byPersonHistory(db);
  if (filter.personId !== undefined) logs = logs.where('l.person_id', '=', filter.personId);
  if (byPersonIndex) logs = logs.where(personRefs('access', 'l', filter.personId!));
  if (filter.facilityCode !== undefined) logs = logs.where('l.facility_code', '=', filter.facilityCode);
  if (filter.from !== undefined) logs = logs.where('l.occurred_at', '>=', jstDayStart(filter.from));
  if (filter.to !== undefined) logs = logs.where('l.occurred_at', '<', jstDayStart(addDays(filter.to, 1)));
  if (cursor) {
    // Rank 1 sorts after rank 0 at one instant: below a confirmation cursor only earlier instants remain.
    logs = cursor.rank === 1 ? logs.where((eb) => eb.or([eb('l.occurred_at', '<', cursor.at), eb.and([eb('l.occurred_at', '=', cursor.at), eb('l.seq', '<', cursor.n)])])) : logs.where('l.occurred_at', '<', cursor.at);
  }

  // The confirmations that returned a record, without those the card path already logged.
  let reads = db
    .selectFrom('usage_events as u')
    .leftJoin('facilities as f', 'f.code', 'u.facility_code')
    .select(['u.id', 'u.confirmation_id', 'u.occurred_at', 'u.facility_code', 'f.name as facility_name', 'u.person_id', 'u.method', 'u.insurer_number'])
    .where('u.result', '=', 'valid')
    .where('u.person_id', 'is not', null)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('access_log as x').select(sql<number>`1`.as('one')).whereRef('x.person_id', '=', 'u.person_id').where('x.basis_kind', '=', 'confirmation').whereRef('x.basis_id', '=', 'u.confirmation_id'))),
    );
  if (filter.personId !== undefined) reads = reads.where('u.person_id', '=', filter.personId);
  if (byPersonIndex) reads = reads.where(personRefs('usage', 'u', filter.personId!));
  if (filter.facilityCode !== undefined) reads = reads.where('u.facility_code', '=', filter.facilityCode);
  if (filter.from !== undefined) reads = reads.where('u.occurred_on', '>=', filter.from);
  if (filter.to !== undefined) reads = reads.where('u.occurred_on', '<=', filter.to);
  if (cursor) {
    reads = cursor.rank === 0 ? reads.where((eb) => eb.or([eb('u.occurred_at', '<', cursor.at), eb.and([eb('u.occurred_at', '=', cursor.at), eb('u.id', '<', cursor.n)])])) : reads.where('u.occurred_at', '<=', cursor.at);
  }

  const [logRows, readRows] = await Promise.all([
    logs.orderBy('l.occurred_at', 'desc').orderBy('l.seq', 'desc').limit(limit + 1).execute(),
    reads.orderBy('u.occurred_at', 'desc').orderBy('u.id', 'desc').limit(limit + 1).execute(),
  ]);
  const merged: { position: Position; entry: AccessHistoryEntry }[] = [];
  for (const r of logRows) {
    const detail = r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>);
    merged.push({
      position: { at: r.occurred_at, rank: 1, n: Number(r.seq) },
      entry: {
        id: r.id,
        at: r.occurred_at,
        actor: r.actor,
        role: r.role,
        facilityCode: r.facility_code,
        facilityName: r.facility_name ?? null,
        personId: r.person_id,
        what: r.what,
        method: typeof detail?.method === 'string' ? detail.method : null,
        basis: { kind: r.basis_kind as AuditBasis['kind'], id: r.basis_id },
        source: 'access_log',
        detail,
      },
    });
  }
  for (const r of readRows) {
    merged.push({
      position: { at: r.occurred_at, rank: 0, n: Number(r.id) },
      entry: {
        id: r.confirmation_id,
        at: r.occurred_at,
        actor: null,
        role: null,
        facilityCode: r.facility_code,
        facilityName: r.facility_name ?? null,
        personId: r.person_id!,
        what: 'eligibility',
        method: r.method,
        basis: { kind: 'confirmation', id: r.confirmation_id },
        source: 'confirmation',
        detail: { method: r.method, result: 'valid', insurerNumber: r.insurer_number },
      },
    });
  }
  merged.sort((a, b) => comparePositions(b.position, a.position));
  const page = merged.slice(0, limit);
  return { entries: page.map((m) => m.entry), next: merged.length > limit ? encodeCursor(page[page.length - 1].position) : null };
}
