// Access-log routes: a patient's own history (閲覧履歴) and the administrators' search. There is no
// route that changes or deletes an entry, and the store refuses it too.

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireKind } from '../platform/auth.ts';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { errorResponses } from '../registry/schemas.ts';
import type { AuditService } from './service.ts';

export interface AuditRoutesOptions {
  audit: AuditService;
  auth: AuthGuard;
}

const Basis = Type.Object({ kind: Type.String({ description: 'consent | disaster | confirmation | self | administration' }), id: Type.Union([Type.String(), Type.Null()]) });

const PatientEntry = Type.Object({
  at: Type.String(),
  facilityCode: Type.Union([Type.String(), Type.Null()]),
  facilityName: Type.Union([Type.String(), Type.Null()]),
  role: Type.String(),
  what: Type.String(),
  basis: Basis,
});

const AdminEntry = Type.Object({
  id: Type.String(),
  at: Type.String(),
  actor: Type.String(),
  role: Type.String(),
  facilityCode: Type.Union([Type.String(), Type.Null()]),
  facilityName: Type.Union([Type.String(), Type.Null()]),
  personId: Type.String(),
  what: Type.String(),
  basis: Basis,
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

export const auditRoutes: FastifyPluginAsync<AuditRoutesOptions> = async (plugin, { audit, auth }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/v1/me/access-log', {
    preHandler: auth('patient'),
    schema: {
      tags: ['audit'],
      summary: 'Who viewed my information, when, and on what basis (patient)',
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
      response: { 200: Type.Object({ entries: Type.Array(PatientEntry) }), ...errorResponses },
    },
    handler: async (request) => {
      const patient = requireKind(principalOf(request), 'patient');
      const entries = await audit.search({ personId: patient.personId, limit: request.query.limit });
      // The patient sees the facility and role, not the staff credential id.
      return { entries: entries.map((e) => ({ at: e.at, facilityCode: e.facilityCode, facilityName: e.facilityName, role: e.role, what: e.what, basis: e.basis })) };
    },
  });

  app.get('/v1/audit/access-log', {
    preHandler: auth('admin'),
    schema: {
      tags: ['audit'],
      summary: 'Search the access log (administrator); from/to are JST dates, inclusive',
      querystring: Type.Object({
        personId: Type.Optional(Type.String()),
        facilityCode: Type.Optional(Type.String()),
        from: Type.Optional(Type.String()),
        to: Type.Optional(Type.String()),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
      }),
      response: { 200: Type.Object({ entries: Type.Array(AdminEntry) }), ...errorResponses },
    },
    handler: async (request) => ({ entries: await audit.search(request.query) }),
  });
};
