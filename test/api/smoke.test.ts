import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app/build-app.ts';
import { createTestContext, storeKinds, TEST_ADMIN_TOKEN, type TestContext } from '../support/stores.ts';

describe.each(storeKinds)('smoke on %s', (kind) => {
  let ctx: TestContext;
  let app: FastifyInstance;
  const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
  beforeAll(async () => {
    ctx = await createTestContext(kind);
    app = await buildApp(ctx);
  });
  afterAll(async () => {
    await app.close();
    await ctx.dispose();
  });

  it('registers, adds a member and confirms', async () => {
    let r = await app.inject({ method: 'POST', url: '/v1/insurers', headers: admin, payload: { insurerNumber: '33120015', name: '千葉県警察共済組合', kind: 'kyosai' } });
    expect(r.statusCode, r.body).toBe(201);
    r = await app.inject({ method: 'POST', url: '/v1/facilities', headers: admin, payload: { code: '1311234566', name: 'テスト診療所', type: 'clinic' } });
    expect(r.statusCode, r.body).toBe(201);
    r = await app.inject({ method: 'POST', url: '/v1/credentials', headers: admin, payload: { facilityCode: '1311234566' } });
    expect(r.statusCode, r.body).toBe(201);
    const facility = { authorization: `Bearer ${r.json().token}` };
    r = await app.inject({ method: 'POST', url: '/v1/credentials', headers: admin, payload: { insurerNumber: '33120015' } });
    const insurer = { authorization: `Bearer ${r.json().token}` };
    r = await app.inject({
      method: 'POST',
      url: '/v1/insurers/33120015/members',
      headers: insurer,
      payload: { symbol: '1', number: '234', branch: '00', name: '千葉　太郎', nameKana: 'チバ　タロウ', birthDate: '1980-04-01', sex: 'male', address: '千葉県千葉市', relationship: 'self', qualifiedFrom: '2020-04-01' },
    });
    expect(r.statusCode, r.body).toBe(201);
    r = await app.inject({ method: 'POST', url: '/v1/confirmations', headers: facility, payload: { insurerNumber: '33120015', symbol: '1', number: '234', branch: '00', birthDate: '1980-04-01', asOf: '2024-11-25' } });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().result).toBe('valid');
    expect(r.json().member.name).toBe('千葉　太郎');
    r = await app.inject({ method: 'POST', url: '/v1/confirmations', headers: facility, payload: { insurerNumber: '33120016', number: '', birthDate: '1980-02-30' } });
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json().errors.map((e: { field: string }) => e.field).sort()).toEqual(['birthDate', 'insurerNumber', 'number']);
    r = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(r.statusCode).toBe(200);
  });
});
