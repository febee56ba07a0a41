// Code tables of the real interface (MC codes.ts, via INTERFACE.md §2.3) and onshi's own error codes
// where the public material is silent (§3). onshi has one error catalogue; this maps it.

import { errorCatalogue, type ErrorCode } from '../platform/errors.ts';
import type { DocumentInvalidReason, InvalidReason } from '../confirmation/rules.ts';

export const SegmentOfResult = { done: '1', processing: '2', failed: '9' } as const;
export const ProcessingResultStatus = { normal: '1', error: '2' } as const;
/** OQSCD006 資格有効性. */
export const QualificationValidity = { valid: '1', invalid: '2', invalidNewExists: '3', none: '4', severalMatch: '5' } as const;
export const ReferenceClassification = { myNumberCard: '1', insuranceCard: '2' } as const;
export const Sex = { male: '1', female: '2', unset: '3' } as const;
export const PersonalFamilyClassification = { self: '1', family: '2' } as const;
/** 被保険者証の種類: onshi issues only 01 被保険者証（一般）. */
export const InsuredCardClassification = { general: '01' } as const;
export const ReasonOfLoss: Record<string, string> = { death: '01', public_assistance: '02', other_insurance: '03', other: '99' };
export const LimitCertificateClassification = { limit: '01', limitAndMeal: '02', meal: '03' } as const;

export function sexCode(sex: string): string {
  return sex === 'male' ? Sex.male : sex === 'female' ? Sex.female : Sex.unset;
}

export function relationshipCode(relationship: string): string {
  return relationship === 'self' ? PersonalFamilyClassification.self : PersonalFamilyClassification.family;
}

/** 限度額適用認定証 kind of a category: オ/低所得 carry the standard meal reduction (標準負担額減額). */
export function limitCertificateClassification(category: string): string {
  return ['A05', 'A06', 'B05', 'B06', 'B07', 'B08'].includes(category) ? LimitCertificateClassification.limitAndMeal : LimitCertificateClassification.limit;
}

/** Percent as three digits: 10 → "010", 30 → "030". */
export function percent3(rate: number): string {
  return String(rate).padStart(3, '0');
}

/** Which 資格有効性 an invalid answer carries. */
export function validityOfInvalid(reason: InvalidReason | DocumentInvalidReason, newEligibilityExists: boolean | undefined): string {
  switch (reason) {
    case 'no_such_member':
    case 'birth_date_mismatch': // nothing about a membership is revealed to one who does not know its birth date
      return QualificationValidity.none;
    case 'several_match':
      return QualificationValidity.severalMatch;
    case 'eligibility_lost':
      return newEligibilityExists ? QualificationValidity.invalidNewExists : QualificationValidity.invalid;
    case 'not_yet_started':
    case 'paper_card_expired':
    // The paper-card transition: the membership may be in force, but the presented document is not
    // usable (the 被保険者証 after 2025-12-01 or an insurer change) or not in force (資格確認書).
    case 'paper_card_no_longer_usable':
    case 'no_valid_certificate':
      return QualificationValidity.invalid;
  }
}

/**
 * onshi's interface codes (decision, INTERFACE.md §3: no real values are public). Shape follows the
 * sibling 電子処方箋 codes (`EPSB1032W`): prefix ONSI, four digits, a severity letter (E error,
 * W warning, I information). 1xxx go in the header's ErrorCode (SegmentOfResult 9 or 2), 2xxx in a
 * person's ProcessingResultCode.
 */
export const interfaceErrorCodes: Partial<Record<ErrorCode, string>> = {
  ONSHI_INTERFACE_MALFORMED: 'ONSI1001E',
  ONSHI_INTERFACE_UNKNOWN_MESSAGE: 'ONSI1002E',
  ONSHI_INTERFACE_INVALID_HEADER: 'ONSI1003E',
  ONSHI_AUTH_FORBIDDEN: 'ONSI1004E',
  ONSHI_BATCH_NOT_FOUND: 'ONSI1005E',
  ONSHI_BATCH_EMPTY: 'ONSI1006E',
  ONSHI_BATCH_TOO_MANY_ROWS: 'ONSI1007E',
  ONSHI_BATCH_PROCESSING: 'ONSI1008I',
  ONSHI_REQUEST_TOO_LARGE: 'ONSI1010E',
  ONSHI_BODY_TOO_LARGE: 'ONSI1010E',
  ONSHI_INTERFACE_IDEMPOTENCY_CONFLICT: 'ONSI1011E',
  ONSHI_INTERFACE_IDEMPOTENCY_KEY_INVALID: 'ONSI1012E',
  ONSHI_UNAVAILABLE: 'ONSI1098E',
  ONSHI_INTERNAL: 'ONSI1099E',
  ONSHI_CONFIRMATION_INVALID_INPUT: 'ONSI2001E',
  ONSHI_INTERFACE_REFERENCE_NUMBER_INVALID: 'ONSI2201E',
};

/** ProcessingResultCode of an invalid (無効) answer: status stays 1 (processed), the code explains. */
export const invalidReasonCodes: Record<InvalidReason | DocumentInvalidReason, string> = {
  no_such_member: 'ONSI2101W',
  birth_date_mismatch: 'ONSI2102W',
  not_yet_started: 'ONSI2103W',
  eligibility_lost: 'ONSI2104W',
  paper_card_expired: 'ONSI2105W',
  several_match: 'ONSI2106W',
  paper_card_no_longer_usable: 'ONSI2107W',
  no_valid_certificate: 'ONSI2108W',
};

/** The header ErrorCode and ErrorMessage (Japanese, from the one catalogue) for a refusal. */
export function interfaceError(code: ErrorCode, detail?: string): { ErrorCode: string; ErrorMessage: string } {
  const xml = interfaceErrorCodes[code] ?? interfaceErrorCodes.ONSHI_INTERNAL!;
  const message = errorCatalogue[code].ja;
  return { ErrorCode: xml, ErrorMessage: detail ? `${message}（${detail}）` : message };
}
