// Clinical routes: the claims and check-up feeds, and a facility's views of a patient's medication,
// check-ups and high-cost limit category (role and consent checked by the service).

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf, requireInsurerAccess, requireKind, type Principal } from '../platform/auth.ts';
import { fieldError, OnshiError } from '../platform/errors.ts';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { closeIfBodyUnread, passThrough, requestBody } from '../platform/body-limit.ts';
import { charsetOf, importFormatOf, readImportRows, type ImportRow } from '../registry/import.ts';
import { errorResponses, ImportRejectedSchema, InsurerNumberParam } from '../platform/http-schemas.ts';
import type { ClinicalService, Viewer } from './service.ts';

export interface ClinicalRoutesOptions {
  clinical: ClinicalService;
  auth: AuthGuard;
  /** ONSHI_LIMIT_FEED_BYTES: an NDJSON feed's bytes (a JSON array is held to the JSON limit). */
  limits: { feedBytes: number };
}

export const FeedReportSchema = Type.Object({ rows: Type.Integer(), loaded: Type.Integer(), seconds: Type.Number() });

export const PatientQuerystring = Type.Object({
  insurerNumber: Type.Optional(Type.String({ description: '保険者番号' })),
  symbol: Type.Optional(Type.String({ description: '記号' })),
  number: Type.Optional(Type.String({ description: '番号' })),
  branch: Type.Optional(Type.String({ description: '枝番 (2 digits)' })),
  birthDate: Type.Optional(Type.String({ description: 'YYYY-MM-DD; must agree with the registry' })),
});

const BasisSchema = Type.Object({ kind: Type.String({ description: 'consent | disaster' }), id: Type.String() });

export const MedicationViewSchema = Type.Object({
  viewedOn: Type.String(),
  from: Type.String({ description: 'First day of the 3-year window (inclusive)' }),
  basis: BasisSchema,
  accessId: Type.String({ description: 'The access-log entry of this view' }),
  medications: Type.Array(
    Type.Object({
      dispensedOn: Type.String(),
      facilityCode: Type.String(),
      drugCode: Type.String(),
      drugName: Type.String(),
      quantity: Type.Number(),
      unit: Type.String(),
      days: Type.Union([Type.Integer(), Type.Null()]),
    }),
  ),
});

export const CheckupViewSchema = Type.Object({
  viewedOn: Type.String(),
  from: Type.String({ description: 'First day of the 5-year window (inclusive)' }),
  basis: BasisSchema,
  accessId: Type.String(),
  checkups: Type.Array(Type.Object({ examDate: Type.String(), insurerNumber: Type.String(), items: Type.Record(Type.String(), Type.Unknown()), judgement: Type.String() })),
});

const LimitCategorySchema = Type.Object({
  asOf: Type.String(),
  eligible: Type.Boolean(),
  limitCategory: Type.Union([Type.String(), Type.Null()]),
  basis: BasisSchema,
  accessId: Type.String(),
});

/** The staff member behind a facility credential. */
export function viewerOf(principal: Principal): Viewer {
  const p = requireKind(principal, 'facility');
  return { actor: actorOf(p), role: p.role, facilityCode: p.facilityCode };
}

/** A feed body: NDJSON streamed within `feedBytes`, or a JSON array (line = 1-based position in the array). */
function feedRows(request: FastifyRequest, feedBytes: number): AsyncIterable<ImportRow> {
  const contentType = request.headers['content-type'];
  const format = importFormatOf(contentType);
  if (format === 'ndjson') return readImportRows(requestBody(request, feedBytes), format, charsetOf(contentType));
  if (Array.isArray(request.body)) {
    const items = request.body as unknown[];
    return (async function* () {
      for (let i = 0; i < items.length; i++) {
        const v = items[i];
        if (v === null || typeof v !== 'object' || Array.isArray(v)) yield { line: i + 1, row: {}, parseError: fieldError('row', 'format', 'each item must be a JSON object') };
        else yield { line: i + 1, row: v as Record<string, unknown> };
      }
    })();
  }
  throw new OnshiError('ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE', { accepted: ['application/json (an array)', 'application/x-ndjson'] });
}

