import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { storeKinds } from '../support/stores.ts';
import { addMember, adminHeaders, bearer, confirm, createFacility, createInsurer, expectError, medicationRow, patientQuery, staffCredential, terminateMember, useApp, type Harness, type TestFacility, type TestInsurer } from '../support/fixtures.ts';
import { injectTransport, personWithCard } from '../support/cards.ts';
import { SimulatedReader } from '../../src/reader/simulator.ts';
import { indexPersonHistory } from '../../src/audit/person-history.ts';

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
    expect(r.json()).toEqual({ entries: [{ at: NOW.toISOString(), facilityCode: clinic.code, facilityName: '千代田みらいクリニック', role: 'doctor', what: 'medication', method: null, basis: { kind: 'consent', id: consent.id } }], next: null });
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

// Eligibility reads: every confirmation that returned a person's record is in their history.
describe.each(storeKinds)('eligibility reads in the access history on %s', (kind) => {
  let now = NOW;
  const h: Harness = useApp(kind, { clock: () => now });

  const numbers = (insurer: TestInsurer, overrides: Record<string, unknown> = {}) => ({ insurerNumber: insurer.insurerNumber, symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01', ...overrides });

  async function confirmed(facility: TestFacility, body: Record<string, unknown>, expected: string): Promise<string> {
    const r = await confirm(h.app, facility, body);
    expect(r.statusCode, r.body).toBe(expected === 'error' ? 400 : 200);
    expect(r.json().result).toBe(expected);
    return r.json().confirmationId as string;
  }

  async function history(personId: string, query = '') {
    const session = await h.ctx.credentials.issuePatientSession(personId);
    const r = await h.app.inject({ method: 'GET', url: `/v1/me/access-log${query}`, headers: bearer(session.token) });
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as { entries: Record<string, unknown>[]; next: string | null };
  }

  it('a card-number confirmation shows in the patient’s history with the facility name; a later view is listed before it', async () => {
    now = NOW;
    const insurer = await createInsurer(h.app);
    const member = await addMember(h.app, insurer);
    const clinic = await createFacility(h.app, { name: '新宿つばさ内科クリニック' });
    const confirmationId = await confirmed(clinic, numbers(insurer), 'valid');
    expect(await history(member.personId)).toEqual({
      entries: [{ at: NOW.toISOString(), facilityCode: clinic.code, facilityName: '新宿つばさ内科クリニック', role: null, what: 'eligibility', method: 'insurance_card', basis: { kind: 'confirmation', id: confirmationId } }],
      next: null,
    });

    // The doctor then views the medication (same instant): newest first, the view before its confirmation.
    await h.app.inject({ method: 'POST', url: '/v1/claims/medications', headers: adminHeaders, payload: [medicationRow(insurer.insurerNumber)] });
    const doctor = await staffCredential(h.app, clinic, 'doctor');
    await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: ['medication'], method: 'reader' });
    expect((await h.app.inject({ method: 'GET', url: `/v1/patients/medications?${patientQuery(insurer.insurerNumber)}`, headers: doctor.headers })).statusCode).toBe(200);
    const both = await history(member.personId);
    expect(both.entries.map((e) => `${e.what}:${e.role}:${e.method}`)).toEqual(['medication:doctor:null', 'eligibility:null:insurance_card']);
  });

  it('an invalid or error confirmation is not a read: it returned no personal data', async () => {
    now = NOW;
    const insurer = await createInsurer(h.app);
    const member = await addMember(h.app, insurer);
    const facility = await createFacility(h.app);
    await confirmed(facility, numbers(insurer, { birthDate: '1980-04-02' }), 'invalid');
    await confirmed(facility, numbers(insurer, { branch: '0X' }), 'error');
    expect((await terminateMember(h.app, insurer, member.memberId, { lostOn: '2024-10-01', lossReason: 'other_insurance' })).statusCode).toBe(200);
    const lost = await confirmed(facility, numbers(insurer), 'invalid');
    // The lost-eligibility answer names the person in its usage event; the history still leaves it out.
    const event = await h.ctx.database.db.selectFrom('usage_events').select(['person_id', 'result']).where('confirmation_id', '=', lost).executeTakeFirstOrThrow();
    expect(event).toEqual({ person_id: member.personId, result: 'invalid' });
    expect(await history(member.personId)).toEqual({ entries: [], next: null });
    const admin = await h.app.inject({ method: 'GET', url: `/v1/audit/access-log?facilityCode=${facility.code}`, headers: adminHeaders });
    expect(admin.json()).toEqual({ entries: [], next: null });
  });

  it('a card confirmation is listed once, with the staff role from the access log', async () => {
    now = NOW;
    const t = injectTransport(h.app);
    const insurer = await createInsurer(h.app);
    const facility = await createFacility(h.app, { name: '渋谷駅前クリニック' });
    const holder = await personWithCard(h.app, t, insurer);
    const answer = await new SimulatedReader(t, facility.token).confirm(holder.card, { verification: 'face', registerNow: true });
    expect(answer.result).toBe('valid');
    const { entries } = await history(holder.member.personId);
    expect(entries.filter((e) => e.what === 'eligibility')).toEqual([
      { at: NOW.toISOString(), facilityCode: facility.code, facilityName: '渋谷駅前クリニック', role: 'reception', what: 'eligibility', method: 'my_number_card', basis: { kind: 'confirmation', id: answer.confirmationId } },
    ]);
  });

  it('pages newest first over both sources with limit and before', async () => {
    const insurer = await createInsurer(h.app);
    const member = await addMember(h.app, insurer);
    await h.app.inject({ method: 'POST', url: '/v1/claims/medications', headers: adminHeaders, payload: [medicationRow(insurer.insurerNumber)] });
    const clinic = await createFacility(h.app);
    const doctor = await staffCredential(h.app, clinic, 'doctor');
    // Day by day: a confirmation, then a view (consent each day), five days.
    const expected: string[] = [];
    for (let day = 0; day < 5; day++) {
      now = new Date(NOW.getTime() + day * 86_400_000);
      const id = await confirmed(clinic, numbers(insurer), 'valid');
      expected.unshift(`eligibility@${now.toISOString()}#${id}`);
      now = new Date(now.getTime() + 60_000);
      await h.ctx.consent.grant({ personId: member.personId, facilityCode: clinic.code, scopes: ['medication'], method: 'reader' });
      const view = await h.app.inject({ method: 'GET', url: `/v1/patients/medications?${patientQuery(insurer.insurerNumber)}`, headers: doctor.headers });
      expect(view.statusCode, view.body).toBe(200);
      expected.unshift(`medication@${now.toISOString()}#${view.json().basis.id}`);
    }
    const seen: string[] = [];
    let before: string | null = null;
    let pages = 0;
    do {
      const page = await history(member.personId, `?limit=3${before ? `&before=${before}` : ''}`);
      expect(page.entries.length).toBeLessThanOrEqual(3);
      seen.push(...page.entries.map((e) => `${e.what}@${e.at}#${(e.basis as { id: string }).id}`));
      before = page.next;
      pages++;
    } while (before !== null && pages < 10);
    expect(pages).toBe(4);
    expect(seen).toEqual(expected);
    // A full last page says so only when there is nothing older.
    expect((await history(member.personId, '?limit=10')).next).toBeNull();
    expect((await history(member.personId, '?limit=9')).next).not.toBeNull();
    const session = await h.ctx.credentials.issuePatientSession(member.personId);
    expectError(await h.app.inject({ method: 'GET', url: '/v1/me/access-log?before=not-a-cursor', headers: bearer(session.token) }), 400, 'ONSHI_REQUEST_INVALID');
  });

  it('stays exact while the person index is behind: the same pages and consent answers at every point of its progress', async () => {
    // The indexer of person_history (SQLite) runs behind the events; here it is driven by hand.
    h.ctx.personHistory.stop();
    const insurer = await createInsurer(h.app);
    const alice = await addMember(h.app, insurer);
    const bob = await addMember(h.app, insurer, { number: '8888', name: '鈴木　一郎', birthDate: '1970-06-07' });
    await h.app.inject({ method: 'POST', url: '/v1/claims/medications', headers: adminHeaders, payload: [medicationRow(insurer.insurerNumber)] });
    const clinic = await createFacility(h.app);
    const doctor = await staffCredential(h.app, clinic, 'doctor');
    for (let day = 0; day < 4; day++) {
      now = new Date(NOW.getTime() + day * 86_400_000);
      await confirmed(clinic, numbers(insurer), 'valid');
      await confirmed(clinic, numbers(insurer, { number: '8888', birthDate: '1970-06-07' }), 'valid');
      now = new Date(now.getTime() + 60_000);
      await h.ctx.consent.grant({ personId: alice.personId, facilityCode: clinic.code, scopes: ['medication'], method: 'reader' });
      expect((await h.app.inject({ method: 'GET', url: `/v1/patients/medications?${patientQuery(insurer.insurerNumber)}`, headers: doctor.headers })).statusCode).toBe(200);
    }
    const allPages = async (personId: string) => {
      const seen: unknown[] = [];
      let before: string | null = null;
      do {
        const page = await history(personId, `?limit=3${before ? `&before=${before}` : ''}`);
        seen.push(...page.entries);
        before = page.next;
      } while (before !== null);
      return seen;
    };
    const aliceSeen = await allPages(alice.personId);
    const bobSeen = await allPages(bob.personId);
    const aliceConsents = await h.ctx.consent.answers(alice.personId, clinic.code);
    expect(aliceConsents).toHaveLength(4);
    expect(aliceSeen).toHaveLength(8);
    expect(bobSeen).toHaveLength(4);
    // A few rows at a time (with the patient sessions' own log entries among them) until caught up.
    let steps = 0;
    for (;;) {
      const r = indexPersonHistory(h.ctx.database.db, 3);
      if (kind === 'postgres') expect(r).toBeUndefined();
      expect(await allPages(alice.personId)).toEqual(aliceSeen);
      expect(await allPages(bob.personId)).toEqual(bobSeen);
      expect(await h.ctx.consent.answers(alice.personId, clinic.code)).toEqual(aliceConsents);
      expect(await h.ctx.consent.answers(bob.personId, clinic.code)).toEqual([]);
      if (!r || r.taken === 0) break;
      steps++;
    }
    if (kind === 'sqlite') {
      expect(steps).toBeGreaterThan(2);
      const behind = await sql<{ n: number }>`select count(*) as n from usage_events where id > (select last_ref from person_history_marks where source = 'usage')`.execute(h.ctx.database.db);
      expect(Number(behind.rows[0].n)).toBe(0);
    }
    h.ctx.personHistory.start();
  });

  it('administrators’ filters (person, facility, JST dates) apply to both sources', async () => {
    const insurer = await createInsurer(h.app);
    const alice = await addMember(h.app, insurer);
    const bob = await addMember(h.app, insurer, { number: '7777', name: '佐藤　花子', birthDate: '1975-02-03', sex: 'female' });
    await h.app.inject({ method: 'POST', url: '/v1/claims/medications', headers: adminHeaders, payload: [medicationRow(insurer.insurerNumber)] });
    const east = await createFacility(h.app, { name: '東クリニック' });
    const west = await createFacility(h.app, { name: '西クリニック' });
    const doctor = await staffCredential(h.app, east, 'doctor');
    // 2024-12-01 JST: alice confirmed at east and viewed there; bob confirmed at west.
    now = NOW;
    const aliceEast = await confirmed(east, numbers(insurer), 'valid');
    await h.ctx.consent.grant({ personId: alice.personId, facilityCode: east.code, scopes: ['medication'], method: 'reader' });
    expect((await h.app.inject({ method: 'GET', url: `/v1/patients/medications?${patientQuery(insurer.insurerNumber)}`, headers: doctor.headers })).statusCode).toBe(200);
    const bobWest = await confirmed(west, numbers(insurer, { number: '7777', birthDate: '1975-02-03' }), 'valid');
    // 2024-12-02 JST (2024-12-01T15:30Z): alice confirmed at west.
    now = new Date('2024-12-01T15:30:00Z');
    const aliceWest = await confirmed(west, numbers(insurer), 'valid');

    const search = async (query: string) => {
      const r = await h.app.inject({ method: 'GET', url: `/v1/audit/access-log?${query}`, headers: adminHeaders });
      expect(r.statusCode, r.body).toBe(200);
      return (r.json().entries as { id: string; what: string; source: string; facilityCode: string; personId: string; actor: string | null }[]).map((e) => `${e.source}:${e.what}:${e.facilityCode === east.code ? 'east' : 'west'}:${e.personId === alice.personId ? 'alice' : 'bob'}`);
    };
    expect(await search(`personId=${alice.personId}`)).toEqual(['confirmation:eligibility:west:alice', 'access_log:medication:east:alice', 'confirmation:eligibility:east:alice']);
    expect(await search(`facilityCode=${west.code}`)).toEqual(['confirmation:eligibility:west:alice', 'confirmation:eligibility:west:bob']);
    expect(await search(`facilityCode=${east.code}&from=2024-12-01&to=2024-12-01`)).toEqual(['access_log:medication:east:alice', 'confirmation:eligibility:east:alice']);
    expect(await search(`facilityCode=${west.code}&from=2024-12-02`)).toEqual(['confirmation:eligibility:west:alice']);
    expect(await search(`facilityCode=${west.code}&to=2024-12-01`)).toEqual(['confirmation:eligibility:west:bob']);
    expect(await search(`personId=${bob.personId}&facilityCode=${east.code}`)).toEqual([]);
    const detail = await h.app.inject({ method: 'GET', url: `/v1/audit/access-log?personId=${bob.personId}`, headers: adminHeaders });
    expect(detail.json().entries).toEqual([
      {
        id: bobWest,
        at: NOW.toISOString(),
        actor: null,
        role: null,
        facilityCode: west.code,
        facilityName: '西クリニック',
        personId: bob.personId,
        what: 'eligibility',
        method: 'insurance_card',
        basis: { kind: 'confirmation', id: bobWest },
        source: 'confirmation',
        detail: { method: 'insurance_card', result: 'valid', insurerNumber: insurer.insurerNumber },
      },
    ]);
    expect([aliceEast, aliceWest]).not.toContain(bobWest);
  });
});
