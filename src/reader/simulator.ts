// A simulated My Number card and face-recognition reader, for vendors without a real card or reader
// and for onshi's own end-to-end tests. The card holds what a real card's chip holds (serial,
// certificate, private key, PIN, the face photo's identity) and signs; the reader runs the protocol
// against a running onshi: challenge → card signs → confirm (or the patient sign-in). A reader that
// serves one patient after another answers the challenge piggybacked on the previous answer: one
// request per confirmation.
//
// The transport is pluggable: the CLI uses fetch against a URL, tests pass Fastify's inject.

import { readFileSync, writeFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { privateKeyFromPem, signChallenge } from '../cards/certificate.ts';
import { challengeMessage, type VerificationMethod } from '../cards/rules.ts';
import type { IssuedCard } from '../cards/service.ts';

export interface TransportResponse {
  status: number;
  body: any;
}

/** One JSON request: method, path (e.g. /v1/cards), bearer token (optional), body (optional). */
export type Transport = (request: { method: 'GET' | 'POST'; path: string; token?: string; body?: unknown }) => Promise<TransportResponse>;

/** The transport of real use: fetch against an onshi base URL. */
export function fetchTransport(baseUrl: string): Transport {
  const base = baseUrl.replace(/\/+$/, '');
  return async ({ method, path, token, body }) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
}

/** A refusal from onshi, with its code (ONSHI_…) and the whole body. */
export class ReaderError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly body: any,
  ) {
    super(`${status} ${code}: ${body?.message ?? ''}`);
    this.name = 'ReaderError';
  }
}

function ok(r: TransportResponse, expected: number[]): any {
  if (!expected.includes(r.status)) throw new ReaderError(r.status, r.body?.code ?? 'UNKNOWN', r.body);
  return r.body;
}

/** The card: serial, certificate, private key and PIN as issued; signs a challenge like the chip. */
export class SimulatedCard {
  private readonly key: KeyObject;
  /** Stands for the face photo on the chip: the reader's camera "matches" when it sees the same. */
  readonly face: string;

  constructor(readonly data: IssuedCard) {
    this.key = privateKeyFromPem(data.privateKey);
    this.face = `${data.name}|${data.birthDate}`;
  }

  get serial(): string {
    return this.data.serial;
  }

  get certificate(): string {
    return this.data.certificate;
  }

  /** Signs the challenge message for a purpose and audience (the facility code, or 'patient'). */
  sign(purpose: 'reader' | 'patient', nonce: string, audience: string): string {
    return signChallenge(challengeMessage(purpose, nonce, audience), this.key);
  }

  /** Asks onshi's issuer (an administrator token) for a new card. */
  static async issue(transport: Transport, adminToken: string, input: { myNumber: string; name: string; birthDate: string; pin: string; validYears?: number }): Promise<SimulatedCard> {
    return new SimulatedCard(ok(await transport({ method: 'POST', path: '/v1/cards', token: adminToken, body: input }), [201]) as IssuedCard);
  }

  static load(file: string): SimulatedCard {
    return new SimulatedCard(JSON.parse(readFileSync(file, 'utf8')) as IssuedCard);
  }

  save(file: string): void {
    writeFileSync(file, `${JSON.stringify(this.data, null, 2)}\n`, { mode: 0o600 });
  }
}

export interface ConsentChoices {
  medication?: boolean;
  checkups?: boolean;
  limitInfo?: boolean;
}

export interface ConfirmOptions {
  /** face (顔認証付きカードリーダー), pin, or visual (generic reader, staff check by sight). */
  verification: VerificationMethod;
  /** The PIN the patient types (verification pin). */
  pin?: string;
  /** Who stands in front of the camera (verification face); default the card's holder. */
  face?: string;
  consent?: ConsentChoices;
  /** Register the card for insurance use at the reader if it is not yet. */
  registerNow?: boolean;
}

export interface Challenge {
  challengeId: string;
  nonce: string;
  audience: string;
  expiresAt: string;
}

export interface ReaderOptions {
  /**
   * How long after receiving a piggybacked challenge (`nextChallenge`) the reader still answers it
   * instead of asking for a new one, by the reader's own clock (default 60 s; challenges live 120 s).
   * Counted from receipt rather than compared with `expiresAt`, so a reader whose clock disagrees
   * with the server's still judges freshness right.
   */
  reuseWindowMs?: number;
  /** The reader's monotonic clock in ms (tests move it). */
  clock?: () => number;
}

const CHALLENGE_REFUSALS = new Set(['ONSHI_CHALLENGE_EXPIRED', 'ONSHI_CHALLENGE_UNKNOWN']);

