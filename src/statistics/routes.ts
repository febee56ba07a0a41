// Statistics routes: reports for administrators, a facility's own figures for that facility, the
// rollup and the CSV imports; the programme routes are registered alongside.

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { OnshiError } from '../platform/errors.ts';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { closeIfBodyUnread, passThrough, requestBody } from '../platform/body-limit.ts';
import { charsetOf, importFormatOf, readImportRows } from '../registry/import.ts';
import { errorResponses, ImportRejectedSchema } from '../platform/http-schemas.ts';
import type { StatisticsService } from './service.ts';
import { FacilityFiguresSchema, GroupReportSchema, MonthQuery, PrefectureReportSchema, RollupReportSchema, StatsImportReportSchema } from './schemas.ts';

export interface StatisticsRoutesOptions {
  statistics: StatisticsService;
  auth: AuthGuard;
  /** The CSV imports' limits, the member import's (ONSHI_LIMIT_IMPORT_BYTES, ONSHI_LIMIT_IMPORT_ROWS). */
  limits: { importBytes: number; importRows: number };
}

export const statisticsRoutes: FastifyPluginAsync<StatisticsRoutesOptions> = async (plugin, { statistics, auth, limits }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  app.addContentTypeParser('text/csv', passThrough);

  const csvRows = (request: FastifyRequest) => {
    const contentType = request.headers['content-type'];
    if (importFormatOf(contentType) !== 'csv') throw new OnshiError('ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE', { accepted: ['text/csv'] });
    return readImportRows(requestBody(request, limits.importBytes), 'csv', charsetOf(contentType), { maxRows: limits.importRows });
  };
  const importResponses = { 200: StatsImportReportSchema, ...errorResponses, 413: errorResponses[400], 422: ImportRejectedSchema };

  app.post('/v1/statistics/rollup', {
    preHandler: auth('admin'),
    schema: {
      tags: ['statistics'],
      summary: 'Roll up usage events not yet counted (administrator); rebuild=true recomputes every month from the events',
      querystring: Type.Object({ rebuild: Type.Optional(Type.Boolean()) }),
      response: { 200: RollupReportSchema, ...errorResponses },
    },
    handler: async (request) => statistics.rollup({ rebuild: request.query.rebuild === true }),
  });

  app.get('/v1/statistics/prefectures', {
    preHandler: auth('admin'),
    schema: { tags: ['statistics'], summary: 'Utilization rate per prefecture and nation for a month, change from the previous month, top and bottom five', querystring: MonthQuery, response: { 200: PrefectureReportSchema, ...errorResponses } },
    handler: async (request) => statistics.prefectureReport(request.query.month),
  });

  app.get('/v1/statistics/insurers', {
    preHandler: auth('admin'),
    schema: { tags: ['statistics'], summary: "Utilization rate per insurer (the insured person's) for a month", querystring: MonthQuery, response: { 200: GroupReportSchema, ...errorResponses } },
    handler: async (request) => statistics.insurerReport(request.query.month),
  });

  app.get('/v1/statistics/facilities', {
    preHandler: auth('admin'),
    schema: {
      tags: ['statistics'],
      summary: 'Utilization rate per facility for a month, ranked within the selection',
      querystring: Type.Object({ month: Type.Optional(Type.String()), prefecture: Type.Optional(Type.String()), type: Type.Optional(Type.String()) }),
      response: { 200: GroupReportSchema, ...errorResponses },
    },
    handler: async (request) => statistics.facilityReport(request.query),
  });

  app.get('/v1/facilities/:code/statistics', {
    preHandler: auth('admin', 'facility'),
    schema: { tags: ['statistics'], summary: "A facility's own monthly figures (administrator or that facility)", params: Type.Object({ code: Type.String() }), response: { 200: FacilityFiguresSchema, ...errorResponses } },
    handler: async (request) => {
      const principal = principalOf(request);
      if (principal.kind === 'facility' && principal.facilityCode !== request.params.code) throw new OnshiError('ONSHI_AUTH_FORBIDDEN');
      return { facilityCode: request.params.code, months: await statistics.facilityFigures(request.params.code) };
    },
  });

  app.post('/v1/statistics/aggregates/import', {
    preHandler: auth('admin'),
    schema: {
      tags: ['statistics'],
      summary: 'Import monthly facility aggregates (CSV facility_code,month,confirmations,card_uses,card_users,claims; UTF-8 or Shift_JIS); all or nothing',
      description: 'Within ONSHI_LIMIT_IMPORT_BYTES and ONSHI_LIMIT_IMPORT_ROWS: 413 the moment either is passed, nothing imported.',
      response: importResponses,
    },
    onSend: closeIfBodyUnread,
    handler: async (request) => statistics.importAggregates(csvRows(request)),
  });

  app.post('/v1/facilities/import', {
    preHandler: auth('admin'),
    schema: {
      tags: ['statistics'],
      summary: 'Import facilities (CSV code,name,type; the prefecture is the code\'s); known codes are updated; all or nothing',
      description: 'Within ONSHI_LIMIT_IMPORT_BYTES and ONSHI_LIMIT_IMPORT_ROWS: 413 the moment either is passed, nothing imported.',
      response: importResponses,
    },
    onSend: closeIfBodyUnread,
    handler: async (request) => statistics.importFacilities(csvRows(request)),
  });
};
