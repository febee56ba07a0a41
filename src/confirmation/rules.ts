// The eligibility decision (資格確認): given what the registry holds for some card numbers and the
// date asked about, answer 有効 (valid) or 無効 (invalid, with a reason), or エラー for bad input.
// Pure: the service fetches the candidates and records the usage event.

import { fieldError, type FieldError } from '../platform/errors.ts';
import { isIsoDate } from '../platform/time.ts';
import { validateCardNumbers, validateInsurerNumber } from '../registry/rules.ts';
import { certificateValidOn, paperCardOn, presentedDocuments, type CertificateFacts, type PresentedDocument } from '../programmes/transition/rules.ts';

export type ConfirmationResult = 'valid' | 'invalid' | 'error';

export const invalidReasons = [
  'no_such_member', // 該当資格なし
  'birth_date_mismatch',
  'not_yet_started', // 資格取得日前
  'eligibility_lost', // 資格喪失後
  'paper_card_expired', // 被保険者証の有効期限切れ
  'several_match', // 複数該当 (no branch given and the birth date does not single one out)
] as const;
export type InvalidReason = (typeof invalidReasons)[number];

/** Reasons that only a confirmation knowing the presented document gives (paper-card transition, DOMAIN.md §7). */
export const documentInvalidReasons = [
  'paper_card_no_longer_usable', // この被保険者証は使用できません (after 2025-12-01, after an insurer change, or none issued)
  'no_valid_certificate', // 有効な資格確認書がありません
] as const;
export type DocumentInvalidReason = (typeof documentInvalidReasons)[number];

/** One eligibility period as stored: attributes that held from validFrom (incl.) to validUntil (excl.). */
export interface PeriodRecord {
  validFrom: string;
  validUntil: string | null;
  name: string;
  nameKana: string;
  birthDate: string;
  sex: string;
  address: string;
  postalCode: string | null;
  copayRate: number;
  limitCategory: string | null;
  paperCardIssuedOn: string | null;
  paperCardExpiresOn: string | null;
}

/** A membership that matched the card numbers, with the one period that matters for the date. */
export interface Candidate {
  memberId: string;
  personId: string;
  insurerNumber: string;
  insurerName: string;
  symbol: string;
  number: string;
  branch: string;
  relationship: string;
  qualifiedFrom: string;
  lostOn: string | null;
  lossReason: string | null;
  /** The period covering asOf; else the latest period starting on or before asOf; else the first one. */
  period: PeriodRecord;
  /** The birth date as last recorded: a corrected birth date matches on every date, before the correction too. */
  latestBirthDate: string;
  /** The membership's eligibility certificates (資格確認書); loaded only when one was presented. */
  certificates?: readonly CertificateFacts[];
}

export interface CardNumberInquiry {
  insurerNumber: string;
  symbol: string;
  number: string;
  /** '' when the card has no branch number. */
  branch: string;
  birthDate: string;
  asOf: string;
  /** The document whose numbers were typed in; absent: not said (the paper-card transition is not applied). */
  document?: PresentedDocument;
}

/** Validates a raw inquiry; returns the normalised inquiry or every field problem. */
export function parseInquiry(raw: Record<string, unknown>, today: string): { inquiry: CardNumberInquiry } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const insurerError = validateInsurerNumber(raw.insurerNumber);
  if (insurerError) errors.push(insurerError);
  errors.push(...validateCardNumbers(raw, false));
  if (raw.birthDate === undefined || raw.birthDate === null || raw.birthDate === '') errors.push(fieldError('birthDate', 'required'));
  else if (!isIsoDate(raw.birthDate)) errors.push(fieldError('birthDate', 'invalid_date'));
  const asOf = raw.asOf === undefined || raw.asOf === null || raw.asOf === '' ? today : raw.asOf;
  if (!isIsoDate(asOf)) errors.push(fieldError('asOf', 'invalid_date'));
  const document = raw.document === null || raw.document === '' ? undefined : raw.document;
  if (document !== undefined && !presentedDocuments.includes(document as PresentedDocument)) errors.push(fieldError('document', 'not_allowed', presentedDocuments.join('|')));
  if (errors.length > 0) return { errors };
  const inquiry: CardNumberInquiry = {
    insurerNumber: raw.insurerNumber as string,
    symbol: (raw.symbol as string | undefined) ?? '',
    number: raw.number as string,
    branch: (raw.branch as string | undefined) ?? '',
    birthDate: raw.birthDate as string,
    asOf: asOf as string,
  };
  if (document !== undefined) inquiry.document = document as PresentedDocument;
  return { inquiry };
}

