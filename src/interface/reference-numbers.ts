// 照会番号 (ReferenceNumber) registration, OQSsiimm01 / OQSmuimm01 (INTERFACE.md §2.6, thin; the
// decisions are onshi's and are in README, "The real interface"):
//  - A facility registers its own patient id for a member: 1–10 half-width letters or digits,
//    against the member's card numbers and birth date (the single inquiry's search elements).
//  - The member must be identified as by the single inquiry: no such member, a birth date that does
//    not match, or several members (no branch given) → the record is refused (status 2, the
//    inquiry's code). A membership that exists but is not in force today (lost, not yet started) can
//    be registered: the number identifies the patient, not a current eligibility.
//  - One number per (facility, membership); registering again replaces it. The same number for two
//    members is not refused (the receipt computer's ids are its own business).
//  - The bulk form reports every record; a bad record does not block the good ones.
//  - A registration is not a confirmation: no usage event, no record returned.
//  - The number is echoed as ReferenceNumber in that facility's results for the member: single
//    inquiry and face results (ResultOfQualificationConfirmation), bulk results (BulkConfirmUnit).

import { runRead, type Db } from '../platform/db.ts';
import { errorCatalogue } from '../platform/errors.ts';
import { todayJst } from '../platform/time.ts';
import { findCandidates } from '../confirmation/repository.ts';
import { decideEligibility, parseInquiry } from '../confirmation/rules.ts';
import { invalidReasonMessages } from '../confirmation/service.ts';
import { interfaceErrorCodes, invalidReasonCodes, ProcessingResultStatus } from './codes.ts';
import { inquiryOf, personResult } from './codec.ts';
import type { Msg } from './schema.ts';
import './tables.ts';

export const REFERENCE_NUMBER = /^[0-9A-Za-z]{1,10}$/;
/** Records in one bulk registration file (each is looked up while the request waits). */
export const MAX_REGISTRATIONS = 10_000;

export interface MemberNumbers {
  insurerNumber: string;
  symbol: string;
  number: string;
  branch: string;
}

const keyOf = (m: MemberNumbers) => `${m.insurerNumber}\u0000${m.symbol}\u0000${m.number}\u0000${m.branch}`;

export class ReferenceNumbers {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Registers one record; answers its ProcessingResultStatus/Code/Message. */
  async register(facilityCode: string, record: Msg): Promise<Msg> {
    const reference = typeof record.ReferenceNumber === 'string' ? record.ReferenceNumber : '';
    if (!REFERENCE_NUMBER.test(reference)) {
      return {
        ProcessingResultStatus: ProcessingResultStatus.error,
        ProcessingResultCode: interfaceErrorCodes.ONSHI_INTERFACE_REFERENCE_NUMBER_INVALID,
        ProcessingResultMessage: `${errorCatalogue.ONSHI_INTERFACE_REFERENCE_NUMBER_INVALID.ja}（ReferenceNumber）`,
      };
    }
    const now = this.clock();
    const parsed = parseInquiry(inquiryOf(record, undefined), todayJst(now));
    if ('errors' in parsed) {
      const entry = errorCatalogue.ONSHI_CONFIRMATION_INVALID_INPUT;
      return personResult({ result: 'error', confirmationId: '', code: 'ONSHI_CONFIRMATION_INVALID_INPUT', message: entry.en, messageJa: entry.ja, errors: parsed.errors }, record);
    }
    const decision = decideEligibility(parsed.inquiry, await findCandidates(this.db, parsed.inquiry, parsed.inquiry.asOf));
    if (decision.result === 'invalid' && (!decision.candidate || ['no_such_member', 'birth_date_mismatch', 'several_match'].includes(decision.reason))) {
      return { ProcessingResultStatus: ProcessingResultStatus.error, ProcessingResultCode: invalidReasonCodes[decision.reason], ProcessingResultMessage: invalidReasonMessages[decision.reason].ja };
    }
    const c = decision.candidate!;
    await this.db
      .insertInto('interface_reference_numbers')
      .values({ facility_code: facilityCode, insurer_number: c.insurerNumber, symbol: c.symbol, number: c.number, branch: c.branch, reference_number: reference, registered_at: now.toISOString() })
      .onConflict((oc) => oc.columns(['facility_code', 'insurer_number', 'symbol', 'number', 'branch']).doUpdateSet({ reference_number: reference, registered_at: now.toISOString() }))
      .execute();
    return { ProcessingResultStatus: ProcessingResultStatus.normal };
  }

  /** The facility's number for a member, if registered. */
  async of(facilityCode: string, m: MemberNumbers): Promise<string | undefined> {
    // Every valid single inquiry asks: a statement compiled once (runRead), not a query built per request.
    const [r] = await runRead<{ reference_number: string }>(
      this.db,
      'interface.referenceNumberOf',
      (d) =>
        d
          .selectFrom('interface_reference_numbers')
          .select('reference_number')
          .where('facility_code', '=', '')
          .where('insurer_number', '=', '')
          .where('symbol', '=', '')
          .where('number', '=', '')
          .where('branch', '=', ''),
      [facilityCode, m.insurerNumber, m.symbol, m.number, m.branch],
    );
    return r?.reference_number;
  }

  /** Every number of a facility, by member (a bulk result looks many up). */
  async allOf(facilityCode: string): Promise<(m: MemberNumbers) => string | undefined> {
    const rows = await this.db.selectFrom('interface_reference_numbers').selectAll().where('facility_code', '=', facilityCode).execute();
    const map = new Map(rows.map((r) => [keyOf({ insurerNumber: r.insurer_number, symbol: r.symbol, number: r.number, branch: r.branch }), r.reference_number]));
    return (m) => map.get(keyOf(m));
  }
}
