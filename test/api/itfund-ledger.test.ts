// The subsidy ledger (補助金台帳) through the API, on every store: entries per facility by fiscal year,
// the CSV export, the fiscal-year summary, retention dates, the property's useful life, the tax
// deduction reports with their due date, and who may see what.

import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { storeKinds } from '../support/stores.ts';
import { adminHeaders, createFacility, expectError, fieldProblems, issueCredential, useApp, type Headers } from '../support/fixtures.ts';

describe.each(storeKinds)('IT support fund ledger on %s', (kind) => {
  let now = new Date('2020-08-03T03:00:00Z');
  const at = (date: string) => (now = new Date(`${date}T03:00:00Z`));
  const h = useApp(kind, { clock: () => now });
  const get = (url: string, headers: Headers) => h.app.inject({ method: 'GET', url, headers });
  const ok = async (method: 'POST' | 'PUT', url: string, headers: Headers, payload: Record<string, unknown> = {}, status = 200) => {
    const r = await h.app.inject({ method, url, headers, payload });
    expect(r.statusCode, r.body).toBe(status);
    return r.json();
  };
  const act = (id: string, action: string, headers: Headers, payload: Record<string, unknown> = {}) => ok('POST', `/v1/itfund/cases/${id}/actions/${action}`, headers, payload);

  it('records readers and subsidies per facility, by fiscal year, with retention and tax reports', async () => {
    const hospital = await createFacility(h.app, { type: 'hospital', name: '台帳病院' });
    const clinic = await createFacility(h.app, { type: 'clinic', name: '台帳診療所' });
    const pharmacy = await createFacility(h.app, { type: 'pharmacy' });
    const ha = await issueCredential(h.app, { facilityCode: hospital.code, role: 'facility_admin' });
    const ca = await issueCredential(h.app, { facilityCode: clinic.code, role: 'facility_admin' });
    const pa = await issueCredential(h.app, { facilityCode: pharmacy.code, role: 'facility_admin' });

    at('2020-08-03');
    const hid = (await ok('POST', '/v1/itfund/cases', ha.headers, {}, 201)).id as string;
    const cid = (await ok('POST', '/v1/itfund/cases', ca.headers, {}, 201)).id as string;
    const pid = (await ok('POST', '/v1/itfund/cases', pa.headers, {}, 201)).id as string;
    await act(hid, 'apply_readers', ha.headers, { readersRequested: 2 });
    await act(cid, 'apply_readers', ca.headers);
    at('2020-09-10');
    await act(hid, 'provide_readers', adminHeaders, { readers: 2, unitCostYen: 99_000, deliveredOn: '2020-09-01' });
    at('2021-03-31');
    await act(hid, 'complete_work', ha.headers, { completedOn: '2021-03-31' });
    at('2021-04-20');
    await act(cid, 'provide_readers', adminHeaders, { readers: 1, unitCostYen: 88_000, deliveredOn: '2021-04-05' });
    await act(cid, 'complete_work', ca.headers, { completedOn: '2021-04-10' });
    await act(hid, 'apply_subsidy', ha.headers, { costItems: [{ kind: 'terminal', amountYen: 1_000_000, evidence: ['invoice.pdf'] }] });
    await act(hid, 'approve', adminHeaders);
    await act(hid, 'issue_decision', adminHeaders);
    await act(hid, 'record_payment', adminHeaders, { receivedOn: '2021-04-20' });

    // Fiscal year 2020 (2020-04-01..2021-03-31): the hospital's readers and its completion.
    const fy2020 = (await get('/v1/itfund/ledger?fiscalYear=2020', adminHeaders)).json();
    expect(fy2020.fiscalYear).toBe(2020);
    expect(fy2020.entries.map((e: { facilityCode: string }) => e.facilityCode)).toEqual([hospital.code]);
    const hEntry = fy2020.entries[0];
    expect(hEntry).toMatchObject({
      caseId: hid, facilityName: '台帳病院', category: 'hospital', readersProvided: 2, readerUnitCostYen: 99_000, readersDeliveredOn: '2020-09-01', workCompletedOn: '2021-03-31',
      decidedOn: '2021-04-20', subsidyGrantedYen: 500_000, grantedOn: '2021-04-20', paper: false,
      retention: { fiscalYearOfCompletion: 2020, basicUntil: '2026-03-31', usefulLifeYears: 5, usefulLifeEndsOn: '2026-03-31', keepUntil: '2026-03-31', basis: 'fiscal_year' },
      taxReport: { dueOn: '2022-06-30', reports: [], reported: false },
    });
    // Fiscal year 2021: the subsidy granted to the hospital, the clinic's reader; the pharmacy has no reader, so no entry.
    const fy2021 = (await get('/v1/itfund/ledger?fiscalYear=2021', adminHeaders)).json();
    expect(fy2021.entries.map((e: { facilityCode: string }) => e.facilityCode).sort()).toEqual([hospital.code, clinic.code].sort());
    expect(fy2021.entries.find((e: { caseId: string }) => e.caseId === cid)).toMatchObject({ subsidyGrantedYen: 0, grantedOn: null, retention: { fiscalYearOfCompletion: 2021, keepUntil: '2027-03-31' }, taxReport: { dueOn: '2023-06-30' } });
    expect((await get('/v1/itfund/ledger?fiscalYear=2019', adminHeaders)).json().entries).toEqual([]);
    expect((await get('/v1/itfund/ledger', adminHeaders)).json()).toMatchObject({ fiscalYear: null, entries: [expect.anything(), expect.anything()] });

    // The summaries.
    expect((await get('/v1/itfund/ledger/summary?fiscalYear=2020', adminHeaders)).json()).toMatchObject({
      fiscalYear: 2020, from: '2020-04-01', to: '2021-03-31', readers: { facilities: 1, readers: 2, costYen: 198_000 }, subsidies: { facilities: 0, grantedYen: 0 }, cancellations: { facilities: 0 },
    });
    expect((await get('/v1/itfund/ledger/summary?fiscalYear=2021', adminHeaders)).json()).toMatchObject({
      readers: { facilities: 1, readers: 1, costYen: 88_000 }, subsidies: { facilities: 1, grantedYen: 500_000, byCategory: { hospital: { facilities: 1, grantedYen: 500_000 } } }, returnsCollectedYen: 0,
    });
    expect((await get('/v1/itfund/ledger/summary?fiscalYear=2022', adminHeaders)).json()).toMatchObject({ taxReportsDue: { due: 1, reported: 0 } });
    expect(fieldProblems(expectError(await get('/v1/itfund/ledger/summary', adminHeaders), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['fiscalYear:required']);
    expect(fieldProblems(expectError(await get('/v1/itfund/ledger?fiscalYear=R3', adminHeaders), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['fiscalYear:format']);

    // CSV: header line, one row per entry.
    const csv = await get('/v1/itfund/ledger.csv?fiscalYear=2021', adminHeaders);
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toContain('itfund-ledger-FY2021.csv');
    const rows = parse(csv.body, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.case_id === hid)).toMatchObject({ facility_code: hospital.code, facility_name: '台帳病院', readers_provided: '2', subsidy_granted_yen: '500000', granted_on: '2021-04-20', keep_until: '2026-03-31', tax_report_due_on: '2022-06-30', tax_reported_on: '' });
    expect(rows.find((r) => r.case_id === cid)).toMatchObject({ subsidy_granted_yen: '0', granted_on: '' });

    // A longer statutory useful life of the property keeps the records longer; then its disposal.
    expect(fieldProblems(expectError(await h.app.inject({ method: 'PUT', url: `/v1/itfund/cases/${hid}/ledger/property`, headers: adminHeaders, payload: { usefulLifeYears: 0, disposedOn: '2021-02-30' } }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['disposedOn:invalid_date', 'usefulLifeYears:out_of_range']);
    expectError(await h.app.inject({ method: 'PUT', url: `/v1/itfund/cases/${hid}/ledger/property`, headers: ha.headers, payload: { usefulLifeYears: 10 } }), 403, 'ONSHI_AUTH_FORBIDDEN');
    expect(await ok('PUT', `/v1/itfund/cases/${hid}/ledger/property`, adminHeaders, { usefulLifeYears: 10 })).toMatchObject({ retention: { usefulLifeYears: 10, usefulLifeEndsOn: '2031-03-31', keepUntil: '2031-03-31', basis: 'useful_life' } });
    expect(await ok('PUT', `/v1/itfund/cases/${hid}/ledger/property`, adminHeaders, { usefulLifeYears: 10, disposedOn: '2032-05-01' })).toMatchObject({ retention: { disposedOn: '2032-05-01', keepUntil: '2032-05-01', basis: 'disposal' } });

    // Tax deduction reports: due 30 June of the fiscal year after next; late when reported after.
    at('2022-07-01');
    expect(fieldProblems(expectError(await h.app.inject({ method: 'POST', url: `/v1/itfund/cases/${hid}/ledger/tax-reports`, headers: adminHeaders, payload: { reportedOn: '2022-07-02' } }), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['deductionYen:required', 'reportedOn:out_of_range']);
    expect(await ok('POST', `/v1/itfund/cases/${hid}/ledger/tax-reports`, adminHeaders, { deductionYen: 0, reportedOn: '2022-06-30' }, 201)).toMatchObject({ taxReport: { dueOn: '2022-06-30', reported: true, reports: [{ deductionYen: 0, reportedOn: '2022-06-30', dueOn: '2022-06-30', late: false }] } });
    const late = await ok('POST', `/v1/itfund/cases/${cid}/ledger/tax-reports`, adminHeaders, { deductionYen: 8_000 }, 201);
    expect(late.taxReport).toEqual({ dueOn: '2023-06-30', reported: true, reports: [{ deductionYen: 8_000, reportedOn: '2022-07-01', dueOn: '2023-06-30', late: false }] });
    expect(await ok('POST', `/v1/itfund/cases/${hid}/ledger/tax-reports`, adminHeaders, { deductionYen: 12_345 }, 201)).toMatchObject({ taxReport: { reports: [{ late: false }, { deductionYen: 12_345, reportedOn: '2022-07-01', late: true }] } });
    expect((await get('/v1/itfund/ledger/summary?fiscalYear=2022', adminHeaders)).json()).toMatchObject({ taxReportsDue: { due: 1, reported: 1 } });
    const csv2 = parse((await get('/v1/itfund/ledger.csv', adminHeaders)).body, { columns: true }) as Record<string, string>[];
    expect(csv2.find((r) => r.case_id === hid)).toMatchObject({ tax_reported_on: '2022-07-01', tax_deduction_yen: '12345', keep_until: '2032-05-01' });

    // A facility sees its own entry (any of its staff); not another's, not the whole ledger; no entry before readers.
    expect((await get(`/v1/itfund/cases/${hid}/ledger`, hospital.headers)).json()).toMatchObject({ caseId: hid, subsidyGrantedYen: 500_000 });
    expect((await get(`/v1/itfund/cases/${cid}/ledger`, ca.headers)).json()).toMatchObject({ caseId: cid, readersProvided: 1 });
    expectError(await get(`/v1/itfund/cases/${hid}/ledger`, ca.headers), 404, 'ONSHI_ITFUND_CASE_NOT_FOUND');
    expectError(await get(`/v1/itfund/cases/${pid}/ledger`, pa.headers), 404, 'ONSHI_ITFUND_LEDGER_NO_ENTRY');
    expectError(await h.app.inject({ method: 'POST', url: `/v1/itfund/cases/${pid}/ledger/tax-reports`, headers: adminHeaders, payload: { deductionYen: 0 } }), 404, 'ONSHI_ITFUND_LEDGER_NO_ENTRY');
    for (const url of ['/v1/itfund/ledger', '/v1/itfund/ledger.csv', '/v1/itfund/ledger/summary?fiscalYear=2021']) expectError(await get(url, ha.headers), 403, 'ONSHI_AUTH_FORBIDDEN');

    // The routes are in the API description.
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/itfund/ledger', '/v1/itfund/ledger.csv', '/v1/itfund/ledger/summary', '/v1/itfund/cases/{id}/ledger', '/v1/itfund/organisations/{id}/bulk-applications']));
  });
});
