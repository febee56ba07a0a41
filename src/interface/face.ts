// Face results (OQSsiquc01res_face_…, INTERFACE.md §2.4): the card confirmations done at a
// facility's readers, as result files for its terminal's DIR/face. The source is the usage events
// with the My Number card method; a facility reads its own, in event-id order after a cursor.
//
// Decisions:
//  - File name `OQSsiquc01res_face_<MedicalInstitutionCode>_<event id, 10 digits>_<yyyyMMddHHmmss>.xml`
//    (the time is the confirmation's, JST): deterministic per event, so a gateway that re-writes
//    a file after a crash writes the same name (no duplicate) and names sort in event order.
//  - Content: the OQSsiquc01res schema with ReferenceClassification 1, ArbitraryFileIdentifier =
//    the confirmation id, ProcessExecutionTime = the confirmation's time. The record is the
//    registry's for the person on the confirmation's day (usage events keep no copy of personal
//    data); the consent flags are those the patient gave at that confirmation (the consent row
//    committed with the event: the first of that person at that facility from the event's instant).
//  - Reading face results is a read of personal data: every listed confirmation is written to the
//    access log (what = eligibility, basis = the confirmation; limit_category under the consent).
//  - The facility's 照会番号 for the member, when registered, is echoed as ReferenceNumber.
//  - The cursor is the event id. On SQLite (one writer) ids become visible in order. On PostgreSQL
//    several servers may share the store, and one could commit a lower id just after a higher one was
//    read: so events younger than FACE_SETTLE_MS are held back there (a card event's transaction
//    commits well within that; one slower than that could still be skipped).

import { PostgresAdapter, sql } from 'kysely';
import type { Db } from '../platform/db.ts';
import { insertMany } from '../platform/db.ts';
import { auditRow, type AccessLogRow } from '../audit/rows.ts';
import { byPersonHistory, personRefs } from '../audit/person-history.ts';
import { candidatesOfPerson } from '../confirmation/repository.ts';
import { invalidReasonMessages, toEligibilityRecord } from '../confirmation/service.ts';
import { decidePersonEligibility } from '../cards/service.ts';
import { ReferenceClassification, SegmentOfResult } from './codes.ts';
import { compactDate, compactTime, encodeResultFitting, personResult } from './codec.ts';
import type { Msg } from './schema.ts';
import type { CharacterCode } from './xml.ts';
import type { ReferenceNumbers } from './reference-numbers.ts';
import '../clinical/tables.ts';

export const FACE_PAGE_MAX = 500;
/** How old an event must be before a face result lists it, on PostgreSQL (see above). */
export const FACE_SETTLE_MS = 2000;
/** A consent row is committed with its event; it is sought this close after the event's instant. */
const CONSENT_WINDOW_MS = 60_000;

export interface FaceResult {
  /** The cursor of this result (the usage event's id). */
  id: string;
  confirmationId: string;
  fileName: string;
  characterCode: CharacterCode;
  bytes: Buffer;
}

export interface FaceStaff {
  actor: string;
  role: string;
  facilityCode: string;
}

/** The face file's name; the §2.4 regex `\AOQSsiquc01res_face_.+_(\d{14})\.xml\z` matches it. */
export function faceFileName(facilityCode: string, eventId: number, occurredAt: Date): string {
  return `OQSsiquc01res_face_${facilityCode}_${String(eventId).padStart(10, '0')}_${compactTime(occurredAt)}.xml`;
}

type EventRow = { id: number; confirmation_id: string; occurred_at: string; occurred_on: string; person_id: string | null; consent_id: string | null };

