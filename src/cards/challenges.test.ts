import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mintChallenge, openChallenge } from './challenges.ts';
import { CHALLENGE_TTL_MS } from './rules.ts';

const secret = randomBytes(32);
const now = new Date('2024-11-30T15:00:00Z');

describe('stateless challenges', () => {
  it('opens a challenge it minted, for the same purpose and audience', () => {
    const c = mintChallenge(secret, 'reader', '1310000017', now);
    expect(c).toMatchObject({ audience: '1310000017', expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS).toISOString() });
    expect(c.nonce).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(openChallenge(secret, c.challengeId, 'reader', '1310000017')).toEqual({ nonce: c.nonce, expiresAt: new Date(c.expiresAt) });
    // Fresh randomness every time.
    expect(mintChallenge(secret, 'reader', '1310000017', now).nonce).not.toBe(c.nonce);
  });

  it('starts nonces with their issue time, so nonces issued together sort together, and keeps 144 random bits', () => {
    const a = mintChallenge(secret, 'reader', '1310000017', now).nonce;
    const b = mintChallenge(secret, 'reader', '1310000017', now).nonce;
    const later = mintChallenge(secret, 'reader', '1310000017', new Date(now.getTime() + 1)).nonce;
    expect(a.slice(0, 8)).toBe(b.slice(0, 8));
    expect(Buffer.from(a, 'base64url').readUIntBE(0, 6)).toBe(now.getTime());
    expect(Buffer.from(later, 'base64url').readUIntBE(0, 6)).toBe(now.getTime() + 1);
    expect(a.slice(8)).not.toBe(b.slice(8));
  });

  it('does not open another audience’s, another purpose’s or another secret’s challenge', () => {
    const c = mintChallenge(secret, 'reader', '1310000017', now);
    expect(openChallenge(secret, c.challengeId, 'reader', '1310000025')).toBeUndefined();
    expect(openChallenge(secret, c.challengeId, 'patient', 'patient')).toBeUndefined();
    expect(openChallenge(randomBytes(32), c.challengeId, 'reader', '1310000017')).toBeUndefined();
    const p = mintChallenge(secret, 'patient', 'patient', now);
    expect(openChallenge(secret, p.challengeId, 'reader', 'patient')).toBeUndefined();
  });

  it('does not open a forged one: a changed expiry, nonce or tag', () => {
    const c = mintChallenge(secret, 'reader', '1310000017', now);
    const [v, exp, nonce, tag] = c.challengeId.split('.');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const forged of [
      [v, String(Number(exp) + 3_600_000), nonce, tag],
      [v, exp, flip(nonce), tag],
      [v, exp, nonce, flip(tag)],
      ['c2', exp, nonce, tag],
    ]) {
      expect(openChallenge(secret, forged.join('.'), 'reader', '1310000017')).toBeUndefined();
    }
  });

  it('does not open garbage (never throws)', () => {
    for (const junk of [undefined, null, 42, '', 'c1', 'c1...', '00000000-0000-7000-8000-000000000000', 'c1.x.y.z', `c1.${'9'.repeat(200)}.a.b`, { challengeId: 'x' }]) {
      expect(openChallenge(secret, junk, 'reader', '1310000017')).toBeUndefined();
    }
  });
});
