// The access-log row of one entry, built without I/O, so that a caller can write it in its own
// transaction or hand it to a group commit (the card confirmation writes its entries in the usage
// event's transaction). AuditService.record is this plus one insert.

import type { AccessLogTable } from '../clinical/tables.ts';
import { newId } from '../platform/ids.ts';
import type { AuditBasis, AuditEntry } from './service.ts';

/** An access_log row as inserted (seq is assigned by the store). */
export type AccessLogRow = Omit<AccessLogTable, 'seq'>;

export function basisId(b: AuditBasis): string | null {
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

/** The row recording `entry` at `now` (every column present, so rows batch into one multi-row insert). */
export function auditRow(entry: AuditEntry, now: Date): AccessLogRow {
  return {
    id: newId(now.getTime()),
    occurred_at: now.toISOString(),
    actor: entry.actor,
    role: entry.role,
    facility_code: entry.facilityCode,
    person_id: entry.personId,
    what: entry.what,
    basis_kind: entry.basis.kind,
    basis_id: basisId(entry.basis),
    detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
  };
}
