import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { storeKinds } from '../support/stores.ts';
import { adminHeaders, createFacility, expectError, fieldProblems, issueCredential, newFacilityCode, useApp, type Harness } from '../support/fixtures.ts';
import { insertUsageEvents, type NewUsageEvent } from '../../src/confirmation/repository.ts';
import { makeFacilityCode } from '../../src/registry/rules.ts';

function event(facility: string, date: string, method: 'my_number_card' | 'insurance_card', person: string, insurer = '06130013'): NewUsageEvent {
  return { confirmation_id: randomUUID(), occurred_at: `${date}T01:00:00.000Z`, occurred_on: date, facility_code: facility, method, result: 'valid', reason: null, insurer_number: insurer, person_id: person, consent_id: null };
}

const csv = (header: string, lines: (string | number | null)[][]) => [header, ...lines.map((l) => l.map((v) => (v === null ? '' : String(v))).join(','))].join('\n') + '\n';

async function importCsv(h: Harness, url: string, body: string | Buffer, contentType = 'text/csv') {
  return h.app.inject({ method: 'POST', url, headers: { ...adminHeaders, 'content-type': contentType }, payload: body });
}

// The seed's July 2024 table: [prefecture, rate %, change pt from June]. The weights (×10,000
// confirmations a month) are chosen so that the nation comes to 11.13% (+1.23 pt) as in the seed.
const july2024: [string, number, number, number][] = [
  ['北海道', 12.14, 1.63, 89], ['青森県', 10.27, 1.49, 18], ['岩手県', 12.97, 1.4, 19], ['宮城県', 10.55, 1.5, 41], ['秋田県', 11.83, 1.82, 10],
  ['山形県', 12.43, 1.81, 6], ['福島県', 15.19, 1.43, 13], ['茨城県', 12.93, 1.24, 36], ['栃木県', 14.06, 1.7, 29], ['群馬県', 13.33, 1.51, 10],
  ['埼玉県', 9.84, 1.12, 94], ['千葉県', 11.67, 1.25, 124], ['東京都', 10.03, 0.99, 152], ['神奈川県', 10.5, 1.15, 127], ['新潟県', 15.66, 1.8, 12],
  ['富山県', 18.0, 1.93, 19], ['石川県', 16.63, 1.42, 10], ['福井県', 16.88, 1.77, 9], ['山梨県', 10.23, 1.44, 13], ['長野県', 9.88, 1.27, 29],
  ['岐阜県', 11.09, 1.21, 23], ['静岡県', 12.82, 1.33, 55], ['愛知県', 9.07, 1.18, 94], ['三重県', 10.43, 1.16, 30], ['滋賀県', 12.52, 1.48, 11],
  ['京都府', 12.06, 1.33, 31], ['大阪府', 9.91, 1.12, 65], ['兵庫県', 10.37, 0.98, 29], ['奈良県', 11.03, 1.17, 11], ['和歌山県', 7.72, 0.89, 15],
  ['鳥取県', 14.12, 1.07, 5], ['島根県', 15.98, 1.87, 11], ['岡山県', 11.33, 1.36, 38], ['広島県', 12.57, 1.55, 22], ['山口県', 14.88, 1.6, 21],
  ['徳島県', 9.24, 1.1, 10], ['香川県', 11.91, 1.21, 9], ['愛媛県', 8.81, 1.23, 25], ['高知県', 10.36, 0.62, 11], ['福岡県', 10.19, 0.99, 85],
  ['佐賀県', 11.13, 0.85, 5], ['長崎県', 11.61, 1.24, 15], ['熊本県', 11.13, 0.95, 25], ['大分県', 10.52, 0.86, 18], ['宮崎県', 12.95, 0.71, 13],
  ['鹿児島県', 15.21, 0.81, 9], ['沖縄県', 4.75, 0.26, 19],
];

