// Credential administration: the ONSHI_ADMIN_TOKEN credential cannot be revoked (it would come back at
// the next start), and a staff role must fit the facility's type.

import { describe, expect, it } from 'vitest';
import { adminHeaders, createFacility, expectError, issueCredential, useApp } from '../support/fixtures.ts';
import { storeKinds } from '../support/stores.ts';
import { facilityRoles } from '../../src/platform/auth.ts';
import { facilityTypes } from '../../src/registry/rules.ts';
import { roleFitsFacility } from '../../src/credentials/rules.ts';

describe.each(storeKinds)('credentials on %s', (kind) => {
  const h = useApp(kind);

  it('refuses to revoke the ONSHI_ADMIN_TOKEN credential (409, naming the variable); it keeps working', async () => {
    const r = await h.app.inject({ method: 'DELETE', url: '/v1/credentials/bootstrap-admin', headers: adminHeaders });
    const body = expectError(r, 409, 'ONSHI_CREDENTIAL_FROM_ENVIRONMENT');
    expect(body).toMatchObject({ id: 'bootstrap-admin', variable: 'ONSHI_ADMIN_TOKEN' });
    expect(body.messageJa).toContain('ONSHI_ADMIN_TOKEN');
    const list = await h.app.inject({ method: 'GET', url: '/v1/credentials', headers: adminHeaders });
    expect(list.json().credentials.find((c: { id: string }) => c.id === 'bootstrap-admin')).toMatchObject({ revokedAt: null });
    // The same token, asked again after the refusal, still authenticates.
    expect((await h.app.inject({ method: 'GET', url: '/v1/insurers', headers: adminHeaders })).statusCode).toBe(200);
  });

  it('still revokes an issued administrator credential', async () => {
    const other = await issueCredential(h.app, { admin: true });
    const r = await h.app.inject({ method: 'DELETE', url: `/v1/credentials/${other.id}`, headers: adminHeaders });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().revokedAt).not.toBeNull();
    expectError(await h.app.inject({ method: 'GET', url: '/v1/insurers', headers: other.headers }), 401, 'ONSHI_AUTH_INVALID_TOKEN');
  });

  it('issues a staff role only where the facility type allows it; 400 ONSHI_CREDENTIAL_ROLE_NOT_ALLOWED with role and facilityType otherwise', async () => {
    const facilities = Object.fromEntries(await Promise.all(facilityTypes.map(async (type) => [type, await createFacility(h.app, { type })] as const)));
    for (const type of facilityTypes) {
      for (const role of facilityRoles) {
        const r = await h.app.inject({ method: 'POST', url: '/v1/credentials', headers: adminHeaders, payload: { facilityCode: facilities[type].code, role } });
        if (roleFitsFacility(role, type)) {
          expect(r.statusCode, `${role} at ${type}: ${r.body}`).toBe(201);
          expect(r.json()).toMatchObject({ role, facilityCode: facilities[type].code });
        } else {
          expect(expectError(r, 400, 'ONSHI_CREDENTIAL_ROLE_NOT_ALLOWED'), `${role} at ${type}`).toMatchObject({ role, facilityType: type });
        }
      }
    }
    // The finding: a doctor at a pharmacy is refused, and nothing was written.
    const pharmacy = facilities.pharmacy.code;
    const refused = await h.app.inject({ method: 'POST', url: '/v1/credentials', headers: adminHeaders, payload: { facilityCode: pharmacy, role: 'doctor' } });
    expectError(refused, 400, 'ONSHI_CREDENTIAL_ROLE_NOT_ALLOWED');
    const list = await h.app.inject({ method: 'GET', url: `/v1/credentials?facilityCode=${pharmacy}`, headers: adminHeaders });
    expect(list.json().credentials.map((c: { role: string }) => c.role).sort()).toEqual(['facility_admin', 'pharmacist', 'reception', 'reception']);
  });
});
