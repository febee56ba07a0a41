// Card routes: the issuer (administrators), the reader protocol (facility terminals) and the
// patient's sign-in, registration and own view.

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf, requireKind } from '../platform/auth.ts';
import { fieldError, OnshiError } from '../platform/errors.ts';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { errorResponses } from '../platform/http-schemas.ts';
import { bodyObject } from '../platform/http-schemas.ts';
import type { CardService } from './service.ts';
import type { CredentialService } from '../credentials/service.ts';
import {
  CardConfirmationAnswerSchema,
  CardRefusalSchema,
  CardSchema,
  ChallengeSchema,
  IssueCardBody,
  IssuedCardSchema,
  MeSchema,
  ReaderConfirmBody,
  RegisterBody,
  SerialParam,
  SessionSchema,
  SignInBody,
} from './schemas.ts';

export interface CardRoutesOptions {
  cards: CardService;
  credentials: CredentialService;
  auth: AuthGuard;
}

const errors = { ...errorResponses, 423: errorResponses[409] };
/** The reader confirmation's refusals: the common error body, with `nextChallenge` when the handler refused. */
const refusals = { 400: CardRefusalSchema, 401: CardRefusalSchema, 403: CardRefusalSchema, 404: CardRefusalSchema, 409: CardRefusalSchema, 423: CardRefusalSchema };

