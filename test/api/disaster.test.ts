import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { addMember, adminHeaders, createFacility, createInsurer, expectError, fieldProblems, medicationRow, newFacilityCode, patientQuery, staffCredential, useApp } from '../support/fixtures.ts';

const START = new Date('2024-11-30T15:00:00Z');

describe.each(storeKinds)('disaster mode on %s', (kind) => {
  let now = START;
  const h = useApp(kind, { clock: () => now });

  async function declare(body: Record<string, unknown>) {
    const r = await h.app.inject({ method: 'POST', url: '/v1/disasters', headers: adminHeaders, payload: body });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string };
  }

  // Tests share the store: each world's patient gets its own birth date, so name searches stay unique.
  let worlds = 0;
  let BIRTH = '';
  async function world() {
    now = START;
    BIRTH = `1951-03-${String(++worlds).padStart(2, '0')}`;
    const insurer = await createInsurer(h.app);
    const member = await addMember(h.app, insurer, { name: '能登　花子', birthDate: BIRTH });
    expect((await h.app.inject({ method: 'POST', url: '/v1/claims/medications', headers: adminHeaders, payload: [medicationRow(insurer.insurerNumber, { dispensedOn: '2024-10-01' })] })).statusCode).toBe(200);
    return { insurer, member };
  }

  it('a facility in a declared prefecture views medication by name and birth date without consent; the view is marked with the disaster', async () => {
    const { member } = await world();
    const code = newFacilityCode('hospital', '17');
    const hospital = await createFacility(h.app, { code, type: 'hospital' });
    const doctor = await staffCredential(h.app, hospital, 'doctor');
    const d = await declare({ name: '令和6年能登半島地震', prefectures: ['17', '16'], startsAt: '2024-11-30T00:00:00Z', endsAt: '2024-12-31T00:00:00+09:00' });
    const r = await h.app.inject({ method: 'GET', url: `/v1/disaster-views/medications?name=${encodeURIComponent('能登 花子')}&birthDate=${BIRTH}`, headers: doctor.headers });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ basis: { kind: 'disaster', id: d.id }, medications: [{ dispensedOn: '2024-10-01' }] });
    const log = await h.ctx.audit.search({ personId: member.personId });
    expect(log.map((e) => `${e.what}:${e.basis.kind}:${e.basis.id}`)).toEqual([`medication:disaster:${d.id}`]);
    const list = await h.app.inject({ method: 'GET', url: '/v1/disasters', headers: adminHeaders });
    expect(list.json().disasters.find((x: { id: string }) => x.id === d.id)).toMatchObject({ prefectures: ['16', '17'], facilityCodes: [], endsAt: '2024-12-30T15:00:00.000Z' });
  });

  it('by card numbers for a listed facility; role rules still apply', async () => {
    const { insurer } = await world();
    const clinic = await createFacility(h.app, { type: 'clinic' });
    await declare({ name: '局所災害', facilityCodes: [clinic.code], startsAt: '2024-11-01T00:00:00Z', endsAt: '2024-12-02T00:00:00Z' });
    const doctor = await staffCredential(h.app, clinic, 'doctor');
    const q = patientQuery(insurer.insurerNumber, { birthDate: BIRTH });
    expect((await h.app.inject({ method: 'GET', url: `/v1/disaster-views/checkups?${q}`, headers: doctor.headers })).statusCode).toBe(200);
    expectError(await h.app.inject({ method: 'GET', url: `/v1/disaster-views/medications?${q}`, headers: clinic.headers }), 403, 'ONSHI_CLINICAL_ROLE');
  });

  it('refuses a facility outside every declared scope: ONSHI_DISASTER_OUT_OF_SCOPE', async () => {
    await world();
    await declare({ name: '北海道の災害', prefectures: ['01'], startsAt: '2024-11-01T00:00:00Z', endsAt: '2025-01-01T00:00:00Z' });
    const clinic = await createFacility(h.app, { type: 'clinic' }); // Tokyo
    const doctor = await staffCredential(h.app, clinic, 'doctor');
    expectError(await h.app.inject({ method: 'GET', url: `/v1/disaster-views/medications?name=x&birthDate=${BIRTH}`, headers: doctor.headers }), 403, 'ONSHI_DISASTER_OUT_OF_SCOPE');
  });

  it('refuses outside the period: ONSHI_DISASTER_OUT_OF_PERIOD (the end is exclusive)', async () => {
    await world();
    const code = newFacilityCode('clinic', '15');
    const clinic = await createFacility(h.app, { code });
    const doctor = await staffCredential(h.app, clinic, 'doctor');
    await declare({ name: '新潟の災害', prefectures: ['15'], startsAt: '2024-12-01T00:00:00Z', endsAt: '2024-12-10T00:00:00Z' });
    const url = `/v1/disaster-views/medications?name=${encodeURIComponent('能登花子')}&birthDate=${BIRTH}`;
    expectError(await h.app.inject({ method: 'GET', url, headers: doctor.headers }), 403, 'ONSHI_DISASTER_OUT_OF_PERIOD');
    now = new Date('2024-12-05T00:00:00Z');
    expect((await h.app.inject({ method: 'GET', url, headers: doctor.headers })).statusCode).toBe(200);
    now = new Date('2024-12-10T00:00:00Z');
    expectError(await h.app.inject({ method: 'GET', url, headers: doctor.headers }), 403, 'ONSHI_DISASTER_OUT_OF_PERIOD');
  });

  it('name search: not found, and ambiguous when two people share name and birth date', async () => {
    const { insurer } = await world();
    await addMember(h.app, insurer, { number: '7777', name: '能登 花子', birthDate: BIRTH });
    const code = newFacilityCode('clinic', '18');
    const clinic = await createFacility(h.app, { code });
    const doctor = await staffCredential(h.app, clinic, 'doctor');
    await declare({ name: '福井の災害', prefectures: ['18'], startsAt: '2024-11-01T00:00:00Z', endsAt: '2025-01-01T00:00:00Z' });
    expectError(await h.app.inject({ method: 'GET', url: `/v1/disaster-views/medications?name=${encodeURIComponent('能登花子')}&birthDate=${BIRTH}`, headers: doctor.headers }), 409, 'ONSHI_PATIENT_AMBIGUOUS');
    expectError(await h.app.inject({ method: 'GET', url: `/v1/disaster-views/medications?name=${encodeURIComponent('誰か')}&birthDate=${BIRTH}`, headers: doctor.headers }), 404, 'ONSHI_PATIENT_NOT_FOUND');
  });

  it('only administrators declare; declarations are validated', async () => {
    const clinic = await createFacility(h.app);
    expectError(await h.app.inject({ method: 'POST', url: '/v1/disasters', headers: clinic.headers, payload: { name: 'x', prefectures: ['13'], startsAt: '2024-01-01T00:00:00Z', endsAt: '2024-02-01T00:00:00Z' } }), 403, 'ONSHI_AUTH_FORBIDDEN');
    const bad = expectError(await h.app.inject({ method: 'POST', url: '/v1/disasters', headers: adminHeaders, payload: { name: 'x', prefectures: ['99'], startsAt: '2024-02-01T00:00:00Z', endsAt: '2024-01-01T00:00:00Z' } }), 400, 'ONSHI_REQUEST_INVALID');
    expect(fieldProblems(bad.errors)).toEqual(['endsAt:out_of_range', 'prefectures.0:format']);
    expectError(await h.app.inject({ method: 'GET', url: '/v1/disasters/nope', headers: adminHeaders }), 404, 'ONSHI_DISASTER_NOT_FOUND');
  });
});
