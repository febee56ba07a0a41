import { describe, expect, it } from 'vitest';
import { hashToken } from '../../src/platform/auth.ts';
import { storeKinds } from '../support/stores.ts';
import {
  addMember,
  adminHeaders,
  bearer,
  createInsurer,
  dumpDatabase,
  expectError,
  issueCredential,
  memberBody,
  memberUrl,
  newFacilityCode,
  newInsurerNumber,
  setup,
  useApp,
} from '../support/fixtures.ts';

const inquiry = (insurerNumber: string) => ({ insurerNumber, symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01', asOf: '2024-11-25' });

describe.each(storeKinds)('authentication and authorisation on %s', (kind) => {
  const h = useApp(kind);

  describe('401: who is asking is unknown', () => {
    it('refuses a request without an Authorization header (ONSHI_AUTH_MISSING_TOKEN) and asks for a bearer token', async () => {
      const r = await h.app.inject({ method: 'GET', url: '/v1/insurers' });
      expectError(r, 401, 'ONSHI_AUTH_MISSING_TOKEN');
      expect(r.headers['www-authenticate']).toBe('Bearer');
    });

    it('refuses an unknown token (ONSHI_AUTH_INVALID_TOKEN)', async () => {
      const r = await h.app.inject({ method: 'GET', url: '/v1/insurers', headers: bearer('onshi_not-a-real-token') });
      expectError(r, 401, 'ONSHI_AUTH_INVALID_TOKEN');
      expect(r.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    it('refuses an Authorization header that is not a bearer token as an invalid token', async () => {
      expectError(await h.app.inject({ method: 'GET', url: '/v1/insurers', headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }), 401, 'ONSHI_AUTH_INVALID_TOKEN');
      expectError(await h.app.inject({ method: 'GET', url: '/v1/insurers', headers: { authorization: 'Bearer' } }), 401, 'ONSHI_AUTH_INVALID_TOKEN');
    });

    it('refuses a token once it is revoked (DELETE /v1/credentials/:id), and only that token', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer);
      const second = await issueCredential(h.app, { facilityCode: facility.code });
      let r = await h.app.inject({ method: 'POST', url: '/v1/confirmations', headers: facility.headers, payload: inquiry(insurer.insurerNumber) });
      expect(r.json().result).toBe('valid');

      const revoked = await h.app.inject({ method: 'DELETE', url: `/v1/credentials/${facility.id}`, headers: adminHeaders });
      expect(revoked.statusCode, revoked.body).toBe(200);
      expect(revoked.json()).toMatchObject({ id: facility.id, kind: 'facility', facilityCode: facility.code, revokedAt: expect.any(String) });

      r = await h.app.inject({ method: 'POST', url: '/v1/confirmations', headers: facility.headers, payload: inquiry(insurer.insurerNumber) });
      expectError(r, 401, 'ONSHI_AUTH_INVALID_TOKEN');
      r = await h.app.inject({ method: 'POST', url: '/v1/confirmations', headers: second.headers, payload: inquiry(insurer.insurerNumber) });
      expect(r.json().result).toBe('valid');
    });

    it('answers 404 for revoking an unknown credential', async () => {
      expectError(await h.app.inject({ method: 'DELETE', url: '/v1/credentials/no-such-id', headers: adminHeaders }), 404, 'ONSHI_CREDENTIAL_NOT_FOUND');
    });
  });

  describe('403: the credential may not do this', () => {
    it('refuses a facility token on the administrator routes', async () => {
      const { facility } = await setup(h.app);
      const attempts = [
        { url: '/v1/insurers', payload: { insurerNumber: newInsurerNumber(), name: '不正な保険者', kind: 'kenpo_kumiai' } },
        { url: '/v1/facilities', payload: { code: newFacilityCode(), name: '不正な診療所', type: 'clinic' } },
        { url: '/v1/credentials', payload: { facilityCode: facility.code } },
      ];
      for (const { url, payload } of attempts) {
        const body = expectError(await h.app.inject({ method: 'POST', url, headers: facility.headers, payload }), 403, 'ONSHI_AUTH_FORBIDDEN');
        expect(body).toMatchObject({ requiredKinds: ['admin'], credentialKind: 'facility' });
      }
      const insurers = await h.app.inject({ method: 'GET', url: '/v1/insurers', headers: adminHeaders });
      expect(insurers.json().insurers.map((i: { name: string }) => i.name)).not.toContain('不正な保険者');
    });

    it('refuses an insurer token on POST /v1/confirmations', async () => {
      const { insurer } = await setup(h.app);
      const body = expectError(await h.app.inject({ method: 'POST', url: '/v1/confirmations', headers: insurer.headers, payload: inquiry(insurer.insurerNumber) }), 403, 'ONSHI_AUTH_FORBIDDEN');
      expect(body.credentialKind).toBe('insurer');
    });

    it('refuses the administrator token on POST /v1/confirmations (only facilities confirm)', async () => {
      const { insurer } = await setup(h.app);
      const body = expectError(await h.app.inject({ method: 'POST', url: '/v1/confirmations', headers: adminHeaders, payload: inquiry(insurer.insurerNumber) }), 403, 'ONSHI_AUTH_FORBIDDEN');
      expect(body).toMatchObject({ requiredKinds: ['facility'], credentialKind: 'admin' });
    });

    it("refuses insurer A every operation on insurer B's members and leaves them unchanged", async () => {
      const a = await createInsurer(h.app);
      const b = await createInsurer(h.app);
      const member = await addMember(h.app, b);
      const asA = a.headers;
      const attempts = [
        { method: 'POST' as const, url: memberUrl(b.insurerNumber), payload: memberBody({ number: '9999' }) },
        { method: 'GET' as const, url: memberUrl(b.insurerNumber) },
        { method: 'GET' as const, url: memberUrl(b.insurerNumber, member.memberId) },
        { method: 'PATCH' as const, url: memberUrl(b.insurerNumber, member.memberId), payload: { effectiveFrom: '2024-01-01', address: '書き換え' } },
        { method: 'POST' as const, url: `${memberUrl(b.insurerNumber, member.memberId)}/terminate`, payload: { lostOn: '2024-01-01', lossReason: 'other' } },
        { method: 'GET' as const, url: `/v1/insurers/${b.insurerNumber}` },
      ];
      for (const attempt of attempts) {
        const r = await h.app.inject({ ...attempt, headers: asA });
        expectError(r, 403, 'ONSHI_AUTH_FORBIDDEN');
      }
      const ndjson = `${JSON.stringify(memberBody({ number: '8888' }))}\n`;
      const imported = await h.app.inject({ method: 'POST', url: `${memberUrl(b.insurerNumber)}/import`, headers: { ...asA, 'content-type': 'application/x-ndjson' }, payload: ndjson });
      expectError(imported, 403, 'ONSHI_AUTH_FORBIDDEN');

      const list = await h.app.inject({ method: 'GET', url: memberUrl(b.insurerNumber), headers: b.headers });
      expect(list.json().members).toHaveLength(1);
      expect(list.json().members[0]).toMatchObject({ memberId: member.memberId, address: '東京都千代田区千代田1-1', lostOn: null });
      const got = await h.app.inject({ method: 'GET', url: memberUrl(b.insurerNumber, member.memberId), headers: b.headers });
      expect(got.json().history).toHaveLength(1);
    });

    it("answers 404 (not 403) when insurer A asks for B's member under A's own path: no existence oracle", async () => {
      const a = await createInsurer(h.app);
      const b = await createInsurer(h.app);
      const member = await addMember(h.app, b);
      const url = memberUrl(a.insurerNumber, member.memberId);
      expectError(await h.app.inject({ method: 'GET', url, headers: a.headers }), 404, 'ONSHI_REGISTRY_MEMBER_NOT_FOUND');
      expectError(await h.app.inject({ method: 'PATCH', url, headers: a.headers, payload: { effectiveFrom: '2024-01-01', address: '書き換え' } }), 404, 'ONSHI_REGISTRY_MEMBER_NOT_FOUND');
      expectError(await h.app.inject({ method: 'POST', url: `${url}/terminate`, headers: a.headers, payload: { lostOn: '2024-01-01', lossReason: 'other' } }), 404, 'ONSHI_REGISTRY_MEMBER_NOT_FOUND');
      const got = await h.app.inject({ method: 'GET', url: memberUrl(b.insurerNumber, member.memberId), headers: b.headers });
      expect(got.json()).toMatchObject({ address: '東京都千代田区千代田1-1', lostOn: null });
    });

    it('lets the administrator act on any insurer', async () => {
      const b = await createInsurer(h.app);
      const r = await h.app.inject({ method: 'POST', url: memberUrl(b.insurerNumber), headers: adminHeaders, payload: memberBody() });
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json().history[0].recordedBy).toBe('admin:bootstrap-admin');
    });
  });

  describe('tokens are secrets', () => {
    it('stores only the SHA-256 of a token, never the token itself', async () => {
      const { insurer, facility } = await setup(h.app);
      const row = await h.ctx.database.db.selectFrom('credentials').selectAll().where('id', '=', facility.id).executeTakeFirstOrThrow();
      expect(row.token_hash).toBe(hashToken(facility.token));
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      const dump = await dumpDatabase(h.ctx);
      expect(dump.credentials).toContain(facility.id);
      for (const token of [facility.token, insurer.token]) {
        for (const [table, text] of Object.entries(dump)) expect(text.includes(token), `token found in table ${table}`).toBe(false);
      }
    });

    it('never shows tokens in GET /v1/credentials', async () => {
      const { insurer, facility } = await setup(h.app);
      const r = await h.app.inject({ method: 'GET', url: '/v1/credentials?includeRevoked=true', headers: adminHeaders });
      expect(r.statusCode, r.body).toBe(200);
      const credentials = r.json().credentials as Record<string, unknown>[];
      expect(credentials.map((c) => c.id)).toEqual(expect.arrayContaining([insurer.id, facility.id]));
      for (const c of credentials) {
        expect(c).not.toHaveProperty('token');
        expect(c).not.toHaveProperty('tokenHash');
      }
      expect(r.body).not.toContain(facility.token);
      expect(r.body).not.toContain(insurer.token);
      expect(r.body).not.toContain(hashToken(facility.token));
    });

    it('issues tokens that differ from each other and shows each only once, at issue', async () => {
      const { facility } = await setup(h.app);
      const again = await issueCredential(h.app, { facilityCode: facility.code, role: 'doctor' });
      expect(again.token).not.toBe(facility.token);
      expect(again.token).toMatch(/^onshi_[A-Za-z0-9_-]{43}$/);
      const r = await h.app.inject({ method: 'GET', url: `/v1/credentials?facilityCode=${facility.code}`, headers: adminHeaders });
      expect(r.json().credentials.map((c: { role: string }) => c.role).sort()).toEqual(['doctor', 'reception']);
    });
  });
});
