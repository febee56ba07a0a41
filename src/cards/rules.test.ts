import { describe, expect, it } from 'vitest';
import { constants, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { generateKeyPair, generateKeyPairAsync, keyIdOf, publicKeyFromDer, publicKeyToDer, signCertificate, signChallenge, verifyCertificate, verifyChallengeSignature } from './certificate.ts';
import { certificateValidity, challengeMessage, MAX_PIN_TRIES, parseCertificate, pinAttempt, validateIssueCard, validityEnd, type CertificateBody } from './rules.ts';

const window = { notBefore: '2024-04-01T00:00:00.000Z', notAfter: '2029-04-01T00:00:00.000Z' };

describe('certificateValidity', () => {
  it('is valid from notBefore inclusive', () => {
    expect(certificateValidity(window, new Date('2024-03-31T23:59:59.999Z'))).toBe('not_yet_valid');
    expect(certificateValidity(window, new Date('2024-04-01T00:00:00.000Z'))).toBe('valid');
  });

  it('expires at notAfter exclusive', () => {
    expect(certificateValidity(window, new Date('2029-03-31T23:59:59.999Z'))).toBe('valid');
    expect(certificateValidity(window, new Date('2029-04-01T00:00:00.000Z'))).toBe('expired');
  });
});

describe('validityEnd', () => {
  it('adds calendar years', () => {
    expect(validityEnd(new Date('2024-06-15T03:00:00Z'), 5).toISOString()).toBe('2029-06-15T03:00:00.000Z');
  });

  it('clamps 29 February to 28 February in a common year', () => {
    expect(validityEnd(new Date('2024-02-29T10:00:00Z'), 1).toISOString()).toBe('2025-02-28T10:00:00.000Z');
    expect(validityEnd(new Date('2024-02-29T10:00:00Z'), 4).toISOString()).toBe('2028-02-29T10:00:00.000Z');
  });
});

describe('pinAttempt', () => {
  it('counts down the remaining tries and locks on the third wrong PIN', () => {
    const first = pinAttempt({ failures: 0, locked: false }, false);
    expect(first).toEqual({ outcome: 'wrong', next: { failures: 1, locked: false }, remainingTries: 2 });
    const second = pinAttempt(first.next, false);
    expect(second).toEqual({ outcome: 'wrong', next: { failures: 2, locked: false }, remainingTries: 1 });
    expect(pinAttempt(second.next, false)).toEqual({ outcome: 'locked', next: { failures: MAX_PIN_TRIES, locked: true } });
  });

  it('resets the count on a correct PIN before the lock', () => {
    expect(pinAttempt({ failures: 2, locked: false }, true)).toEqual({ outcome: 'ok', next: { failures: 0, locked: false } });
  });

  it('refuses even the correct PIN once locked', () => {
    expect(pinAttempt({ failures: 3, locked: true }, true).outcome).toBe('locked');
  });
});

describe('certificates', () => {
  const issuer = generateKeyPair();
  const card = generateKeyPair();
  const body: CertificateBody = { v: 1, serial: 'ABCDEF0123456789', subjectPublicKey: publicKeyToDer(card.publicKey), issuer: keyIdOf(issuer.publicKey), ...window };

  it('verifies a certificate signed by the issuer and answers its body', () => {
    const cert = signCertificate(body, issuer.privateKey);
    expect(verifyCertificate(cert, issuer.publicKey, keyIdOf(issuer.publicKey))).toEqual(body);
  });

  it('refuses one signed by another key, even naming our issuer', () => {
    const other = generateKeyPair();
    const cert = signCertificate(body, other.privateKey);
    expect(verifyCertificate(cert, issuer.publicKey, keyIdOf(issuer.publicKey))).toBeUndefined();
  });

  it('refuses an edited body (a longer validity) under the original signature', () => {
    const cert = signCertificate(body, issuer.privateKey);
    const forged = signCertificate({ ...body, notAfter: '2099-01-01T00:00:00.000Z' }, generateKeyPair().privateKey).split('.')[0];
    expect(verifyCertificate(`${forged}.${cert.split('.')[1]}`, issuer.publicKey, keyIdOf(issuer.publicKey))).toBeUndefined();
  });

  it('does not parse garbage', () => {
    for (const junk of [undefined, 42, '', 'a.b.c', 'not base64!.x', `${Buffer.from('{"v":2}').toString('base64url')}.AA`]) expect(parseCertificate(junk)).toBeUndefined();
  });

  it('verifies the card signature only for the same purpose, nonce and audience', async () => {
    const sig = signChallenge(challengeMessage('reader', 'n0nce', '1310000017'), card.privateKey);
    expect(await verifyChallengeSignature(challengeMessage('reader', 'n0nce', '1310000017'), sig, card.publicKey)).toBe(true);
    expect(await verifyChallengeSignature(challengeMessage('reader', 'n0nce', '1310000025'), sig, card.publicKey)).toBe(false);
    expect(await verifyChallengeSignature(challengeMessage('patient', 'n0nce', '1310000017'), sig, card.publicKey)).toBe(false);
    expect(await verifyChallengeSignature(challengeMessage('reader', 'other', '1310000017'), sig, card.publicKey)).toBe(false);
    // Not a signature at all: refused before any verification.
    expect(await verifyChallengeSignature(challengeMessage('reader', 'n0nce', '1310000017'), sig.slice(4), card.publicKey)).toBe(false);
    expect(await verifyChallengeSignature(challengeMessage('reader', 'n0nce', '1310000017'), 42, card.publicKey)).toBe(false);
  });
});

describe('card keys and signatures (RSA-2048, RSASSA-PKCS1-v1_5 with SHA-256, as JPKI)', () => {
  const card = generateKeyPair();
  const message = challengeMessage('reader', 'n0nce', '1310000017');

  it('makes RSA-2048 keys with exponent 65537, also in the thread pool', async () => {
    for (const k of [card, await generateKeyPairAsync()]) {
      expect([k.publicKey.asymmetricKeyType, k.publicKey.asymmetricKeyDetails]).toEqual(['rsa', { modulusLength: 2048, publicExponent: 65537n }]);
    }
  });

  it('signs what a standard PKCS#1 v1.5 / SHA-256 verifier accepts (256 bytes), and nothing else', () => {
    const sig = Buffer.from(signChallenge(message, card.privateKey), 'base64');
    expect(sig.length).toBe(256);
    expect(verify('sha256', message, { key: card.publicKey, padding: constants.RSA_PKCS1_PADDING }, sig)).toBe(true);
    expect(verify('sha256', message, { key: card.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING }, sig)).toBe(false);
    // Deterministic, as PKCS#1 v1.5 is.
    expect(signChallenge(message, card.privateKey)).toBe(sig.toString('base64'));
  });

  it('refuses a PSS signature, a SHA-1 one, and one cut or padded to another length', () => {
    const pss = sign('sha256', message, { key: card.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING }).toString('base64');
    const sha1 = sign('sha1', message, { key: card.privateKey, padding: constants.RSA_PKCS1_PADDING }).toString('base64');
    const good = Buffer.from(signChallenge(message, card.privateKey), 'base64');
    for (const s of [pss, sha1, good.subarray(1).toString('base64'), Buffer.concat([Buffer.alloc(1), good]).toString('base64')]) {
      expect(verifyChallengeSignature(message, s, card.publicKey)).toBe(false);
    }
    expect(verifyChallengeSignature(message, good.toString('base64'), card.publicKey)).toBe(true);
  });

  it('accepts in a certificate only an RSA-2048 key with exponent 65537 (or an Ed25519 key of a card made before RSA)', () => {
    expect(publicKeyFromDer(publicKeyToDer(card.publicKey))?.asymmetricKeyType).toBe('rsa');
    const ed = generateKeyPairSync('ed25519');
    expect(publicKeyFromDer(publicKeyToDer(ed.publicKey))?.asymmetricKeyType).toBe('ed25519');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const bigger = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const e3 = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
    const pssOnly = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (const k of [small, bigger, e3, pssOnly, ec]) expect(publicKeyFromDer(publicKeyToDer(k.publicKey))).toBeUndefined();
    expect(publicKeyFromDer('not a key')).toBeUndefined();
  });

  it('still verifies an older Ed25519 card and issuer (the algorithm follows the certified key)', () => {
    const ed = generateKeyPairSync('ed25519');
    const sig = signChallenge(message, ed.privateKey);
    expect(Buffer.from(sig, 'base64').length).toBe(64);
    expect(verifyChallengeSignature(message, sig, ed.publicKey)).toBe(true);
    expect(verifyChallengeSignature(challengeMessage('reader', 'other', '1310000017'), sig, ed.publicKey)).toBe(false);
    // An RSA signature presented for the Ed25519 key (and the reverse) is refused.
    expect(verifyChallengeSignature(message, signChallenge(message, card.privateKey), ed.publicKey)).toBe(false);
    expect(verifyChallengeSignature(message, sig, card.publicKey)).toBe(false);
    const body: CertificateBody = { v: 1, serial: '0123456789ABCDEF', subjectPublicKey: publicKeyToDer(ed.publicKey), issuer: keyIdOf(ed.publicKey), ...window };
    expect(verifyCertificate(signCertificate(body, ed.privateKey), createPublicKey(ed.privateKey), keyIdOf(ed.publicKey))).toEqual(body);
  });
});

describe('validateIssueCard', () => {
  it('accepts a valid request with the default validity', () => {
    expect(validateIssueCard({ myNumber: '123456789018', name: '山田　太郎', birthDate: '1980-04-01', pin: '1234' })).toEqual({
      input: { myNumber: '123456789018', name: '山田　太郎', birthDate: '1980-04-01', pin: '1234', validYears: 5 },
    });
  });

  it('reports every problem at once', () => {
    const r = validateIssueCard({ myNumber: '123456789012', name: '', birthDate: '1980-02-30', pin: '12345', validYears: 11 });
    expect('errors' in r && r.errors.map((e) => `${e.field}:${e.code}`).sort()).toEqual(['birthDate:invalid_date', 'myNumber:check_digit', 'name:required', 'pin:format', 'validYears:out_of_range']);
  });
});