/**
 * A reader at one facility: its terminal's bearer token and a transport to onshi.
 *
 * Every confirmation answer (and refusal) carries `nextChallenge`, a fresh challenge for the same
 * facility: the reader keeps the latest one and answers it with the next card, so a reader serving one
 * patient after another makes one request per confirmation; it asks the challenge route only when it
 * holds no fresh one (the first confirmation, or after a pause longer than the reuse window).
 */
export class SimulatedReader {
  private held?: { challenge: Challenge; receivedAt: number };
  private readonly reuseWindowMs: number;
  private readonly clock: () => number;
  /** Requests sent, by route: what the piggybacked challenge saves. */
  readonly requests = { challenges: 0, confirmations: 0 };

  constructor(
    private readonly transport: Transport,
    private readonly facilityToken: string,
    options: ReaderOptions = {},
  ) {
    this.reuseWindowMs = options.reuseWindowMs ?? 60_000;
    this.clock = options.clock ?? (() => performance.now());
  }

  /** A new challenge from the challenge route (always a request). */
  async challenge(): Promise<Challenge> {
    this.requests.challenges++;
    return ok(await this.transport({ method: 'POST', path: '/v1/card-confirmations/challenges', token: this.facilityToken }), [201]);
  }

  /** The piggybacked challenge held, if still fresh; taking it forgets it (a challenge is answered once). */
  takeHeldChallenge(): Challenge | undefined {
    const held = this.held;
    this.held = undefined;
    if (!held || this.clock() - held.receivedAt >= this.reuseWindowMs) return undefined;
    return held.challenge;
  }

  /** The body the reader sends for a challenge (exposed so tests can tamper with one field). */
  confirmationBody(card: SimulatedCard, challenge: { challengeId: string; nonce: string; audience: string }, options: ConfirmOptions): Record<string, unknown> {
    const c = options.consent ?? {};
    return {
      challengeId: challenge.challengeId,
      serial: card.serial,
      certificate: card.certificate,
      signature: card.sign('reader', challenge.nonce, challenge.audience),
      verification: options.verification,
      ...(options.verification === 'pin' ? { pin: options.pin ?? '' } : {}),
      // The reader's camera compares the face it sees with the photo on the chip.
      ...(options.verification === 'face' ? { faceMatched: (options.face ?? card.face) === card.face } : {}),
      consent: { medication: c.medication ?? false, checkups: c.checkups ?? false, limitInfo: c.limitInfo ?? false },
      ...(options.registerNow ? { registerNow: true } : {}),
    };
  }

  /** Sends a prepared body; answers onshi's raw response (status and body). Keeps the answer's next challenge. */
  async send(body: Record<string, unknown>): Promise<TransportResponse> {
    this.requests.confirmations++;
    const r = await this.transport({ method: 'POST', path: '/v1/card-confirmations', token: this.facilityToken, body });
    const next = r.body?.nextChallenge as Challenge | undefined;
    if (next && typeof next.challengeId === 'string') this.held = { challenge: next, receivedAt: this.clock() };
    return r;
  }

  /**
   * The whole protocol: challenge (the held piggybacked one when fresh, else from the challenge route)
   * → card signs → confirm. Throws ReaderError on a refusal. When onshi refuses a piggybacked challenge
   * as expired or unknown (nothing was spent: those are checked first), the reader tries once more
   * with a new one (the one the refusal carried).
   */
  async confirm(card: SimulatedCard, options: ConfirmOptions): Promise<any> {
    const held = this.takeHeldChallenge();
    let r = await this.send(this.confirmationBody(card, held ?? (await this.challenge()), options));
    if (held && r.status === 400 && CHALLENGE_REFUSALS.has(r.body?.code)) {
      // The refusal brought a fresh challenge of its own; the challenge route if not.
      r = await this.send(this.confirmationBody(card, this.takeHeldChallenge() ?? (await this.challenge()), options));
    }
    return ok(r, [200]);
  }
}

/** The patient's side (マイナポータル-like): sign in with the card and PIN. */
export class SimulatedPatient {
  constructor(private readonly transport: Transport) {}

  async signIn(card: SimulatedCard, pin: string): Promise<{ token: string; expiresAt: string }> {
    const challenge = ok(await this.transport({ method: 'POST', path: '/v1/patient-sessions/challenges' }), [201]);
    const body = { challengeId: challenge.challengeId, serial: card.serial, certificate: card.certificate, signature: card.sign('patient', challenge.nonce, challenge.audience), pin };
    return ok(await this.transport({ method: 'POST', path: '/v1/patient-sessions', body }), [201]);
  }

  async register(token: string, serial: string): Promise<any> {
    return ok(await this.transport({ method: 'POST', path: '/v1/cards/register', token, body: { serial } }), [200]);
  }

  async me(token: string): Promise<any> {
    return ok(await this.transport({ method: 'GET', path: '/v1/me', token }), [200]);
  }
}