export class FaceResults {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
    private readonly references?: ReferenceNumbers,
    /** Where the access log is written (DatabaseHandle.events). */
    private readonly events: Db = db,
  ) {}

  /** The facility's card-confirmation results after `after`, at most `limit`, in `characterCode`. */
  async list(staff: FaceStaff, after: number, limit: number, characterCode: CharacterCode): Promise<{ results: FaceResult[]; next: string; more: boolean }> {
    const now = this.clock();
    let q = this.db
      .selectFrom('usage_events')
      .select(['id', 'confirmation_id', 'occurred_at', 'occurred_on', 'person_id', 'consent_id'])
      .where('facility_code', '=', staff.facilityCode)
      // A literal, so that the partial index usage_events_card_facility applies.
      .where('method', '=', sql.lit('my_number_card'))
      .where('id', '>', after);
    if (this.db.getExecutor().adapter instanceof PostgresAdapter) q = q.where('occurred_at', '<=', new Date(now.getTime() - FACE_SETTLE_MS).toISOString());
    const rows = (await q.orderBy('id').limit(limit + 1).execute()) as EventRow[];
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const results: FaceResult[] = [];
    const accessLog: AccessLogRow[] = [];
    for (const e of page) {
      const { msg, limitConsentId } = await this.message(staff.facilityCode, e, characterCode);
      const { bytes, characterCode: written } = encodeResultFitting('OQSsiquc01', msg, characterCode);
      results.push({ id: String(e.id), confirmationId: e.confirmation_id, fileName: faceFileName(staff.facilityCode, Number(e.id), new Date(e.occurred_at)), characterCode: written, bytes });
      if (e.person_id) {
        const entry = { actor: staff.actor, role: staff.role, facilityCode: staff.facilityCode, personId: e.person_id };
        accessLog.push(auditRow({ ...entry, what: 'eligibility', basis: { kind: 'confirmation', confirmationId: e.confirmation_id }, detail: { method: 'my_number_card', via: 'face_result' } }, now));
        if (limitConsentId) accessLog.push(auditRow({ ...entry, what: 'limit_category', basis: { kind: 'consent', consentId: limitConsentId }, detail: { via: 'face_result' } }, now));
      }
    }
    // Logged before the answer leaves.
    await insertMany(this.events, 'access_log', accessLog);
    const next = page.length > 0 ? String(page[page.length - 1].id) : String(after);
    return { results, next, more };
  }

  private async message(facilityCode: string, e: EventRow, characterCode: CharacterCode): Promise<{ msg: Msg; limitConsentId?: string }> {
    const at = new Date(e.occurred_at);
    const header: Msg = {
      ProcessExecutionTime: compactTime(at),
      QualificationConfirmationDate: compactDate(e.occurred_on),
      MedicalInstitutionCode: facilityCode,
      ArbitraryFileIdentifier: e.confirmation_id,
      ReferenceClassification: ReferenceClassification.myNumberCard,
      SegmentOfResult: SegmentOfResult.done,
      CharacterCodeIdentifier: characterCode,
    };
    if (!e.person_id) return { msg: { MessageHeader: header } };
    const asOf = e.occurred_on;
    const decision = decidePersonEligibility(await candidatesOfPerson(this.db, e.person_id, asOf), asOf);
    const consent = e.consent_id !== null
      ? // The answers given with this confirmation (the event names them).
        await this.db.selectFrom('consents').select(['id', 'scopes', 'granted_at', 'expires_at']).where('id', '=', e.consent_id).executeTakeFirst()
      : // An event from before migration 0012: the person's first answer at the facility just after it.
        await this.db
          .selectFrom('consents as c')
          .select(['id', 'scopes', 'granted_at', 'expires_at'])
          .where('person_id', '=', e.person_id)
          .$if(byPersonHistory(this.db), (q) => q.where(personRefs('consent', 'c', e.person_id!)))
          .where('facility_code', '=', facilityCode)
          .where('granted_at', '>=', at.toISOString())
          .where('granted_at', '<', new Date(at.getTime() + CONSENT_WINDOW_MS).toISOString())
          .orderBy('granted_at')
          .orderBy('id')
          .limit(1)
          .executeTakeFirst();
    const scopes = consent?.scopes ? consent.scopes.split(',') : [];
    if (decision.result !== 'valid') {
      const m = invalidReasonMessages[decision.reason];
      const person = personResult({ result: 'invalid', confirmationId: e.confirmation_id, asOf, reason: decision.reason, message: m.en, messageJa: m.ja, ...(decision.details ? { details: decision.details } : {}) }, undefined);
      const { ResultOfQualificationConfirmation: record, ...status } = person;
      return { msg: { MessageHeader: header, MessageBody: { ...status, ResultList: record ? { ResultOfQualificationConfirmation: [record as Msg] } : undefined } } };
    }
    const limit = scopes.includes('limit_info');
    const consTime = consent ? compactTime(new Date(consent.granted_at)) : undefined;
    const available = consent ? compactTime(new Date(consent.expires_at)) : undefined;
    const person = personResult(
      { result: 'valid', confirmationId: e.confirmation_id, asOf, member: toEligibilityRecord(decision.candidate), limitCategory: limit ? decision.candidate.period.limitCategory : null },
      { LimitApplicationCertificateRelatedConsFlg: limit ? '1' : '0' },
      consTime,
    );
    const { ResultOfQualificationConfirmation: record, ...status } = person;
    const rec = record as Msg;
    rec.ReferenceNumber = await this.references?.of(facilityCode, decision.candidate);
    if (limit) rec.LimitApplicationCertificateRelatedConsTime = consTime;
    const flag = (scope: string, prefix: 'SpecificHealthCheckupsInfo' | 'PharmacistsInfo') => {
      const yes = scopes.includes(scope);
      rec[`${prefix}ConsFlg`] = yes ? '1' : '0';
      if (yes) {
        rec[`${prefix}ConsTime`] = consTime;
        rec[`${prefix}AvailableTime`] = available;
      }
    };
    flag('checkups', 'SpecificHealthCheckupsInfo');
    flag('medication', 'PharmacistsInfo');
    const shown = limit && !!decision.candidate.period.limitCategory;
    return { msg: { MessageHeader: header, MessageBody: { ...status, ResultList: { ResultOfQualificationConfirmation: [rec] } } }, limitConsentId: shown ? consent?.id : undefined };
  }
}
