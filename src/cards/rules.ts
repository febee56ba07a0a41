// Rules of the card issuer and the reader protocol (pure: no I/O). The certificate format, its
// validity window, the PIN retry counter, the bytes a card signs, and the checks on an issue request.

import { fieldError, type FieldError } from '../platform/errors.ts';
import { isIsoDate } from '../platform/time.ts';
import { checkText, TEXT_MAX } from '../platform/text.ts';
import { isValidMyNumber } from '../registry/rules.ts';

/** Wrong PINs in a row that lock the card (a real card's user-certificate PIN locks after 3). */
export const MAX_PIN_TRIES = 3;
/** How long a reader or sign-in challenge can be answered. */
export const CHALLENGE_TTL_MS = 120_000;
export const DEFAULT_VALID_YEARS = 5;
export const MAX_VALID_YEARS = 10;

export type VerificationMethod = 'face' | 'pin' | 'visual';
export const verificationMethods: readonly VerificationMethod[] = ['face', 'pin', 'visual'];

/**
 * The signed part of a user certificate. The certificate travels as
 * `base64url(JSON of these fields, in this order) "." base64url(issuer signature over that text)`:
 * simpler than X.509 but with the same trust structure (an issuer key signs the subject key and the
 * validity window).
 */
export interface CertificateBody {
  v: 1;
  serial: string;
  /** The card's public key: SPKI DER, base64url. */
  subjectPublicKey: string;
  /** Key id of the issuer (hash of its public key), so a certificate names who signed it. */
  issuer: string;
  /** Instants (UTC ISO): valid from notBefore (inclusive) until notAfter (exclusive). */
  notBefore: string;
  notAfter: string;
}

export function encodeCertificateBody(b: CertificateBody): string {
  const ordered = { v: b.v, serial: b.serial, subjectPublicKey: b.subjectPublicKey, issuer: b.issuer, notBefore: b.notBefore, notAfter: b.notAfter };
  return Buffer.from(JSON.stringify(ordered), 'utf8').toString('base64url');
}

const B64URL = /^[A-Za-z0-9_-]+$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

/** Splits and parses a certificate; undefined when it is not one (never throws on hostile input). */
export function parseCertificate(certificate: unknown): { body: CertificateBody; signedText: string; signature: Buffer } | undefined {
  if (typeof certificate !== 'string' || certificate.length > 4096) return undefined;
  const parts = certificate.split('.');
  if (parts.length !== 2 || !B64URL.test(parts[0]) || !B64URL.test(parts[1])) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const b = raw as Record<string, unknown>;
  if (typeof b !== 'object' || b === null || b.v !== 1) return undefined;
  for (const k of ['serial', 'subjectPublicKey', 'issuer', 'notBefore', 'notAfter'] as const) if (typeof b[k] !== 'string') return undefined;
  if (!ISO_INSTANT.test(b.notBefore as string) || !ISO_INSTANT.test(b.notAfter as string)) return undefined;
  const body = b as unknown as CertificateBody;
  // Re-encoding must give the very same text: no second spelling of one certificate.
  if (encodeCertificateBody(body) !== parts[0]) return undefined;
  return { body, signedText: parts[0], signature: Buffer.from(parts[1], 'base64url') };
}

export type Validity = 'valid' | 'not_yet_valid' | 'expired';

/** Where an instant stands in the certificate's window [notBefore, notAfter). */
export function certificateValidity(b: Pick<CertificateBody, 'notBefore' | 'notAfter'>, now: Date): Validity {
  const t = now.getTime();
  if (t < Date.parse(b.notBefore)) return 'not_yet_valid';
  if (t >= Date.parse(b.notAfter)) return 'expired';
  return 'valid';
}

/** notAfter for a certificate issued at `issuedAt` valid for `years` calendar years (29 Feb → 28 Feb). */
export function validityEnd(issuedAt: Date, years: number): Date {
  const d = new Date(issuedAt.getTime());
  const month = d.getUTCMonth();
  d.setUTCFullYear(d.getUTCFullYear() + years);
  if (d.getUTCMonth() !== month) d.setUTCDate(0); // rolled over into March: back to the month's last day
  return d;
}

export interface PinState {
  failures: number;
  locked: boolean;
}

export type PinOutcome = { outcome: 'ok'; next: PinState } | { outcome: 'wrong'; next: PinState; remainingTries: number } | { outcome: 'locked'; next: PinState };

/**
 * The PIN counter, as on the card's chip: a correct PIN resets the count; each wrong one counts, the
 * MAX_PIN_TRIES-th locks; a locked card refuses even the right PIN until the issuer unlocks it.
 */
export function pinAttempt(state: PinState, correct: boolean): PinOutcome {
  if (state.locked) return { outcome: 'locked', next: state };
  if (correct) return { outcome: 'ok', next: { failures: 0, locked: false } };
  const failures = state.failures + 1;
  if (failures >= MAX_PIN_TRIES) return { outcome: 'locked', next: { failures, locked: true } };
  return { outcome: 'wrong', next: { failures, locked: false }, remainingTries: MAX_PIN_TRIES - failures };
}

export function isPin(v: unknown): v is string {
  return typeof v === 'string' && /^\d{4}$/.test(v);
}

/**
 * What the card signs: a domain tag, the purpose, the challenge nonce and its audience (the facility
 * code, or 'patient'). Binding the audience stops a signature made at one facility from being
 * replayed at another, or as a patient sign-in.
 */
export function challengeMessage(purpose: 'reader' | 'patient', nonce: string, audience: string): Buffer {
  return Buffer.from(`onshi-card-auth/v1\n${purpose}\n${nonce}\n${audience}`, 'utf8');
}

export interface IssueCardInput {
  myNumber: string;
  name: string;
  birthDate: string;
  pin: string;
  validYears: number;
}

/** Validates a card issue request; returns every problem at once. */
export function validateIssueCard(raw: Record<string, unknown>): { input: IssueCardInput } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (raw.myNumber === undefined || raw.myNumber === '') errors.push(fieldError('myNumber', 'required'));
  else if (typeof raw.myNumber !== 'string' || !/^\d{12}$/.test(raw.myNumber)) errors.push(fieldError('myNumber', 'format', '12 digits'));
  else if (!isValidMyNumber(raw.myNumber)) errors.push(fieldError('myNumber', 'check_digit'));
  checkText(errors, 'name', raw.name, { max: TEXT_MAX.name, required: true });
  if (raw.birthDate === undefined || raw.birthDate === '') errors.push(fieldError('birthDate', 'required'));
  else if (!isIsoDate(raw.birthDate)) errors.push(fieldError('birthDate', 'invalid_date'));
  if (raw.pin === undefined || raw.pin === '') errors.push(fieldError('pin', 'required'));
  else if (!isPin(raw.pin)) errors.push(fieldError('pin', 'format', '4 digits'));
  const validYears = raw.validYears ?? DEFAULT_VALID_YEARS;
  if (!Number.isInteger(validYears) || (validYears as number) < 1 || (validYears as number) > MAX_VALID_YEARS) {
    errors.push(fieldError('validYears', 'out_of_range', `1 to ${MAX_VALID_YEARS}`));
  }
  if (errors.length) return { errors };
  return { input: { myNumber: raw.myNumber as string, name: (raw.name as string).trim(), birthDate: raw.birthDate as string, pin: raw.pin as string, validYears: validYears as number } };
}
