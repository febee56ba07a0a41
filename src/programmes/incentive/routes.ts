// Programme routes over stored figures: a facility's incentive and reader subsidy (administrator or
// that facility), its attested conditions, the payout list and totals (administrators), insurer targets.

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireInsurerAccess } from '../../platform/auth.ts';
import { OnshiError } from '../../platform/errors.ts';
import { principalOf, type AuthGuard } from '../../platform/http.ts';
import { errorResponses } from '../../platform/http-schemas.ts';
import { bodyObject } from '../../platform/http-schemas.ts';
import type { ProgrammeService } from './service.ts';
import type { TargetService } from '../targets/service.ts';
import { IncentiveResultSchema, ReaderSubsidyResultSchema } from './schemas.ts';
import { subsidyFor } from '../reader-subsidy/rules.ts';

export interface ProgrammeRoutesOptions {
  programmes: ProgrammeService;
  targets: TargetService;
  auth: AuthGuard;
}

const CodeParam = Type.Object({ code: Type.String() });
const Totals = Type.Object({ facilities: Type.Integer(), paidFacilities: Type.Integer(), amountYen: Type.Integer(), readerEligible: Type.Integer(), readerCapYen: Type.Integer() });
const ProfileSchema = Type.Object({
  facilityCode: Type.String(),
  conditions: Type.Object({ poster: Type.Boolean(), askPatients: Type.Boolean(), flyers: Type.Boolean() }),
  freeReaders: Type.Integer(),
  attested: Type.Boolean(),
});
const TargetsSchema = Type.Object({ insurerNumber: Type.String(), targets: Type.Array(Type.Object({ month: Type.String(), targetPercent: Type.Number() })) });
const TargetRowSchema = Type.Object({
  insurerNumber: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  month: Type.String(),
  targetPercent: Type.Union([Type.Number(), Type.Null()]),
  confirmations: Type.Integer(),
  cardUses: Type.Integer(),
  actualPercent: Type.Union([Type.Number(), Type.Null()]),
  met: Type.Union([Type.Boolean(), Type.Null()]),
  rewardedAbove50: Type.Boolean(),
});

