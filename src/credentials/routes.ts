// Credential administration: issue (the token is in this answer only), list, revoke.

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { facilityRoles } from '../platform/auth.ts';
import type { AuthGuard } from '../platform/http.ts';
import { errorResponses } from '../platform/http-schemas.ts';
import type { CredentialService } from './service.ts';

const CredentialSchema = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: 'admin | facility | insurer' }),
  role: Type.String(),
  facilityCode: Type.Union([Type.String(), Type.Null()]),
  insurerNumber: Type.Union([Type.String(), Type.Null()]),
  label: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

export const credentialRoutes: FastifyPluginAsync<{ credentials: CredentialService; auth: AuthGuard }> = async (plugin, { credentials, auth }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/v1/credentials', {
    preHandler: auth('admin'),
    schema: {
      tags: ['credentials'],
      summary: 'Issue a bearer token for a facility terminal, an insurer system or an administrator',
      description: 'Body: {facilityCode, role?} or {insurerNumber} or {admin: true}. The token is returned only in this answer; onshi keeps only its hash.',
      body: Type.Object({
        facilityCode: Type.Optional(Type.String()),
        role: Type.Optional(
          Type.String({
            description: `Facility staff role: ${facilityRoles.join(' | ')} (default reception). It must fit the facility type (doctor: hospital, clinic; dentist: hospital, dental clinic; pharmacist: pharmacy, hospital), else 400 ONSHI_CREDENTIAL_ROLE_NOT_ALLOWED`,
          }),
        ),
        insurerNumber: Type.Optional(Type.String()),
        admin: Type.Optional(Type.Boolean()),
        label: Type.Optional(Type.String()),
      }),
      response: { 201: Type.Object({ ...CredentialSchema.properties, token: Type.String() }), ...errorResponses },
    },
    attachValidation: true,
    handler: async (request, reply) => reply.status(201).send(await credentials.issue((request.body ?? {}) as Record<string, unknown>)),
  });

  app.get('/v1/credentials', {
    preHandler: auth('admin'),
    schema: {
      tags: ['credentials'],
      summary: 'List credentials (never their tokens)',
      querystring: Type.Object({ facilityCode: Type.Optional(Type.String()), insurerNumber: Type.Optional(Type.String()), includeRevoked: Type.Optional(Type.Boolean()) }),
      response: { 200: Type.Object({ credentials: Type.Array(CredentialSchema) }) },
    },
    handler: async (request) => ({ credentials: await credentials.list(request.query) }),
  });

  app.delete('/v1/credentials/:id', {
    preHandler: auth('admin'),
    schema: {
      tags: ['credentials'],
      summary: 'Revoke a credential',
      description: 'The credential of ONSHI_ADMIN_TOKEN (bootstrap-admin) is defined by the variable: 409 ONSHI_CREDENTIAL_FROM_ENVIRONMENT (unset the variable and restart instead).',
      params: Type.Object({ id: Type.String() }),
      response: { 200: CredentialSchema, ...errorResponses },
    },
    handler: async (request) => credentials.revoke(request.params.id),
  });
};
