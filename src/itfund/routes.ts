// IT support fund routes: a facility opens its case and takes its own actions (facility_admin);
// reviewers (administrators) review, decide, pay, cancel and collect returns, and enter paper forms.

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { bodyObject } from '../registry/routes.ts';
import { errorResponses } from '../registry/schemas.ts';
import { actions, states } from './lifecycle.ts';
import type { ItFundService } from './service.ts';

export interface ItFundRoutesOptions {
  itfund: ItFundService;
  auth: AuthGuard;
}

const CaseSchema = Type.Object({ id: Type.String(), facilityCode: Type.String(), category: Type.String(), state: Type.String(), paper: Type.Boolean(), allowedActions: Type.Array(Type.String()) }, { additionalProperties: true });

export const itFundRoutes: FastifyPluginAsync<ItFundRoutesOptions> = async (plugin, { itfund, auth }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['itfund'];

  app.post('/v1/itfund/cases', {
    preHandler: auth('facility', 'admin'),
    schema: {
      tags,
      summary: 'Open the fund portal account of a facility (the facility, or staff for a paper form with paper: true and a reason)',
      body: Type.Object({ facilityCode: Type.Optional(Type.String()), largeChain: Type.Optional(Type.Boolean()), paper: Type.Optional(Type.Boolean()), reason: Type.Optional(Type.String()) }),
      response: { 201: CaseSchema, ...errorResponses },
    },
    attachValidation: true,
    handler: async (request, reply) => reply.status(201).send(await itfund.openCase(principalOf(request), bodyObject(request.body))),
  });

  app.get('/v1/itfund/cases', {
    preHandler: auth('facility', 'admin'),
    schema: { tags, summary: 'Cases: a facility its own, reviewers all (filter by state)', querystring: Type.Object({ state: Type.Optional(Type.String({ description: states.join(' | ') })) }), response: { 200: Type.Object({ cases: Type.Array(CaseSchema) }) } },
    handler: async (request) => ({ cases: await itfund.listCases(principalOf(request), request.query) }),
  });

  app.get('/v1/itfund/cases/:id', {
    preHandler: auth('facility', 'admin'),
    schema: { tags, summary: 'A case with its cost items, computation, return order and full history', params: Type.Object({ id: Type.String() }), response: { 200: CaseSchema, ...errorResponses } },
    handler: async (request) => itfund.getCase(principalOf(request), request.params.id),
  });

  app.post('/v1/itfund/cases/:id/actions/:action', {
    preHandler: auth('facility', 'admin'),
    schema: {
      tags,
      summary: `Take an action on a case: ${actions.join(', ')}. Refused with the current state and the allowed actions when not allowed.`,
      params: Type.Object({ id: Type.String(), action: Type.String() }),
      body: Type.Optional(Type.Object({}, { additionalProperties: true })),
      response: { 200: CaseSchema, ...errorResponses },
    },
    attachValidation: true,
    handler: async (request) => itfund.act(principalOf(request), request.params.id, request.params.action, bodyObject(request.body)),
  });
};
