// Challenges of the reader protocol and the patient sign-in, without a write at issuance.
//
// A challenge is a random nonce, its purpose, its audience (facility code or 'patient') and its
// expiry, authenticated by an HMAC under a server secret kept in system_secrets (created once, the
// same on every node). Issuing one is computation only; any node can check one another issued:
//
//   challengeId = "c1." expiresAtMs "." nonce "." base64url(HMAC-SHA256(secret, purpose, audience, expiresAtMs, nonce))
//
// The MAC binds the audience, so another facility's challenge (or a reader challenge presented as a
// sign-in) does not verify: it is "unknown" there, and it is not spent. A forged or malformed id is
// "unknown" too. An authentic one past its expiry is "expired". Replay protection stays in the
// database, for every node: the first answer to a challenge inserts its nonce into
// card_used_challenges (whatever the answer's outcome), and an insert that finds the row already
// there is a replay.
//
// The ledger batches those inserts like the usage events' group commit: the requests that arrive in
// one turn of the event loop share one INSERT … ON CONFLICT DO NOTHING RETURNING id, and each learns
// from the returned ids whether its own row went in. Within one batch the first request with a nonce
// gets it and the others are replays. The consume cannot share the usage event's transaction: the
// PIN is checked after the challenge is spent (one PIN try per signature the card made), and the
// event's transaction is written only once the PIN outcome is known.
//
// Pruning: a used row is needed only until its challenge expires (an expired challenge is refused
// before its row is looked up). Every PRUNE_EVERY consumes, a node deletes the rows that expired more
// than PRUNE_MARGIN_MS ago (the margin covers clocks of nodes that disagree by less than that), in
// the same drain, after the batch's requests have been answered.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../platform/db.ts';
import { CHALLENGE_TTL_MS } from './rules.ts';
import { deleteUsedChallenges, insertUsedChallenges } from './repository.ts';

export type ChallengePurpose = 'reader' | 'patient';

export interface Challenge {
  challengeId: string;
  nonce: string;
  /** Who the challenge is for (the facility code, or 'patient'): part of the signed message. */
  audience: string;
  expiresAt: string;
}

const VERSION = 'c1';
const NONCE = /^[A-Za-z0-9_-]{32}$/;
const MAC = /^[A-Za-z0-9_-]{43}$/;
const EXPIRES = /^\d{1,15}$/;

function mac(secret: Buffer, purpose: ChallengePurpose, audience: string, expiresAtMs: string, nonce: string): Buffer {
  return createHmac('sha256', secret).update(`onshi-challenge/v1\n${purpose}\n${audience}\n${expiresAtMs}\n${nonce}`, 'utf8').digest();
}

/** A new challenge for `audience`, valid CHALLENGE_TTL_MS from `now`. */
export function mintChallenge(secret: Buffer, purpose: ChallengePurpose, audience: string, now: Date): Challenge {
  // 6 bytes of the issue time, then 18 random ones (144 bits): nonces issued close together share
  // their first characters, so the used-challenge ledger's key index grows in one place instead of
  // taking a write on a random page per confirmation. Same length and alphabet as before.
  const nonceBytes = randomBytes(24);
  nonceBytes.writeUIntBE(now.getTime(), 0, 6);
  const nonce = nonceBytes.toString('base64url');
  const expiresAtMs = String(now.getTime() + CHALLENGE_TTL_MS);
  const tag = mac(secret, purpose, audience, expiresAtMs, nonce).toString('base64url');
  return { challengeId: `${VERSION}.${expiresAtMs}.${nonce}.${tag}`, nonce, audience, expiresAt: new Date(Number(expiresAtMs)).toISOString() };
}

/**
 * The nonce and expiry of a challenge id this server issued for this purpose and audience;
 * undefined for anything else (malformed, forged, another audience's or purpose's). Never throws.
 */
export function openChallenge(secret: Buffer, challengeId: unknown, purpose: ChallengePurpose, audience: string): { nonce: string; expiresAt: Date } | undefined {
  if (typeof challengeId !== 'string' || challengeId.length > 120) return undefined;
  const parts = challengeId.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION || !EXPIRES.test(parts[1]) || !NONCE.test(parts[2]) || !MAC.test(parts[3])) return undefined;
  const given = Buffer.from(parts[3], 'base64url');
  const expected = mac(secret, purpose, audience, parts[1], parts[2]);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return { nonce: parts[2], expiresAt: new Date(Number(parts[1])) };
}

interface PendingConsume {
  nonce: string;
  expiresAt: string;
  resolve: (firstUse: boolean) => void;
  reject: (e: unknown) => void;
}

export const PRUNE_EVERY = 1000;
export const PRUNE_MARGIN_MS = 10 * 60_000;

/** The used-challenge ledger: consumes challenges in group-committed batches. */
export class ChallengeLedger {
  private queue: PendingConsume[] = [];
  private running = false;
  private idle: Promise<void> = Promise.resolve();
  private sincePrune = 0;
  readonly stats = { consumed: 0, replays: 0, batches: 0, largestBatch: 0, pruned: 0 };

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: () => Date = () => new Date(),
    private readonly maxBatch = 2000,
  ) {}

  /**
   * Spends a challenge: true for its first use, false when it was used already (here or on another
   * node, or earlier in the same batch). Resolves after the row is committed.
   */
  consume(nonce: string, expiresAt: Date): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ nonce, expiresAt: expiresAt.toISOString(), resolve, reject });
      if (!this.running) {
        this.running = true;
        this.idle = new Promise<void>((done) => setImmediate(() => void this.drain().finally(done)));
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        // The first request with a nonce competes for it; later ones in the batch are replays.
        const first = new Map<string, PendingConsume>();
        for (const p of batch) if (!first.has(p.nonce)) first.set(p.nonce, p);
        let inserted: Set<string>;
        try {
          inserted = await this.insert([...first.values()].map((p) => ({ id: p.nonce, expires_at: p.expiresAt })));
        } catch (e) {
          for (const p of batch) p.reject(e);
          continue;
        }
        this.stats.batches++;
        if (batch.length > this.stats.largestBatch) this.stats.largestBatch = batch.length;
        for (const p of batch) {
          const ok = first.get(p.nonce) === p && inserted.has(p.nonce);
          if (ok) this.stats.consumed++;
          else this.stats.replays++;
          p.resolve(ok);
        }
        this.sincePrune += batch.length;
        if (this.sincePrune >= PRUNE_EVERY) {
          this.sincePrune = 0;
          await this.prune().catch(() => undefined); // housekeeping: retried at the next round
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async insert(rows: { id: string; expires_at: string }[]): Promise<Set<string>> {
    // One statement for a usual batch (atomic on its own); a very large one is split, in one transaction.
    if (rows.length <= 256) return insertUsedChallenges(this.db, rows);
    return this.db.transaction().execute((trx) => insertUsedChallenges(trx, rows));
  }

  /** Deletes the rows of challenges that expired more than PRUNE_MARGIN_MS ago; answers how many. */
  async prune(): Promise<number> {
    const n = await deleteUsedChallenges(this.db, new Date(this.clock().getTime() - PRUNE_MARGIN_MS).toISOString());
    this.stats.pruned += n;
    return n;
  }

  /** Waits until every consume queued so far is settled (used at shutdown). */
  async flush(): Promise<void> {
    while (this.running || this.queue.length > 0) await this.idle;
  }
}