describe.each(storeKinds)('the July 2024 prefecture table on %s', (kind) => {
  const h = useApp(kind);

  it('imports facilities (Shift_JIS) and June/July aggregates, and reports the seed rates, changes, nation and top/bottom five', async () => {
    const codes = july2024.map((_, i) => makeFacilityCode(String(i + 1).padStart(2, '0'), 'clinic', String(900_000 + i)));
    const facilities = csv('code,name,type', codes.map((c, i) => [c, `${july2024[i][0]}テスト診療所`, 'clinic']));
    const f = await importCsv(h, '/v1/facilities/import', iconv.encode(facilities, 'Shift_JIS'));
    expect(f.statusCode, f.body).toBe(200);
    expect(f.json()).toMatchObject({ rows: 47, written: 47 });

    const lines: (string | number)[][] = [];
    july2024.forEach(([, rate, change, weight], i) => {
      const conf = weight * 10_000;
      const july = Math.round(rate * 100) * weight;
      const june = (Math.round(rate * 100) - Math.round(change * 100)) * weight;
      lines.push([codes[i], '2024-06', conf, june, june, conf], [codes[i], '2024-07', conf, july, july, conf]);
    });
    const a = await importCsv(h, '/v1/statistics/aggregates/import', csv('facility_code,month,confirmations,card_uses,card_users,claims', lines));
    expect(a.statusCode, a.body).toBe(200);
    expect(a.json()).toMatchObject({ rows: 94, written: 94 });

    const r = await h.app.inject({ method: 'GET', url: '/v1/statistics/prefectures?month=2024-07', headers: adminHeaders });
    expect(r.statusCode, r.body).toBe(200);
    const report = r.json();
    expect(report.national).toMatchObject({ ratePercent: 11.13, changePoints: 1.23 });
    expect(report.prefectures).toHaveLength(47);
    report.prefectures.forEach((p: { name: string; ratePercent: number; changePoints: number }, i: number) => {
      expect([p.name, p.ratePercent, p.changePoints]).toEqual([july2024[i][0], july2024[i][1], july2024[i][2]]);
    });
    const names = (flag: 'top5' | 'bottom5') => report.prefectures.filter((p: Record<string, unknown>) => p[flag]).sort((x: { rank: number }, y: { rank: number }) => x.rank - y.rank).map((p: { name: string }) => p.name);
    expect(names('top5')).toEqual(['富山県', '福井県', '石川県', '島根県', '新潟県']);
    expect(names('bottom5')).toEqual(['徳島県', '愛知県', '愛媛県', '和歌山県', '沖縄県']);
    expect(report.prefectures.find((p: { name: string }) => p.name === '富山県').rank).toBe(1);
    expect(report.prefectures.find((p: { name: string }) => p.name === '沖縄県').rank).toBe(47);
  });
});

