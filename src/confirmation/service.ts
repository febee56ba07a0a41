// Online confirmation by insurance-card numbers (被保険者証情報による資格確認). Every answered
// confirmation, whatever its result, is a usage event committed before the answer goes out.

import { newId } from '../platform/ids.ts';
import type { Db } from '../platform/db.ts';
import { errorCatalogue, type FieldError } from '../platform/errors.ts';
import { jstDateOf, todayJst } from '../platform/time.ts';
import type { RegistryService } from '../registry/service.ts';
import { findCandidates, type NewUsageEvent } from './repository.ts';
import { decideByDocument, decideEligibility, parseInquiry, type Candidate, type DocumentDecision, type DocumentInvalidReason, type InvalidReason } from './rules.ts';
import type { UsageRecorder } from './usage-recorder.ts';
import type { CertificateFacts } from '../programmes/transition/rules.ts';

/** Reads the eligibility certificates (資格確認書) of memberships (the transition programme's store). */
export type CertificateLoader = (db: Db, memberIds: readonly string[]) => Promise<Map<string, CertificateFacts[]>>;

export type ConfirmationMethod = 'insurance_card' | 'my_number_card';

/** What a facility receives for a valid member: the record to import, never a My Number. */
export interface EligibilityRecord {
  insurerNumber: string;
  insurerName: string;
  symbol: string;
  number: string;
  branch: string;
  relationship: string;
  name: string;
  nameKana: string;
  birthDate: string;
  sex: string;
  address: string;
  postalCode: string | null;
  qualifiedFrom: string;
  lostOn: string | null;
  copayRate: number;
  paperCardIssuedOn: string | null;
  paperCardExpiresOn: string | null;
  /** Start of the eligibility period whose attributes these are. */
  validFrom: string;
}

export const invalidReasonMessages: Record<InvalidReason | DocumentInvalidReason, { ja: string; en: string }> = {
  no_such_member: { ja: '該当する資格がありません。', en: 'No eligibility is registered under these card numbers.' },
  birth_date_mismatch: { ja: '生年月日が一致しません。', en: 'The birth date does not match the registered one.' },
  not_yet_started: { ja: '資格取得日より前です。', en: 'Eligibility has not started on this date.' },
  eligibility_lost: { ja: '資格を喪失しています。', en: 'Eligibility was lost before this date.' },
  paper_card_expired: { ja: '被保険者証の有効期限が切れています。', en: 'The paper insurance card has expired.' },
  several_match: { ja: '複数の資格が該当します。枝番を指定してください。', en: 'Several members match; give the branch number.' },
  paper_card_no_longer_usable: { ja: 'この被保険者証は使用できません。マイナ保険証または資格確認書で確認してください。', en: 'This paper insurance card can no longer be used; confirm with the My Number card or an eligibility certificate.' },
  no_valid_certificate: { ja: '有効な資格確認書がありません。', en: 'No eligibility certificate is in force for these numbers on this date.' },
};

export type ConfirmationAnswer = AnswerWith<InvalidReason>;
/** The answer of a confirmation that knows the presented document (POST /v1/confirmations). */
export type DocumentConfirmationAnswer = AnswerWith<InvalidReason | DocumentInvalidReason>;

export type AnswerWith<Reason extends string> =
  | {
      result: 'valid';
      confirmationId: string;
      asOf: string;
      member: EligibilityRecord;
      /** 限度額適用認定証 区分, only when asked for (the XML interface, with the patient's consent flag). */
      limitCategory?: string | null;
      /** The 資格確認書 in force, when one was presented. */
      certificate?: { number: string; issuedOn: string; validUntil: string };
    }
  | {
      result: 'invalid';
      confirmationId: string;
      asOf: string;
      reason: Reason;
      message: string;
      messageJa: string;
      details?: Record<string, string>;
      /** 無効（新しい資格あり）: the person holds another eligibility on this date. */
      newEligibilityExists?: boolean;
    }
  | { result: 'error'; confirmationId: string; code: 'ONSHI_CONFIRMATION_INVALID_INPUT'; message: string; messageJa: string; errors: FieldError[] };

export function toEligibilityRecord(c: Candidate): EligibilityRecord {
  const p = c.period;
  return {
    insurerNumber: c.insurerNumber,
    insurerName: c.insurerName,
    symbol: c.symbol,
    number: c.number,
    branch: c.branch,
    relationship: c.relationship,
    name: p.name,
    nameKana: p.nameKana,
    birthDate: p.birthDate,
    sex: p.sex,
    address: p.address,
    postalCode: p.postalCode,
    qualifiedFrom: c.qualifiedFrom,
    lostOn: c.lostOn,
    copayRate: p.copayRate,
    paperCardIssuedOn: p.paperCardIssuedOn,
    paperCardExpiresOn: p.paperCardExpiresOn,
    validFrom: p.validFrom,
  };
}

export interface EvaluateOptions {
  /** Also answer the 限度額 category (the caller holds the patient's consent). */
  withLimitCategory?: boolean;
  /** The caller records nothing and drops the id (batch inquiries): the answer's confirmationId is '' and no id is made. */
  withoutConfirmationId?: boolean;
}

