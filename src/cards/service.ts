// The card issuer (a stand-in for J-LIS) and the reader protocol (マイナンバーカードによる資格確認).
//
// What the central system keeps per card: the certificate serial ↔ person link, the certificate
// (public), the status (active / suspended), the PIN failure count and lock, and the 保険証利用登録
// date. Never the My Number (only its HMAC link key finds the person at issue time, and is not copied
// here), never the card's private key.
//
// The PIN: a real card checks it on the chip and the system only sees the chip's lock state. The
// simulated card has no chip, so the issuer plays the chip: it keeps a salted scrypt hash of the PIN
// and the failure counter, the reader sends the PIN with the signed challenge, three wrong PINs lock
// the card and only the issuer unlocks it. (A 4-digit PIN has 10,000 values, so the hash slows an
// offline guess but cannot stop one; the counter in the database is what protects the card online.)
//
// Decisions:
//  - A card is issued only for a person the registry already knows under that My Number (an insurer
//    added a member with `myNumber`): otherwise ONSHI_PATIENT_NOT_FOUND. The issuer does not create
//    persons; a card with no insurance behind it would only ever answer "no such member".
//  - Order of checks: challenge → certificate → suspension → validity → signature → PIN / face →
//    registration. The signature comes before the PIN so that only the card's holder (who has its
//    private key) can spend PIN tries: knowing a certificate (public) is not enough to lock a card.
//  - A locked PIN refuses PIN verification and the patient sign-in; face and visual verification
//    still work, as with real face-recognition readers.
//  - Every challenge is one-time whatever the outcome: a wrong PIN costs the challenge too.
//    Challenges are stateless (HMAC under a server secret, see challenges.ts): issuing one writes
//    nothing; the first answer spends it in the used-challenge ledger (group-committed).
//  - Refusals are not confirmations: they write no usage event. An answered confirmation (valid or
//    invalid) is one, committed before the answer goes out, in one transaction with its consent
//    answer and its access-log entries (the usage recorder's group commit).

import { createPublicKey, randomBytes, scrypt as scryptCb, timingSafeEqual, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Db } from '../platform/db.ts';
import { nowIso } from '../platform/db.ts';
import { newId } from '../platform/ids.ts';
import { OnshiError } from '../platform/errors.ts';
import { jstDateOf, todayJst } from '../platform/time.ts';
import type { RegistryService } from '../registry/service.ts';
import { findPersonByLinkKey } from '../registry/repository.ts';
import type { UsageRecorder } from '../confirmation/usage-recorder.ts';
import { decideEligibility, type Candidate, type InvalidReason } from '../confirmation/rules.ts';
import { invalidReasonMessages, toEligibilityRecord, type EligibilityRecord } from '../confirmation/service.ts';
import type { ConsentScope, ConsentService } from '../consent/service.ts';
import type { AuditService } from '../audit/service.ts';
import { auditRow, type AccessLogRow } from '../audit/rows.ts';
import { mintChallenge, openChallenge, type Challenge, type ChallengeLedger, type ChallengePurpose } from './challenges.ts';
import { generateKeyPairAsync, keyIdOf, privateKeyFromPem, privateKeyToPem, publicKeyFromDer, publicKeyToDer, signCertificate, verifyCertificate, verifyChallengeSignature } from './certificate.ts';
import * as repo from './repository.ts';
import {
  certificateValidity,
  challengeMessage,
  MAX_PIN_TRIES,
  pinAttempt,
  validateIssueCard,
  validityEnd,
  type CertificateBody,
  type VerificationMethod,
} from './rules.ts';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;
const ISSUER_SECRET = 'card_issuer_key';
const CHALLENGE_SECRET = 'card_challenge_secret';
/** Certificates kept verified in memory (a card's is checked against the issuer key once). */
const VERIFIED_CERTIFICATES = 50_000;

/** The card object a reader holds: answered once at issue, never stored centrally. */
export interface IssuedCard {
  serial: string;
  certificate: string;
  /** The card's private key, PKCS#8 PEM (on a real card it never leaves the chip). */
  privateKey: string;
  pin: string;
  name: string;
  birthDate: string;
  notBefore: string;
  notAfter: string;
}

export interface CardView {
  serial: string;
  status: 'active' | 'suspended';
  pinLocked: boolean;
  pinFailures: number;
  registeredAt: string | null;
  issuedAt: string;
  notAfter: string;
}

export type { Challenge } from './challenges.ts';

export interface CardProof {
  challengeId: string;
  serial: string;
  certificate: string;
  signature: string;
}

