// Batch entry of paper subsidy applications from CSV (the importer behind `onshi itfund import`), on
// every store: Shift_JIS detected, one application per facility from its cost-item rows, per-row
// errors by line, all or nothing.

import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { storeKinds } from '../support/stores.ts';
import { adminHeaders, createFacility, fieldProblems, issueCredential, useApp, type Headers } from '../support/fixtures.ts';
import { readImportRows } from '../../src/registry/import.ts';
import { OnshiError } from '../../src/platform/errors.ts';
import { CLI_PRINCIPAL } from '../../src/itfund/cli.ts';

describe.each(storeKinds)('IT support fund application import on %s', (kind) => {
  let now = new Date('2020-08-03T03:00:00Z');
  const at = (date: string) => (now = new Date(`${date}T03:00:00Z`));
  const h = useApp(kind, { clock: () => now });
  const act = async (id: string, action: string, headers: Headers, payload: Record<string, unknown> = {}) => {
    const r = await h.app.inject({ method: 'POST', url: `/v1/itfund/cases/${id}/actions/${action}`, headers, payload });
    expect(r.statusCode, r.body).toBe(200);
    return r.json();
  };
  const rowsOf = (csv: string, encoding = 'utf8') => readImportRows(Readable.from([iconv.encode(csv, encoding)]), 'csv', undefined);
  const refusal = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(OnshiError);
    expect((e as OnshiError).code).toBe('ONSHI_IMPORT_REJECTED');
    return (e as OnshiError).details as { rows: number; rejectedRows: number; errors: { line: number; facilityCode: string | null; code: string; errors?: { field: string; code: string }[]; details?: Record<string, unknown> }[] };
  };

  it('enters paper applications per facility, all or nothing, with per-row errors', async () => {
    const hospital = await createFacility(h.app, { type: 'hospital' });
    const clinic = await createFacility(h.app, { type: 'clinic' });
    const early = await createFacility(h.app, { type: 'clinic' });
    const ids: Record<string, string> = {};
    for (const f of [hospital, clinic, early]) {
      const fa = await issueCredential(h.app, { facilityCode: f.code, role: 'facility_admin' });
      const r = await h.app.inject({ method: 'POST', url: '/v1/itfund/cases', headers: fa.headers, payload: {} });
      ids[f.code] = r.json().id;
      await act(ids[f.code], 'apply_readers', fa.headers);
      at('2020-09-10');
      await act(ids[f.code], 'provide_readers', adminHeaders, { readers: 1, unitCostYen: 99_000, deliveredOn: '2020-09-01' });
      at('2020-10-05');
      if (f !== early) await act(ids[f.code], 'complete_work', fa.headers, { completedOn: '2020-10-01' });
      at('2020-08-03');
    }
    at('2020-12-01');
    const header = 'facility_code,received_on,kind,amount_yen,units,evidence,reason';
    const bad = [
      header,
      `${hospital.code},2020-11-20,terminal,1000000,,見積書.pdf;請求書.pdf,回線障害のため書面`, // line 2
      `${hospital.code},2020-11-21,reader,120000,1,,`, // 3: another receipt date
      `${clinic.code},2020-11-20,coffee,500,,,`, // 4: unknown kind
      `${clinic.code},2020-11-20,terminal,-5,,,`, // 5: bad amount
      `${early.code},2020-11-20,terminal,300000,,,`, // 6: work not complete
      `,2020-11-20,terminal,1,,,`, // 7: no facility
      `1399999999,2020-11-20,terminal,1,,,`, // 8: no case
    ].join('\r\n');
    const d = await refusal(h.ctx.itfund.imports.importApplications(rowsOf(bad, 'Shift_JIS'), CLI_PRINCIPAL));
    expect(d.rows).toBe(7);
    expect(d.errors.map((e) => `${e.line}:${e.code}`)).toEqual(['3:ONSHI_REQUEST_INVALID', '4:ONSHI_REQUEST_INVALID', '5:ONSHI_REQUEST_INVALID', '6:ONSHI_ITFUND_TRANSITION_REFUSED', '7:ONSHI_REQUEST_INVALID', '8:ONSHI_ITFUND_CASE_NOT_FOUND']);
    expect(fieldProblems(d.errors[0].errors)).toEqual(['received_on:mismatch']);
    expect(fieldProblems(d.errors[1].errors)).toEqual(['kind:not_allowed']);
    expect(fieldProblems(d.errors[2].errors)).toEqual(['amountYen:out_of_range']);
    expect(d.errors[3]).toMatchObject({ facilityCode: early.code, details: { state: 'readers_provided' } });
    // Nothing was taken: the hospital's valid application too.
    const state = async (code: string) => (await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${ids[code]}`, headers: adminHeaders })).json();
    expect((await state(hospital.code)).state).toBe('work_completed');

    // Past the application deadline by receipt date: refused per facility.
    at('2023-07-05');
    const late = await refusal(h.ctx.itfund.imports.importApplications(rowsOf(`${header}\n${clinic.code},2023-07-01,terminal,100000,,,\n`), CLI_PRINCIPAL));
    expect(late.errors).toMatchObject([{ line: 2, code: 'ONSHI_ITFUND_PERIOD', details: { rule: 'deadline_passed', limit: '2023-06-30', date: '2023-07-01' } }]);
    // A receipt date in the future is refused on its line.
    const future = await refusal(h.ctx.itfund.imports.importApplications(rowsOf(`${header}\n${clinic.code},2023-07-06,terminal,100000,,,\n`), CLI_PRINCIPAL));
    expect(future.errors).toMatchObject([{ line: 2, code: 'ONSHI_REQUEST_INVALID', errors: [{ field: 'receivedOn', code: 'out_of_range' }] }]);
    at('2020-12-01');

    const progress: string[] = [];
    const good = [header, `${hospital.code},2020-11-20,terminal,1000000,,見積書.pdf;請求書.pdf,回線障害のため書面`, `${clinic.code},2020-11-25,terminal,500000,,,`, `${hospital.code},2020-11-20,reader,120000,1,,`].join('\n');
    const report = await h.ctx.itfund.imports.importApplications(rowsOf(good, 'Shift_JIS'), CLI_PRINCIPAL, (done, total) => progress.push(`${done}/${total}`));
    expect(report).toEqual({ rows: 3, applications: 2, caseIds: [ids[hospital.code], ids[clinic.code]] });
    expect(progress).toEqual(['0/2', '1/2', '2/2']);
    const hc = await state(hospital.code);
    // 1,000,000 + 99,000 (reader limit) = 1,099,000 × 1/2 = 549,500 → 549,000.
    expect(hc).toMatchObject({ state: 'subsidy_applied', paper: true, subsidyAppliedOn: '2020-11-20', computed: { table: '別表1-1', eligibleCostYen: 1_099_000, subsidyYen: 549_000 } });
    expect(hc.costItems[0].evidence).toEqual(['見積書.pdf', '請求書.pdf']);
    expect(hc.history.at(-1)).toMatchObject({ action: 'apply_subsidy', actor: 'admin:cli', paper: true, on: '2020-11-20', reason: '回線障害のため書面' });
    expect((await state(clinic.code))).toMatchObject({ computed: { subsidyYen: 321_000 }, history: expect.arrayContaining([expect.objectContaining({ reason: '書面による申請の一括入力' })]) });

    await expect(h.ctx.itfund.imports.importApplications(rowsOf(`${header}\n`), CLI_PRINCIPAL)).rejects.toMatchObject({ code: 'ONSHI_IMPORT_EMPTY' });
  });
});
