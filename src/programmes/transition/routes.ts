// Insurer routes of the paper-card transition: the certificate issue-due job, issue on request, the
// member's transition record and the print data of issued certificates.

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf, requireInsurerAccess } from '../../platform/auth.ts';
import { principalOf, type AuthGuard } from '../../platform/http.ts';
import { errorResponses, InsurerNumberParam } from '../../platform/http-schemas.ts';
import { bodyObject } from '../../platform/http-schemas.ts';
import { requestReasons } from './rules.ts';
import type { TransitionService } from './service.ts';

const MemberParams = Type.Object({ insurerNumber: Type.String(), memberId: Type.String() });
const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()]);

const CertificateSchema = Type.Object({
  id: Type.String(),
  number: Type.String({ description: '資格確認書番号: insurer number, 10-digit serial, check digit' }),
  memberId: Type.String(),
  insurerNumber: Type.String(),
  issuedOn: Type.String(),
  validUntil: Type.String({ description: 'Last valid day (at most 5 years)' }),
  revokedOn: Nullable(Type.String()),
  origin: Type.String({ description: 'automatic (issue-due job, no application) | request' }),
  requestReason: Nullable(Type.String()),
  issuedAt: Type.String(),
  issuedBy: Type.String(),
  validOnAsOf: Type.Optional(Type.Boolean()),
});

export const transitionRoutes: FastifyPluginAsync<{ transition: TransitionService; auth: AuthGuard }> = async (plugin, { transition, auth }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/v1/insurers/:insurerNumber/certificates/issue-due', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['transition'],
      summary: 'Issue 資格確認書 to members without a registered My Number card whose paper card stops being usable within the lead time',
      description: 'Restartable and idempotent: running it again with the same parameters resumes an interrupted run or answers the finished one.',
      params: InsurerNumberParam,
      body: Type.Object({ asOf: Type.Optional(Type.String()), leadDays: Type.Optional(Type.Integer()), validityYears: Type.Optional(Type.Integer()) }),
      response: {
        200: Type.Object({
          jobId: Type.String(), asOf: Type.String(), leadDays: Type.Integer(), validityYears: Type.Integer(), examined: Type.Integer(), issued: Type.Integer(),
          resumed: Type.Boolean(), alreadyDone: Type.Boolean(), seconds: Type.Number(),
        }),
        ...errorResponses,
      },
    },
    attachValidation: true,
    handler: async (request) => {
      const principal = principalOf(request);
      requireInsurerAccess(principal, request.params.insurerNumber);
      return transition.issueDue({ ...bodyObject(request.body), insurerNumber: request.params.insurerNumber, actor: actorOf(principal) });
    },
  });

  app.post('/v1/insurers/:insurerNumber/members/:memberId/certificates', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['transition'],
      summary: 'Issue a 資格確認書 on request (lost or suspended card); it replaces any certificate in force',
      params: MemberParams,
      body: Type.Object({ reason: Type.String({ description: requestReasons.join(' | ') }), issuedOn: Type.Optional(Type.String()), validityYears: Type.Optional(Type.Integer()) }),
      response: { 201: CertificateSchema, ...errorResponses },
    },
    attachValidation: true,
    handler: async (request, reply) => {
      const principal = principalOf(request);
      requireInsurerAccess(principal, request.params.insurerNumber);
      return reply.status(201).send(await transition.issueOnRequest(request.params.insurerNumber, request.params.memberId, bodyObject(request.body), actorOf(principal)));
    },
  });

  app.get('/v1/insurers/:insurerNumber/members/:memberId/transition', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['transition'],
      summary: "A member's paper card (usable until) and eligibility certificates",
      params: MemberParams,
      querystring: Type.Object({ asOf: Type.Optional(Type.String()) }),
      response: {
        200: Type.Object({
          memberId: Type.String(),
          asOf: Type.String(),
          paperCard: Type.Object({ issuedOn: Nullable(Type.String()), expiresOn: Nullable(Type.String()), usableUntil: Nullable(Type.String()) }),
          certificates: Type.Array(CertificateSchema),
        }),
        ...errorResponses,
      },
    },
    handler: async (request) => {
      requireInsurerAccess(principalOf(request), request.params.insurerNumber);
      return transition.memberRecord(request.params.insurerNumber, request.params.memberId, request.query.asOf);
    },
  });

  app.get('/v1/insurers/:insurerNumber/members/:memberId/certificates/:number.pdf', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['transition'],
      summary: 'One 資格確認書 of the member as a PDF (A4, Japanese), for printing and mailing',
      params: Type.Object({ insurerNumber: Type.String(), memberId: Type.String(), number: Type.String() }),
      produces: ['application/pdf'],
      response: { 200: Type.Any({ description: 'application/pdf' }), ...errorResponses },
    },
    handler: async (request, reply) => {
      const { insurerNumber, memberId, number } = request.params;
      requireInsurerAccess(principalOf(request), insurerNumber);
      const pdf = await transition.certificatePdf(insurerNumber, memberId, number);
      return reply.header('content-type', 'application/pdf').header('content-disposition', `inline; filename="certificate-${number}.pdf"`).send(pdf);
    },
  });

  app.get('/v1/insurers/:insurerNumber/certificates/print.csv', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['transition'],
      summary: 'Print data (CSV) of the certificates issued between two dates, for mailing',
      params: InsurerNumberParam,
      querystring: Type.Object({ from: Type.String(), to: Type.String(), charset: Type.Optional(Type.String({ description: 'utf-8 (default) | shift_jis' })) }),
    },
    attachValidation: true,
    handler: async (request, reply) => {
      requireInsurerAccess(principalOf(request), request.params.insurerNumber);
      const q = request.query as Record<string, unknown>;
      const body = await transition.printCsv(request.params.insurerNumber, q);
      const sjis = /^(shift_jis|sjis|cp932)$/i.test(String(q.charset ?? ''));
      return reply.header('content-type', `text/csv; charset=${sjis ? 'Shift_JIS' : 'utf-8'}`).send(body);
    },
  });
};