export interface ReaderConfirmInput extends CardProof {
  verification: VerificationMethod;
  pin?: string;
  faceMatched?: boolean;
  consent: { medication: boolean; checkups: boolean; limitInfo: boolean };
  registerNow?: boolean;
}

export type CardMember = EligibilityRecord & { limitCategory?: string | null };

export type CardConfirmationAnswer =
  | {
      result: 'valid';
      confirmationId: string;
      asOf: string;
      member: CardMember;
      consent: { id: string; scopes: ConsentScope[]; method: 'reader' | 'written'; expiresAt: string };
      registeredNow: boolean;
    }
  | {
      result: 'invalid';
      confirmationId: string;
      asOf: string;
      reason: InvalidReason;
      message: string;
      messageJa: string;
      details?: Record<string, string>;
      consent: { id: string; scopes: ConsentScope[]; method: 'reader' | 'written'; expiresAt: string };
      registeredNow: boolean;
    };

export type PersonDecision = { result: 'valid'; candidate: Candidate } | { result: 'invalid'; reason: InvalidReason; candidate?: Candidate; details?: Record<string, string> };

/**
 * The person's eligibility on a date, from all their memberships: the one valid that day (the most
 * recently qualified when several are); none valid → the latest membership's reason; none at all →
 * no_such_member. Each membership is judged by the card-number path's rules (the card identified the
 * person, so the birth date is the registered one).
 */
export function decidePersonEligibility(candidates: readonly Candidate[], asOf: string): PersonDecision {
  if (candidates.length === 0) return { result: 'invalid', reason: 'no_such_member' };
  const latestFirst = [...candidates].sort((a, b) => (a.qualifiedFrom < b.qualifiedFrom ? 1 : a.qualifiedFrom > b.qualifiedFrom ? -1 : 0));
  const decisions = latestFirst.map((c) =>
    decideEligibility({ insurerNumber: c.insurerNumber, symbol: c.symbol, number: c.number, branch: c.branch, birthDate: c.period.birthDate, asOf }, [c]),
  );
  const valid = decisions.find((d) => d.result === 'valid');
  if (valid) return valid as PersonDecision;
  return decisions[0] as PersonDecision;
}

export class CardService {
  private issuer?: Promise<{ privateKey: KeyObject; publicKey: KeyObject; keyId: string }>;
  /** Certificates whose issuer signature was checked, by text (immutable, so a hit needs no recheck). */
  private readonly verified = new Map<string, { body: CertificateBody; publicKey: KeyObject }>();
  private challengeKey?: Promise<Buffer>;

