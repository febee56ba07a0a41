// The public-key cryptography of cards (node:crypto, Ed25519): issuer and card key pairs,
// certificate signing and verification, the card's signature over a challenge. Shared by the issuer
// (server side) and the simulated card (reader side). Computation only, no I/O.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { encodeCertificateBody, parseCertificate, type CertificateBody } from './rules.ts';

export function generateKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

export function privateKeyToPem(k: KeyObject): string {
  return k.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}

export function publicKeyToDer(k: KeyObject): string {
  return k.export({ format: 'der', type: 'spki' }).toString('base64url');
}

export function publicKeyFromDer(der: string): KeyObject | undefined {
  try {
    const k = createPublicKey({ key: Buffer.from(der, 'base64url'), format: 'der', type: 'spki' });
    return k.asymmetricKeyType === 'ed25519' ? k : undefined;
  } catch {
    return undefined;
  }
}

/** The key id a certificate names its issuer by. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 32);
}

/** Issues a certificate: the body signed by the issuer's private key. */
export function signCertificate(body: CertificateBody, issuerPrivateKey: KeyObject): string {
  const text = encodeCertificateBody(body);
  const signature = sign(null, Buffer.from(text, 'utf8'), issuerPrivateKey);
  return `${text}.${signature.toString('base64url')}`;
}

/** The certificate's body when it parses and the issuer key signed it; undefined otherwise. */
export function verifyCertificate(certificate: unknown, issuerPublicKey: KeyObject, issuerKeyId: string): CertificateBody | undefined {
  const parsed = parseCertificate(certificate);
  if (!parsed || parsed.body.issuer !== issuerKeyId) return undefined;
  return verify(null, Buffer.from(parsed.signedText, 'utf8'), issuerPublicKey, parsed.signature) ? parsed.body : undefined;
}

/** What the card does on the chip: sign the challenge message with its private key. */
export function signChallenge(message: Buffer, cardPrivateKey: KeyObject): string {
  return sign(null, message, cardPrivateKey).toString('base64');
}

/**
 * Checks the card's signature over a challenge message. Runs in libuv's thread pool (node:crypto's
 * callback form): an Ed25519 verification costs more than the rest of a confirmation on the main
 * thread, which stays free for the other requests meanwhile.
 */
export function verifyChallengeSignature(message: Buffer, signatureBase64: unknown, cardPublicKey: KeyObject): Promise<boolean> {
  if (typeof signatureBase64 !== 'string' || signatureBase64.length > 200) return Promise.resolve(false);
  const signature = Buffer.from(signatureBase64, 'base64');
  if (signature.length !== 64) return Promise.resolve(false); // Ed25519 signatures are 64 bytes
  return new Promise((resolve) => verify(null, message, cardPublicKey, signature, (error, ok) => resolve(!error && ok)));
}
