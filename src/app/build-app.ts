// The composition root's second half: a Fastify instance with docs, the error handler, auth and
// every capability's routes. Tests call buildApp and use inject; the server main listens.

import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { clientErrorHandler, frameworkErrors, installErrorHandling, installRequestChecks, makeAuthGuard, parseQuerystring, strictValidatorCompiler } from '../platform/http.ts';
import { loggerOptions } from '../platform/log.ts';
import { checkpointStats } from '../platform/db.ts';
import { closeIfBodyUnreadOnError } from '../platform/body-limit.ts';
import type { AppContext } from './context.ts';
import { installSecurity } from './security.ts';
import { registryRoutes } from '../registry/routes.ts';
import { credentialRoutes } from '../credentials/routes.ts';
import { confirmationRoutes } from '../confirmation/routes.ts';
import { cardRoutes } from '../cards/routes.ts';
import { clinicalRoutes } from '../clinical/routes.ts';
import { disasterRoutes } from '../disaster/routes.ts';
import { auditRoutes } from '../audit/routes.ts';
import { calculatorRoutes } from '../programmes/incentive/calculator-routes.ts';
import { itFundCalculatorRoutes } from '../itfund/calculator-routes.ts';
import { itFundRoutes } from '../itfund/routes.ts';
import { statisticsRoutes } from '../statistics/routes.ts';
import { programmeRoutes } from '../programmes/incentive/routes.ts';
import { interfaceRoutes } from '../interface/routes.ts';
import { InterfaceService } from '../interface/service.ts';
import { batchRoutes } from '../batch/routes.ts';
import { transitionRoutes } from '../programmes/transition/routes.ts';
import { noticeRoutes } from '../programmes/notices/routes.ts';

export const API_VERSION = '0.1.0';

