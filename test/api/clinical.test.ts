import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import {
  addMember,
  adminHeaders,
  createFacility,
  createInsurer,
  expectError,
  fieldProblems,
  medicationRow,
  patientQuery,
  staffCredential,
  useApp,
  type Harness,
  type TestInsurer,
} from '../support/fixtures.ts';

// 2024-11-30T15:00Z is 2024-12-01 in Japan: the view date is the JST one.
const START = new Date('2024-11-30T15:00:00Z');
const VIEW_DATE = '2024-12-01';

async function feedMedications(h: Harness, rows: unknown[]) {
  return h.app.inject({ method: 'POST', url: '/v1/claims/medications', headers: adminHeaders, payload: rows as object[] });
}

async function feedCheckups(h: Harness, insurer: TestInsurer, rows: unknown[], headers = insurer.headers) {
  return h.app.inject({ method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/checkups`, headers, payload: rows as object[] });
}

const checkupRow = (examDate: string, overrides: Record<string, unknown> = {}) => ({
  symbol: '12',
  number: '3456',
  branch: '00',
  examDate,
  items: { height: 170.5, weight: 68.2, bmi: 23.5, waist: 84, systolicBp: 128, diastolicBp: 82, hba1c: 5.6, ldl: 132, hdl: 55, tg: 140, ast: 22, alt: 25, ggt: 40, urineProtein: '-' },
  judgement: 'information',
  ...overrides,
});

describe.each(storeKinds)('clinical information on %s', (kind) => {
  let now = START;
  const h = useApp(kind, { clock: () => now });

  /** An insurer with the default member, medication across the window's edges, two check-ups, and a clinic with a doctor. */
  async function world(options: { limitCategory?: string } = {}) {
    now = START;
    const insurer = await createInsurer(h.app);
    const member = await addMember(h.app, insurer, options.limitCategory ? { limitCategory: options.limitCategory } : {});
    const r = await feedMedications(h, [
      medicationRow(insurer.insurerNumber, { dispensedOn: '2021-11-30', drugName: '古すぎる錠' }),
      medicationRow(insurer.insurerNumber, { dispensedOn: '2021-12-01', drugName: 'ロキソプロフェンNa錠60mg', drugCode: '1149019F1560' }),
      medicationRow(insurer.insurerNumber, { dispensedOn: '2024-11-01' }),
    ]);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ rows: 3, loaded: 3 });
    const c = await feedCheckups(h, insurer, [checkupRow('2019-11-30'), checkupRow('2019-12-01', { judgement: 'active_support' }), checkupRow('2024-06-10')]);
    expect(c.statusCode, c.body).toBe(200);
    const clinic = await createFacility(h.app, { type: 'clinic' });
    const doctor = await staffCredential(h.app, clinic, 'doctor');
    return { insurer, member, clinic, doctor };
  }

  const medsUrl = (insurerNumber: string, o: Record<string, string> = {}) => `/v1/patients/medications?${patientQuery(insurerNumber, o)}`;
  const checkupsUrl = (insurerNumber: string, o: Record<string, string> = {}) => `/v1/patients/checkups?${patientQuery(insurerNumber, o)}`;

  it('shows medication 3 years back with consent, and records the view with the consent as basis', async () => {
    const { insurer, member, clinic, doctor } = await world();
    const consent = await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: ['medication'], method: 'reader' });
    const r = await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber), headers: doctor.headers });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ viewedOn: VIEW_DATE, from: '2021-12-01', basis: { kind: 'consent', id: consent.id } });
    expect(body.medications.map((m: { dispensedOn: string }) => m.dispensedOn)).toEqual(['2024-11-01', '2021-12-01']);
    expect(body.medications[0]).toEqual({ dispensedOn: '2024-11-01', facilityCode: expect.any(String), drugCode: '2171022F1020', drugName: 'アムロジピン錠5mg', quantity: 28, unit: '錠', days: 28 });
    const log = await h.ctx.audit.search({ personId: member.personId });
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ id: body.accessId, actor: `facility:${doctor.id}`, role: 'doctor', facilityCode: clinic.code, what: 'medication', basis: { kind: 'consent', id: consent.id }, at: START.toISOString() });
  });

  it('shows check-ups 5 years back to a doctor with check-up consent', async () => {
    const { insurer, member, clinic, doctor } = await world();
    await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: ['medication', 'checkups'], method: 'written', attestedBy: 'staff-1' });
    const r = await h.app.inject({ method: 'GET', url: checkupsUrl(insurer.insurerNumber), headers: doctor.headers });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(body.from).toBe('2019-12-01');
    expect(body.checkups.map((c: { examDate: string }) => c.examDate)).toEqual(['2024-06-10', '2019-12-01']);
    expect(body.checkups[0]).toMatchObject({ insurerNumber: insurer.insurerNumber, judgement: 'information', items: { hba1c: 5.6, urineProtein: '-' } });
    expect((await h.ctx.audit.search({ personId: member.personId })).map((e) => e.what)).toEqual(['checkups']);
  });

  it('refuses without any consent at this facility: ONSHI_CONSENT_REQUIRED, and logs nothing', async () => {
    const { insurer, member, doctor } = await world();
    // A consent at another facility does not count here.
    const other = await createFacility(h.app);
    await h.ctx.consent.grant({ personId: member.personId, facilityCode: other.code, scopes: ['medication'], method: 'reader' });
    expectError(await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber), headers: doctor.headers }), 403, 'ONSHI_CONSENT_REQUIRED');
    expect(await h.ctx.audit.search({ personId: member.personId })).toEqual([]);
  });

  it('refuses after the consent expired (default 24 h): ONSHI_CONSENT_EXPIRED', async () => {
    const { insurer, member, clinic, doctor } = await world();
    await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: ['medication'], method: 'reader' });
    now = new Date(START.getTime() + 24 * 3_600_000 - 1);
    expect((await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber), headers: doctor.headers })).statusCode).toBe(200);
    now = new Date(START.getTime() + 24 * 3_600_000);
    expectError(await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber), headers: doctor.headers }), 403, 'ONSHI_CONSENT_EXPIRED');
  });

  it('refuses a scope the patient did not tick: ONSHI_CONSENT_SCOPE (also after a "no to everything")', async () => {
    const { insurer, member, clinic, doctor } = await world();
    await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: ['medication'], method: 'reader' });
    expectError(await h.app.inject({ method: 'GET', url: checkupsUrl(insurer.insurerNumber), headers: doctor.headers }), 403, 'ONSHI_CONSENT_SCOPE');
    const none = await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: [], method: 'reader' });
    expect(none.scopes).toEqual([]);
    expectError(await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber), headers: doctor.headers }), 403, 'ONSHI_CONSENT_SCOPE');
  });

  it('refuses unqualified roles: ONSHI_CLINICAL_ROLE', async () => {
    const { insurer, member, clinic } = await world();
    await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: ['medication', 'checkups'], method: 'reader' });
    const reception = clinic; // createFacility issues a reception credential
    for (const who of [reception, await staffCredential(h.app, clinic, 'facility_admin')]) {
      const body = expectError(await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber), headers: who.headers }), 403, 'ONSHI_CLINICAL_ROLE');
      expect(body.kind).toBe('medication');
    }
    // A pharmacist may see medication, but not check-ups even at a hospital.
    const hospital = await createFacility(h.app, { type: 'hospital' });
    await h.ctx.consent.grant({ personId: member.personId, facilityCode: hospital.code, scopes: ['medication', 'checkups'], method: 'reader' });
    const pharmacist = await staffCredential(h.app, hospital, 'pharmacist');
    expect((await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber), headers: pharmacist.headers })).statusCode).toBe(200);
    expectError(await h.app.inject({ method: 'GET', url: checkupsUrl(insurer.insurerNumber), headers: pharmacist.headers }), 403, 'ONSHI_CLINICAL_ROLE');
    // Only the pharmacist's view was recorded.
    expect((await h.ctx.audit.search({ personId: member.personId })).map((e) => `${e.role}:${e.what}`)).toEqual(['pharmacist:medication']);
  });

  it('refuses check-ups at a pharmacy whatever the role: ONSHI_CLINICAL_PHARMACY_CHECKUPS; medication is allowed there', async () => {
    const { insurer, member } = await world();
    const pharmacy = await createFacility(h.app, { type: 'pharmacy' });
    await h.ctx.consent.grant({ personId: member.personId, facilityCode: pharmacy.code, scopes: ['medication', 'checkups'], method: 'reader' });
    const pharmacist = await staffCredential(h.app, pharmacy, 'pharmacist');
    // A doctor cannot be issued at a pharmacy any more; one issued before that rule still meets this refusal.
    const doctor = await staffCredential(h.app, pharmacy, 'reception');
    await h.ctx.database.db.updateTable('credentials').set({ role: 'doctor' }).where('id', '=', doctor.id).execute();
    expectError(await h.app.inject({ method: 'GET', url: checkupsUrl(insurer.insurerNumber), headers: pharmacist.headers }), 403, 'ONSHI_CLINICAL_PHARMACY_CHECKUPS');
    expectError(await h.app.inject({ method: 'GET', url: checkupsUrl(insurer.insurerNumber), headers: doctor.headers }), 403, 'ONSHI_CLINICAL_PHARMACY_CHECKUPS');
    const r = await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber), headers: pharmacist.headers });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().medications).toHaveLength(2);
  });

  it('answers ONSHI_PATIENT_NOT_FOUND for a wrong birth date or unknown card, and 400 for malformed numbers', async () => {
    const { insurer, member, clinic, doctor } = await world();
    await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: ['medication'], method: 'reader' });
    expectError(await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber, { birthDate: '1980-04-02' }), headers: doctor.headers }), 404, 'ONSHI_PATIENT_NOT_FOUND');
    expectError(await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber, { number: '9999' }), headers: doctor.headers }), 404, 'ONSHI_PATIENT_NOT_FOUND');
    const bad = expectError(await h.app.inject({ method: 'GET', url: medsUrl('123', { branch: '1', birthDate: '1980-02-30' }), headers: doctor.headers }), 400, 'ONSHI_REQUEST_INVALID');
    expect(fieldProblems(bad.errors)).toEqual(['birthDate:invalid_date', 'branch:format', 'insurerNumber:format']);
  });

  it('only facility credentials may view; other kinds get ONSHI_AUTH_FORBIDDEN', async () => {
    const { insurer } = await world();
    expectError(await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber), headers: insurer.headers }), 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber), headers: adminHeaders }), 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await h.app.inject({ method: 'GET', url: medsUrl(insurer.insurerNumber) }), 401, 'ONSHI_AUTH_MISSING_TOKEN');
  });

  it('returns the high-cost limit category only with a limit_info consent', async () => {
    const { insurer, member, clinic } = await world({ limitCategory: 'A03' });
    const url = `/v1/patients/limit-category?${patientQuery(insurer.insurerNumber)}`;
    // Reception reads it (an eligibility item), but only with consent.
    expectError(await h.app.inject({ method: 'GET', url, headers: clinic.headers }), 403, 'ONSHI_CONSENT_REQUIRED');
    await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: ['medication'], method: 'reader' });
    expectError(await h.app.inject({ method: 'GET', url, headers: clinic.headers }), 403, 'ONSHI_CONSENT_SCOPE');
    const consent = await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: ['limit_info'], method: 'reader' });
    const r = await h.app.inject({ method: 'GET', url, headers: clinic.headers });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ asOf: VIEW_DATE, eligible: true, limitCategory: 'A03', basis: { kind: 'consent', id: consent.id } });
    expect((await h.ctx.audit.search({ personId: member.personId })).map((e) => `${e.role}:${e.what}`)).toEqual(['reception:limit_category']);
  });

  describe('feeds', () => {
    it('the claims feed takes NDJSON too', async () => {
      const { insurer, member } = await world();
      const ndjson = [medicationRow(insurer.insurerNumber, { dispensedOn: '2024-10-01' }), medicationRow(insurer.insurerNumber, { dispensedOn: '2024-09-01' })].map((r) => JSON.stringify(r)).join('\n');
      const r = await h.app.inject({ method: 'POST', url: '/v1/claims/medications', headers: { ...adminHeaders, 'content-type': 'application/x-ndjson' }, payload: ndjson });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ rows: 2, loaded: 2 });
      const n = await h.ctx.database.db.selectFrom('medications').select((eb) => eb.fn.countAll<number>().as('n')).where('person_id', '=', member.personId).executeTakeFirstOrThrow();
      expect(Number(n.n)).toBe(5);
    });

    it('is all or nothing: a rejected row reports each problem by line and writes nothing', async () => {
      const { insurer, member } = await world();
      const before = await h.ctx.database.db.selectFrom('medications').select('id').where('person_id', '=', member.personId).execute();
      const r = await feedMedications(h, [
        medicationRow(insurer.insurerNumber, { dispensedOn: '2024-10-01' }),
        medicationRow(insurer.insurerNumber, { number: '0000' }),
        medicationRow(insurer.insurerNumber, { quantity: -1, drugCode: 'abc' }),
        'not an object',
      ]);
      const body = expectError(r, 422, 'ONSHI_IMPORT_REJECTED');
      expect(body).toMatchObject({ rows: 4, rejectedRows: 3, errorsTruncated: false });
      expect(body.errors.map((e: { line: number; errors: { field: string; code: string }[] }) => `${e.line}:${fieldProblems(e.errors).join(',')}`)).toEqual([
        '2:number:not_allowed',
        '3:drugCode:format,quantity:out_of_range',
        '4:row:format',
      ]);
      const after = await h.ctx.database.db.selectFrom('medications').select('id').where('person_id', '=', member.personId).execute();
      expect(after).toHaveLength(before.length);
    });

    it('an empty feed is ONSHI_IMPORT_EMPTY; only administrators feed claims', async () => {
      const { insurer, clinic } = await world();
      expectError(await feedMedications(h, []), 400, 'ONSHI_IMPORT_EMPTY');
      expectError(await h.app.inject({ method: 'POST', url: '/v1/claims/medications', headers: insurer.headers, payload: [] }), 403, 'ONSHI_AUTH_FORBIDDEN');
      expectError(await h.app.inject({ method: 'POST', url: '/v1/claims/medications', headers: clinic.headers, payload: [] }), 403, 'ONSHI_AUTH_FORBIDDEN');
    });

    it('an insurer loads check-ups for its own members only', async () => {
      const { insurer } = await world();
      const other = await createInsurer(h.app);
      // Another insurer's path: refused outright.
      expectError(await feedCheckups(h, insurer, [checkupRow('2024-06-01')], other.headers), 403, 'ONSHI_AUTH_FORBIDDEN');
      // The other insurer has no member with these numbers: the row is rejected.
      const r = await feedCheckups(h, other, [checkupRow('2024-06-01')]);
      const body = expectError(r, 422, 'ONSHI_IMPORT_REJECTED');
      expect(fieldProblems(body.errors[0].errors)).toEqual(['number:not_allowed']);
      const bad = expectError(await feedCheckups(h, insurer, [checkupRow('2025-01-01', { items: { hba1c: 50 } })]), 422, 'ONSHI_IMPORT_REJECTED');
      expect(fieldProblems(bad.errors[0].errors)).toEqual(['examDate:out_of_range', 'items.hba1c:out_of_range']);
    });
  });
});