export const cardRoutes: FastifyPluginAsync<CardRoutesOptions> = async (plugin, { cards, credentials, auth }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();

  // Issuer (administrators)

  app.post('/v1/cards', {
    preHandler: auth('admin'),
    schema: {
      tags: ['cards'],
      summary: 'Issue a My Number card (card issuer, standing in for J-LIS)',
      description:
        'Issues a card for the person the registry knows under this My Number (ONSHI_PATIENT_NOT_FOUND otherwise): a fresh RSA-2048 key pair (as a JPKI user certificate) and a user certificate signed by the issuer key. ' +
        'The answer is the card object a reader holds (private key and PIN included); it is answered once and onshi keeps only the serial, the person link, the certificate, the status and a salted PIN hash.',
      body: IssueCardBody,
      response: { 201: IssuedCardSchema, ...errorResponses },
    },
    // The service checks every field (with its own codes), after the role check.
    attachValidation: true,
    handler: async (request, reply) => reply.status(201).send(await cards.issue(bodyObject(request.body), actorOf(principalOf(request)))),
  });

  app.get('/v1/cards/issuer', {
    schema: { tags: ['cards'], summary: "The card issuer's public key (SPKI DER, base64url)", security: [], response: { 200: Type.Object({ keyId: Type.String(), publicKey: Type.String() }) } },
    handler: async () => cards.issuerPublicKey(),
  });

  app.get('/v1/cards/:serial', {
    preHandler: auth('admin'),
    schema: { tags: ['cards'], summary: "A card's status (administrator)", params: SerialParam, response: { 200: CardSchema, ...errorResponses } },
    handler: async (request) => cards.get(request.params.serial),
  });

  for (const [action, summary] of [
    ['suspend', 'Suspend a card (一時停止: reported lost)'],
    ['resume', 'Resume a suspended card'],
    ['unlock', 'Unlock the PIN after three wrong tries (issuer)'],
  ] as const) {
    app.post(`/v1/cards/:serial/${action}`, {
      preHandler: auth('admin'),
      schema: { tags: ['cards'], summary, params: SerialParam, response: { 200: CardSchema, ...errorResponses } },
      handler: async (request) => cards[action]((request.params as { serial: string }).serial),
    });
  }

  // The reader protocol (facility terminals)

  app.post('/v1/card-confirmations/challenges', {
    preHandler: auth('facility'),
    schema: { tags: ['cards'], summary: 'A one-time challenge for the card to sign (valid 120 s)', response: { 201: ChallengeSchema, ...errorResponses } },
    handler: async (request, reply) => {
      const facility = requireKind(principalOf(request), 'facility');
      return reply.status(201).send(await cards.newChallenge('reader', facility.facilityCode));
    },
  });

  app.post('/v1/card-confirmations', {
    preHandler: auth('facility'),
    schema: {
      tags: ['cards', 'confirmation'],
      summary: 'Confirm eligibility with the My Number card (マイナンバーカードによる資格確認)',
      description:
        'The reader answers the challenge with the card: certificate, signature over the challenge message (audience = this facility code), the verification done (face, PIN or visual), and the consent screens. ' +
        'Refusals each have their own code (ONSHI_CHALLENGE_*, ONSHI_CARD_*, ONSHI_SIGNATURE_INVALID). The answer has the card-number path’s shape; `member.limitCategory` is present only with the limit-info consent. ' +
        'Every answer is a usage event (method my_number_card) committed before it is sent. ' +
        'The answer, and every refusal of this route after the facility credential is checked, carries `nextChallenge`: a fresh one-time challenge for the same facility (like ACME’s Replay-Nonce), ' +
        'so a reader serving one patient after another needs the challenge route only for its first confirmation (and again when it has none fresh).',
      body: ReaderConfirmBody,
      response: { 200: CardConfirmationAnswerSchema, ...refusals },
    },
    handler: async (request) => {
      const facility = requireKind(principalOf(request), 'facility');
      const body = request.body;
      let answer;
      try {
        // Checked before the challenge is spent: a malformed request costs the patient nothing.
        if (body.verification === 'pin' && body.pin === undefined) throw new OnshiError('ONSHI_REQUEST_INVALID', { errors: [fieldError('pin', 'required', 'with verification pin')] });
        if (body.verification === 'face' && body.faceMatched === undefined) throw new OnshiError('ONSHI_REQUEST_INVALID', { errors: [fieldError('faceMatched', 'required', 'with verification face')] });
        answer = await cards.confirmAtReader(facility.facilityCode, { actor: actorOf(facility), role: facility.role }, body);
      } catch (e) {
        // A refusal carries the facility's next challenge too (the reader needs no extra round trip).
        if (e instanceof OnshiError) throw new OnshiError(e.code, { ...e.details, nextChallenge: await cards.newChallenge('reader', facility.facilityCode) });
        throw e;
      }
      return { ...answer, nextChallenge: await cards.newChallenge('reader', facility.facilityCode) };
    },
  });

  // Patients

  app.post('/v1/patient-sessions/challenges', {
    schema: { tags: ['cards'], summary: 'A one-time challenge for the patient sign-in with the card', security: [], response: { 201: ChallengeSchema } },
    handler: async (_request, reply) => reply.status(201).send(await cards.newChallenge('patient', 'patient')),
  });

  app.post('/v1/patient-sessions', {
    schema: {
      tags: ['cards'],
      summary: 'Patient sign-in with the card (signature over the challenge, audience `patient`, and the PIN)',
      security: [],
      body: SignInBody,
      response: { 201: SessionSchema, ...errors },
    },
    handler: async (request, reply) => reply.status(201).send(await cards.signIn(request.body, (personId) => credentials.issuePatientSession(personId))),
  });

  app.post('/v1/cards/register', {
    preHandler: auth('patient'),
    schema: { tags: ['cards'], summary: '保険証利用登録 from the patient portal (own card)', body: RegisterBody, response: { 200: CardSchema, ...errorResponses } },
    handler: async (request) => {
      const patient = requireKind(principalOf(request), 'patient');
      return cards.registerOwn(patient.personId, request.body.serial);
    },
  });

  app.get('/v1/me', {
    preHandler: auth('patient'),
    schema: { tags: ['cards'], summary: "The signed-in patient's own eligibility today and cards (never a My Number)", response: { 200: MeSchema, ...errorResponses } },
    handler: async (request) => {
      const patient = requireKind(principalOf(request), 'patient');
      return cards.me(patient.personId, patient.credentialId);
    },
  });
};
