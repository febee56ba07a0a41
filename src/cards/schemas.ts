// Request and response schemas of the card routes (TypeBox → JSON Schema → OpenAPI).

import { Type } from 'typebox';
import { ErrorSchema } from '../platform/http-schemas.ts';
import { EligibilityRecordSchema } from '../confirmation/schemas.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()]);

export const IssueCardBody = Type.Object({
  myNumber: Type.String({ description: '個人番号 (12 digits with its check digit): finds the person by link key; never stored or answered' }),
  name: Type.String({ description: 'Name printed on the card' }),
  birthDate: Type.String({ description: 'Birth date printed on the card, YYYY-MM-DD' }),
  pin: Type.String({ description: '4-digit PIN for the user certificate' }),
  validYears: Type.Optional(Type.Integer({ description: 'Certificate validity in years (default 5, 1–10)' })),
});

export const IssuedCardSchema = Type.Object({
  serial: Type.String(),
  certificate: Type.String({ description: 'User certificate: base64url(JSON body).base64url(issuer signature, RSASSA-PKCS1-v1_5 with SHA-256)' }),
  privateKey: Type.String({ description: "The card's RSA-2048 private key (PKCS#8 PEM). Answered once; not kept by onshi" }),
  pin: Type.String({ description: 'Answered once so the simulated card holds it; onshi keeps only a salted hash' }),
  name: Type.String(),
  birthDate: Type.String(),
  notBefore: Type.String(),
  notAfter: Type.String(),
});

export const CardSchema = Type.Object({
  serial: Type.String(),
  status: Type.String({ description: 'active | suspended (一時停止)' }),
  pinLocked: Type.Boolean(),
  pinFailures: Type.Integer(),
  registeredAt: Nullable(Type.String({ description: '保険証利用登録 instant' })),
  issuedAt: Type.String(),
  notAfter: Type.String(),
});

export const SerialParam = Type.Object({ serial: Type.String() });

export const ChallengeSchema = Type.Object({
  challengeId: Type.String(),
  nonce: Type.String({ description: 'Random, base64url: the card signs the challenge message built from it' }),
  audience: Type.String({ description: "The facility code (reader) or 'patient' (sign-in): part of the signed message" }),
  expiresAt: Type.String(),
});

const proofFields = {
  challengeId: Type.String(),
  serial: Type.String({ description: 'The certificate serial' }),
  certificate: Type.String({ description: 'The user certificate as issued' }),
  signature: Type.String({ description: "Base64 signature by the card's key (RSA-2048, RSASSA-PKCS1-v1_5 with SHA-256: 256 bytes) over `onshi-card-auth/v1\\n<purpose>\\n<nonce>\\n<audience>`" }),
};

export const ReaderConfirmBody = Type.Object({
  ...proofFields,
  verification: Type.Union([Type.Literal('face'), Type.Literal('pin'), Type.Literal('visual')], { description: 'face (顔認証) | pin (暗証番号) | visual (目視, generic reader)' }),
  pin: Type.Optional(Type.String({ description: 'Required with verification pin' })),
  faceMatched: Type.Optional(Type.Boolean({ description: "The reader's face match result; required with verification face" })),
  consent: Type.Object(
    { medication: Type.Boolean(), checkups: Type.Boolean(), limitInfo: Type.Boolean() },
    { description: 'The consent screens: 薬剤情報, 特定健診情報, 限度額適用認定証情報' },
  ),
  registerNow: Type.Optional(Type.Boolean({ description: '保険証利用登録 at the reader when the card is not yet registered' })),
});

export const SignInBody = Type.Object({ ...proofFields, pin: Type.String() });

export const RegisterBody = Type.Object({ serial: Type.String() });

const MemberSchema = Type.Object({
  ...EligibilityRecordSchema.properties,
  limitCategory: Type.Optional(Nullable(Type.String({ description: '限度額適用区分: present only with the limit-info consent' }))),
});

export const CardConfirmationAnswerSchema = Type.Object({
  result: Type.String({ description: 'valid 有効 | invalid 無効' }),
  confirmationId: Type.String(),
  asOf: Type.String(),
  member: Type.Optional(MemberSchema),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  messageJa: Type.Optional(Type.String()),
  details: Type.Optional(Type.Record(Type.String(), Type.String())),
  consent: Type.Object({ id: Type.String(), scopes: Type.Array(Type.String()), method: Type.String(), expiresAt: Type.String() }),
  registeredNow: Type.Boolean(),
  nextChallenge: Type.Object(ChallengeSchema.properties, { description: "A fresh challenge for the same facility: the reader's next confirmation can answer it without asking the challenge route" }),
});

/** A refusal of the reader confirmation: the common error body, plus the next challenge. */
export const CardRefusalSchema = Type.Object(
  {
    ...ErrorSchema.properties,
    nextChallenge: Type.Optional(
      Type.Object(ChallengeSchema.properties, { description: 'A fresh challenge for the same facility (absent when the request was refused before the handler: credential, body shape)' }),
    ),
  },
  { additionalProperties: true },
);

export const SessionSchema = Type.Object({ token: Type.String(), expiresAt: Type.String() });

export const MeSchema = Type.Object({
  asOf: Type.String(),
  result: Type.String(),
  member: Type.Optional(MemberSchema),
  reason: Type.Optional(Type.String()),
  cards: Type.Array(CardSchema),
});
