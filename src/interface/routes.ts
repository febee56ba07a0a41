// POST /v1/interface/{fileName}: the real interface over HTTP (the Web API way). The body is the
// request file's bytes, the answer the result file's bytes, named in Content-Disposition.

import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { requireKind } from '../platform/auth.ts';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { errorResponses } from '../registry/schemas.ts';
import type { InterfaceService } from './service.ts';

/** Bulk files carry up to 200,000 search blocks. */
export const INTERFACE_BODY_LIMIT = 128 * 1024 * 1024;

export function contentDisposition(fileName: string): string {
  return /^[\x20-\x7e]+$/.test(fileName) && !/["\\]/.test(fileName)
    ? `attachment; filename="${fileName}"`
    : `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

export const interfaceRoutes: FastifyPluginAsync<{ interfaceService: InterfaceService; auth: AuthGuard }> = async (app, { interfaceService, auth }) => {
  // Whatever the content type says, the body is a file's bytes (its encoding is in its declaration).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: INTERFACE_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post<{ Params: { fileName: string } }>('/v1/interface/:fileName', {
    preHandler: auth('facility'),
    bodyLimit: INTERFACE_BODY_LIMIT,
    schema: {
      tags: ['interface'],
      summary: 'Send a request file of the real interface (OQSsiquc01req_…, OQSmuquc01req_…, OQSmuquc02req_…); receive its result file',
      description:
        'The body is the request XML file as written for the 資格確認端末 (UTF-8 or Shift_JIS, by its XML declaration). ' +
        'The answer is the result XML file (OQS…res_…, named in Content-Disposition) in the encoding of CharacterCodeIdentifier. ' +
        'A request that cannot be processed is answered with SegmentOfResult 9 and ErrorCode/ErrorMessage (still HTTP 200: the result file is the answer).',
      params: Type.Object({ fileName: Type.String() }),
      response: { 401: errorResponses[401], 403: errorResponses[403] },
    },
    handler: async (request, reply) => {
      const facility = requireKind(principalOf(request), 'facility');
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const result = await interfaceService.handle(facility.facilityCode, request.params.fileName, body);
      const sjis = result.bytes.subarray(0, 60).toString('latin1').includes('Shift_JIS');
      return reply
        .status(200)
        .header('content-type', `application/xml; charset=${sjis ? 'Shift_JIS' : 'UTF-8'}`)
        .header('content-disposition', contentDisposition(result.fileName))
        .header('x-onshi-segment-of-result', result.segment)
        .send(result.bytes);
    },
  });
};
