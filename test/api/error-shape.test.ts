// One error shape everywhere: malformed JSON, prototype keys, bad or unknown query parameters, malformed
// URLs and requests Node refuses all answer 400 in onshi's catalogue shape ({code, message, messageJa,
// errors?}), on every route, never a 500 and never a parameter silently ignored.

import { describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app/build-app.ts';
import { createTestContext, storeKinds } from '../support/stores.ts';
import { addMember, adminHeaders, changeMember, confirm, expectError, expectMessages, fieldProblems, memberUrl, setup, staffCredential, useApp, type Harness, type TestFacility } from '../support/fixtures.ts';

const NOW = new Date('2024-11-30T15:00:00Z');

const inquiry = (insurerNumber: string) => ({ insurerNumber, symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01', asOf: '2024-11-25' });

async function usageEvents(h: Harness, facility: TestFacility): Promise<number> {
  const r = await h.ctx.database.db.selectFrom('usage_events').select((eb) => eb.fn.countAll<number>().as('n')).where('facility_code', '=', facility.code).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** The catalogue shape: ONSHI_ code, English and Japanese messages, field errors {field, code, ja, en}. */
function expectCatalogueShape(r: LightMyRequestResponse, what: string): Record<string, any> {
  expect(r.statusCode, `${what}: ${r.body}`).toBeGreaterThanOrEqual(400);
  expect(r.statusCode, `${what}: ${r.body}`).toBeLessThan(500);
  expect(r.headers['content-type'], what).toMatch(/^application\/json/);
  const body = r.json() as Record<string, any>;
  expect(body.code, what).toMatch(/^ONSHI_[A-Z_]+$/);
  expectMessages(body);
  for (const e of body.errors ?? []) expect(Object.keys(e).sort(), what).toEqual(['code', 'en', 'field', 'ja']);
  return body;
}

interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  url: string;
  jsonBody: boolean;
}

/** Every operation of /openapi.json, its path parameters filled with a harmless value. */
async function operations(h: Harness): Promise<Operation[]> {
  const spec = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, any>> };
  const ops: Operation[] = [];
  for (const [path, byMethod] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(byMethod)) {
      ops.push({ method: method.toUpperCase() as Operation['method'], path, url: path.replace(/\{\w+\}/g, 'x1'), jsonBody: Boolean(op.requestBody?.content?.['application/json']) });
    }
  }
  expect(ops.length).toBeGreaterThan(90);
  return ops;
}

describe.each(storeKinds)('one error shape everywhere on %s', (kind) => {
  const h = useApp(kind, { clock: () => NOW });

  describe('POST /v1/confirmations with a body that is not readable JSON', () => {
    // Its 400 response schema demanded `result`, so these refusals failed serialisation (500 FST_ERR_FAILED_ERROR_SERIALIZATION).
    it.each([
      ['truncated JSON', '{"a":'],
      ['an empty body', ''],
      ['a __proto__ key', '{"__proto__":{"x":1},"insurerNumber":"06139992"}'],
      ['a constructor.prototype key', '{"constructor":{"prototype":{"x":1}}}'],
    ])('answers 400 ONSHI_REQUEST_INVALID in the catalogue shape for %s, and records nothing', async (_what, payload) => {
      const { facility } = await setup(h.app);
      const r = await confirm(h.app, facility, payload, { headers: { ...facility.headers, 'content-type': 'application/json' } });
      const body = expectError(r, 400, 'ONSHI_REQUEST_INVALID');
      expect(fieldProblems(body.errors)).toEqual(['body:format']);
      expect(body).not.toHaveProperty('result');
      expect(body).not.toHaveProperty('confirmationId');
      expect(await usageEvents(h, facility)).toBe(0);
    });

    it('keeps the エラー answer (recorded) for a JSON object with missing fields', async () => {
      const { facility } = await setup(h.app);
      const r = await confirm(h.app, facility, {});
      const body = expectError(r, 400, 'ONSHI_CONFIRMATION_INVALID_INPUT');
      expect(body.result).toBe('error');
      expect(body.confirmationId).toEqual(expect.any(String));
      expect(await usageEvents(h, facility)).toBe(1);
    });

    it('refuses a query parameter the route does not take before anything is recorded', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer);
      const r = await h.app.inject({ method: 'POST', url: '/v1/confirmations?asOf=2024-11-25', headers: facility.headers, payload: inquiry(insurer.insurerNumber) });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['asOf:unknown']);
      expect(await usageEvents(h, facility)).toBe(0);
    });
  });

  describe('GET /v1/insurers/{n}/members: query parameters are validated, never ignored', () => {
    it.each([
      ['asOf=2024-02-30', 'asOf:invalid_date'],
      ['asOf=NaN', 'asOf:invalid_date'],
      ['asOf=2024-2-1', 'asOf:invalid_date'],
      ['limit=true', 'limit:format'],
      ['limit=1e3', 'limit:format'],
      ['limit=0', 'limit:format'],
      ['limit=1&limit=2', 'limit:format'],
      ['foo=1', 'foo:unknown'],
      ['__proto__=1', '__proto__:unknown'],
    ])('refuses ?%s with 400 ONSHI_REQUEST_INVALID naming the parameter', async (query, problem) => {
      const { insurer } = await setup(h.app);
      await addMember(h.app, insurer);
      const r = await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber)}?${query}`, headers: insurer.headers });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual([problem]);
    });

    it('answers each member as of asOf (the member view by date), as README documents', async () => {
      const { insurer } = await setup(h.app);
      const member = await addMember(h.app, insurer);
      expect((await changeMember(h.app, insurer, member.memberId, { effectiveFrom: '2024-06-01', name: '山田　一郎' })).statusCode).toBe(200);
      const at = async (asOf: string) => {
        const r = await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber)}?symbol=12&number=3456&asOf=${asOf}`, headers: insurer.headers });
        expect(r.statusCode, r.body).toBe(200);
        return r.json().members as Record<string, unknown>[];
      };
      const before = await at('2024-05-31');
      const after = await at('2024-06-01');
      expect(before.map((m) => [m.memberId, m.name, m.validFrom])).toEqual([[member.memberId, '山田　太郎', '2020-04-01']]);
      expect(after.map((m) => [m.memberId, m.name, m.validFrom])).toEqual([[member.memberId, '山田　一郎', '2024-06-01']]);
      expect(before[0]).not.toHaveProperty('history');
    });
  });

  describe('every operation of /openapi.json', () => {
    it('refuses an unknown query parameter with 400 ONSHI_REQUEST_INVALID naming it (the API; /health takes a prober’s cache-buster)', async () => {
      for (const op of (await operations(h)).filter((o) => o.path.startsWith('/v1/'))) {
        const r = await h.app.inject({ method: op.method, url: `${op.url}?onshiUnknown=1`, headers: adminHeaders });
        const body = expectCatalogueShape(r, `${op.method} ${op.path}`);
        expect([r.statusCode, body.code], `${op.method} ${op.path}: ${r.body}`).toEqual([400, 'ONSHI_REQUEST_INVALID']);
        expect(fieldProblems(body.errors), `${op.method} ${op.path}`).toContain('onshiUnknown:unknown');
      }
    });

    it('refuses malformed percent-encoding in the query string in the catalogue shape', async () => {
      for (const op of await operations(h)) {
        const r = await h.app.inject({ method: op.method, url: `${op.url}?q=%E0%A4%A`, headers: adminHeaders });
        expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors), `${op.method} ${op.path}`).toEqual(['q:format']);
      }
    });

    it('refuses prototype keys (at any depth, escaped too), malformed JSON, bytes that are not UTF-8 and deep nesting in JSON bodies with 400 in the catalogue shape', async () => {
      const bodies: (string | Buffer)[] = [
        '{"__proto__":{"admin":true}}',
        '{"constructor":{"prototype":{"admin":true}}}',
        '{"a":{"constructor":1}}',
        '[{"b":[{"prototype":1}]}]',
        '{"\\u005f_proto__":{"admin":true}}',
        '{"a":',
        '[{"__proto__":null}]',
        Buffer.from('{"name":"\xff\xfe"}', 'latin1'),
      ];
      for (const op of (await operations(h)).filter((o) => o.jsonBody)) {
        for (const payload of bodies) {
          const r = await h.app.inject({ method: op.method, url: op.url, headers: { ...adminHeaders, 'content-type': 'application/json' }, payload });
          expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors), `${op.method} ${op.path} ${String(payload)}`).toEqual(['body:format']);
        }
        for (const payload of ['['.repeat(200_000) + ']'.repeat(200_000), '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000), JSON.stringify({ name: 'x'.repeat(1_000_000) }), '{"insurerNumber":[1,{"a":null}],"name":12,"rows":"x"}']) {
          const r = await h.app.inject({ method: op.method, url: op.url, headers: { ...adminHeaders, 'content-type': 'application/json' }, payload });
          expectCatalogueShape(r, `${op.method} ${op.path} ${payload.slice(0, 20)}`);
        }
      }
    });
  });

  describe('Fastify’s own refusals in onshi’s shape', () => {
    it('refuses malformed percent-encoding in the path (FST_ERR_BAD_URL)', async () => {
      const { insurer } = await setup(h.app);
      const r = await h.app.inject({ method: 'GET', url: '/v1/insurers/%E0%A4%A/members', headers: insurer.headers });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['path:format']);
    });

    it('refuses an over-long path parameter (FST_ERR_MAX_PARAM_LENGTH)', async () => {
      const r = await h.app.inject({ method: 'GET', url: `/v1/insurers/${'1'.repeat(500)}`, headers: adminHeaders });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['path:too_long']);
    });
  });

  describe('bodies the routes read as objects', () => {
    // These reached the services as undefined, null or an inherited property and failed there (500).
    it.each([
      ['POST', '/v1/insurers'],
      ['POST', '/v1/facilities'],
      ['POST', '/v1/cards'],
      ['POST', '/v1/disasters'],
    ] as const)('%s %s without a body names the missing fields (400)', async (method, url) => {
      const r = await h.app.inject({ method, url, headers: adminHeaders });
      expect(r.statusCode, r.body).toBe(400);
      expect(expectCatalogueShape(r, url).errors?.length).toBeGreaterThan(0);
    });

    it('an IT fund action named like an inherited property (__proto__, constructor, toString) is refused, not a 500', async () => {
      const { facility } = await setup(h.app);
      const admin = await staffCredential(h.app, facility, 'facility_admin');
      const opened = await h.app.inject({ method: 'POST', url: '/v1/itfund/cases', headers: admin.headers, payload: {} });
      expect(opened.statusCode, opened.body).toBe(201);
      for (const action of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
        const r = await h.app.inject({ method: 'POST', url: `/v1/itfund/cases/${opened.json().id}/actions/${action}`, headers: admin.headers, payload: {} });
        expect(expectError(r, 409, 'ONSHI_ITFUND_TRANSITION_REFUSED').action).toBe(action);
      }
    });

    it('a check-up item named like an inherited property (toString, valueOf) is an unknown item, not a 500', async () => {
      const { insurer } = await setup(h.app);
      await addMember(h.app, insurer);
      const row = { symbol: '12', number: '3456', branch: '00', examDate: '2024-10-01', items: { toString: 1, valueOf: 2, bmi: 22 }, judgement: 'information' };
      for (const [contentType, payload] of [['application/json', JSON.stringify([row])], ['application/x-ndjson', `${JSON.stringify({ ...row, items: { ...row.items, constructor: 3 } })}\n`]]) {
        const r = await h.app.inject({ method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/checkups`, headers: { ...insurer.headers, 'content-type': contentType }, payload });
        const body = expectError(r, 422, 'ONSHI_IMPORT_REJECTED');
        expect(fieldProblems(body.errors[0].errors), contentType).toEqual(contentType === 'application/json' ? ['items.toString:unknown', 'items.valueOf:unknown'] : ['items.constructor:unknown', 'items.toString:unknown', 'items.valueOf:unknown']);
      }
    });

    it('PUT /v1/facilities/{code}/claims with null entries reports them (400)', async () => {
      const { facility } = await setup(h.app);
      const r = await h.app.inject({ method: 'PUT', url: `/v1/facilities/${facility.code}/claims`, headers: adminHeaders, payload: [null, 1] });
      expect(r.statusCode, r.body).toBe(400);
      expectCatalogueShape(r, 'claims');
    });
  });
});

describe('requests Node’s HTTP parser refuses', () => {
  /** Sends bytes as they are on a socket and reads the whole answer. */
  function rawRequest(port: number, bytes: Buffer): Promise<{ status: number; headers: string; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (c) => (data += c));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head, ...rest] = data.split('\r\n\r\n');
        resolve({ status: Number(head.split(' ')[1]), headers: head, body: rest.join('\r\n\r\n') });
      });
    });
  }

  it('answers raw UTF-8 in the request line and a malformed header in onshi’s shape', async () => {
    const ctx = await createTestContext('sqlite');
    const app = await buildApp(ctx);
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as { port: number }).port;
      for (const bytes of [
        Buffer.from('GET /v1/insurers/06139992/members?symbol=山田 HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8'),
        Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nX-Bad\u0001: 1\r\n\r\n', 'latin1'),
      ]) {
        const r = await rawRequest(port, bytes);
        expect(r.status, r.headers).toBe(400);
        expect(r.headers).toMatch(/content-type: application\/json/i);
        const body = JSON.parse(r.body);
        expect(body.code).toBe('ONSHI_REQUEST_INVALID');
        expectMessages(body);
      }
      // The server still answers.
      const health = await rawRequest(port, Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      expect(health.status).toBe(200);
    } finally {
      await app.close();
      await ctx.dispose();
    }
  });
});