describe.each(storeKinds)('statistics from usage events on %s', (kind) => {
  const h = useApp(kind);

  it('rolls up per facility and insurer, updates a month on a late event, and rebuilds to the same figures', async () => {
    const a = await createFacility(h.app, { code: newFacilityCode('clinic', '13') });
    const b = await createFacility(h.app, { code: newFacilityCode('pharmacy', '27'), type: 'pharmacy' });
    const db = h.ctx.database.db;
    await insertUsageEvents(db, [
      event(a.code, '2025-01-05', 'my_number_card', 'p1', 'I1'),
      event(a.code, '2025-01-20', 'my_number_card', 'p1', 'I1'),
      event(a.code, '2025-01-31', 'my_number_card', 'p2', 'I1'),
      event(a.code, '2025-01-31', 'insurance_card', 'p3', 'I1'),
      event(a.code, '2025-02-01', 'my_number_card', 'p1', 'I1'),
      event(a.code, '2025-02-28', 'insurance_card', 'p2', 'I1'),
      ...['p5', 'p6', 'p7', 'p8'].map((p) => event(b.code, '2025-02-10', 'insurance_card', p, 'I2')),
      event(b.code, '2025-02-11', 'my_number_card', 'p4', 'I2'),
    ]);
    const roll = await h.app.inject({ method: 'POST', url: '/v1/statistics/rollup', headers: adminHeaders });
    expect(roll.statusCode, roll.body).toBe(200);
    expect(roll.json()).toMatchObject({ events: 11, facilityMonths: 3, rebuilt: false });
    const again = await h.app.inject({ method: 'POST', url: '/v1/statistics/rollup', headers: adminHeaders });
    expect(again.json()).toMatchObject({ events: 0, facilityMonths: 0 });

    const figures = async () => (await h.app.inject({ method: 'GET', url: `/v1/facilities/${a.code}/statistics`, headers: a.headers })).json().months;
    expect(await figures()).toEqual([
      { month: '2025-01', confirmations: 4, cardUses: 3, cardUsers: 2, claims: null, source: 'events', ratePercent: 75, changePoints: null },
      { month: '2025-02', confirmations: 2, cardUses: 1, cardUsers: 1, claims: null, source: 'events', ratePercent: 50, changePoints: -25 },
    ]);
    const feb = (await h.app.inject({ method: 'GET', url: '/v1/statistics/facilities?month=2025-02', headers: adminHeaders })).json();
    expect(feb.rows).toEqual([
      { key: a.code, confirmations: 2, cardUses: 1, ratePercent: 50, changePoints: -25, rank: 1, top5: true, bottom5: true },
      { key: b.code, confirmations: 5, cardUses: 1, ratePercent: 20, changePoints: null, rank: 2, top5: true, bottom5: true },
    ]);
    const pref = (await h.app.inject({ method: 'GET', url: '/v1/statistics/prefectures?month=2025-02', headers: adminHeaders })).json();
    expect(pref.national).toEqual({ confirmations: 7, cardUses: 2, ratePercent: 28.57, changePoints: -46.43 });
    expect(pref.prefectures.find((p: { prefecture: string }) => p.prefecture === '13')).toMatchObject({ ratePercent: 50, changePoints: -25, rank: 1 });
    expect(pref.prefectures.find((p: { prefecture: string }) => p.prefecture === '01')).toMatchObject({ confirmations: 0, ratePercent: null, rank: null, top5: false });

    // A late event for January: the next report recomputes that facility-month (users are distinct persons).
    await insertUsageEvents(db, [event(a.code, '2025-01-15', 'my_number_card', 'p3', 'I1'), event(a.code, '2025-01-16', 'my_number_card', 'p1', 'I1')]);
    expect(await figures()).toEqual([
      { month: '2025-01', confirmations: 6, cardUses: 5, cardUsers: 3, claims: null, source: 'events', ratePercent: 83.33, changePoints: null },
      { month: '2025-02', confirmations: 2, cardUses: 1, cardUsers: 1, claims: null, source: 'events', ratePercent: 50, changePoints: -33.33 },
    ]);
    const insurers = (await h.app.inject({ method: 'GET', url: '/v1/statistics/insurers?month=2025-01', headers: adminHeaders })).json();
    expect(insurers.rows).toEqual([{ key: 'I1', confirmations: 6, cardUses: 5, ratePercent: 83.33, changePoints: null, rank: 1, top5: true, bottom5: true }]);
    const insurersFeb = (await h.app.inject({ method: 'GET', url: '/v1/statistics/insurers?month=2025-02', headers: adminHeaders })).json();
    expect(insurersFeb.rows.map((r: { key: string; ratePercent: number; changePoints: number | null }) => [r.key, r.ratePercent, r.changePoints])).toEqual([['I1', 50, -33.33], ['I2', 20, null]]);

    // Rebuilding from the events gives the same figures.
    const rebuilt = await h.app.inject({ method: 'POST', url: '/v1/statistics/rollup?rebuild=true', headers: adminHeaders });
    expect(rebuilt.json()).toMatchObject({ rebuilt: true, events: 13, facilityMonths: 3, insurerMonths: 3 });
    expect(await figures()).toEqual([
      { month: '2025-01', confirmations: 6, cardUses: 5, cardUsers: 3, claims: null, source: 'events', ratePercent: 83.33, changePoints: null },
      { month: '2025-02', confirmations: 2, cardUses: 1, cardUsers: 1, claims: null, source: 'events', ratePercent: 50, changePoints: -33.33 },
    ]);
    const insurersAfter = (await h.app.inject({ method: 'GET', url: '/v1/statistics/insurers?month=2025-01', headers: adminHeaders })).json();
    expect(insurersAfter.rows[0]).toMatchObject({ key: 'I1', confirmations: 6, cardUses: 5 });

    // An imported facility-month is authoritative: events neither replace it nor does a rebuild.
    const imp = await importCsv(h, '/v1/statistics/aggregates/import', csv('facility_code,month,confirmations,card_uses,card_users,claims', [[a.code, '2025-02', 10, 9, 8, 100]]));
    expect(imp.statusCode, imp.body).toBe(200);
    await insertUsageEvents(db, [event(a.code, '2025-02-03', 'insurance_card', 'p9', 'I1')]);
    await h.app.inject({ method: 'POST', url: '/v1/statistics/rollup?rebuild=true', headers: adminHeaders });
    expect((await figures())[1]).toEqual({ month: '2025-02', confirmations: 10, cardUses: 9, cardUsers: 8, claims: 100, source: 'import', ratePercent: 90, changePoints: 6.67 });

    // Another facility may not read these figures.
    const other = await h.app.inject({ method: 'GET', url: `/v1/facilities/${a.code}/statistics`, headers: b.headers });
    expectError(other, 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await h.app.inject({ method: 'GET', url: '/v1/statistics/prefectures?month=2025-02', headers: b.headers }), 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await h.app.inject({ method: 'GET', url: '/v1/statistics/prefectures?month=2025-02' }), 401, 'ONSHI_AUTH_MISSING_TOKEN');
  });

  it('400 for a bad or missing month', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/v1/statistics/prefectures?month=2024-13', headers: adminHeaders });
    expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['month:format']);
    const m = await h.app.inject({ method: 'GET', url: '/v1/statistics/insurers', headers: adminHeaders });
    expect(fieldProblems(expectError(m, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['month:required']);
  });

  it('aggregate import: all or nothing, each rejected row with its line', async () => {
    const f = await createFacility(h.app);
    const body = csv('facility_code,month,confirmations,card_uses,card_users,claims', [
      [f.code, '2023-10', 100, 40, 30, 1000],
      [f.code, '2023-13', 100, 40, 30, null],
      [f.code, '2023-11', 10, 40, 50, 'x'],
      ['1310000010', '2023-10', 1, 1, 1, 1],
      [f.code, '2023-10', 100, 40, 30, 1000],
    ]);
    const r = await importCsv(h, '/v1/statistics/aggregates/import', body);
    const err = expectError(r, 422, 'ONSHI_IMPORT_REJECTED');
    expect(err.rejectedRows).toBe(4);
    expect(err.errors.map((e: { line: number; errors: { field: string; code: string }[] }) => [e.line, fieldProblems(e.errors)])).toEqual([
      [3, ['month:format']],
      [4, ['card_users:mismatch', 'card_uses:mismatch', 'claims:format']],
      [6, ['month:duplicate']],
      [5, ['facility_code:not_allowed']],
    ]);
    const figures = (await h.app.inject({ method: 'GET', url: `/v1/facilities/${f.code}/statistics`, headers: adminHeaders })).json();
    expect(figures.months).toEqual([]);
    expectError(await importCsv(h, '/v1/statistics/aggregates/import', 'facility_code,month,confirmations,card_uses,card_users,claims\n'), 400, 'ONSHI_IMPORT_EMPTY');
    expectError(await importCsv(h, '/v1/statistics/aggregates/import', '{}', 'application/json'), 415, 'ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE');
  });

  it('facility import: adds, updates a known code, and rejects bad rows', async () => {
    const code = newFacilityCode('hospital', '01');
    const ok = await importCsv(h, '/v1/facilities/import', csv('code,name,type', [[code, '札幌テスト病院', 'hospital']]));
    expect(ok.json()).toMatchObject({ rows: 1, written: 1 });
    const upd = await importCsv(h, '/v1/facilities/import', csv('code,name,type', [[code, '札幌中央病院', 'hospital']]), 'text/csv; charset=utf-8');
    expect(upd.statusCode, upd.body).toBe(200);
    const got = (await h.app.inject({ method: 'GET', url: `/v1/facilities/${code}`, headers: adminHeaders })).json();
    expect(got).toMatchObject({ name: '札幌中央病院', type: 'hospital', prefecture: '01' });
    const bad = await importCsv(h, '/v1/facilities/import', csv('code,name,type', [[newFacilityCode('clinic'), '良い診療所', 'clinic'], ['1234567890', '', 'pharmacy'], [code, 'x', 'pharmacy']]));
    const err = expectError(bad, 422, 'ONSHI_IMPORT_REJECTED');
    expect(err.errors.map((e: { line: number; errors: { field: string; code: string }[] }) => [e.line, fieldProblems(e.errors)])).toEqual([
      [3, ['code:check_digit', 'name:required']],
      [4, ['type:mismatch']],
    ]);
    const admin = await issueCredential(h.app, { admin: true });
    const list = (await h.app.inject({ method: 'GET', url: '/v1/facilities?limit=1000', headers: admin.headers })).json();
    expect(list.facilities.some((x: { name: string }) => x.name === '良い診療所')).toBe(false);
  });
});