/** The usage event of a confirmation by card numbers (method insurance_card), whichever way it is written. */
export function cardNumberUsageEvent(
  facilityCode: string,
  now: Date,
  { answer, insurerNumber, personId }: { answer: DocumentConfirmationAnswer; insurerNumber: string | null; personId: string | null },
): NewUsageEvent {
  return {
    confirmation_id: answer.confirmationId,
    occurred_at: now.toISOString(),
    occurred_on: jstDateOf(now),
    facility_code: facilityCode,
    method: 'insurance_card',
    result: answer.result,
    reason: answer.result === 'invalid' ? answer.reason : answer.result === 'error' ? 'input' : null,
    insurer_number: insurerNumber,
    person_id: personId,
    consent_id: null,
  };
}

export class ConfirmationService {
  constructor(
    private readonly db: Db,
    private readonly recorder: UsageRecorder,
    private readonly registry: RegistryService,
    private readonly clock: () => Date = () => new Date(),
    private readonly certificatesOf?: CertificateLoader,
  ) {}

  /** Confirms by card numbers for a facility; resolves after the usage event is committed. */
  async confirmByCardNumbers(facilityCode: string, raw: Record<string, unknown>, options: EvaluateOptions = {}): Promise<ConfirmationAnswer> {
    return this.confirmAndRecord(facilityCode, raw, options, false) as Promise<ConfirmationAnswer>;
  }

  /**
   * Confirms by the numbers of a presented document (`document`: paper_card, the default, or
   * certificate 資格確認書), applying the paper-card transition; recorded like confirmByCardNumbers.
   */
  async confirmPresentedDocument(facilityCode: string, raw: Record<string, unknown>, options: EvaluateOptions = {}): Promise<DocumentConfirmationAnswer> {
    return this.confirmAndRecord(facilityCode, raw, options, true);
  }

  private async confirmAndRecord(facilityCode: string, raw: Record<string, unknown>, options: EvaluateOptions, documentAware: boolean): Promise<DocumentConfirmationAnswer> {
    const now = this.clock();
    const evaluated = await this.evaluate(raw, now, options, documentAware);
    await this.recorder.record(cardNumberUsageEvent(facilityCode, now, evaluated));
    return evaluated.answer;
  }

  /**
   * The decision alone, recorded nowhere: confirmByCardNumbers records it as a usage event, batch
   * inquiries (一括照会, before the visit) use it as it is.
   */
  async evaluateCardNumbers(
    raw: Record<string, unknown>,
    now: Date = this.clock(),
    options: EvaluateOptions = {},
  ): Promise<{ answer: ConfirmationAnswer; insurerNumber: string | null; personId: string | null }> {
    return this.evaluate(raw, now, options, false) as Promise<{ answer: ConfirmationAnswer; insurerNumber: string | null; personId: string | null }>;
  }

  private async evaluate(
    raw: Record<string, unknown>,
    now: Date,
    options: EvaluateOptions,
    documentAware: boolean,
  ): Promise<{ answer: DocumentConfirmationAnswer; insurerNumber: string | null; personId: string | null }> {
    const confirmationId = options.withoutConfirmationId ? '' : newId();
    // Only the document-aware path reads `document`; elsewhere (XML interface, batch inquiries) the
    // paper-card transition is not applied, as their answers have no code for it yet.
    const parsed = parseInquiry(documentAware ? raw : { ...raw, document: undefined }, todayJst(now));
    let answer: DocumentConfirmationAnswer;
    let insurerNumber: string | null = null;
    let personId: string | null = null;
    if ('errors' in parsed) {
      const entry = errorCatalogue.ONSHI_CONFIRMATION_INVALID_INPUT;
      answer = { result: 'error', confirmationId, code: 'ONSHI_CONFIRMATION_INVALID_INPUT', message: entry.en, messageJa: entry.ja, errors: parsed.errors };
      if (!parsed.errors.some((e) => e.field === 'insurerNumber')) insurerNumber = raw.insurerNumber as string;
    } else {
      // Numbers typed in are taken from the paper card unless the facility says a 資格確認書 was presented.
      const inquiry = documentAware ? { ...parsed.inquiry, document: parsed.inquiry.document ?? 'paper_card' } : parsed.inquiry;
      insurerNumber = inquiry.insurerNumber;
      let candidates = await findCandidates(this.db, inquiry, inquiry.asOf);
      if (inquiry.document === 'certificate' && candidates.length > 0 && this.certificatesOf) {
        const byMember = await this.certificatesOf(this.db, candidates.map((c) => c.memberId));
        candidates = candidates.map((c) => ({ ...c, certificates: byMember.get(c.memberId) ?? [] }));
      }
      const decision: DocumentDecision = documentAware ? decideByDocument(inquiry, candidates) : decideEligibility(inquiry, candidates);
      personId = decision.candidate?.personId ?? null;
      if (decision.result === 'valid') {
        answer = { result: 'valid', confirmationId, asOf: inquiry.asOf, member: toEligibilityRecord(decision.candidate) };
        if (options.withLimitCategory) answer.limitCategory = decision.candidate.period.limitCategory;
        const certificate = 'certificate' in decision ? (decision.certificate as CertificateFacts) : undefined;
        if (certificate) answer.certificate = { number: certificate.number, issuedOn: certificate.issuedOn, validUntil: certificate.validUntil };
      } else {
        const m = invalidReasonMessages[decision.reason];
        answer = { result: 'invalid', confirmationId, asOf: inquiry.asOf, reason: decision.reason, message: m.en, messageJa: m.ja };
        if (decision.details) answer.details = decision.details;
        if (decision.reason === 'eligibility_lost' && decision.candidate) {
          answer.newEligibilityExists = await this.registry.hasOtherEligibility(decision.candidate.personId, decision.candidate.memberId, inquiry.asOf);
        }
      }
    }
    return { answer, insurerNumber, personId };
  }
}
