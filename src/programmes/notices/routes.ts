// Insurer routes of the notices to all members (資格情報のお知らせ): employer data per member (single
// and bulk), planning a round (restartable), a round with its counts, CSV of pieces and boxes, and
// returned pieces.

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf, requireInsurerAccess } from '../../platform/auth.ts';
import { principalOf, type AuthGuard } from '../../platform/http.ts';
import { errorResponses, InsurerNumberParam } from '../../platform/http-schemas.ts';
import { bodyObject } from '../../platform/http-schemas.ts';
import type { NoticeService } from './service.ts';

const MemberParams = Type.Object({ insurerNumber: Type.String(), memberId: Type.String() });
const RoundParams = Type.Object({ insurerNumber: Type.String(), roundId: Type.String() });
const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()]);

const EmployerFields = {
  officeSymbol: Type.String({ description: '事業所記号' }),
  officeName: Type.String({ description: '事業所名称' }),
  officeAddress: Type.String({ description: '事業所所在地 (starting with the prefecture name)' }),
  officePostalCode: Type.Optional(Nullable(Type.String())),
  voluntaryContinuation: Type.Boolean({ description: '任意継続被保険者: notices are mailed home' }),
  symbolChangedOn: Type.Optional(Nullable(Type.String({ description: 'Day the symbol changed because the employer moved outside its office area' }))),
};

const EmployerSchema = Type.Object({
  memberId: Type.String(),
  officeSymbol: Type.String(),
  officeName: Type.String(),
  officeAddress: Type.String(),
  officePostalCode: Nullable(Type.String()),
  voluntaryContinuation: Type.Boolean(),
  previousOfficeSymbol: Nullable(Type.String()),
  symbolChangedOn: Nullable(Type.String()),
  updatedAt: Type.String(),
});

const PlanReportSchema = Type.Object({
  roundId: Type.String(), round: Type.Integer(), extractedOn: Type.String(), pieces: Type.Integer(), boxes: Type.Integer(), resumed: Type.Boolean(), alreadyDone: Type.Boolean(), seconds: Type.Number(),
});

const csvQuery = Type.Object({ charset: Type.Optional(Type.String({ description: 'utf-8 (default) | shift_jis' })) });

export interface NoticeRoutesOptions {
  notices: NoticeService;
  auth: AuthGuard;
  /** ONSHI_LIMIT_BULK_JSON_BYTES: the employer data in bulk. */
  limits: { bulkJsonBytes: number };
}

export const noticeRoutes: FastifyPluginAsync<NoticeRoutesOptions> = async (plugin, { notices, auth, limits }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['notices'];

  app.put('/v1/insurers/:insurerNumber/members/:memberId/employer', {
    preHandler: auth('admin', 'insurer'),
    schema: { tags, summary: "Set a member's employer data (事業所) and 任意継続 flag", params: MemberParams, body: Type.Object(EmployerFields), response: { 200: EmployerSchema, ...errorResponses } },
    attachValidation: true,
    handler: async (request) => {
      const principal = principalOf(request);
      requireInsurerAccess(principal, request.params.insurerNumber);
      return notices.setEmployer(request.params.insurerNumber, request.params.memberId, bodyObject(request.body), actorOf(principal));
    },
  });

  app.get('/v1/insurers/:insurerNumber/members/:memberId/employer', {
    preHandler: auth('admin', 'insurer'),
    schema: { tags, summary: "A member's employer data", params: MemberParams, response: { 200: EmployerSchema, ...errorResponses } },
    handler: async (request) => {
      requireInsurerAccess(principalOf(request), request.params.insurerNumber);
      return notices.getEmployer(request.params.insurerNumber, request.params.memberId);
    },
  });

  app.post('/v1/insurers/:insurerNumber/employers/bulk', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags,
      summary: 'Set the employer data of many members (all or nothing; errors name items[i].field)',
      params: InsurerNumberParam,
      body: Type.Object({ items: Type.Array(Type.Object({ memberId: Type.String(), ...EmployerFields })) }),
      response: { 200: Type.Object({ updated: Type.Integer() }), ...errorResponses },
    },
    bodyLimit: limits.bulkJsonBytes,
    attachValidation: true,
    handler: async (request) => {
      const principal = principalOf(request);
      requireInsurerAccess(principal, request.params.insurerNumber);
      const items = bodyObject(request.body).items;
      const list = Array.isArray(items) ? items.map((it) => bodyObject(it)) : [];
      return { updated: (await notices.setEmployers(request.params.insurerNumber, list, actorOf(principal))).length };
    },
  });

  app.post('/v1/insurers/:insurerNumber/notices/rounds', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags,
      summary: 'Plan a round of notices: pieces with tracking numbers, boxes of at most 4 kg per employer',
      description: 'Restartable: posting the same round again resumes an interrupted run or answers the finished one.',
      params: InsurerNumberParam,
      body: Type.Object({ round: Type.Integer({ description: '1 or 2' }), extractedOn: Type.String(), pieceWeightGrams: Type.Optional(Type.Number()), boxTareGrams: Type.Optional(Type.Number()) }),
      response: { 200: PlanReportSchema, ...errorResponses },
    },
    attachValidation: true,
    handler: async (request) => {
      const principal = principalOf(request);
      requireInsurerAccess(principal, request.params.insurerNumber);
      return notices.planRound({ ...bodyObject(request.body), insurerNumber: request.params.insurerNumber, actor: actorOf(principal) });
    },
  });

  app.get('/v1/insurers/:insurerNumber/notices/rounds/:roundId', {
    preHandler: auth('admin', 'insurer'),
    schema: { tags, summary: 'A round of notices with counts by route, reason and prefecture', params: RoundParams },
    handler: async (request) => {
      requireInsurerAccess(principalOf(request), request.params.insurerNumber);
      return notices.getRound(request.params.insurerNumber, request.params.roundId);
    },
  });

  for (const kind of ['pieces', 'boxes'] as const) {
    app.get(`/v1/insurers/:insurerNumber/notices/rounds/:roundId/${kind}.csv`, {
      preHandler: auth('admin', 'insurer'),
      schema: { tags, summary: `The ${kind} of a round (CSV)`, params: RoundParams, querystring: csvQuery },
      attachValidation: true,
      handler: async (request, reply) => {
        const { insurerNumber, roundId } = request.params as { insurerNumber: string; roundId: string };
        requireInsurerAccess(principalOf(request), insurerNumber);
        const charset = (request.query as Record<string, unknown>).charset;
        const body = kind === 'pieces' ? await notices.piecesCsv(insurerNumber, roundId, charset) : await notices.boxesCsv(insurerNumber, roundId, charset);
        const sjis = /^(shift_jis|sjis|cp932)$/i.test(String(charset ?? ''));
        return reply.header('content-type', `text/csv; charset=${sjis ? 'Shift_JIS' : 'utf-8'}`).send(body);
      },
    });
  }

  app.post('/v1/insurers/:insurerNumber/notices/returned', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags,
      summary: "Pieces returned undelivered: each one sent via an employer is re-sent to the member's own address, once",
      params: InsurerNumberParam,
      body: Type.Object({ trackingNumbers: Type.Array(Type.String()) }),
    },
    attachValidation: true,
    handler: async (request) => {
      const principal = principalOf(request);
      requireInsurerAccess(principal, request.params.insurerNumber);
      const list = bodyObject(request.body).trackingNumbers;
      return notices.recordReturned({ trackingNumbers: Array.isArray(list) ? list.map(String) : [], insurerNumber: request.params.insurerNumber, actor: actorOf(principal) });
    },
  });
};