export const programmeRoutes: FastifyPluginAsync<ProgrammeRoutesOptions> = async (plugin, { programmes, targets, auth }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();

  const ownFacility = (request: Parameters<typeof principalOf>[0], code: string, adminRoleOnly = false) => {
    const p = principalOf(request);
    if (p.kind === 'facility' && (p.facilityCode !== code || (adminRoleOnly && p.role !== 'facility_admin'))) throw new OnshiError('ONSHI_AUTH_FORBIDDEN');
  };

  app.get('/v1/facilities/:code/incentive', {
    preHandler: auth('admin', 'facility'),
    schema: { tags: ['statistics'], summary: "The facility's incentive payment (一時金) from its stored figures, explained, with the next step", params: CodeParam, response: { 200: IncentiveResultSchema, ...errorResponses } },
    handler: async (request) => {
      ownFacility(request, request.params.code);
      return (await programmes.forFacility(request.params.code)).incentive;
    },
  });

  app.get('/v1/facilities/:code/reader-subsidy', {
    preHandler: auth('admin', 'facility'),
    schema: {
      tags: ['statistics'],
      summary: "The facility's card-reader expansion subsidy from its stored figures; with costYen, the subsidy for that cost",
      params: CodeParam,
      querystring: Type.Object({ costYen: Type.Optional(Type.Integer({ minimum: 0 })) }),
      response: { 200: ReaderSubsidyResultSchema, ...errorResponses },
    },
    handler: async (request) => {
      ownFacility(request, request.params.code);
      const r = (await programmes.forFacility(request.params.code)).readerSubsidy;
      return request.query.costYen === undefined ? r : { ...r, subsidyYen: subsidyFor(request.query.costYen, r.capYen) };
    },
  });

  app.get('/v1/facilities/:code/programme-profile', {
    preHandler: auth('admin', 'facility'),
    schema: { tags: ['statistics'], summary: 'The conditions the facility attested and the free readers it received', params: CodeParam, response: { 200: ProfileSchema, ...errorResponses } },
    handler: async (request) => {
      ownFacility(request, request.params.code);
      return programmes.getProfile(request.params.code);
    },
  });

  app.put('/v1/facilities/:code/programme-profile', {
    preHandler: auth('admin', 'facility'),
    schema: {
      tags: ['statistics'],
      summary: 'Attest the incentive conditions (poster, asking patients, flyers) and state the free readers received (facility_admin of that facility, or administrator)',
      params: CodeParam,
      body: Type.Object({ poster: Type.Boolean(), askPatients: Type.Boolean(), flyers: Type.Boolean(), freeReaders: Type.Optional(Type.Integer({ minimum: 0, maximum: 3 })) }),
      response: { 200: ProfileSchema, ...errorResponses },
    },
    attachValidation: true,
    handler: async (request) => {
      ownFacility(request, request.params.code, true);
      return programmes.setProfile(request.params.code, bodyObject(request.body));
    },
  });

  app.get('/v1/programmes/incentives', {
    preHandler: auth('admin'),
    schema: { tags: ['statistics'], summary: 'The payout list of every facility as CSV (incentive and reader subsidy)', response: { ...errorResponses } },
    handler: async (_request, reply) => {
      const { csv } = await programmes.payoutCsv();
      return reply.type('text/csv; charset=utf-8').send(csv as never);
    },
  });

  app.get('/v1/programmes/totals', {
    preHandler: auth('admin'),
    schema: {
      tags: ['statistics'],
      summary: 'Programme totals: all facilities, by prefecture and by facility type',
      response: { 200: Type.Object({ total: Totals, byPrefecture: Type.Array(Type.Object({ ...Totals.properties, prefecture: Type.String(), name: Type.String() })), byType: Type.Array(Type.Object({ ...Totals.properties, type: Type.String() })) }), ...errorResponses },
    },
    handler: async () => programmes.run(),
  });

  app.put('/v1/insurers/:insurerNumber/targets', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['statistics'],
      summary: 'Set target utilization rates for months (that insurer)',
      params: Type.Object({ insurerNumber: Type.String() }),
      body: Type.Array(Type.Object({ month: Type.String({ examples: ['2024-11'] }), targetPercent: Type.Number({ examples: [50] }) })),
      response: { 200: TargetsSchema, ...errorResponses },
    },
    attachValidation: true,
    handler: async (request) => {
      requireInsurerAccess(principalOf(request), request.params.insurerNumber);
      return targets.setTargets(request.params.insurerNumber, request.body);
    },
  });

  app.get('/v1/insurers/:insurerNumber/targets', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['statistics'],
      summary: "The insurer's targets; with month, actual vs target for that month",
      params: Type.Object({ insurerNumber: Type.String() }),
      querystring: Type.Object({ month: Type.Optional(Type.String()) }),
      response: { 200: Type.Object({ ...TargetsSchema.properties, report: Type.Optional(Type.Array(TargetRowSchema)) }), ...errorResponses },
    },
    handler: async (request) => {
      requireInsurerAccess(principalOf(request), request.params.insurerNumber);
      const own = await targets.getTargets(request.params.insurerNumber);
      return request.query.month === undefined ? own : { ...own, report: await targets.report(request.query.month, request.params.insurerNumber) };
    },
  });

  app.get('/v1/programmes/insurer-targets', {
    preHandler: auth('admin'),
    schema: {
      tags: ['statistics'],
      summary: 'Actual vs target per insurer for a month; municipal insurers above 50% in November 2024 are flagged',
      querystring: Type.Object({ month: Type.Optional(Type.String()) }),
      response: { 200: Type.Object({ month: Type.String(), insurers: Type.Array(TargetRowSchema) }), ...errorResponses },
    },
    handler: async (request) => {
      const rows = await targets.report(request.query.month);
      return { month: request.query.month as string, insurers: rows };
    },
  });
};
