// POST /v1/interface/{fileName}: the real interface over HTTP (the Web API way). The body is the
// request file's bytes, the answer the result file's bytes, named in Content-Disposition; an
// Idempotency-Key header makes a retried request answer its first result without processing again.
// GET /v1/interface/face-results: the facility's card-confirmation results as face files (face.ts).

import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { actorOf, requireKind } from '../platform/auth.ts';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { closeIfBodyUnread, passThrough, readBody } from '../platform/body-limit.ts';
import { OnshiError } from '../platform/errors.ts';
import { errorResponses } from '../platform/http-schemas.ts';
import type { InterfaceService, ResultFile } from './service.ts';
import { FACE_PAGE_MAX } from './face.ts';

export function contentDisposition(fileName: string): string {
  return /^[\x20-\x7e]+$/.test(fileName) && !/["\\]/.test(fileName)
    ? `attachment; filename="${fileName}"`
    : `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

export interface InterfaceRoutesOptions {
  interfaceService: InterfaceService;
  auth: AuthGuard;
  /** ONSHI_LIMIT_INTERFACE_BYTES: a request file's bytes (a bulk file of 200,000 search blocks is about 31 MiB). */
  limits: { interfaceBytes: number };
}

export const interfaceRoutes: FastifyPluginAsync<InterfaceRoutesOptions> = async (app, { interfaceService, auth, limits }) => {
  // Whatever the content type says, the body is a file's bytes (its encoding is in its declaration),
  // read by the handler after the credential is checked, within the limit.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', passThrough);

  await app.register(faceResultRoutes, { interfaceService, auth });

  app.post<{ Params: { fileName: string } }>('/v1/interface/:fileName', {
    preHandler: auth('facility'),
    onSend: closeIfBodyUnread,
    schema: {
      tags: ['interface'],
      summary: 'Send a request file of the real interface (OQSsiquc01req_…, OQSmuquc01req_…, OQSmuquc02req_…, OQSsiimm01req_…, OQSmuimm01req_…); receive its result file',
      description:
        'The body is the request XML file as written for the 資格確認端末 (UTF-8 or Shift_JIS, by its XML declaration). ' +
        'The answer is the result XML file (OQS…res_…, named in Content-Disposition) in the encoding of CharacterCodeIdentifier. ' +
        'A request that cannot be processed is answered with SegmentOfResult 9 and ErrorCode/ErrorMessage (still HTTP 200: the result file is the answer). ' +
        `So is a file over ${limits.interfaceBytes} bytes (ONSHI_LIMIT_INTERFACE_BYTES; ErrorCode ONSI1010E), answered the moment the limit is passed, the connection then closed. ` +
        'With `Idempotency-Key` (1–128 visible ASCII characters), a repeated request is answered with the first result (header `idempotent-replayed: true`) and not processed again.',
      params: Type.Object({ fileName: Type.String() }),
      response: { 401: errorResponses[401], 403: errorResponses[403] },
    },
    handler: async (request, reply) => {
      const facility = requireKind(principalOf(request), 'facility');
      const key = request.headers['idempotency-key'];
      const result: ResultFile = await readBody(request, limits.interfaceBytes).then(
        (body) => interfaceService.handle(facility.facilityCode, request.params.fileName, body, Array.isArray(key) ? key.join(',') : key),
        (e: unknown) => {
          // The interface's own answer (a result file, as for any request it cannot process), not a JSON 413.
          if (!(e instanceof OnshiError && e.code === 'ONSHI_BODY_TOO_LARGE')) throw e;
          return interfaceService.refused(request.params.fileName, e.code, `${limits.interfaceBytes} bytes`);
        },
      );
      const sjis = result.bytes.subarray(0, 60).toString('latin1').includes('Shift_JIS');
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply
        .status(200)
        .header('content-type', `application/xml; charset=${sjis ? 'Shift_JIS' : 'UTF-8'}`)
        .header('content-disposition', contentDisposition(result.fileName))
        .header('x-onshi-segment-of-result', result.segment)
        .send(result.bytes);
    },
  });
};

export const faceResultRoutes: FastifyPluginAsync<{ interfaceService: InterfaceService; auth: AuthGuard }> = async (app, { interfaceService, auth }) => {
  app.get<{ Querystring: { after?: string; limit?: number; characterCode?: '0' | '1' } }>('/v1/interface/face-results', {
    // Any staff role of the facility: the terminal's gateway holds one of its credentials.
    preHandler: auth('facility'),
    schema: {
      tags: ['interface'],
      summary: "The facility's My Number card confirmations as face result files (OQSsiquc01res_face_…), after a cursor",
      description:
        'Each result: `id` (the cursor), `fileName` (`OQSsiquc01res_face_<MedicalInstitutionCode>_<id>_<yyyyMMddHHmmss>.xml`, JST), ' +
        '`characterCode` written and `content` (the file bytes, base64; the OQSsiquc01res schema with ReferenceClassification 1). ' +
        'Pass `next` as `after` for the following page; `more` says whether one is waiting. Every listed confirmation is written to the access log.',
      querystring: Type.Object({
        after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'The `next` of the previous page (default 0: from the start)' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: FACE_PAGE_MAX, description: 'Default 100' })),
        characterCode: Type.Optional(Type.Union([Type.Literal('0'), Type.Literal('1')], { description: '0 UTF-8 (default), 1 Shift_JIS (a file CP932 cannot carry is written in UTF-8)' })),
      }),
      response: {
        200: Type.Object({
          results: Type.Array(Type.Object({ id: Type.String(), confirmationId: Type.String(), fileName: Type.String(), characterCode: Type.String(), content: Type.String() })),
          next: Type.String(),
          more: Type.Boolean(),
        }),
        400: errorResponses[400],
        401: errorResponses[401],
        403: errorResponses[403],
      },
    },
    handler: async (request) => {
      const facility = requireKind(principalOf(request), 'facility');
      const page = await interfaceService.face.list(
        { actor: actorOf(facility), role: facility.role, facilityCode: facility.facilityCode },
        Number(request.query.after ?? '0'),
        request.query.limit ?? 100,
        request.query.characterCode ?? '0',
      );
      return { results: page.results.map((r) => ({ id: r.id, confirmationId: r.confirmationId, fileName: r.fileName, characterCode: r.characterCode, content: r.bytes.toString('base64') })), next: page.next, more: page.more };
    },
  });
};
