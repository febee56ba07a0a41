// The IT support fund life cycle end to end through the API, on every store: a hospital from its
// portal account to a settled return, every refusal on the way, and a paper application at the deadlines.

import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { actions } from '../../src/itfund/lifecycle.ts';
import { adminHeaders, createFacility, expectError, fieldProblems, issueCredential, useApp, type Headers } from '../support/fixtures.ts';

describe.each(storeKinds)('IT support fund life cycle on %s', (kind) => {
  let now = new Date('2020-07-20T03:00:00Z');
  const at = (date: string) => (now = new Date(`${date}T03:00:00Z`)); // noon in Japan
  const h = useApp(kind, { clock: () => now });
  const act = (id: string, action: string, headers: Headers, payload: Record<string, unknown> = {}) => h.app.inject({ method: 'POST', url: `/v1/itfund/cases/${id}/actions/${action}`, headers, payload });
  const ok = async (id: string, action: string, headers: Headers, payload: Record<string, unknown> = {}) => {
    const r = await act(id, action, headers, payload);
    expect(r.statusCode, r.body).toBe(200);
    return r.json();
  };
  const refused = async (id: string, action: string, headers: Headers, state: string, allowed: string[]) => {
    const body = expectError(await act(id, action, headers), 409, 'ONSHI_ITFUND_TRANSITION_REFUSED');
    expect(body).toMatchObject({ state, action, allowedActions: allowed });
  };

  /** Every action the state does not allow is refused through the API, naming the state and the allowed ones. */
  const refuseAllOthers = async (id: string, state: string, allowed: string[]) => {
    for (const action of actions.filter((a) => !allowed.includes(a))) await refused(id, action, adminHeaders, state, allowed);
    const r = await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}`, headers: adminHeaders });
    expect(r.json()).toMatchObject({ state, allowedActions: allowed });
  };

  it('a hospital: account → readers → work → application → review → decision → payment → cancellation → return → settled', async () => {
    const hospital = await createFacility(h.app, { type: 'hospital' });
    const fa = await issueCredential(h.app, { facilityCode: hospital.code, role: 'facility_admin' });
    const other = await createFacility(h.app, { type: 'clinic' });
    const otherAdmin = await issueCredential(h.app, { facilityCode: other.code, role: 'facility_admin' });

    at('2020-07-20');
    // Reception staff may not open the account; the facility administrator may, only for itself.
    expectError(await h.app.inject({ method: 'POST', url: '/v1/itfund/cases', headers: hospital.headers, payload: {} }), 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await h.app.inject({ method: 'POST', url: '/v1/itfund/cases', headers: fa.headers, payload: { facilityCode: other.code } }), 403, 'ONSHI_AUTH_FORBIDDEN');
    const opened = await h.app.inject({ method: 'POST', url: '/v1/itfund/cases', headers: fa.headers, payload: {} });
    expect(opened.statusCode, opened.body).toBe(201);
    const c = opened.json();
    expect(c).toMatchObject({ facilityCode: hospital.code, category: 'hospital', state: 'account_opened', paper: false, allowedActions: ['apply_readers'] });
    const id = c.id as string;
    await refuseAllOthers(id, 'account_opened', ['apply_readers']);
    expectError(await h.app.inject({ method: 'POST', url: '/v1/itfund/cases', headers: fa.headers, payload: {} }), 409, 'ONSHI_ITFUND_CASE_EXISTS');

    // Reader applications open in August 2020.
    expect(expectError(await act(id, 'apply_readers', fa.headers, { readersRequested: 2 }), 409, 'ONSHI_ITFUND_PERIOD')).toMatchObject({ rule: 'not_open', limit: '2020-08-01' });
    at('2020-08-03');
    expect(fieldProblems(expectError(await act(id, 'apply_readers', fa.headers, { readersRequested: 4 }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['readersRequested:out_of_range']);
    expect(await ok(id, 'apply_readers', fa.headers, { readersRequested: 2 })).toMatchObject({ state: 'readers_applied', readersRequested: 2 });
    await refused(id, 'complete_work', fa.headers, 'readers_applied', ['provide_readers']);
    await refused(id, 'fly', fa.headers, 'readers_applied', ['provide_readers']);
    await refuseAllOthers(id, 'readers_applied', ['provide_readers']);
    expectError(await act(id, 'provide_readers', fa.headers, { readers: 2, unitCostYen: 99_000, deliveredOn: '2020-08-03' }), 403, 'ONSHI_AUTH_FORBIDDEN');

    at('2020-09-10');
    expect(fieldProblems(expectError(await act(id, 'provide_readers', adminHeaders, { readers: 3, unitCostYen: 99_001 }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['deliveredOn:required', 'readers:out_of_range', 'unitCostYen:out_of_range']);
    expect(await ok(id, 'provide_readers', adminHeaders, { readers: 2, unitCostYen: 99_000, deliveredOn: '2020-09-01', reason: '2台配付' })).toMatchObject({ state: 'readers_provided', readersProvided: 2 });
    await refused(id, 'apply_subsidy', fa.headers, 'readers_provided', ['complete_work']);
    await refuseAllOthers(id, 'readers_provided', ['complete_work']);

    at('2020-10-20');
    expect(await ok(id, 'complete_work', fa.headers, { completedOn: '2020-10-15' })).toMatchObject({ state: 'work_completed', workCompletedOn: '2020-10-15' });
    await refuseAllOthers(id, 'work_completed', ['apply_subsidy']);
    const items = [
      { kind: 'terminal', amountYen: 1_500_000, evidence: ['invoice-terminal.pdf'] },
      { kind: 'system_modification', amountYen: 700_000, evidence: ['invoice-ehr.pdf'] },
      { kind: 'reader', amountYen: 120_000, units: 1, evidence: ['receipt-reader.pdf'] },
    ];
    at('2020-10-25');
    expect(expectError(await act(id, 'apply_subsidy', fa.headers, { costItems: items }), 409, 'ONSHI_ITFUND_PERIOD')).toMatchObject({ rule: 'not_open', limit: '2020-11-01' });
    at('2020-11-02');
    expect(fieldProblems(expectError(await act(id, 'apply_subsidy', fa.headers, { costItems: [{ kind: 'coffee', amountYen: 1, evidence: [] }] }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['costItems.0.evidence:format', 'costItems.0.kind:not_allowed']);
    const applied = await ok(id, 'apply_subsidy', fa.headers, { costItems: items });
    // 1,500,000 + 700,000 + 99,000 (reader limit) = 2,299,000 × 1/2 = 1,149,500 → 別表1-2 cap 1,001,000.
    expect(applied).toMatchObject({ state: 'subsidy_applied', subsidyAppliedOn: '2020-11-02', computed: { table: '別表1-2', eligibleCostYen: 2_299_000, capYen: 1_001_000, subsidyYen: 1_001_000 } });
    expect(applied.costItems[0].evidence).toEqual(['invoice-terminal.pdf']);
    await refuseAllOthers(id, 'subsidy_applied', ['request_site_visit', 'request_corrections', 'approve', 'reject']);

    // Review: site visit, corrections, resubmission.
    expect(fieldProblems(expectError(await act(id, 'request_site_visit', adminHeaders), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['reason:required']);
    expectError(await act(id, 'approve', fa.headers), 403, 'ONSHI_AUTH_FORBIDDEN');
    expect(await ok(id, 'request_site_visit', adminHeaders, { reason: '端末の設置状況を確認' })).toMatchObject({ state: 'site_visit_requested', allowedActions: ['complete_site_visit', 'request_corrections', 'reject'] });
    await refuseAllOthers(id, 'site_visit_requested', ['complete_site_visit', 'request_corrections', 'reject']);
    await ok(id, 'complete_site_visit', adminHeaders, { reason: '確認済み' });
    expect(await ok(id, 'request_corrections', adminHeaders, { reason: '改修費の内訳を提出してください' })).toMatchObject({ state: 'corrections_requested' });
    await refuseAllOthers(id, 'corrections_requested', ['resubmit', 'reject']);
    const resubmitted = await ok(id, 'resubmit', fa.headers, { costItems: [items[0], { kind: 'system_modification', amountYen: 400_000, evidence: ['invoice-ehr-v2.pdf'] }] });
    expect(resubmitted).toMatchObject({ state: 'subsidy_applied', subsidyAppliedOn: '2020-11-02', computed: { eligibleCostYen: 1_900_000, subsidyYen: 950_000 } });

    // Approval: never above the computation; an excluded item counts nothing.
    expect(expectError(await act(id, 'approve', adminHeaders, { amountYen: 951_000 }), 409, 'ONSHI_ITFUND_AMOUNT_TOO_HIGH')).toMatchObject({ computedYen: 950_000 });
    expect(fieldProblems(expectError(await act(id, 'approve', adminHeaders, { exclusions: [{ index: 5, reason: 'x' }] }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['exclusions.0.index:out_of_range']);
    const approved = await ok(id, 'approve', adminHeaders, { exclusions: [{ index: 1, reason: '基礎的費用以外のカスタマイズ' }] });
    expect(approved).toMatchObject({ state: 'approved', approvedYen: 750_000, computed: { eligibleCostYen: 1_500_000, subsidyYen: 750_000 } });
    expect(approved.costItems[1].excludedReason).toBe('基礎的費用以外のカスタマイズ');
    await refuseAllOthers(id, 'approved', ['issue_decision']);
    expect(await ok(id, 'issue_decision', adminHeaders)).toMatchObject({ state: 'decided', decidedOn: '2020-11-02' });
    await refuseAllOthers(id, 'decided', ['record_payment']);
    at('2020-12-15');
    expect(await ok(id, 'record_payment', adminHeaders, { receivedOn: '2020-12-10' })).toMatchObject({ state: 'paid', receivedOn: '2020-12-10' });

    // Cancellation and the return order: 2 × 99,000 delivered 2020-09, cancelled 2021-06 (10 months) → 165,000 + 750,000.
    await refuseAllOthers(id, 'paid', ['cancel']);
    at('2021-06-10');
    expect(fieldProblems(expectError(await act(id, 'cancel', adminHeaders), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['reason:required']);
    expect(await ok(id, 'cancel', adminHeaders, { reason: '補助金の算定の基礎となる資料に虚偽の報告' })).toMatchObject({ state: 'cancelled', cancelledOn: '2021-06-10' });
    await refuseAllOthers(id, 'cancelled', ['order_return']);
    const ordered = await ok(id, 'order_return', adminHeaders, { dueOn: '2021-07-31' });
    expect(ordered).toMatchObject({ state: 'return_ordered', returnOrder: { principalYen: 915_000, dueOn: '2021-07-31', status: { readerResidualYen: 165_000, late: false, lateFeeYen: 0, outstandingYen: 915_000 } } });

    // Late: 2020-12-10..2021-08-31 is 265 days → 915,000 × 3% × 265/365 = 19,929.4 → 19,929, paid first.
    await refuseAllOthers(id, 'return_ordered', ['record_return_payment']);
    at('2021-08-31');
    const part = await ok(id, 'record_return_payment', adminHeaders, { amountYen: 900_000 });
    expect(part).toMatchObject({ state: 'return_ordered', returnOrder: { status: { late: true, lateFeeYen: 19_929, lateFeePaidYen: 19_929, principalPaidYen: 880_071, outstandingYen: 34_929 } } });
    // The rest accrues 2021-09-01..2021-09-30: 34,929 × 3% × 30/365 = 86.1 → 86.
    at('2021-09-30');
    const settled = await ok(id, 'record_return_payment', adminHeaders, { amountYen: 35_015 });
    expect(settled).toMatchObject({ state: 'settled', allowedActions: [], returnOrder: { status: { lateFeeYen: 20_015, outstandingYen: 0, settled: true } } });
    await refuseAllOthers(id, 'settled', []);

    // Who, when, why of every change, in order.
    const history = settled.history as { action: string; fromState: string; toState: string; actor: string; on: string; reason: string | null }[];
    expect(history.map((e) => `${e.action}:${e.toState}`)).toEqual([
      'open_account:account_opened', 'apply_readers:readers_applied', 'provide_readers:readers_provided', 'complete_work:work_completed', 'apply_subsidy:subsidy_applied',
      'request_site_visit:site_visit_requested', 'complete_site_visit:subsidy_applied', 'request_corrections:corrections_requested', 'resubmit:subsidy_applied',
      'approve:approved', 'issue_decision:decided', 'record_payment:paid', 'cancel:cancelled', 'order_return:return_ordered', 'record_return_payment:return_ordered', 'record_return_payment:settled',
    ]);
    expect(history[1]).toMatchObject({ actor: `facility:${fa.id}`, on: '2020-08-03', fromState: 'account_opened' });
    expect(history[2]).toMatchObject({ actor: expect.stringMatching(/^admin:/), reason: '2台配付' });
    expect(history[12].reason).toBe('補助金の算定の基礎となる資料に虚偽の報告');

    // Facilities see only their own cases; reviewers see all and filter by state.
    expectError(await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}`, headers: otherAdmin.headers }), 404, 'ONSHI_ITFUND_CASE_NOT_FOUND');
    expectError(await act(id, 'cancel', otherAdmin.headers, { reason: 'x' }), 404, 'ONSHI_ITFUND_CASE_NOT_FOUND');
    expect((await h.app.inject({ method: 'GET', url: '/v1/itfund/cases', headers: otherAdmin.headers })).json()).toEqual({ cases: [] });
    const mine = await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}`, headers: hospital.headers });
    expect(mine.json()).toMatchObject({ id, state: 'settled' });
    const all = (await h.app.inject({ method: 'GET', url: '/v1/itfund/cases?state=settled', headers: adminHeaders })).json();
    expect(all.cases.map((x: { id: string }) => x.id)).toContain(id);
    expectError(await h.app.inject({ method: 'GET', url: '/v1/itfund/cases/nope', headers: adminHeaders }), 404, 'ONSHI_ITFUND_CASE_NOT_FOUND');
  });

  it('a paper application entered by staff, flagged, at the deadlines', async () => {
    const clinic = await createFacility(h.app, { type: 'clinic' });
    at('2023-03-01');
    expect(fieldProblems(expectError(await h.app.inject({ method: 'POST', url: '/v1/itfund/cases', headers: adminHeaders, payload: { facilityCode: clinic.code } }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['paper:required']);
    const r = await h.app.inject({ method: 'POST', url: '/v1/itfund/cases', headers: adminHeaders, payload: { facilityCode: clinic.code, paper: true, reason: '回線未整備のため書面で申請' } });
    expect(r.statusCode, r.body).toBe(201);
    const id = r.json().id as string;
    expect(r.json()).toMatchObject({ paper: true, category: 'clinic' });
    const paper = { paper: true, reason: '書面申請' };
    expect(fieldProblems(expectError(await act(id, 'apply_readers', adminHeaders, {}), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['paper:required']);
    expect(fieldProblems(expectError(await act(id, 'apply_readers', adminHeaders, { ...paper, readersRequested: 2 }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['readersRequested:out_of_range']);
    await ok(id, 'apply_readers', adminHeaders, { ...paper, receivedOn: '2023-02-20' });
    await ok(id, 'provide_readers', adminHeaders, { readers: 1, unitCostYen: 88_000, deliveredOn: '2023-03-01' });

    // Work must be complete by 2023-03-31 (the day completed counts, not the day reported).
    at('2023-04-03');
    expect(expectError(await act(id, 'complete_work', adminHeaders, { ...paper, completedOn: '2023-04-01' }), 409, 'ONSHI_ITFUND_PERIOD')).toMatchObject({ rule: 'deadline_passed', limit: '2023-03-31', date: '2023-04-01' });
    await ok(id, 'complete_work', adminHeaders, { ...paper, completedOn: '2023-03-31' });

    // Applications close 2023-06-30; a paper form received by then is accepted later.
    at('2023-07-03');
    const items = [{ kind: 'terminal', amountYen: 500_000 }];
    expect(expectError(await act(id, 'apply_subsidy', adminHeaders, { ...paper, costItems: items }), 409, 'ONSHI_ITFUND_PERIOD')).toMatchObject({ rule: 'deadline_passed', limit: '2023-06-30', date: '2023-07-03' });
    expect(fieldProblems(expectError(await act(id, 'apply_subsidy', adminHeaders, { ...paper, receivedOn: '2023-07-04', costItems: items }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['receivedOn:out_of_range']);
    const applied = await ok(id, 'apply_subsidy', adminHeaders, { ...paper, receivedOn: '2023-06-30', costItems: items });
    // 500,000 × 3/4 = 375,000 → 別表3 cap 321,000.
    expect(applied).toMatchObject({ state: 'subsidy_applied', paper: true, subsidyAppliedOn: '2023-06-30', computed: { table: '別表3', subsidyYen: 321_000 } });
    expect(applied.history.at(-1)).toMatchObject({ paper: true, on: '2023-06-30', reason: '書面申請' });
    expect(await ok(id, 'reject', adminHeaders, { reason: '導入の実態が確認できない' })).toMatchObject({ state: 'rejected', allowedActions: [] });
    await refuseAllOthers(id, 'rejected', []);
  });
});
