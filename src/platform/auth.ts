// Who is asking. A credential is a random bearer token; only its SHA-256 is stored, so a database
// leak does not leak working tokens (the tokens carry 256 random bits, so a fast hash suffices).

import { hash, randomBytes } from 'node:crypto';
import { OnshiError } from './errors.ts';

export const facilityRoles = ['reception', 'doctor', 'dentist', 'pharmacist', 'facility_admin'] as const;
export type FacilityRole = (typeof facilityRoles)[number];

export type Principal =
  | { kind: 'admin'; credentialId: string; role: 'admin' }
  | { kind: 'facility'; credentialId: string; role: FacilityRole; facilityCode: string }
  | { kind: 'insurer'; credentialId: string; role: 'insurer'; insurerNumber: string }
  /** A patient signed in with their My Number card (challenge + PIN): sees only their own records. */
  | { kind: 'patient'; credentialId: string; role: 'patient'; personId: string };

export type PrincipalKind = Principal['kind'];

export function newToken(): string {
  return `onshi_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  // The one-shot hash: every request authenticates, and it costs a third of a Hash object's.
  return hash('sha256', token, 'hex');
}

/** Refuses (403) unless the principal is one of the given kinds. */
export function requireKind<K extends PrincipalKind>(principal: Principal, ...kinds: K[]): Extract<Principal, { kind: K }> {
  if (!kinds.includes(principal.kind as K)) throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { requiredKinds: kinds });
  return principal as Extract<Principal, { kind: K }>;
}

/** An insurer acts only on its own members; administrators act on any insurer's. */
export function requireInsurerAccess(principal: Principal, insurerNumber: string): void {
  if (principal.kind === 'admin') return;
  if (principal.kind === 'insurer' && principal.insurerNumber === insurerNumber) return;
  throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { insurerNumber });
}

/** Who did it, for the records: the credential id, never the token. */
export function actorOf(principal: Principal): string {
  return `${principal.kind}:${principal.credentialId}`;
}