export const clinicalRoutes: FastifyPluginAsync<ClinicalRoutesOptions> = async (plugin, { clinical, auth, limits }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  for (const type of ['application/x-ndjson', 'application/ndjson', 'application/jsonl']) {
    app.addContentTypeParser(type, passThrough);
  }
  const feedResponses = { 200: FeedReportSchema, ...errorResponses, 413: errorResponses[400], 415: errorResponses[400], 422: ImportRejectedSchema };

  app.post('/v1/claims/medications', {
    preHandler: auth('admin'),
    schema: {
      tags: ['clinical'],
      summary: 'Claims feed: load medication records (薬剤情報) derived from claims (administrator); all or nothing',
      description:
        'A JSON array or NDJSON; each row: insurerNumber, symbol, number, branch (the member), dispensedOn, facilityCode, drugCode (YJ 12 or receipt code 9 digits), drugName, quantity, unit, days?, claimRef?. ' +
        'Any rejected row rolls back the whole feed and the 422 answer lists each one by line. ' +
        `NDJSON up to ${limits.feedBytes} bytes (ONSHI_LIMIT_FEED_BYTES), a JSON array up to ONSHI_LIMIT_JSON_BYTES: 413 the moment the limit is passed, nothing loaded.`,
      response: feedResponses,
    },
    onSend: closeIfBodyUnread,
    handler: async (request) => clinical.loadMedications(feedRows(request, limits.feedBytes)),
  });

  app.post('/v1/insurers/:insurerNumber/checkups', {
    preHandler: auth('admin', 'insurer'),
    schema: {
      tags: ['clinical'],
      summary: 'Load specific health check-up results (特定健診) of this insurer’s members; all or nothing',
      description: 'A JSON array or NDJSON; each row: symbol, number, branch, examDate, items {height, weight, bmi, waist, systolicBp, diastolicBp, hba1c, ldl, hdl, tg, ast, alt, ggt, urineProtein}, judgement (information | motivational_support | active_support).',
      params: InsurerNumberParam,
      response: feedResponses,
    },
    onSend: closeIfBodyUnread,
    handler: async (request) => {
      requireInsurerAccess(principalOf(request), request.params.insurerNumber);
      return clinical.loadCheckups(request.params.insurerNumber, feedRows(request, limits.feedBytes));
    },
  });

  const patientDescription = 'The patient is named as at confirmation: insurerNumber, symbol, number, branch and birthDate. Needs a consent in force at this facility for the scope.';

  app.get('/v1/patients/medications', {
    preHandler: auth('facility'),
    schema: { tags: ['clinical'], summary: 'A patient’s medication, 3 years back (doctor, dentist, pharmacist; consent: medication)', description: patientDescription, querystring: PatientQuerystring, response: { 200: MedicationViewSchema, ...errorResponses } },
    handler: async (request) => clinical.viewMedications(viewerOf(principalOf(request)), request.query),
  });

  app.get('/v1/patients/checkups', {
    preHandler: auth('facility'),
    schema: { tags: ['clinical'], summary: 'A patient’s specific health check-ups, 5 years back (doctor, dentist; not pharmacies; consent: checkups)', description: patientDescription, querystring: PatientQuerystring, response: { 200: CheckupViewSchema, ...errorResponses } },
    handler: async (request) => clinical.viewCheckups(viewerOf(principalOf(request)), request.query),
  });

  app.get('/v1/patients/limit-category', {
    preHandler: auth('facility'),
    schema: { tags: ['clinical'], summary: 'A patient’s high-cost limit category (限度額適用区分) today (consent: limit_info)', description: patientDescription, querystring: PatientQuerystring, response: { 200: LimitCategorySchema, ...errorResponses } },
    handler: async (request) => clinical.viewLimitCategory(viewerOf(principalOf(request)), request.query),
  });
};
