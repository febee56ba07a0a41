// Confirmation routes for facility terminals.

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireKind } from '../platform/auth.ts';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { errorResponses, FieldErrorSchema } from '../platform/http-schemas.ts';
import { bodyObject } from '../platform/http-schemas.ts';
import type { ConfirmationService } from './service.ts';
import { documentInvalidReasons, invalidReasons } from './rules.ts';
import { EligibilityRecordSchema } from './schemas.ts';


// One object schema for the three answers keeps serialisation on the fast path.
const ConfirmationAnswerSchema = Type.Object({
  result: Type.String({ description: 'valid 有効 | invalid 無効 | error エラー' }),
  confirmationId: Type.String({ description: 'Id of the recorded usage event' }),
  asOf: Type.Optional(Type.String()),
  member: Type.Optional(EligibilityRecordSchema),
  reason: Type.Optional(Type.String({ description: [...invalidReasons, ...documentInvalidReasons].join(' | ') })),
  details: Type.Optional(Type.Record(Type.String(), Type.String())),
  newEligibilityExists: Type.Optional(Type.Boolean({ description: '無効（新しい資格あり）' })),
  code: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  messageJa: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(FieldErrorSchema)),
  certificate: Type.Optional(Type.Object({ number: Type.String(), issuedOn: Type.String(), validUntil: Type.String() }, { description: 'The 資格確認書 in force, when one was presented' })),
});

// HTTP 400 is the エラー answer (result, confirmationId) or, for a body that is not JSON at all or
// names a prototype key, the common error body: no inquiry was read, nothing is recorded.
const ConfirmationRefusalSchema = Type.Object(
  { ...ConfirmationAnswerSchema.properties, result: Type.Optional(ConfirmationAnswerSchema.properties.result), confirmationId: Type.Optional(ConfirmationAnswerSchema.properties.confirmationId) },
  { description: 'The エラー answer (`result` error, with `confirmationId`), or ONSHI_REQUEST_INVALID without them when the body is not readable JSON' },
);

export const confirmationRoutes: FastifyPluginAsync<{ confirmation: ConfirmationService; auth: AuthGuard }> = async (plugin, { confirmation, auth }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/v1/confirmations', {
    preHandler: auth('facility'),
    schema: {
      tags: ['confirmation'],
      summary: 'Confirm eligibility by insurance-card numbers (被保険者証情報による資格確認)',
      description:
        'Answers `valid` with the record as of `asOf` (default today in JST), `invalid` with a reason, or `error` (HTTP 400) naming each missing or malformed field. ' +
        'Every answer is recorded as a usage event before it is sent. ' +
        'A body that is not readable JSON (malformed, empty, not UTF-8, or with a key named `__proto__`, `constructor` or `prototype`) is no inquiry: it is refused with ONSHI_REQUEST_INVALID (HTTP 400, no `result`) and not recorded.',
      body: Type.Object({
        insurerNumber: Type.String({ examples: ['06139992'] }),
        symbol: Type.Optional(Type.String({ description: '記号 (empty or absent when the card has none)' })),
        number: Type.String({ description: '番号' }),
        branch: Type.Optional(Type.String({ description: '枝番 (absent when the card has none)' })),
        birthDate: Type.String({ examples: ['1980-04-01'] }),
        asOf: Type.Optional(Type.String({ description: 'Date to confirm (default: today in JST)' })),
        document: Type.Optional(
          Type.String({
            description:
              'The document the numbers were read from: paper_card 被保険者証 (default) | certificate 資格確認書. A paper card is usable until its expiry or 2025-12-01, whichever is earlier, and not after the membership ends (`paper_card_no_longer_usable`); a certificate must be in force on asOf (`no_valid_certificate`).',
          }),
        ),
      }),
      response: { 200: ConfirmationAnswerSchema, 400: ConfirmationRefusalSchema, 401: errorResponses[401], 403: errorResponses[403] },
    },
    // Field problems are the service's to report (as an `error` answer that is itself recorded).
    attachValidation: true,
    handler: async (request, reply) => {
      const facility = requireKind(principalOf(request), 'facility');
      const answer = await confirmation.confirmPresentedDocument(facility.facilityCode, bodyObject(request.body));
      return reply.status(answer.result === 'error' ? 400 : 200).send(answer);
    },
  });
};