export type Decision =
  | { result: 'valid'; candidate: Candidate }
  | { result: 'invalid'; reason: InvalidReason; candidate?: Candidate; details?: Record<string, string> };

/** True when the period covers the date. */
export function periodCovers(p: Pick<PeriodRecord, 'validFrom' | 'validUntil'>, date: string): boolean {
  return p.validFrom <= date && (p.validUntil === null || date < p.validUntil);
}

/**
 * Decides eligibility on inquiry.asOf among the memberships that matched the card numbers (all
 * branches when the inquiry gave none). The birth date must agree first: nothing else about a
 * membership is revealed to someone who does not know it.
 */
export function decideEligibility(inquiry: CardNumberInquiry, candidates: readonly Candidate[]): Decision {
  return decideMembership(inquiry, candidates, true);
}

export type DocumentDecision =
  | Decision
  | { result: 'valid'; candidate: Candidate; certificate: CertificateFacts }
  | { result: 'invalid'; reason: DocumentInvalidReason; candidate: Candidate; details?: Record<string, string> };

/**
 * The decision knowing which document the numbers came from. A paper card must also be usable under
 * the transition (its expiry or 2025-12-01, whichever is earlier, and never after the membership
 * ends); a 資格確認書 must be in force on asOf, whatever became of the paper card. Without a
 * document, this is decideEligibility.
 */
export function decideByDocument(inquiry: CardNumberInquiry, candidates: readonly Candidate[]): DocumentDecision {
  if (inquiry.document === undefined) return decideEligibility(inquiry, candidates);
  const base = decideMembership(inquiry, candidates, inquiry.document === 'paper_card');
  if (base.result !== 'valid') return base;
  const c = base.candidate;
  const d = inquiry.asOf;
  if (inquiry.document === 'certificate') {
    const certificate = (c.certificates ?? []).find((x) => certificateValidOn(x, d));
    if (!certificate) return { result: 'invalid', reason: 'no_valid_certificate', candidate: c };
    return { result: 'valid', candidate: c, certificate };
  }
  const verdict = paperCardOn(c.period, c, d);
  if (!verdict.usable) {
    return { result: 'invalid', reason: 'paper_card_no_longer_usable', candidate: c, ...(verdict.usableUntil ? { details: { paperCardUsableUntil: verdict.usableUntil } } : {}) };
  }
  return base;
}

function decideMembership(inquiry: CardNumberInquiry, candidates: readonly Candidate[], checkPaperCardExpiry: boolean): Decision {
  if (candidates.length === 0) return { result: 'invalid', reason: 'no_such_member' };
  const sameBirth = candidates.filter((c) => c.period.birthDate === inquiry.birthDate || c.latestBirthDate === inquiry.birthDate);
  if (sameBirth.length === 0) return { result: 'invalid', reason: 'birth_date_mismatch' };
  if (sameBirth.length > 1) {
    // Family members with one birth date (twins) under one symbol and number: only the branch tells them apart.
    return { result: 'invalid', reason: 'several_match' };
  }
  const c = sameBirth[0];
  const d = inquiry.asOf;
  if (d < c.qualifiedFrom) return { result: 'invalid', reason: 'not_yet_started', candidate: c, details: { qualifiedFrom: c.qualifiedFrom } };
  if (c.lostOn !== null && d >= c.lostOn) {
    return { result: 'invalid', reason: 'eligibility_lost', candidate: c, details: { lostOn: c.lostOn, ...(c.lossReason ? { lossReason: c.lossReason } : {}) } };
  }
  if (checkPaperCardExpiry && c.period.paperCardExpiresOn !== null && d > c.period.paperCardExpiresOn) {
    return { result: 'invalid', reason: 'paper_card_expired', candidate: c, details: { paperCardExpiresOn: c.period.paperCardExpiresOn } };
  }
  return { result: 'valid', candidate: c };
}

/** Chooses the period that matters for a date from a membership's periods (sorted by validFrom). */
export function periodForDate<P extends Pick<PeriodRecord, 'validFrom' | 'validUntil'>>(periods: readonly P[], date: string): P | undefined {
  let latestBefore: P | undefined;
  for (const p of periods) {
    if (periodCovers(p, date)) return p;
    if (p.validFrom <= date) latestBefore = p;
  }
  return latestBefore ?? periods[0];
}