export async function buildApp(ctx: AppContext): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(ctx.config.logLevel),
    logController: new LogController({ disableRequestLogging: !ctx.config.accessLog }),
    bodyLimit: ctx.config.limitJsonBytes,
    genReqId: () => crypto.randomUUID(),
    trustProxy: ctx.config.trustProxy,
    routerOptions: { querystringParser: parseQuerystring },
    frameworkErrors,
    clientErrorHandler,
  });
  app.setValidatorCompiler(strictValidatorCompiler);
  app.decorateRequest('principal', null);
  installErrorHandling(app);
  app.addHook('onError', closeIfBodyUnreadOnError);
  installRequestChecks(app);

  // Security headers and rate limits first: their hooks must see every route added after them.
  await installSecurity(app, ctx.config);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'onshi — オンライン資格確認 API',
        version: API_VERSION,
        description:
          'Online eligibility verification: insurers keep the registry, facilities confirm eligibility. ' +
          'Authenticate with `Authorization: Bearer <token>`. Every error has a stable `code` and messages in English (`message`) and Japanese (`messageJa`).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'registry', description: 'Insurers and facilities' },
        { name: 'members', description: "An insurer's members and their eligibility periods" },
        { name: 'credentials', description: 'Bearer tokens (administrators)' },
        { name: 'confirmation', description: 'Online eligibility confirmation at reception' },
        { name: 'cards', description: 'My Number card issuer, reader protocol and patient sign-in' },
        { name: 'clinical', description: 'Medication and check-up information: feeds and views with consent' },
        { name: 'disaster', description: 'Disaster mode (災害時): declarations and views without consent' },
        { name: 'audit', description: 'Access log (閲覧履歴): append-only' },
        { name: 'statistics', description: 'Usage statistics and the programmes that pay facilities' },
        { name: 'calculators', description: 'Programme calculators for anyone: no credential, no personal data' },
        { name: 'interface', description: 'The real interface: request/result XML files (OQSsiquc01, OQSmuquc01/02)' },
        { name: 'batch', description: 'Batch inquiry (一括照会) in JSON and CSV' },
        { name: 'itfund', description: 'Medical IT support fund (医療情報化支援基金): applications, review, decisions, returns' },
        { name: 'system', description: 'Health and documentation' },
      ],
    },
  });
  // The documentation page loads swagger-ui's own scripts and styles: its policy allows them (and,
  // served over plain HTTP as often as not, does not ask the browser to upgrade its requests).
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, transformStaticCSP: (csp) => csp.replace(/\s*upgrade-insecure-requests;?/, '') });

  const auth = makeAuthGuard((token) => ctx.credentials.authenticate(token));

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // How long the server's thread was kept from answering (ms): a long synchronous step shows here
  // first. `GET /health?reset=event-loop` starts a new measurement after answering.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  app.addHook('onClose', async () => loopDelay.disable());
  app.get('/health', { schema: { tags: ['system'], summary: 'Liveness and store check', security: [] } }, async (request, reply) => {
    try {
      await ctx.database.db.selectFrom('insurers').select('insurer_number').limit(1).execute();
      const checkpoints = checkpointStats(ctx.database.db);
      const ms = (ns: number) => Math.round(ns / 1e5) / 10;
      const eventLoopDelayMs = { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
      if ((request.query as { reset?: string } | undefined)?.reset === 'event-loop') loopDelay.reset();
      return {
        status: 'ok',
        version: API_VERSION,
        database: ctx.database.dialect,
        eventLoopDelayMs,
        usageEvents: ctx.recorder.stats,
        ...(checkpoints ? { checkpoints } : {}),
        ...(ctx.database.dialect === 'sqlite' ? { personHistory: ctx.personHistory.stats } : {}),
      };
    } catch {
      return reply.status(503).send({ status: 'unavailable', version: API_VERSION, database: ctx.database.dialect });
    }
  });
  if (ctx.config.benchRoutes) {
    // The benchmark's reference: the same server answering a fixed body of a confirmation's size
    // (a valid answer with a whole eligibility record, as POST /v1/confirmations sends it).
    const fixed = {
      result: 'valid',
      confirmationId: '0193a4c2-7f00-7000-8000-000000000000',
      asOf: '2024-11-25',
      member: {
        insurerNumber: '06139992',
        insurerName: '見本健康保険組合',
        symbol: '1234',
        number: '0056789',
        branch: '00',
        relationship: 'self',
        name: '見本　太郎',
        nameKana: 'ミホン　タロウ',
        birthDate: '1980-04-01',
        sex: 'male',
        address: '東京都千代田区霞が関1-2-2',
        postalCode: '100-8916',
        qualifiedFrom: '2020-04-01',
        lostOn: null,
        copayRate: 30,
        paperCardIssuedOn: '2020-04-01',
        paperCardExpiresOn: null,
        validFrom: '2020-04-01',
      },
    };
    app.post('/bench/fixed', { schema: { hide: true } }, async () => fixed);
  }

  const config = ctx.config;
  await app.register(registryRoutes, { registry: ctx.registry, auth, limits: { importBytes: config.limitImportBytes, importRows: config.limitImportRows } });
  await app.register(credentialRoutes, { credentials: ctx.credentials, auth });
  await app.register(confirmationRoutes, { confirmation: ctx.confirmation, auth });
  await app.register(cardRoutes, { cards: ctx.cards, credentials: ctx.credentials, auth });
  await app.register(clinicalRoutes, { clinical: ctx.clinical, auth, limits: { feedBytes: config.limitFeedBytes } });
  await app.register(disasterRoutes, { disasters: ctx.disasters, clinical: ctx.clinical, auth });
  await app.register(auditRoutes, { audit: ctx.audit, auth });
  await app.register(calculatorRoutes);
  await app.register(itFundCalculatorRoutes);
  await app.register(statisticsRoutes, { statistics: ctx.statistics, auth, limits: { importBytes: config.limitImportBytes, importRows: config.limitImportRows } });
  await app.register(programmeRoutes, { programmes: ctx.programmes, targets: ctx.targets, auth });
  const interfaceService = new InterfaceService(ctx.confirmation, ctx.batch, undefined, (err) => app.log.error({ err }, 'interface request failed'), ctx.database.db, ctx.database.events);
  await app.register(interfaceRoutes, { interfaceService, auth, limits: { interfaceBytes: config.limitInterfaceBytes } });
  await app.register(batchRoutes, { batch: ctx.batch, auth, limits: { batchBytes: config.limitBatchBytes, batchRows: config.limitBatchRows } });
  await app.register(itFundRoutes, { itfund: ctx.itfund, auth, limits: { evidenceBytes: config.limitEvidenceBytes } });
  await app.register(transitionRoutes, { transition: ctx.transition, auth });
  await app.register(noticeRoutes, { notices: ctx.notices, auth, limits: { bulkJsonBytes: config.limitBulkJsonBytes } });
  return app;
}
