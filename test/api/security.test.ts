// Security headers on every answer, and rate limits: per credential on the confirmation routes, per
// client address on the patient sign-in; 429 ONSHI_RATE_LIMITED with Retry-After, other callers unaffected.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app/build-app.ts';
import { ConfigError, loadConfig } from '../../src/platform/config.ts';
import { storeKinds, createTestContext, type TestContext } from '../support/stores.ts';
import { addMember, confirm, createFacility, createInsurer, expectError, issueCredential, type Harness } from '../support/fixtures.ts';

const LIMIT = 3;
const SIGN_IN_LIMIT = 2;

/** An app whose limits are small enough to reach in a test. */
function useLimitedApp(kind: (typeof storeKinds)[number], limits: { confirmations: number; signIn: number }): Harness {
  const h = {} as Harness;
  beforeAll(async () => {
    h.ctx = await createTestContext(kind, { rateLimitConfirmations: limits.confirmations, rateLimitSignIn: limits.signIn });
    h.app = await buildApp(h.ctx);
  });
  afterAll(async () => {
    await h.app?.close();
    await (h.ctx as TestContext | undefined)?.dispose();
  });
  return h;
}

function expectRateLimited(r: LightMyRequestResponse): void {
  const body = expectError(r, 429, 'ONSHI_RATE_LIMITED');
  expect(Object.keys(body).sort()).toEqual(['code', 'limit', 'message', 'messageJa', 'retryAfterSeconds']);
  const retryAfter = Number(r.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(body.retryAfterSeconds).toBe(retryAfter);
}

describe.each(storeKinds)('security headers and rate limits on %s', (kind) => {
  const h = useLimitedApp(kind, { confirmations: LIMIT, signIn: SIGN_IN_LIMIT });

  it('sends the standard security headers on answers and refusals alike', async () => {
    const answers = [
      await h.app.inject({ method: 'GET', url: '/health' }),
      await h.app.inject({ method: 'GET', url: '/v1/insurers' }), // 401
      await h.app.inject({ method: 'GET', url: '/no/such/route' }), // 404
      await h.app.inject({ method: 'GET', url: '/openapi.json' }),
    ];
    for (const r of answers) {
      expect(r.headers['content-security-policy']).toBe("default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'");
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(r.headers['strict-transport-security']).toMatch(/^max-age=\d+; includeSubDomains$/);
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(r.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('keeps /docs working: its page loads swagger-ui from the server under a policy that allows it', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toMatch(/upgrade-insecure-requests/);
    // Every script of the page is a file of the server's (the policy allows no inline script).
    const scripts = [...page.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    const assets = [...page.body.matchAll(/(?:src|href)="(\/docs\/[^"]+)"/g)].map((m) => m[1]);
    for (const [, attributes, content] of scripts) {
      expect(attributes).toMatch(/src="\/docs\/static\/[^"]+"/);
      expect(content.trim()).toBe('');
    }
    expect(assets.length).toBeGreaterThanOrEqual(scripts.length + 2);
    for (const url of assets) expect((await h.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(200);
  });

  it('limits confirmations per credential: 429 with Retry-After, not recorded; another credential is unaffected', async () => {
    const insurer = await createInsurer(h.app);
    await addMember(h.app, insurer);
    const facility = await createFacility(h.app);
    const body = { insurerNumber: insurer.insurerNumber, symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01' };
    for (let i = 0; i < LIMIT; i++) expect((await confirm(h.app, facility, body)).statusCode).toBe(200);
    const events = async () => (await h.ctx.database.db.selectFrom('usage_events').select('id').where('facility_code', '=', facility.code).execute()).length;
    const recorded = await events();
    const refused = await confirm(h.app, facility, body);
    expectRateLimited(refused);
    expect(await events()).toBe(recorded);
    // A malformed request over the limit is refused the same way (the limit comes first).
    expectRateLimited(await confirm(h.app, facility, {}));

    // Another desk of the same facility, and another facility, confirm as usual.
    const secondDesk = await issueCredential(h.app, { facilityCode: facility.code });
    expect((await confirm(h.app, secondDesk, body)).statusCode).toBe(200);
    const other = await createFacility(h.app);
    expect((await confirm(h.app, other, body)).statusCode).toBe(200);
    // The card routes have counters of their own: the first desk may still ask for a challenge.
    const challenge = await h.app.inject({ method: 'POST', url: '/v1/card-confirmations/challenges', headers: facility.headers });
    expect(challenge.statusCode, challenge.body).toBe(201);
  });

  it('limits card challenges per credential', async () => {
    const facility = await createFacility(h.app);
    const ask = () => h.app.inject({ method: 'POST', url: '/v1/card-confirmations/challenges', headers: facility.headers });
    for (let i = 0; i < LIMIT; i++) expect((await ask()).statusCode).toBe(201);
    expectRateLimited(await ask());
  });

  it('limits the patient sign-in per client address; another address is unaffected', async () => {
    const ask = (remoteAddress: string) => h.app.inject({ method: 'POST', url: '/v1/patient-sessions/challenges', remoteAddress });
    for (let i = 0; i < SIGN_IN_LIMIT; i++) expect((await ask('192.0.2.10')).statusCode).toBe(201);
    expectRateLimited(await ask('192.0.2.10'));
    const signIn = await h.app.inject({ method: 'POST', url: '/v1/patient-sessions', remoteAddress: '192.0.2.20', payload: {} });
    expect(signIn.statusCode).toBe(400); // counted, and refused for its empty body
    expect((await ask('192.0.2.20')).statusCode).toBe(201);
  });

  it('documents the refusal in the OpenAPI document of the limited routes only', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/v1/confirmations'].post.responses).toHaveProperty('429');
    expect(doc.paths['/v1/patient-sessions'].post.responses).toHaveProperty('429');
    expect(doc.paths['/v1/insurers'].get.responses ?? {}).not.toHaveProperty('429');
  });
});

describe.each(storeKinds)('rate limits turned off on %s', (kind) => {
  const h = useLimitedApp(kind, { confirmations: 0, signIn: 0 });

  it('lets a credential confirm past any count when the limit is 0', async () => {
    const facility = await createFacility(h.app);
    for (let i = 0; i < 20; i++) expect((await confirm(h.app, facility, {})).statusCode).toBe(400);
    for (let i = 0; i < 20; i++) expect((await h.app.inject({ method: 'POST', url: '/v1/patient-sessions/challenges' })).statusCode).toBe(201);
  });
});

describe('rate-limit configuration', () => {
  it('has generous defaults and refuses what is not a whole number ≥ 0', () => {
    expect(loadConfig({})).toMatchObject({ rateLimitConfirmations: 600, rateLimitSignIn: 60, trustProxy: false });
    expect(loadConfig({ ONSHI_RATE_LIMIT_CONFIRMATIONS: '0', ONSHI_RATE_LIMIT_SIGN_IN: '5', ONSHI_TRUST_PROXY: 'true' })).toMatchObject({ rateLimitConfirmations: 0, rateLimitSignIn: 5, trustProxy: true });
    expect(() => loadConfig({ ONSHI_RATE_LIMIT_CONFIRMATIONS: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ ONSHI_RATE_LIMIT_SIGN_IN: 'lots' })).toThrow(/ONSHI_RATE_LIMIT_SIGN_IN/);
  });
});
