// IT support fund routes: a facility opens its case and takes its own actions (facility_admin);
// reviewers (administrators) review, decide, pay, cancel and collect returns, and enter paper forms.

import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { bodyObject } from '../platform/http-schemas.ts';
import { errorResponses } from '../platform/http-schemas.ts';
import { actions, states } from './lifecycle.ts';
import { parseFiscalYear } from './ledger.ts';
import { evidenceContentTypes } from './evidence.ts';
import type { ItFundService } from './service.ts';

export interface ItFundRoutesOptions {
  itfund: ItFundService;
  auth: AuthGuard;
  /** ONSHI_LIMIT_EVIDENCE_BYTES: an evidence file (at most the fund's 10 MiB). */
  limits: { evidenceBytes: number };
}

const CaseSchema = Type.Object({ id: Type.String(), facilityCode: Type.String(), category: Type.String(), state: Type.String(), paper: Type.Boolean(), allowedActions: Type.Array(Type.String()) }, { additionalProperties: true });

export const itFundRoutes: FastifyPluginAsync<ItFundRoutesOptions> = async (plugin, { itfund, auth, limits }) => {
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

  app.get('/v1/itfund/cases/:id/decision.pdf', {
    preHandler: auth('facility', 'admin'),
    schema: {
      tags,
      summary: 'The decision notice (様式第3, 交付決定通知書) as a PDF: the facility its own, reviewers any; 409 until the decision is issued',
      params: Type.Object({ id: Type.String() }),
      produces: ['application/pdf'],
      response: { 200: Type.Any({ description: 'application/pdf' }), ...errorResponses },
    },
    handler: async (request, reply) => {
      const pdf = await itfund.decisionNoticePdf(principalOf(request), request.params.id);
      return reply.header('content-type', 'application/pdf').header('content-disposition', `inline; filename="itfund-decision-${request.params.id}.pdf"`).send(pdf);
    },
  });

  // Evidence files: the raw bytes are the body (PDF, JPEG, PNG; up to the limit, else 413 as soon as
  // it is passed). The parser is registered in this plugin only; any other content type is 415.
  app.addContentTypeParser([...evidenceContentTypes], { parseAs: 'buffer', bodyLimit: limits.evidenceBytes }, (_request, body, done) => done(null, body));
  const Evidence = Type.Object({ id: Type.String(), fileName: Type.String(), contentType: Type.String(), size: Type.Integer(), sha256: Type.String(), uploadedAt: Type.String(), uploadedBy: Type.String() });
  const evidenceParams = Type.Object({ id: Type.String() });

  app.post('/v1/itfund/cases/:id/evidence', {
    // Authenticated before the body is read, so that no one without a credential can send 10 MiB.
    onRequest: auth('facility', 'admin'),
    bodyLimit: limits.evidenceBytes,
    schema: {
      tags,
      summary: `Upload an evidence file of the subsidy application (the facility_admin; staff for a paper application with ?paper=true&reason=…): the raw bytes as the body, ${evidenceContentTypes.join(', ')}, at most ${limits.evidenceBytes} bytes (ONSHI_LIMIT_EVIDENCE_BYTES, 10 MiB by default); the file name in x-file-name (percent-encoded UTF-8) or ?fileName=. Only while the application can be changed (work_completed, corrections_requested).`,
      params: evidenceParams,
      querystring: Type.Object({ fileName: Type.Optional(Type.String()), paper: Type.Optional(Type.String()), reason: Type.Optional(Type.String()) }),
      consumes: [...evidenceContentTypes],
      response: { 201: Evidence, ...errorResponses },
    },
    handler: async (request, reply) => {
      const header = request.headers['x-file-name'];
      const fileName = typeof header === 'string' ? decodeFileName(header) : request.query.fileName;
      const { paper, reason } = request.query;
      const view = await itfund.evidence.upload(principalOf(request), request.params.id, { contentType: request.headers['content-type'], fileName, body: request.body, paper: paper === 'true', reason });
      return reply.status(201).send(view);
    },
  });

  app.get('/v1/itfund/cases/:id/evidence', {
    preHandler: auth('facility', 'admin'),
    schema: { tags, summary: 'The evidence files of a case (without their bytes): the facility its own, reviewers any', params: evidenceParams, response: { 200: Type.Object({ evidence: Type.Array(Evidence) }), ...errorResponses } },
    handler: async (request) => ({ evidence: await itfund.evidence.list(principalOf(request), request.params.id) }),
  });

  app.get('/v1/itfund/cases/:id/evidence/:evidenceId', {
    preHandler: auth('facility', 'admin'),
    schema: {
      tags,
      summary: 'One evidence file, its bytes with its content type',
      params: Type.Object({ id: Type.String(), evidenceId: Type.String() }),
      produces: [...evidenceContentTypes],
      response: { 200: Type.Any({ description: evidenceContentTypes.join(' | ') }), ...errorResponses },
    },
    handler: async (request, reply) => {
      const e = await itfund.evidence.get(principalOf(request), request.params.id, request.params.evidenceId);
      const ascii = e.fileName.replace(/[^\x20-\x7e]/g, '_');
      return reply
        .header('content-type', e.contentType)
        .header('content-disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(e.fileName)}`)
        .header('x-content-type-options', 'nosniff')
        .header('etag', `"${e.sha256}"`)
        .send(e.bytes);
    },
  });

  // The subsidy ledger (補助金台帳): administrators; a facility sees its own entry.
  const fiscalYearQuery = Type.Object({ fiscalYear: Type.Optional(Type.String({ description: 'fiscal year (April–March), e.g. 2021 for 2021-04-01..2022-03-31' })) });
  const Entry = Type.Object({ caseId: Type.String(), facilityCode: Type.String(), readersProvided: Type.Integer(), subsidyGrantedYen: Type.Integer() }, { additionalProperties: true });

  app.get('/v1/itfund/ledger', {
    preHandler: auth('admin'),
    schema: { tags, summary: 'The ledger: per facility readers provided, subsidy granted and its date, retention and tax report; entries touching a fiscal year, or all', querystring: fiscalYearQuery, response: { 200: Type.Object({ fiscalYear: Type.Union([Type.Integer(), Type.Null()]), entries: Type.Array(Entry) }), ...errorResponses } },
    handler: async (request) => {
      const fiscalYear = parseFiscalYear(request.query.fiscalYear, false);
      return { fiscalYear: fiscalYear ?? null, entries: await itfund.ledger.entries(principalOf(request), fiscalYear) };
    },
  });

  app.get('/v1/itfund/ledger.csv', {
    preHandler: auth('admin'),
    schema: { tags, summary: 'The ledger as CSV (UTF-8, header line, CRLF), optionally for one fiscal year', querystring: fiscalYearQuery, response: { 200: Type.String({ description: 'text/csv' }), ...errorResponses } },
    handler: async (request, reply) => {
      const fiscalYear = parseFiscalYear(request.query.fiscalYear, false);
      const csv = await itfund.ledger.csv(principalOf(request), fiscalYear);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="itfund-ledger${fiscalYear ? `-FY${fiscalYear}` : ''}.csv"`)
        .send(csv);
    },
  });

  app.get('/v1/itfund/ledger/summary', {
    preHandler: auth('admin'),
    schema: { tags, summary: 'A fiscal year in figures: readers delivered, subsidies granted (by category), cancellations, returns collected, tax reports due', querystring: fiscalYearQuery, response: { 200: Type.Object({ fiscalYear: Type.Integer() }, { additionalProperties: true }), ...errorResponses } },
    handler: async (request) => itfund.ledger.summary(principalOf(request), parseFiscalYear(request.query.fiscalYear, true)!),
  });

  app.get('/v1/itfund/cases/:id/ledger', {
    preHandler: auth('facility', 'admin'),
    schema: { tags, summary: 'The ledger entry of a case (the facility its own, reviewers any)', params: Type.Object({ id: Type.String() }), response: { 200: Entry, ...errorResponses } },
    handler: async (request) => itfund.ledger.entry(principalOf(request), request.params.id),
  });

  app.put('/v1/itfund/cases/:id/ledger/property', {
    preHandler: auth('admin'),
    schema: { tags, summary: 'Record the statutory useful life of the subsidised property (default 5 years) and its disposal; the retention date follows', params: Type.Object({ id: Type.String() }), body: Type.Object({ usefulLifeYears: Type.Optional(Type.Integer()), disposedOn: Type.Optional(Type.Union([Type.String(), Type.Null()])) }), response: { 200: Entry, ...errorResponses } },
    attachValidation: true,
    handler: async (request) => itfund.ledger.recordProperty(principalOf(request), request.params.id, bodyObject(request.body)),
  });

  app.post('/v1/itfund/cases/:id/ledger/tax-reports', {
    preHandler: auth('admin'),
    schema: { tags, summary: 'Record a consumption-tax purchase deduction report (0 yen included); due 30 June of the fiscal year after next from the completion', params: Type.Object({ id: Type.String() }), body: Type.Object({ deductionYen: Type.Optional(Type.Integer()), reportedOn: Type.Optional(Type.String()) }), response: { 201: Entry, ...errorResponses } },
    attachValidation: true,
    handler: async (request, reply) => reply.status(201).send(await itfund.ledger.recordTaxReport(principalOf(request), request.params.id, bodyObject(request.body))),
  });

  // Organisations (取りまとめ者): the facility_admin of the representative facility acts for the organisation.
  const Organisation = Type.Object({ id: Type.String(), state: Type.String(), representativeFacilityCode: Type.String(), members: Type.Array(Type.Object({ facilityCode: Type.String() }, { additionalProperties: true })) }, { additionalProperties: true });

  app.post('/v1/itfund/organisations', {
    preHandler: auth('facility'),
    schema: { tags, summary: 'Form 1 (一括申請様式1): register an organisation and its member facilities; the caller’s facility is the representative', body: Type.Object({ name: Type.Optional(Type.String()), kind: Type.Optional(Type.String()), memberFacilityCodes: Type.Optional(Type.Array(Type.String())) }), response: { 201: Organisation, ...errorResponses } },
    attachValidation: true,
    handler: async (request, reply) => reply.status(201).send(await itfund.organisations.register(principalOf(request), bodyObject(request.body))),
  });

  app.get('/v1/itfund/organisations', {
    preHandler: auth('facility', 'admin'),
    schema: { tags, summary: 'Organisations: the representative its own, reviewers all', response: { 200: Type.Object({ organisations: Type.Array(Organisation) }) } },
    handler: async (request) => ({ organisations: await itfund.organisations.list(principalOf(request)) }),
  });

  app.get('/v1/itfund/organisations/:id', {
    preHandler: auth('facility', 'admin'),
    schema: { tags, summary: 'An organisation with every member’s case and its bulk applications', params: Type.Object({ id: Type.String() }), response: { 200: Organisation, ...errorResponses } },
    handler: async (request) => itfund.organisations.get(principalOf(request), request.params.id),
  });

  app.post('/v1/itfund/organisations/:id/confirm', {
    preHandler: auth('admin'),
    schema: { tags, summary: 'Confirm the registered members (reviewers)', params: Type.Object({ id: Type.String() }), response: { 200: Organisation, ...errorResponses } },
    handler: async (request) => itfund.organisations.confirm(principalOf(request), request.params.id),
  });

  app.post('/v1/itfund/organisations/:id/bulk-applications', {
    preHandler: auth('facility'),
    schema: {
      tags,
      summary: 'Form 2 (一括申請様式2): one subsidy application per member, all or nothing; each then reviewed and decided on its own case',
      params: Type.Object({ id: Type.String() }),
      body: Type.Object({ applications: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))) }),
      response: { 201: Organisation, ...errorResponses },
    },
    attachValidation: true,
    handler: async (request, reply) => reply.status(201).send(await itfund.organisations.submit(principalOf(request), request.params.id, bodyObject(request.body))),
  });
};

/** A header carries ASCII: a Japanese file name comes percent-encoded (UTF-8); a malformed one is taken as is. */
function decodeFileName(header: string): string {
  try {
    return decodeURIComponent(header);
  } catch {
    return header;
  }
}
