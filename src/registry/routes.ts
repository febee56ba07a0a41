// Registry routes: insurers and facilities (administrators), members (each insurer its own).

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf, requireInsurerAccess } from '../platform/auth.ts';
import { OnshiError } from '../platform/errors.ts';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { closeIfBodyUnread, passThrough, requestBody } from '../platform/body-limit.ts';
import { charsetOf, importFormatOf } from './import.ts';
import type { RegistryService } from './service.ts';
import { AddMemberBody, ChangeMemberBody, CreateFacilityBody, CreateInsurerBody, FacilitySchema, ImportReportSchema, InsurerSchema, MemberSchema, TerminateMemberBody } from './schemas.ts';
import { bodyObject, errorResponses, ImportRejectedSchema, InsurerNumberParam } from '../platform/http-schemas.ts';

export interface RegistryRoutesOptions {
  registry: RegistryService;
  auth: AuthGuard;
  /** The member import's limits (config: ONSHI_LIMIT_IMPORT_BYTES, ONSHI_LIMIT_IMPORT_ROWS). */
  limits: { importBytes: number; importRows: number };
}

const MemberParams = Type.Object({ insurerNumber: Type.String(), memberId: Type.String() });

export const registryRoutes: FastifyPluginAsync<RegistryRoutesOptions> = async (plugin, { registry, auth, limits }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();

  // Import bodies are streamed to the service, never buffered whole, and counted on the way (requestBody).
  for (const type of ['text/csv', 'application/x-ndjson', 'application/ndjson', 'application/jsonl']) {
    app.addContentTypeParser(type, passThrough);
  }

  app.post('/v1/insurers', {
    preHandler: auth('admin'),
    schema: { tags: ['registry'], summary: 'Register an insurer (administrator)', body: CreateInsurerBody, response: { 201: InsurerSchema, ...errorResponses } },
    attachValidation: true,
    handler: async (request, reply) => reply.status(201).send(await registry.createInsurer(bodyObject(request.body))),
  });

  app.get('/v1/insurers', {
    preHandler: auth('admin'),
    schema: { tags: ['registry'], summary: 'List insurers (administrator)', response: { 200: Type.Object({ insurers: Type.Array(InsurerSchema) }) } },
    handler: async () => ({ insurers: await registry.listInsurers() }),
  });

  app.get('/v1/insurers/:insurerNumber', {
    preHandler: auth('admin', 'insurer'),
    schema: { tags: ['registry'], summary: 'An insurer (administrator or that insurer)', params: InsurerNumberParam, response: { 200: InsurerSchema, ...errorResponses } },
    handler: async (request) => {
      requireInsurerAccess(principalOf(request), request.params.insurerNumber);
      return registry.getInsurer(request.params.insurerNumber);
    },
  });

  app.post('/v1/facilities', {
    preHandler: auth('admin'),
    schema: { tags: ['registry'], summary: 'Register a facility (administrator)', body: CreateFacilityBody, response: { 201: FacilitySchema, ...errorResponses } },
    attachValidation: true,
    handler: async (request, reply) => reply.status(201).send(await registry.createFacility(bodyObject(request.body))),
  });

  app.get('/v1/facilities', {
    preHandler: auth('admin'),
    schema: {
      tags: ['registry'],
      summary: 'List facilities (administrator), by code order; page with `after`',
      querystring: Type.Object({ prefecture: Type.Optional(Type.String()), type: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), after: Type.Optional(Type.String()) }),
      response: { 200: Type.Object({ facilities: Type.Array(FacilitySchema) }) },
    },
    handler: async (request) => ({ facilities: await registry.listFacilities(request.query) }),
  });

  app.get('/v1/facilities/:code', {
    preHandler: auth('admin', 'facility'),
    schema: { tags: ['registry'], summary: 'A facility (administrator or that facility)', params: Type.Object({ code: Type.String() }), response: { 200: FacilitySchema, ...errorResponses } },
    handler: async (request) => {
      const principal = principalOf(request);
      if (principal.kind === 'facility' && principal.facilityCode !== request.params.code) throw new OnshiError('ONSHI_AUTH_FORBIDDEN');
      return registry.getFacility(request.params.code);
    },
  });

  app.put('/v1/facilities/:code/claims', {
    preHandler: auth('admin'),
    schema: {
      tags: ['registry'],
      summary: 'Record monthly claims counts (レセプト件数) of a facility (administrator)',
      params: Type.Object({ code: Type.String() }),
      body: Type.Array(Type.Object({ month: Type.String({ examples: ['2023-10'] }), claims: Type.Integer({ minimum: 0 }) })),
      response: { 200: FacilitySchema, ...errorResponses },
    },
    attachValidation: true,
    handler: async (request) => {
      if (!Array.isArray(request.body)) throw new OnshiError('ONSHI_REQUEST_INVALID', { expected: 'an array of {month, claims}' });
      await registry.setMonthlyClaims(request.params.code, request.body.map(bodyObject));
      return registry.getFacility(request.params.code);
    },
  });

  app.post('/v1/insurers/:insurerNumber/members', {
    preHandler: auth('admin', 'insurer'),
    schema: { tags: ['members'], summary: 'Add a member (that insurer)', params: InsurerNumberParam, body: AddMemberBody, response: { 201: MemberSchema, ...errorResponses } },
    attachValidation: true,
    handler: async (request, reply) => {
      const principal = principalOf(request);
      requireInsurerAccess(principal, request.params.insurerNumber);
      const member = await registry.addMember(request.params.insurerNumber, bodyObject(request.body), actorOf(principal));
      return reply.status(201).send(member);
    },
  });

  app.get('/v1/insurers/:insurerNumber/members', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['members'],
      summary: "Find an insurer's members by card numbers, or page through them",
      params: InsurerNumberParam,
      querystring: Type.Object({
        symbol: Type.Optional(Type.String()),
        number: Type.Optional(Type.String()),
        branch: Type.Optional(Type.String()),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        after: Type.Optional(Type.String({ description: 'memberId to continue after' })),
        asOf: Type.Optional(Type.String({ format: 'date', description: 'Each member as of this date, YYYY-MM-DD (default: today in JST)' })),
      }),
      response: { 200: Type.Object({ members: Type.Array(MemberSchema) }), ...errorResponses },
    },
    handler: async (request) => {
      requireInsurerAccess(principalOf(request), request.params.insurerNumber);
      const { asOf, ...filter } = request.query;
      const members = await registry.findMembers(request.params.insurerNumber, filter);
      if (asOf === undefined) return { members };
      // The same member view as GET …/members/{memberId}?asOf, without its history.
      const dated = [];
      for (const m of members) {
        const { history: _h, ...view } = await registry.getMember(request.params.insurerNumber, m.memberId, asOf);
        dated.push(view);
      }
      return { members: dated };
    },
  });

  app.get('/v1/insurers/:insurerNumber/members/:memberId', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['members'],
      summary: 'A member as of a date, with the whole eligibility history',
      params: MemberParams,
      querystring: Type.Object({ asOf: Type.Optional(Type.String({ description: 'YYYY-MM-DD (default: today in JST)' })) }),
      response: { 200: MemberSchema, ...errorResponses },
    },
    handler: async (request) => {
      requireInsurerAccess(principalOf(request), request.params.insurerNumber);
      return registry.getMember(request.params.insurerNumber, request.params.memberId, request.query.asOf);
    },
  });

  app.patch('/v1/insurers/:insurerNumber/members/:memberId', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['members'],
      summary: 'Change attributes from a date: closes the current period and opens a new one',
      params: MemberParams,
      body: ChangeMemberBody,
      response: { 200: MemberSchema, ...errorResponses },
    },
    attachValidation: true,
    handler: async (request) => {
      const principal = principalOf(request);
      requireInsurerAccess(principal, request.params.insurerNumber);
      return registry.changeMember(request.params.insurerNumber, request.params.memberId, bodyObject(request.body), actorOf(principal));
    },
  });

  app.post('/v1/insurers/:insurerNumber/members/:memberId/terminate', {
    preHandler: auth('admin', 'insurer'),
    schema: { tags: ['members'], summary: 'End eligibility (資格喪失)', params: MemberParams, body: TerminateMemberBody, response: { 200: MemberSchema, ...errorResponses } },
    attachValidation: true,
    handler: async (request) => {
      const principal = principalOf(request);
      requireInsurerAccess(principal, request.params.insurerNumber);
      return registry.terminateMember(request.params.insurerNumber, request.params.memberId, bodyObject(request.body), actorOf(principal));
    },
  });

  app.post('/v1/insurers/:insurerNumber/members/import', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['members'],
      summary: 'Bulk add, change and terminate members (CSV in UTF-8 or Shift_JIS, or NDJSON); all or nothing',
      description:
        'Send `text/csv` (header row of field names; `charset=Shift_JIS` or auto-detected) or `application/x-ndjson` (one JSON object per line). ' +
        'Each row has the fields of the single-member body plus `op`: add (default) | change (with effectiveFrom) | terminate (with lostOn, lossReason); ' +
        'change and terminate rows name the member by symbol, number and branch. Any rejected row rolls back the whole file and the 422 answer lists each one. ' +
        `At most ${limits.importBytes} bytes and ${limits.importRows} rows (ONSHI_LIMIT_IMPORT_BYTES, ONSHI_LIMIT_IMPORT_ROWS): 413 the moment either is passed, nothing imported.`,
      params: InsurerNumberParam,
      response: { 200: ImportReportSchema, ...errorResponses, 413: errorResponses[400], 422: ImportRejectedSchema },
    },
    onSend: closeIfBodyUnread,
    handler: async (request) => {
      const principal = principalOf(request);
      requireInsurerAccess(principal, request.params.insurerNumber);
      const format = importFormatOf(request.headers['content-type']);
      if (!format) throw new OnshiError('ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE', { accepted: ['text/csv', 'application/x-ndjson'] });
      const file = { bytes: requestBody(request, limits.importBytes), format, charset: charsetOf(request.headers['content-type']), maxRows: limits.importRows };
      const declared = Number(request.headers['content-length']);
      return registry.importFile(request.params.insurerNumber, file, actorOf(principal), { expectedBytes: Number.isFinite(declared) ? declared : undefined });
    },
  });
};

