// Bulk applications by an organisation (取りまとめ者) through the API, on every store: form 1 (members),
// confirmation, form 2 (one application per member, all or nothing), individual review of each
// member's case, and what the organisation sees.

import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { adminHeaders, createFacility, expectError, fieldProblems, issueCredential, useApp, type Headers } from '../support/fixtures.ts';

describe.each(storeKinds)('IT support fund bulk applications on %s', (kind) => {
  let now = new Date('2020-08-03T03:00:00Z');
  const at = (date: string) => (now = new Date(`${date}T03:00:00Z`));
  const h = useApp(kind, { clock: () => now });
  const post = (url: string, headers: Headers, payload: Record<string, unknown> = {}) => h.app.inject({ method: 'POST', url, headers, payload });
  const ok = async (url: string, headers: Headers, payload: Record<string, unknown> = {}, status = 200) => {
    const r = await post(url, headers, payload);
    expect(r.statusCode, r.body).toBe(status);
    return r.json();
  };
  const act = (id: string, action: string, headers: Headers, payload: Record<string, unknown> = {}) => ok(`/v1/itfund/cases/${id}/actions/${action}`, headers, payload);
  const state = async (id: string) => (await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}`, headers: adminHeaders })).json().state as string;

  it('registers members, is confirmed, applies for all at once; each is decided on its own', async () => {
    const rep = await createFacility(h.app, { type: 'hospital' });
    const m1 = await createFacility(h.app, { type: 'clinic' });
    const m2 = await createFacility(h.app, { type: 'clinic' });
    const outsider = await createFacility(h.app, { type: 'clinic' });
    const [ra, m1a, m2a, xa] = await Promise.all([rep, m1, m2, outsider].map((f) => issueCredential(h.app, { facilityCode: f.code, role: 'facility_admin' })));

    // Form 1, by the representative facility's administrator.
    expectError(await post('/v1/itfund/organisations', rep.headers, { name: '医療法人テスト会', kind: 'medical_corporation', memberFacilityCodes: [m1.code] }), 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await post('/v1/itfund/organisations', adminHeaders, { name: 'x', kind: 'medical_corporation', memberFacilityCodes: [m1.code] }), 403, 'ONSHI_AUTH_FORBIDDEN');
    expect(fieldProblems(expectError(await post('/v1/itfund/organisations', ra.headers, { kind: 'hospital_group', memberFacilityCodes: [] }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['kind:not_allowed', 'memberFacilityCodes:required', 'name:required']);
    expect(fieldProblems(expectError(await post('/v1/itfund/organisations', ra.headers, { name: 'x', kind: 'other', memberFacilityCodes: [m1.code, m1.code] }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['memberFacilityCodes:duplicate']);
    expect(expectError(await post('/v1/itfund/organisations', ra.headers, { name: 'x', kind: 'other', memberFacilityCodes: [m1.code, '1319999999'] }), 404, 'ONSHI_REGISTRY_FACILITY_NOT_FOUND')).toMatchObject({ facilityCodes: ['1319999999'] });
    expect(fieldProblems(expectError(await post('/v1/itfund/organisations', ra.headers, { name: 'x', kind: 'chain_pharmacy', memberFacilityCodes: [m1.code] }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['memberFacilityCodes:mismatch']);
    const org = await ok('/v1/itfund/organisations', ra.headers, { name: '医療法人テスト会', kind: 'medical_corporation', memberFacilityCodes: [m1.code, m2.code] }, 201);
    expect(org).toMatchObject({ name: '医療法人テスト会', kind: 'medical_corporation', representativeFacilityCode: rep.code, state: 'registered', confirmedAt: null, bulkApplications: [] });
    expect(org.members.map((m: { facilityCode: string }) => m.facilityCode)).toEqual([rep.code, m1.code, m2.code].sort());
    const oid = org.id as string;
    // A facility is registered with one organisation only.
    expect(expectError(await post('/v1/itfund/organisations', xa.headers, { name: '別法人', kind: 'other', memberFacilityCodes: [m1.code] }), 409, 'ONSHI_ITFUND_MEMBER_TAKEN')).toMatchObject({ facilityCodes: [m1.code] });

    // Each member opens its account and gets its readers; the representative and m1 complete their work.
    for (const a of [ra, m1a, m2a, xa]) {
      const c = await ok('/v1/itfund/cases', a.headers, {}, 201);
      await act(c.id, 'apply_readers', a.headers);
    }
    const cases = (await h.app.inject({ method: 'GET', url: '/v1/itfund/cases', headers: adminHeaders })).json().cases as { id: string; facilityCode: string }[];
    const caseOf = (code: string) => cases.find((c) => c.facilityCode === code)!.id;
    at('2020-09-10');
    for (const f of [rep, m1, m2, outsider]) await act(caseOf(f.code), 'provide_readers', adminHeaders, { readers: 1, unitCostYen: 90_000, deliveredOn: '2020-09-01' });
    at('2020-10-20');
    await act(caseOf(rep.code), 'complete_work', ra.headers);
    await act(caseOf(m1.code), 'complete_work', m1a.headers);

    // Form 2 only after the confirmation, only by the representative.
    at('2020-11-02');
    const apps = [
      { facilityCode: rep.code, costItems: [{ kind: 'terminal', amountYen: 1_500_000, evidence: ['rep.pdf'] }] },
      { facilityCode: m1.code, costItems: [{ kind: 'terminal', amountYen: 500_000, evidence: ['m1.pdf'] }] },
      { facilityCode: m2.code, costItems: [{ kind: 'package_software', amountYen: 200_000 }] },
    ];
    expect(expectError(await post(`/v1/itfund/organisations/${oid}/bulk-applications`, ra.headers, { applications: apps }), 409, 'ONSHI_ITFUND_ORGANISATION_STATE')).toMatchObject({ state: 'registered' });
    expectError(await post(`/v1/itfund/organisations/${oid}/confirm`, ra.headers), 403, 'ONSHI_AUTH_FORBIDDEN');
    expect(await ok(`/v1/itfund/organisations/${oid}/confirm`, adminHeaders)).toMatchObject({ state: 'confirmed', confirmedAt: expect.any(String) });
    expectError(await post(`/v1/itfund/organisations/${oid}/confirm`, adminHeaders), 409, 'ONSHI_ITFUND_ORGANISATION_STATE');
    expectError(await post(`/v1/itfund/organisations/${oid}/bulk-applications`, m1a.headers, { applications: apps }), 404, 'ONSHI_ITFUND_ORGANISATION_NOT_FOUND');
    expect(fieldProblems(expectError(await post(`/v1/itfund/organisations/${oid}/bulk-applications`, ra.headers, { applications: [] }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['applications:required']);

    // All or nothing: m2's work is not complete, the outsider is no member, one application is malformed, one duplicated.
    const refused = expectError(
      await post(`/v1/itfund/organisations/${oid}/bulk-applications`, ra.headers, {
        applications: [...apps, { facilityCode: outsider.code, costItems: apps[1].costItems }, { facilityCode: m1.code, costItems: apps[1].costItems }, { costItems: [] }],
      }),
      409,
      'ONSHI_ITFUND_BULK_REFUSED',
    );
    expect(refused.applications.map((r: { index: number; code: string }) => `${r.index}:${r.code}`)).toEqual(['2:ONSHI_ITFUND_TRANSITION_REFUSED', '3:ONSHI_ITFUND_ORGANISATION_NOT_FOUND', '4:ONSHI_REQUEST_INVALID', '5:ONSHI_REQUEST_INVALID']);
    expect(refused.applications[0]).toMatchObject({ facilityCode: m2.code, details: { state: 'readers_provided', allowedActions: ['complete_work'] } });
    expect(fieldProblems(refused.applications[2].details.errors)).toEqual(['facilityCode:duplicate']);
    expect(await state(caseOf(rep.code))).toBe('work_completed');
    expect(await state(caseOf(m1.code))).toBe('work_completed');
    const badItems = expectError(await post(`/v1/itfund/organisations/${oid}/bulk-applications`, ra.headers, { applications: [apps[0], { facilityCode: m1.code, costItems: [{ kind: 'coffee', amountYen: 1 }] }] }), 409, 'ONSHI_ITFUND_BULK_REFUSED');
    expect(badItems.applications).toHaveLength(1);
    expect(fieldProblems(badItems.applications[0].details.errors)).toEqual(['costItems.0.kind:not_allowed']);
    expect(await state(caseOf(rep.code))).toBe('work_completed');
    expect((await h.app.inject({ method: 'GET', url: `/v1/itfund/organisations/${oid}`, headers: adminHeaders })).json().bulkApplications).toEqual([]);

    // m2 completes its work; the bulk application is taken, each member computed on its own.
    await act(caseOf(m2.code), 'complete_work', m2a.headers);
    const submitted = await ok(`/v1/itfund/organisations/${oid}/bulk-applications`, ra.headers, { applications: apps }, 201);
    const byCode = (o: { members: { facilityCode: string; case: Record<string, any> }[] }, code: string) => o.members.find((m) => m.facilityCode === code)!.case;
    expect(byCode(submitted, rep.code)).toMatchObject({ state: 'subsidy_applied', computed: { table: '別表1-1', subsidyYen: 750_000 } });
    expect(byCode(submitted, m1.code)).toMatchObject({ state: 'subsidy_applied', computed: { table: '別表3', subsidyYen: 321_000 } });
    expect(byCode(submitted, m2.code)).toMatchObject({ state: 'subsidy_applied', computed: { table: '別表3', subsidyYen: 150_000 } });
    expect(submitted.bulkApplications).toEqual([{ id: submitted.bulkApplicationId, submittedOn: '2020-11-02', submittedBy: `facility:${ra.id}`, caseIds: [caseOf(rep.code), caseOf(m1.code), caseOf(m2.code)].sort() }]);
    expect(byCode(submitted, m1.code).history.at(-1)).toMatchObject({ action: 'apply_subsidy', actor: `facility:${ra.id}`, details: { organisationId: oid, bulkId: submitted.bulkApplicationId } });

    // Decided individually through the ordinary life cycle; a member answers corrections itself.
    await act(caseOf(rep.code), 'approve', adminHeaders);
    await act(caseOf(m1.code), 'reject', adminHeaders, { reason: '導入の実態が確認できない' });
    await act(caseOf(m2.code), 'request_corrections', adminHeaders, { reason: '領収書を添付してください' });
    await act(caseOf(m2.code), 'resubmit', m2a.headers, { costItems: [{ kind: 'package_software', amountYen: 200_000, evidence: ['m2.pdf'] }] });
    const seen = (await h.app.inject({ method: 'GET', url: `/v1/itfund/organisations/${oid}`, headers: ra.headers })).json();
    expect(seen.members.map((m: { facilityCode: string; case: { state: string } }) => `${m.facilityCode}:${m.case.state}`).sort()).toEqual([`${rep.code}:approved`, `${m1.code}:rejected`, `${m2.code}:subsidy_applied`].sort());

    // Who sees the organisation: its representative and the reviewers.
    expectError(await h.app.inject({ method: 'GET', url: `/v1/itfund/organisations/${oid}`, headers: m1a.headers }), 404, 'ONSHI_ITFUND_ORGANISATION_NOT_FOUND');
    expectError(await h.app.inject({ method: 'GET', url: `/v1/itfund/organisations/${oid}`, headers: xa.headers }), 404, 'ONSHI_ITFUND_ORGANISATION_NOT_FOUND');
    expectError(await h.app.inject({ method: 'GET', url: '/v1/itfund/organisations/nope', headers: adminHeaders }), 404, 'ONSHI_ITFUND_ORGANISATION_NOT_FOUND');
    expect((await h.app.inject({ method: 'GET', url: '/v1/itfund/organisations', headers: ra.headers })).json().organisations.map((o: { id: string }) => o.id)).toEqual([oid]);
    expect((await h.app.inject({ method: 'GET', url: '/v1/itfund/organisations', headers: xa.headers })).json()).toEqual({ organisations: [] });
    expect((await h.app.inject({ method: 'GET', url: '/v1/itfund/organisations', headers: adminHeaders })).json().organisations.map((o: { id: string }) => o.id)).toContain(oid);
  });
});