  constructor(
    private readonly db: Db,
    private readonly registry: RegistryService,
    private readonly recorder: UsageRecorder,
    private readonly ledger: ChallengeLedger,
    private readonly consent: ConsentService,
    private readonly audit: AuditService,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The issuer key pair: generated on first use and kept in system_secrets (every node reads the same). */
  private issuerKey() {
    this.issuer ??= (async () => {
      const read = () => this.db.selectFrom('system_secrets').select('value').where('name', '=', ISSUER_SECRET).executeTakeFirst();
      let row = await read();
      if (!row) {
        const { privateKey } = await generateKeyPairAsync();
        // Two nodes may race here: the first insert wins and both read it back.
        await this.db
          .insertInto('system_secrets')
          .values({ name: ISSUER_SECRET, value: privateKeyToPem(privateKey), created_at: nowIso() })
          .onConflict((oc) => oc.column('name').doNothing())
          .execute();
        row = await read();
      }
      const privateKey = privateKeyFromPem(row!.value);
      const publicKey = createPublicKey(privateKey);
      return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
    })().catch((e) => {
      this.issuer = undefined;
      throw e;
    });
    return this.issuer;
  }

  /** The challenge MAC key: generated once and kept in system_secrets (every node checks the others' challenges). */
  private challengeSecret(): Promise<Buffer> {
    this.challengeKey ??= (async () => {
      const read = () => this.db.selectFrom('system_secrets').select('value').where('name', '=', CHALLENGE_SECRET).executeTakeFirst();
      let row = await read();
      if (!row) {
        // Two nodes may race here: the first insert wins and both read it back.
        await this.db
          .insertInto('system_secrets')
          .values({ name: CHALLENGE_SECRET, value: randomBytes(32).toString('base64url'), created_at: nowIso() })
          .onConflict((oc) => oc.column('name').doNothing())
          .execute();
        row = await read();
      }
      return Buffer.from(row!.value, 'base64url');
    })().catch((e) => {
      this.challengeKey = undefined;
      throw e;
    });
    return this.challengeKey;
  }

  /** The issuer's public key (SPKI DER, base64url), for vendors who want to check certificates themselves. */
  async issuerPublicKey(): Promise<{ keyId: string; publicKey: string }> {
    const k = await this.issuerKey();
    return { keyId: k.keyId, publicKey: publicKeyToDer(k.publicKey) };
  }

  // Issuer (administrators)

  async issue(raw: Record<string, unknown>, actor: string): Promise<IssuedCard> {
    const v = validateIssueCard(raw);
    if ('errors' in v) throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors: v.errors });
    const { input } = v;
    const personId = await findPersonByLinkKey(this.db, this.registry.linkKeyOf(input.myNumber));
    if (!personId) throw new OnshiError('ONSHI_PATIENT_NOT_FOUND');
    const issuer = await this.issuerKey();
    const now = this.clock();
    const card = await generateKeyPairAsync();
    const serial = randomBytes(8).toString('hex').toUpperCase();
    const body: CertificateBody = {
      v: 1,
      serial,
      subjectPublicKey: publicKeyToDer(card.publicKey),
      issuer: issuer.keyId,
      notBefore: now.toISOString(),
      notAfter: validityEnd(now, input.validYears).toISOString(),
    };
    const certificate = signCertificate(body, issuer.privateKey);
    await repo.insertCard(this.db, {
      serial,
      person_id: personId,
      certificate,
      not_after: body.notAfter,
      status: 'active',
      pin_hash: await hashPin(input.pin),
      pin_failures: 0,
      pin_locked_at: null,
      registered_at: null,
      issued_at: now.toISOString(),
      issued_by: actor,
      status_changed_at: null,
    });
    return { serial, certificate, privateKey: privateKeyToPem(card.privateKey), pin: input.pin, name: input.name, birthDate: input.birthDate, notBefore: body.notBefore, notAfter: body.notAfter };
  }

  async get(serial: string): Promise<CardView> {
    return toView(await this.cardOrThrow(serial));
  }

  /** 一時停止 (reported lost): every later use is refused until resumed. */
  async suspend(serial: string): Promise<CardView> {
    await this.cardOrThrow(serial);
    await repo.setStatus(this.db, serial, 'suspended', this.clock().toISOString());
    return this.get(serial);
  }

  async resume(serial: string): Promise<CardView> {
    await this.cardOrThrow(serial);
    await repo.setStatus(this.db, serial, 'active', this.clock().toISOString());
    return this.get(serial);
  }

  /** The issuer's PIN unlock (at the municipal office in real life): the counter starts again. */
  async unlock(serial: string): Promise<CardView> {
    await this.cardOrThrow(serial);
    await repo.unlockPin(this.db, serial);
    return this.get(serial);
  }

  private async cardOrThrow(serial: string): Promise<repo.CardsTable> {
    const card = await repo.findCard(this.db, serial);
    if (!card) throw new OnshiError('ONSHI_CARD_NOT_FOUND', { serial });
    return card;
  }

  // Challenges

  /** A challenge for `audience`: computed (HMAC), nothing written. */
  async newChallenge(purpose: ChallengePurpose, audience: string): Promise<Challenge> {
    return mintChallenge(await this.challengeSecret(), purpose, audience, this.clock());
  }

  /**
   * The checks shared by the reader and the patient sign-in, in the documented order. Answers the
   * card row once the holder is proven.
   */
  private async authenticate(purpose: 'reader' | 'patient', audience: string, proof: CardProof, verification: VerificationMethod, pin: string | undefined, faceMatched: boolean | undefined): Promise<repo.CardsTable> {
    const now = this.clock();
    const at = now.toISOString();
    // Another facility's challenge does not verify here: "unknown", and not spent.
    const challenge = openChallenge(await this.challengeSecret(), proof.challengeId, purpose, audience);
    if (!challenge) throw new OnshiError('ONSHI_CHALLENGE_UNKNOWN');
    if (challenge.expiresAt.getTime() <= now.getTime()) throw new OnshiError('ONSHI_CHALLENGE_EXPIRED', { expiresAt: challenge.expiresAt.toISOString() });
    // Spent from here on, whatever the outcome below.
    if (!(await this.ledger.consume(challenge.nonce, challenge.expiresAt))) throw new OnshiError('ONSHI_CHALLENGE_REPLAYED');

    const cert = await this.checkCertificate(proof.certificate);
    const card = cert && cert.body.serial === proof.serial ? await repo.findCard(this.db, proof.serial) : undefined;
    // The presented certificate must be the very one issued for this serial (a re-signed or
    // edited one, or one from another issuer key, is unknown).
    if (!cert || !card || card.certificate !== proof.certificate) throw new OnshiError('ONSHI_CARD_CERTIFICATE_UNKNOWN');
    if (card.status === 'suspended') throw new OnshiError('ONSHI_CARD_SUSPENDED');
    const validity = certificateValidity(cert.body, now);
    if (validity !== 'valid') throw new OnshiError('ONSHI_CARD_CERTIFICATE_EXPIRED', { notBefore: cert.body.notBefore, notAfter: cert.body.notAfter, validity });
    if (!verifyChallengeSignature(challengeMessage(purpose, challenge.nonce, audience), proof.signature, cert.publicKey)) throw new OnshiError('ONSHI_SIGNATURE_INVALID');

    if (verification === 'pin') {
      const state = { failures: card.pin_failures, locked: card.pin_locked_at !== null };
      if (state.locked) throw new OnshiError('ONSHI_CARD_PIN_LOCKED', { remainingTries: 0 });
      const correct = typeof pin === 'string' && (await checkPin(pin, card.pin_hash));
      const outcome = pinAttempt(state, correct);
      if (outcome.outcome === 'ok') {
        if (card.pin_failures > 0) await repo.resetPinFailures(this.db, card.serial);
      } else {
        // The counter moves in the database (atomic), not from the state read above: concurrent
        // wrong PINs on two nodes each count.
        const after = await repo.countWrongPin(this.db, card.serial, at);
        if (!after || after.pin_locked_at !== null) throw new OnshiError('ONSHI_CARD_PIN_LOCKED', { remainingTries: 0 });
        throw new OnshiError('ONSHI_CARD_PIN_WRONG', { remainingTries: MAX_PIN_TRIES - after.pin_failures });
      }
    } else if (verification === 'face') {
      if (faceMatched !== true) throw new OnshiError('ONSHI_CARD_FACE_MISMATCH');
    }
    return card;
  }

  private async checkCertificate(certificate: unknown): Promise<{ body: CertificateBody; publicKey: KeyObject } | undefined> {
    if (typeof certificate !== 'string') return undefined;
    const hit = this.verified.get(certificate);
    if (hit) return hit;
    const issuer = await this.issuerKey();
    const body = verifyCertificate(certificate, issuer.publicKey, issuer.keyId);
    const publicKey = body && publicKeyFromDer(body.subjectPublicKey);
    if (!body || !publicKey) return undefined;
    if (this.verified.size >= VERIFIED_CERTIFICATES) this.verified.delete(this.verified.keys().next().value as string);
    const entry = { body, publicKey };
    this.verified.set(certificate, entry);
    return entry;
  }

  // The reader protocol

  /**
   * A facility's confirmation with the card: proves the holder, registers the card for insurance use
   * when asked, records the consent answers, and answers the person's eligibility today in the
   * card-number path's shape, after its usage event is committed.
   */
  async confirmAtReader(facilityCode: string, staff: { actor: string; role: string }, input: ReaderConfirmInput): Promise<CardConfirmationAnswer> {
    const card = await this.authenticate('reader', facilityCode, input, input.verification, input.pin, input.faceMatched);
    const now = this.clock();
    let registeredNow = false;
    if (card.registered_at === null) {
      if (input.registerNow !== true) throw new OnshiError('ONSHI_CARD_UNREGISTERED');
      registeredNow = await repo.markRegistered(this.db, card.serial, now.toISOString());
    }

    const asOf = todayJst(now);
    const confirmationId = newId(now.getTime());
    const decision = decidePersonEligibility(await repo.candidatesOfPerson(this.db, card.person_id, asOf), asOf);
    const scopes: ConsentScope[] = [];
    if (input.consent.medication) scopes.push('medication');
    if (input.consent.checkups) scopes.push('checkups');
    if (input.consent.limitInfo) scopes.push('limit_info');
    // Face or PIN: the patient answered on the reader. Visual (generic reader): staff took written consent.
    const method = input.verification === 'visual' ? 'written' : 'reader';

    const { row: consentRow, record: granted } = this.consent.buildGrant({ personId: card.person_id, facilityCode, scopes, method, ...(method === 'written' ? { attestedBy: staff.actor } : {}) });
    const consent = { id: granted.id, scopes: granted.scopes, method, expiresAt: granted.expiresAt } as const;
    const entry = { actor: staff.actor, role: staff.role, facilityCode, personId: card.person_id };
    const accessLog: AccessLogRow[] = [
      auditRow({ ...entry, what: 'eligibility', basis: { kind: 'confirmation', confirmationId }, detail: { method: 'my_number_card', verification: input.verification, result: decision.result } }, now),
    ];
    const showLimit = decision.result === 'valid' && granted.scopes.includes('limit_info');
    if (showLimit) accessLog.push(auditRow({ ...entry, what: 'limit_category', basis: { kind: 'consent', consentId: granted.id } }, now));

    // The usage event, the consent answer and the access-log entries commit together; the answer
    // leaves after that commit.
    await this.recorder.record(
      {
        confirmation_id: confirmationId,
        occurred_at: now.toISOString(),
        occurred_on: jstDateOf(now),
        facility_code: facilityCode,
        method: 'my_number_card',
        result: decision.result,
        reason: decision.result === 'invalid' ? decision.reason : null,
        insurer_number: decision.candidate?.insurerNumber ?? null,
        person_id: card.person_id,
        consent_id: granted.id,
      },
      { consents: [consentRow], accessLog },
    );

    if (decision.result === 'valid') {
      const member: CardMember = toEligibilityRecord(decision.candidate);
      if (showLimit) member.limitCategory = decision.candidate.period.limitCategory;
      return { result: 'valid', confirmationId, asOf, member, consent: { ...consent, scopes: [...consent.scopes] }, registeredNow };
    }
    const m = invalidReasonMessages[decision.reason];
    return {
      result: 'invalid',
      confirmationId,
      asOf,
      reason: decision.reason,
      message: m.en,
      messageJa: m.ja,
      ...(decision.details ? { details: decision.details } : {}),
      consent: { ...consent, scopes: [...consent.scopes] },
      registeredNow,
    };
  }

  // The patient (マイナポータル-like): sign-in with the card, own registration, own eligibility

  async signIn(proof: CardProof & { pin?: string }, issueSession: (personId: string) => Promise<{ token: string; expiresAt: string }>): Promise<{ token: string; expiresAt: string }> {
    const card = await this.authenticate('patient', 'patient', proof, 'pin', proof.pin, undefined);
    const session = await issueSession(card.person_id);
    return { token: session.token, expiresAt: session.expiresAt };
  }

  /** 保険証利用登録 from the portal: the signed-in patient registers one of their own cards. */
  async registerOwn(personId: string, serial: string): Promise<CardView> {
    const card = await repo.findCard(this.db, serial);
    // Someone else's card is "not found" for this patient.
    if (!card || card.person_id !== personId) throw new OnshiError('ONSHI_CARD_NOT_FOUND', { serial });
    if (card.status === 'suspended') throw new OnshiError('ONSHI_CARD_SUSPENDED');
    if (!(await repo.markRegistered(this.db, serial, this.clock().toISOString()))) throw new OnshiError('ONSHI_CARD_ALREADY_REGISTERED');
    return this.get(serial);
  }

  /** The patient's own view: eligibility today (limit category included: it is their own) and their cards. */
  async me(personId: string, credentialId: string): Promise<{ asOf: string; result: 'valid' | 'invalid'; member?: CardMember; reason?: InvalidReason; cards: CardView[] }> {
    const asOf = todayJst(this.clock());
    const decision = decidePersonEligibility(await repo.candidatesOfPerson(this.db, personId, asOf), asOf);
    const cards = (await repo.cardsOfPerson(this.db, personId)).map(toView);
    await this.audit.record({ actor: `patient:${credentialId}`, role: 'patient', facilityCode: null, personId, what: 'eligibility', basis: { kind: 'self' } });
    if (decision.result === 'valid') return { asOf, result: 'valid', member: { ...toEligibilityRecord(decision.candidate), limitCategory: decision.candidate.period.limitCategory }, cards };
    return { asOf, result: 'invalid', reason: decision.reason, cards };
  }
}

function toView(c: repo.CardsTable): CardView {
  return { serial: c.serial, status: c.status, pinLocked: c.pin_locked_at !== null, pinFailures: c.pin_failures, registeredAt: c.registered_at, issuedAt: c.issued_at, notAfter: c.not_after };
}

async function hashPin(pin: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(pin, salt, 32);
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

async function checkPin(pin: string, stored: string): Promise<boolean> {
  const [kind, salt, hash] = stored.split('$');
  if (kind !== 'scrypt') return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(pin, Buffer.from(salt, 'base64url'), expected.length);
  return timingSafeEqual(actual, expected);
}
