// The IT support fund decision notice (様式第3, 交付決定通知書) as a PDF (issue 7 item 2): refused
// until the decision is issued, then the facility and reviewers get it with the amount and items.

import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { adminHeaders, createFacility, createInsurer, expectError, issueCredential, useApp, type Headers } from '../support/fixtures.ts';
import { expectPdf } from '../support/pdf.ts';

describe.each(storeKinds)('IT support fund decision notice PDF on %s', (kind) => {
  let now = new Date('2020-07-20T03:00:00Z');
  const at = (date: string) => (now = new Date(`${date}T03:00:00Z`));
  const h = useApp(kind, { clock: () => now });
  const ok = async (id: string, action: string, headers: Headers, payload: Record<string, unknown> = {}) => {
    const r = await h.app.inject({ method: 'POST', url: `/v1/itfund/cases/${id}/actions/${action}`, headers, payload });
    expect(r.statusCode, r.body).toBe(200);
    return r.json();
  };
  const notice = (id: string, headers: Headers) => h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}/decision.pdf`, headers });

  it('refuses the notice before the decision (409 naming the state), then renders it for the facility and a reviewer only', async () => {
    at('2020-07-20');
    const hospital = await createFacility(h.app, { type: 'hospital', name: '医療法人さくら会　桜ヶ丘病院' });
    const fa = await issueCredential(h.app, { facilityCode: hospital.code, role: 'facility_admin' });
    const other = await createFacility(h.app, { type: 'clinic' });
    const otherAdmin = await issueCredential(h.app, { facilityCode: other.code, role: 'facility_admin' });
    const opened = await h.app.inject({ method: 'POST', url: '/v1/itfund/cases', headers: fa.headers, payload: {} });
    expect(opened.statusCode, opened.body).toBe(201);
    const id = opened.json().id as string;
    at('2020-08-03');
    await ok(id, 'apply_readers', fa.headers, { readersRequested: 2 });
    at('2020-09-10');
    await ok(id, 'provide_readers', adminHeaders, { readers: 2, unitCostYen: 99_000, deliveredOn: '2020-09-01' });
    at('2020-10-20');
    await ok(id, 'complete_work', fa.headers, { completedOn: '2020-10-15' });
    at('2020-11-02');
    await ok(id, 'apply_subsidy', fa.headers, {
      costItems: [
        { kind: 'terminal', amountYen: 1_500_000, evidence: ['invoice-terminal.pdf'] },
        { kind: 'system_modification', amountYen: 700_000, evidence: ['invoice-ehr.pdf'] },
        { kind: 'reader', amountYen: 120_000, units: 1, evidence: ['receipt-reader.pdf'] },
      ],
    });
    expect(expectError(await notice(id, fa.headers), 409, 'ONSHI_ITFUND_TRANSITION_REFUSED')).toMatchObject({ state: 'subsidy_applied', action: 'decision_notice' });
    at('2020-11-16');
    expect(await ok(id, 'approve', adminHeaders, { amountYen: 1_001_000 })).toMatchObject({ state: 'approved', approvedYen: 1_001_000 });
    expect(expectError(await notice(id, adminHeaders), 409, 'ONSHI_ITFUND_TRANSITION_REFUSED')).toMatchObject({ state: 'approved', action: 'decision_notice', allowedActions: ['issue_decision'] });
    at('2020-11-20');
    expect(await ok(id, 'issue_decision', adminHeaders)).toMatchObject({ state: 'decided', decidedOn: '2020-11-20' });

    for (const headers of [fa.headers, adminHeaders]) {
      const text = expectPdf(await notice(id, headers));
      for (const s of ['交付決定通知書', '医療法人さくら会桜ヶ丘病院', hospital.code, '令和2年11月20日', '1,001,000円', '2,299,000円', '端末（資格確認端末）', '120,000円', '99,000円', '交付することに決定したので通知します']) {
        expect(text, s).toContain(s);
      }
    }

    // Another facility does not see the case; an insurer is not a party; an unknown case is 404.
    expectError(await notice(id, otherAdmin.headers), 404, 'ONSHI_ITFUND_CASE_NOT_FOUND');
    expectError(await notice(id, (await createInsurer(h.app)).headers), 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await notice('no-such-case', adminHeaders), 404, 'ONSHI_ITFUND_CASE_NOT_FOUND');

    // The notice stays available after payment.
    at('2020-12-15');
    await ok(id, 'record_payment', adminHeaders, { receivedOn: '2020-12-10' });
    expect(expectPdf(await notice(id, fa.headers))).toContain('1,001,000円');
  });
});
