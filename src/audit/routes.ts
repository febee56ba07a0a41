// Access-log routes: a patient's own history (閲覧履歴) and the administrators' search. There is no
// route that changes or deletes an entry, and the store refuses it too.

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireKind } from '../platform/auth.ts';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { errorResponses } from '../platform/http-schemas.ts';
import type { AuditService } from './service.ts';

export interface AuditRoutesOptions {
  audit: AuditService;
  auth: AuthGuard;
}

const Basis = Type.Object({ kind: Type.String({ description: 'consent | disaster | confirmation | self | administration' }), id: Type.Union([Type.String(), Type.Null()]) });

const Role = Type.Union([Type.String(), Type.Null()], { description: 'Staff role; null for a confirmation (its usage event does not record the credential)' });
const Method = Type.Union([Type.String(), Type.Null()], { description: 'How eligibility was confirmed: insurance_card | my_number_card | …; null when not a confirmation' });

const PatientEntry = Type.Object({
  at: Type.String(),
  facilityCode: Type.Union([Type.String(), Type.Null()]),
  facilityName: Type.Union([Type.String(), Type.Null()]),
  role: Role,
  what: Type.String({ description: 'eligibility | medication | checkups | limit_category | …' }),
  method: Method,
  basis: Basis,
});

const AdminEntry = Type.Object({
  id: Type.String({ description: 'The access-log entry, or the confirmation id' }),
  at: Type.String(),
  actor: Type.Union([Type.String(), Type.Null()]),
  role: Role,
  facilityCode: Type.Union([Type.String(), Type.Null()]),
  facilityName: Type.Union([Type.String(), Type.Null()]),
  personId: Type.String(),
  what: Type.String(),
  method: Method,
  basis: Basis,
  source: Type.String({ description: 'access_log | confirmation (a usage event whose answer returned the record)' }),
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

const Next = Type.Union([Type.String(), Type.Null()], { description: 'Pass as `before` for the next, older page; null on the last page' });
const Before = Type.Optional(Type.String({ description: 'The `next` of the previous page' }));
const historyDescription =
  'The access log merged, newest first, with every confirmation whose answer (有効) returned the person’s record to a facility ' +
  '(what = eligibility, basis = the confirmation). Paged by `limit` (default 200) and `before`.';

export const auditRoutes: FastifyPluginAsync<AuditRoutesOptions> = async (plugin, { audit, auth }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/v1/me/access-log', {
    preHandler: auth('patient'),
    schema: {
      tags: ['audit'],
      summary: 'Who viewed my information, when, and on what basis (patient; 閲覧履歴)',
      description: historyDescription,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), before: Before }),
      response: { 200: Type.Object({ entries: Type.Array(PatientEntry), next: Next }), ...errorResponses },
    },
    handler: async (request) => {
      const patient = requireKind(principalOf(request), 'patient');
      const page = await audit.history({ personId: patient.personId, limit: request.query.limit, before: request.query.before });
      // The patient sees the facility and role, not the staff credential id.
      return { entries: page.entries.map((e) => ({ at: e.at, facilityCode: e.facilityCode, facilityName: e.facilityName, role: e.role, what: e.what, method: e.method, basis: e.basis })), next: page.next };
    },
  });

  app.get('/v1/audit/access-log', {
    preHandler: auth('admin'),
    schema: {
      tags: ['audit'],
      summary: 'Search the access history (administrator); from/to are JST dates, inclusive',
      description: `${historyDescription} Every filter applies to both sources.`,
      querystring: Type.Object({
        personId: Type.Optional(Type.String()),
        facilityCode: Type.Optional(Type.String()),
        from: Type.Optional(Type.String()),
        to: Type.Optional(Type.String()),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        before: Before,
      }),
      response: { 200: Type.Object({ entries: Type.Array(AdminEntry), next: Next }), ...errorResponses },
    },
    handler: async (request) => audit.history(request.query),
  });
};
