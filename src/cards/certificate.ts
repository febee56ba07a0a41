// The public-key cryptography of cards (node:crypto): issuer and card key pairs, certificate signing
// and verification, the card's signature over a challenge. Shared by the issuer (server side) and the
// simulated card (reader side). Computation only, no I/O.
//
// Algorithm: RSA-2048 with RSASSA-PKCS1-v1_5 and SHA-256 (sha256WithRSAEncryption), for the card
// keys and the issuer key, as in JPKI: the user certificate of a real My Number card
// (利用者証明用電子証明書) holds an RSA-2048 key and the chip signs with PKCS#1 v1.5 padding over a
// SHA-256 DigestInfo; J-LIS signs the certificates with RSA too. PKCS#1 v1.5 rather than PSS because
// that is what the chip does (a vendor's reader code can then be the same against onshi and a real
// card) and because its signatures are deterministic; PKCS#1 v1.5 *signatures* have no known
// practical weakness (the padding-oracle attacks are on v1.5 *encryption*). Verification is strict:
// node:crypto (OpenSSL) re-encodes the DigestInfo and compares, and the signature must be exactly the
// modulus length.
//
// Verification with RSA is cheap (public exponent 65537: tens of µs) and signing is costly (hundreds
// of µs), which suits the system: the card signs, on its chip, once per confirmation; the server
// verifies. Key generation is slow (RSA-2048: tens to hundreds of ms) and runs in libuv's thread pool
// (generateKeyPairAsync) so that the issuer does not block the event loop.
//
// Cards and issuer keys made before the switch (Ed25519) still verify: the algorithm follows the type
// of the key, and a card's key type is fixed by the issuer's signature over its certificate, so a
// presenter cannot choose it. No new Ed25519 key is made.

import { constants, createHash, createPrivateKey, createPublicKey, generateKeyPair as generateKeyPairCb, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { encodeCertificateBody, parseCertificate, type CertificateBody } from './rules.ts';

/** Card and issuer keys: RSA-2048, public exponent 65537 (F4), as JPKI. */
export const RSA_MODULUS_BITS = 2048;
const RSA_PUBLIC_EXPONENT = 0x10001;
const RSA_SIGNATURE_BYTES = RSA_MODULUS_BITS / 8;
const ED25519_SIGNATURE_BYTES = 64;

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A new RSA-2048 key pair, synchronously (blocks for tens to hundreds of ms: tests and tools only). */
export function generateKeyPair(): KeyPair {
  return generateKeyPairSync('rsa', { modulusLength: RSA_MODULUS_BITS, publicExponent: RSA_PUBLIC_EXPONENT });
}

/** A new RSA-2048 key pair, generated in libuv's thread pool (the server's form). */
export function generateKeyPairAsync(): Promise<KeyPair> {
  return new Promise((resolve, reject) =>
    generateKeyPairCb('rsa', { modulusLength: RSA_MODULUS_BITS, publicExponent: RSA_PUBLIC_EXPONENT }, (error, publicKey, privateKey) => (error ? reject(error) : resolve({ publicKey, privateKey }))),
  );
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

/** A key this system signs or verifies with: RSA-2048 with exponent 65537, or (older keys) Ed25519. */
function isAcceptedKey(k: KeyObject): boolean {
  if (k.asymmetricKeyType === 'ed25519') return true;
  if (k.asymmetricKeyType !== 'rsa') return false; // RSA-PSS-only keys (id-RSASSA-PSS) and others are not ours
  const d = k.asymmetricKeyDetails;
  return d?.modulusLength === RSA_MODULUS_BITS && d.publicExponent === BigInt(RSA_PUBLIC_EXPONENT);
}

/** A card's public key from its certificate (SPKI DER, base64url); undefined for anything not accepted. */
export function publicKeyFromDer(der: string): KeyObject | undefined {
  try {
    const k = createPublicKey({ key: Buffer.from(der, 'base64url'), format: 'der', type: 'spki' });
    return isAcceptedKey(k) ? k : undefined;
  } catch {
    return undefined;
  }
}

/** The key id a certificate names its issuer by. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 32);
}

/** Signs with the key's algorithm: RSASSA-PKCS1-v1_5 / SHA-256 for RSA, pure Ed25519 for the older keys. */
function signWith(data: Buffer, privateKey: KeyObject): Buffer {
  if (privateKey.asymmetricKeyType === 'ed25519') return sign(null, data, privateKey);
  return sign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
}

/** Checks a signature with the key's algorithm; a signature of the wrong length is refused before any work. */
function verifyWith(data: Buffer, signature: Buffer, publicKey: KeyObject): boolean {
  if (publicKey.asymmetricKeyType === 'ed25519') return signature.length === ED25519_SIGNATURE_BYTES && verify(null, data, publicKey, signature);
  if (!isAcceptedKey(publicKey) || signature.length !== RSA_SIGNATURE_BYTES) return false;
  return verify('sha256', data, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
}

/** Issues a certificate: the body signed by the issuer's private key. */
export function signCertificate(body: CertificateBody, issuerPrivateKey: KeyObject): string {
  const text = encodeCertificateBody(body);
  return `${text}.${signWith(Buffer.from(text, 'utf8'), issuerPrivateKey).toString('base64url')}`;
}

/** The certificate's body when it parses and the issuer key signed it; undefined otherwise. */
export function verifyCertificate(certificate: unknown, issuerPublicKey: KeyObject, issuerKeyId: string): CertificateBody | undefined {
  const parsed = parseCertificate(certificate);
  if (!parsed || parsed.body.issuer !== issuerKeyId) return undefined;
  return verifyWith(Buffer.from(parsed.signedText, 'utf8'), parsed.signature, issuerPublicKey) ? parsed.body : undefined;
}

/** What the card does on the chip: sign the challenge message with its private key (base64). */
export function signChallenge(message: Buffer, cardPrivateKey: KeyObject): string {
  return signWith(message, cardPrivateKey).toString('base64');
}

/**
 * Checks the card's signature over a challenge message, on the calling thread: an RSA-2048
 * verification (exponent 65537) costs ~25 µs here, small enough to keep off the thread pool (which
 * Ed25519's ~170 µs needed).
 */
export function verifyChallengeSignature(message: Buffer, signatureBase64: unknown, cardPublicKey: KeyObject): boolean {
  if (typeof signatureBase64 !== 'string' || signatureBase64.length > 400) return false;
  return verifyWith(message, Buffer.from(signatureBase64, 'base64'), cardPublicKey);
}
