// The access log (閲覧履歴): every read of personal or clinical data, append-only. Who (actor,
// role, facility), what, when and on which legal basis (consent, disaster, the confirmation itself,
// the patient's own view, administration). Writes go through record(); the store refuses any
// UPDATE or DELETE on the table (triggers of migration 0003_clinical).

import type { Db } from '../platform/db.ts';
import { newId } from '../platform/ids.ts';
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

function basisId(b: AuditBasis): string | null {
  switch (b.kind) {
    case 'consent':
      return b.consentId;
    case 'disaster':
      return b.disasterId;
    case 'confirmation':
      return b.confirmationId;
    default:
      return null;
  }
}

/** The UTC instant where a JST calendar date begins. */
function jstDayStart(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00+09:00`)).toISOString();
}

export class AuditService {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Appends one entry; pass the transaction of the read it records so both commit together. */
  async record(entry: AuditEntry, db: Db = this.db): Promise<string> {
    const now = this.clock();
    const id = newId(now.getTime());
    await db
      .insertInto('access_log')
      .values({
        id,
        occurred_at: now.toISOString(),
        actor: entry.actor,
        role: entry.role,
        facility_code: entry.facilityCode,
        person_id: entry.personId,
        what: entry.what,
        basis_kind: entry.basis.kind,
        basis_id: basisId(entry.basis),
        detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
      })
      .execute();
    return id;
  }

  /** Newest first. A filter with from/to takes JST dates (inclusive). */
  async search(filter: AccessLogFilter): Promise<AccessLogRecord[]> {
    for (const key of ['from', 'to'] as const) {
      if (filter[key] !== undefined && !isIsoDate(filter[key])) throw new OnshiError('ONSHI_REQUEST_INVALID', { field: key, expected: 'YYYY-MM-DD' });
    }
    let q = this.db
      .selectFrom('access_log as l')
      .leftJoin('facilities as f', 'f.code', 'l.facility_code')
      .select(['l.id', 'l.occurred_at', 'l.actor', 'l.role', 'l.facility_code', 'f.name as facility_name', 'l.person_id', 'l.what', 'l.basis_kind', 'l.basis_id', 'l.detail']);
    if (filter.personId !== undefined) q = q.where('l.person_id', '=', filter.personId);
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
}
