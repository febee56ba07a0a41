import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { storeKinds } from '../support/stores.ts';
import { addMember, adminHeaders, bearer, createFacility, createInsurer, expectError, medicationRow, patientQuery, staffCredential, useApp } from '../support/fixtures.ts';

const NOW = new Date('2024-11-30T15:00:00Z');

describe.each(storeKinds)('access log on %s', (kind) => {
  const h = useApp(kind, { clock: () => NOW });

  async function viewedOnce() {
    const insurer = await createInsurer(h.app);
    const member = await addMember(h.app, insurer);
    await h.app.inject({ method: 'POST', url: '/v1/claims/medications', headers: adminHeaders, payload: [medicationRow(insurer.insurerNumber)] });
    const clinic = await createFacility(h.app, { name: '千代田みらいクリニック' });
    const doctor = await staffCredential(h.app, clinic, 'doctor');
    const consent = await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: ['medication'], method: 'reader' });
    const r = await h.app.inject({ method: 'GET', url: `/v1/patients/medications?${patientQuery(insurer.insurerNumber)}`, headers: doctor.headers });
    expect(r.statusCode, r.body).toBe(200);
    return { member, clinic, doctor, consent };
  }

  it('a patient sees who viewed what, when, and on which basis — and only their own entries', async () => {
    const { member, clinic, consent } = await viewedOnce();
    const other = await viewedOnce();
    const session = await h.ctx.credentials.issuePatientSession(member.personId);
    const r = await h.app.inject({ method: 'GET', url: '/v1/me/access-log', headers: bearer(session.token) });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ entries: [{ at: NOW.toISOString(), facilityCode: clinic.code, facilityName: '千代田みらいクリニック', role: 'doctor', what: 'medication', basis: { kind: 'consent', id: consent.id } }] });
    expect(r.body).not.toContain(other.clinic.code);
    expectError(await h.app.inject({ method: 'GET', url: '/v1/me/access-log', headers: clinic.headers }), 403, 'ONSHI_AUTH_FORBIDDEN');
  });

  it('administrators search by person, facility and JST dates', async () => {
    const { member, clinic, doctor } = await viewedOnce();
    const byPerson = await h.app.inject({ method: 'GET', url: `/v1/audit/access-log?personId=${member.personId}`, headers: adminHeaders });
    expect(byPerson.json().entries).toEqual([expect.objectContaining({ personId: member.personId, actor: `facility:${doctor.id}`, facilityCode: clinic.code, what: 'medication' })]);
    // NOW is 2024-12-01 in Japan.
    const inDay = await h.app.inject({ method: 'GET', url: `/v1/audit/access-log?facilityCode=${clinic.code}&from=2024-12-01&to=2024-12-01`, headers: adminHeaders });
    expect(inDay.json().entries).toHaveLength(1);
    const dayBefore = await h.app.inject({ method: 'GET', url: `/v1/audit/access-log?facilityCode=${clinic.code}&to=2024-11-30`, headers: adminHeaders });
    expect(dayBefore.json().entries).toEqual([]);
    expectError(await h.app.inject({ method: 'GET', url: '/v1/audit/access-log?from=2024-13-01', headers: adminHeaders }), 400, 'ONSHI_REQUEST_INVALID');
    expectError(await h.app.inject({ method: 'GET', url: '/v1/audit/access-log', headers: doctor.headers }), 403, 'ONSHI_AUTH_FORBIDDEN');
  });

  it('nobody can change it: no route, and the store refuses UPDATE and DELETE', async () => {
    const { member } = await viewedOnce();
    for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
      expect((await h.app.inject({ method, url: '/v1/audit/access-log', headers: adminHeaders })).statusCode).toBe(404);
    }
    const db = h.ctx.database.db;
    await expect(db.updateTable('access_log').set({ what: 'nothing' }).where('person_id', '=', member.personId).execute()).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('access_log').where('person_id', '=', member.personId).execute()).rejects.toThrow(/append-only/);
    await expect(sql`delete from access_log`.execute(db)).rejects.toThrow(/append-only/);
    expect((await h.ctx.audit.search({ personId: member.personId })).map((e) => e.what)).toEqual(['medication']);
  });
});
