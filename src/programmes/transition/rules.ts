// Pure rules of the transition from paper insurance cards (DOMAIN.md §7): which paper cards may be
// issued, until when a paper card is usable, and the eligibility certificates (資格確認書) that
// replace it. No I/O here.

import { addDays, addYears } from '../../platform/time.ts';

/** No paper card is issued on or after this date. */
export const PAPER_CARD_ABOLISHED_ON = '2024-12-02';
/** The last day on which a paper card valid on 2024-12-01 may be used (unless it expires or the membership ends earlier). */
export const PAPER_CARD_LAST_USABLE_DAY = '2025-12-01';
/** A certificate's validity is set by the insurer, at most five years. */
export const CERTIFICATE_MAX_YEARS = 5;

export type PresentedDocument = 'paper_card' | 'certificate';
export const presentedDocuments: readonly PresentedDocument[] = ['paper_card', 'certificate'];

/** True when a paper card with this issue date may be issued at all. */
export function paperCardIssueAllowed(issuedOn: string): boolean {
  return issuedOn < PAPER_CARD_ABOLISHED_ON;
}

export interface PaperCardFacts {
  /** The card's issue date as recorded; null when the registry holds none. */
  paperCardIssuedOn: string | null;
  /** The card's own expiry (last valid day, inclusive); null when it has none. */
  paperCardExpiresOn: string | null;
}

export interface MembershipFacts {
  qualifiedFrom: string;
  /** 資格喪失日 (first day without eligibility); null while current. */
  lostOn: string | null;
}

/**
 * The last day (inclusive) on which the membership's paper card may be used, or null when it holds no
 * usable paper card at all. Usable until the earliest of: the card's own expiry, 2025-12-01, the day
 * before the membership ends (an insurer change ends the membership).
 *
 * **Decision** (DOMAIN.md silent): a membership recorded without a paper-card issue date that started
 * before 2024-12-02 is taken to hold a card issued when it started (cards were issued to everyone
 * then); one that started on or after 2024-12-02 holds none. A recorded issue date on or after
 * 2024-12-02 (which the registry refuses) gives no usable card.
 */
export function paperCardUsableUntil(card: PaperCardFacts, membership: MembershipFacts): string | null {
  const issuedOn = card.paperCardIssuedOn ?? (membership.qualifiedFrom < PAPER_CARD_ABOLISHED_ON ? membership.qualifiedFrom : null);
  if (issuedOn === null || !paperCardIssueAllowed(issuedOn)) return null;
  let until = PAPER_CARD_LAST_USABLE_DAY;
  if (card.paperCardExpiresOn !== null && card.paperCardExpiresOn < until) until = card.paperCardExpiresOn;
  if (membership.lostOn !== null) {
    const lastDay = addDays(membership.lostOn, -1);
    if (lastDay < until) until = lastDay;
  }
  if (until < issuedOn) return null;
  return until;
}

export type PaperCardVerdict =
  | { usable: true; usableUntil: string }
  /** expired: the card's own expiry passed (before the transition's end); no_longer_usable: the transition ended it or none exists. */
  | { usable: false; why: 'expired' | 'no_longer_usable' | 'membership_ended'; usableUntil: string | null };

/** Whether the paper card may be used on `date`, and why not. */
export function paperCardOn(card: PaperCardFacts, membership: MembershipFacts, date: string): PaperCardVerdict {
  const until = paperCardUsableUntil(card, membership);
  if (until !== null && date <= until) return { usable: true, usableUntil: until };
  if (membership.lostOn !== null && date >= membership.lostOn) return { usable: false, why: 'membership_ended', usableUntil: until };
  if (until !== null && card.paperCardExpiresOn !== null && until === card.paperCardExpiresOn && card.paperCardExpiresOn < PAPER_CARD_LAST_USABLE_DAY) {
    return { usable: false, why: 'expired', usableUntil: until };
  }
  return { usable: false, why: 'no_longer_usable', usableUntil: until };
}

export interface CertificateFacts {
  number: string;
  issuedOn: string;
  /** Last valid day (inclusive). */
  validUntil: string;
  /** First day it is no longer valid (returned, replaced); null while in force. */
  revokedOn: string | null;
}

export function certificateValidOn(c: Pick<CertificateFacts, 'issuedOn' | 'validUntil' | 'revokedOn'>, date: string): boolean {
  return c.issuedOn <= date && date <= c.validUntil && (c.revokedOn === null || date < c.revokedOn);
}

/**
 * The last valid day of a certificate issued on `issuedOn` for `years` (1–5): the day before the
 * anniversary (5 years from 2024-12-02 is valid to 2029-12-01), and never past the membership's end.
 */
export function certificateValidUntil(issuedOn: string, years: number, lostOn: string | null = null): string {
  if (!Number.isInteger(years) || years < 1 || years > CERTIFICATE_MAX_YEARS) throw new RangeError(`certificate validity must be 1–${CERTIFICATE_MAX_YEARS} years`);
  let until = addDays(addYears(issuedOn, years), -1);
  if (lostOn !== null && addDays(lostOn, -1) < until) until = addDays(lostOn, -1);
  return until;
}

/** Validates an insurer's chosen validity (years, whole, 1–5). */
export function isValidCertificateYears(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= CERTIFICATE_MAX_YEARS;
}

/**
 * Whether the issue-due job issues a certificate for a member on `today` with `leadDays` of lead
 * time: the member is current, holds no insurance-registered My Number card and no certificate valid
 * on the day after the paper card stops being usable, and that day is at most `leadDays` away (or
 * already past: someone whose card has already stopped working gets one at once).
 */
export function certificateDue(input: {
  today: string;
  leadDays: number;
  membership: MembershipFacts;
  card: PaperCardFacts;
  hasRegisteredMyNumberCard: boolean;
  certificates: readonly Pick<CertificateFacts, 'issuedOn' | 'validUntil' | 'revokedOn'>[];
}): { due: false } | { due: true; neededFrom: string } {
  const { today, membership } = input;
  if (membership.lostOn !== null && membership.lostOn <= today) return { due: false };
  if (input.hasRegisteredMyNumberCard) return { due: false };
  const until = paperCardUsableUntil(input.card, membership);
  // The first day without a usable paper card (today when none is held).
  const neededFrom = until === null ? (membership.qualifiedFrom > today ? membership.qualifiedFrom : today) : addDays(until, 1);
  if (membership.lostOn !== null && neededFrom >= membership.lostOn) return { due: false };
  const checkDay = neededFrom > today ? neededFrom : today;
  if (input.certificates.some((c) => certificateValidOn(c, checkDay))) return { due: false };
  if (addDays(today, input.leadDays) < neededFrom) return { due: false };
  return { due: true, neededFrom };
}

/**
 * A certificate number: insurer number, a 10-digit serial, and a modulus-10 check digit over the
 * serial (so a mistyped number is caught). Printed as `06139992-0000000012-7`.
 */
export function certificateNumber(insurerNumber: string, serial: number): string {
  const body = String(serial).padStart(10, '0');
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += (body.charCodeAt(i) - 48) * (i % 2 === 0 ? 3 : 1);
  return `${insurerNumber}-${body}-${(10 - (sum % 10)) % 10}`;
}

export function isCertificateNumber(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const m = /^(\d{6}|\d{8})-(\d{10})-(\d)$/.exec(v);
  return m !== null && certificateNumber(m[1], Number(m[2])) === v;
}

export const requestReasons = ['card_lost', 'card_suspended', 'no_card', 'other'] as const;
export type RequestReason = (typeof requestReasons)[number];
