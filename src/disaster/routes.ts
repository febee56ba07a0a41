// Disaster mode routes: declarations (administrators) and the views facilities in scope may make
// without consent, by card numbers or by name and birth date.

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../platform/auth.ts';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { errorResponses } from '../platform/http-schemas.ts';
import { bodyObject } from '../platform/http-schemas.ts';
import type { ClinicalService } from '../clinical/service.ts';
import { CheckupViewSchema, MedicationViewSchema, PatientQuerystring, viewerOf } from '../clinical/routes.ts';
import type { DisasterService } from './service.ts';

export interface DisasterRoutesOptions {
  disasters: DisasterService;
  clinical: ClinicalService;
  auth: AuthGuard;
}

const DisasterSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefectures: Type.Array(Type.String()),
  facilityCodes: Type.Array(Type.String()),
  startsAt: Type.String(),
  endsAt: Type.String(),
  declaredBy: Type.String(),
  declaredAt: Type.String(),
});

const DeclareBody = Type.Object({
  name: Type.String({ examples: ['令和6年能登半島地震'] }),
  prefectures: Type.Optional(Type.Array(Type.String({ description: '2-digit prefecture code' }))),
  facilityCodes: Type.Optional(Type.Array(Type.String())),
  startsAt: Type.String({ description: 'ISO instant', examples: ['2024-01-01T07:10:00Z'] }),
  endsAt: Type.String({ description: 'ISO instant (exclusive)' }),
});

const DisasterQuerystring = Type.Object({ ...PatientQuerystring.properties, name: Type.Optional(Type.String({ description: 'Name as registered (spaces ignored), with birthDate, when the card numbers are unknown' })) });

export const disasterRoutes: FastifyPluginAsync<DisasterRoutesOptions> = async (plugin, { disasters, clinical, auth }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/v1/disasters', {
    preHandler: auth('admin'),
    schema: { tags: ['disaster'], summary: 'Declare a disaster: prefectures and/or facilities, and a period (administrator)', body: DeclareBody, response: { 201: DisasterSchema, ...errorResponses } },
    attachValidation: true,
    handler: async (request, reply) => reply.status(201).send(await disasters.declare(bodyObject(request.body), actorOf(principalOf(request)))),
  });

  app.get('/v1/disasters', {
    preHandler: auth('admin'),
    schema: { tags: ['disaster'], summary: 'Declared disasters, latest start first (administrator)', response: { 200: Type.Object({ disasters: Type.Array(DisasterSchema) }) } },
    handler: async () => ({ disasters: await disasters.list() }),
  });

  app.get('/v1/disasters/:id', {
    preHandler: auth('admin'),
    schema: { tags: ['disaster'], summary: 'A declared disaster (administrator)', params: Type.Object({ id: Type.String() }), response: { 200: DisasterSchema, ...errorResponses } },
    handler: async (request) => disasters.get(request.params.id),
  });

  const description = 'Without consent, for a facility inside a declared disaster’s scope and period. Name the patient by card numbers and birthDate, or by name and birthDate. Role rules still apply; the view is recorded with the disaster as its basis.';

  app.get('/v1/disaster-views/medications', {
    preHandler: auth('facility'),
    schema: { tags: ['disaster'], summary: 'Disaster mode: a patient’s medication', description, querystring: DisasterQuerystring, response: { 200: MedicationViewSchema, ...errorResponses } },
    handler: async (request) => clinical.viewMedications(viewerOf(principalOf(request)), request.query, 'disaster'),
  });

  app.get('/v1/disaster-views/checkups', {
    preHandler: auth('facility'),
    schema: { tags: ['disaster'], summary: 'Disaster mode: a patient’s check-ups', description, querystring: DisasterQuerystring, response: { 200: CheckupViewSchema, ...errorResponses } },
    handler: async (request) => clinical.viewCheckups(viewerOf(principalOf(request)), request.query, 'disaster'),
  });
};
