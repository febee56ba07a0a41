import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { storeKinds } from '../support/stores.ts';
import { adminHeaders, createInsurer, expectError, fieldProblems, issueCredential, newFacilityCode, useApp } from '../support/fixtures.ts';
import { insertUsageEvents, type NewUsageEvent } from '../../src/confirmation/repository.ts';

const csv = (header: string, lines: (string | number | null)[][]) => [header, ...lines.map((l) => l.map((v) => (v === null ? '' : String(v))).join(','))].join('\n') + '\n';

describe.each(storeKinds)('programmes over stored figures on %s', (kind) => {
  const h = useApp(kind);
  const c1 = newFacilityCode('clinic', '13');
  const h1 = newFacilityCode('hospital', '27');
  const p1 = newFacilityCode('pharmacy', '13');
  const x1 = newFacilityCode('clinic', '01');

  const put = (url: string, payload: unknown, headers = adminHeaders) => h.app.inject({ method: 'PUT', url, headers, payload: payload as object });
  const get = (url: string, headers: Record<string, string> = adminHeaders) => h.app.inject({ method: 'GET', url, headers });

  it('computes every facility: incentive with reasons, reader subsidy, payout CSV and totals', async () => {
    const f = await h.app.inject({
      method: 'POST', url: '/v1/facilities/import', headers: { ...adminHeaders, 'content-type': 'text/csv' },
      payload: csv('code,name,type', [[c1, '見本診療所', 'clinic'], [h1, '見本病院', 'hospital'], [p1, '見本薬局', 'pharmacy'], [x1, '新規診療所', 'clinic']]),
    });
    expect(f.statusCode, f.body).toBe(200);
    const a = await h.app.inject({
      method: 'POST', url: '/v1/statistics/aggregates/import', headers: { ...adminHeaders, 'content-type': 'text/csv' },
      payload: csv('facility_code,month,confirmations,card_uses,card_users,claims', [
        [c1, '2023-10', 1000, 60, 40, 1000], [c1, '2024-05', 1000, 300, 120, 900], [c1, '2024-07', 1500, 520, 200, 1100],
        [h1, '2023-10', 6000, 300, 100, 5000], [h1, '2024-02', 6000, 1200, 900, null], [h1, '2024-06', 6000, 800, 260, 5000],
        [p1, '2023-10', 150, 2, 2, 120], [p1, '2024-08', 150, 20, 14, 120],
      ]),
    });
    expect(a.statusCode, a.body).toBe(200);
    for (const code of [c1, h1]) expect((await put(`/v1/facilities/${code}/programme-profile`, { poster: true, askPatients: true, flyers: true, freeReaders: 1 })).statusCode).toBe(200);
    const partial = await put(`/v1/facilities/${p1}/programme-profile`, { poster: true, askPatients: true, flyers: false });
    expect(partial.json()).toEqual({ facilityCode: p1, conditions: { poster: true, askPatients: true, flyers: false }, freeReaders: 1, attested: true });

    const ci = (await get(`/v1/facilities/${c1}/incentive`)).json();
    expect(ci).toMatchObject({ amountYen: 200_000, table: 'clinic_pharmacy', band: '3-5%', column: 160, bestMonth: '2024-07', increase: 160 });
    const hi = (await get(`/v1/facilities/${h1}/incentive`)).json();
    expect(hi).toMatchObject({ amountYen: 100_000, table: 'hospital', column: 150, next: { moreUsers: 90, amountYen: 120_000 } });
    const pi = (await get(`/v1/facilities/${p1}/incentive`)).json();
    expect(pi).toMatchObject({ amountYen: 0, tableAmountYen: 10_000, table: 'small', conditionsMet: false, missingConditions: ['flyers'] });
    const xi = (await get(`/v1/facilities/${x1}/incentive`)).json();
    expect(xi).toMatchObject({ amountYen: 0, conditionsMet: false, missingConditions: ['poster', 'askPatients', 'flyers'], bestMonth: null, small: true, table: 'small' });

    expect((await get(`/v1/facilities/${c1}/reader-subsidy?costYen=600000`)).json()).toMatchObject({ eligible: true, peakMonth: '2024-07', peakUses: 520, readersAllowed: 1, capYen: 275_000, subsidyYen: 275_000 });
    expect((await get(`/v1/facilities/${h1}/reader-subsidy`)).json()).toMatchObject({ eligible: true, peakMonth: '2024-02', peakUses: 1200, readersAllowed: 2, capYen: 450_000 });
    expect((await get(`/v1/facilities/${p1}/reader-subsidy`)).json()).toMatchObject({ eligible: false, reason: 'below_500' });

    const totals = (await get('/v1/programmes/totals')).json();
    expect(totals.total).toEqual({ facilities: 4, paidFacilities: 2, amountYen: 300_000, readerEligible: 2, readerCapYen: 725_000 });
    expect(totals.byPrefecture).toEqual([
      { prefecture: '01', name: '北海道', facilities: 1, paidFacilities: 0, amountYen: 0, readerEligible: 0, readerCapYen: 0 },
      { prefecture: '13', name: '東京都', facilities: 2, paidFacilities: 1, amountYen: 200_000, readerEligible: 1, readerCapYen: 275_000 },
      { prefecture: '27', name: '大阪府', facilities: 1, paidFacilities: 1, amountYen: 100_000, readerEligible: 1, readerCapYen: 450_000 },
    ]);
    expect(totals.byType.map((t: { type: string; amountYen: number; facilities: number }) => [t.type, t.facilities, t.amountYen])).toEqual([['clinic', 2, 200_000], ['hospital', 1, 100_000], ['pharmacy', 1, 0]]);

    const payout = await get('/v1/programmes/incentives');
    expect(payout.statusCode).toBe(200);
    expect(payout.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parse(payout.body, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.facility_code, r.amount_yen, r.table, r.missing_conditions, r.readers_allowed])).toEqual(
      [[c1, '200000', 'clinic_pharmacy', '', '1'], [h1, '100000', 'hospital', '', '2'], [p1, '0', 'small', 'flyers', '0'], [x1, '0', 'small', 'poster askPatients flyers', '0']].sort((x, y) => (x[0] < y[0] ? -1 : 1)),
    );
  });

  it('a facility sees its own programmes only; only its facility_admin attests', async () => {
    const reception = await issueCredential(h.app, { facilityCode: c1 });
    const boss = await issueCredential(h.app, { facilityCode: c1, role: 'facility_admin' });
    expect((await get(`/v1/facilities/${c1}/incentive`, reception.headers)).statusCode).toBe(200);
    expectError(await get(`/v1/facilities/${h1}/incentive`, reception.headers), 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await get('/v1/programmes/totals', reception.headers), 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await put(`/v1/facilities/${c1}/programme-profile`, { poster: true, askPatients: true, flyers: true }, reception.headers), 403, 'ONSHI_AUTH_FORBIDDEN');
    expect((await put(`/v1/facilities/${c1}/programme-profile`, { poster: true, askPatients: true, flyers: true }, boss.headers)).statusCode).toBe(200);
    const bad = await put(`/v1/facilities/${c1}/programme-profile`, { poster: 'yes', flyers: true, freeReaders: 5 }, boss.headers);
    expect(fieldProblems(expectError(bad, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['askPatients:required', 'freeReaders:out_of_range', 'poster:format']);
    expectError(await get(`/v1/facilities/1310000010/incentive`), 404, 'ONSHI_REGISTRY_FACILITY_NOT_FOUND');
  });

  it('insurer targets: actual vs target, and municipal insurers above 50% in November 2024', async () => {
    const muni = await createInsurer(h.app, { kind: 'kokuho' });
    const muni2 = await createInsurer(h.app, { kind: 'kokuho' });
    const kenpo = await createInsurer(h.app, { kind: 'kenpo_kumiai' });
    const ev = (insurer: string, method: 'my_number_card' | 'insurance_card', n: number): NewUsageEvent[] =>
      Array.from({ length: n }, (_, i) => ({ confirmation_id: randomUUID(), occurred_at: '2024-11-10T01:00:00.000Z', occurred_on: '2024-11-10', facility_code: c1, method, result: 'valid', reason: null, insurer_number: insurer, person_id: `${insurer}-${method}-${i}`, consent_id: null }));
    await insertUsageEvents(h.ctx.database.db, [...ev(muni.insurerNumber, 'my_number_card', 51), ...ev(muni.insurerNumber, 'insurance_card', 49), ...ev(muni2.insurerNumber, 'my_number_card', 5), ...ev(muni2.insurerNumber, 'insurance_card', 5), ...ev(kenpo.insurerNumber, 'my_number_card', 9), ...ev(kenpo.insurerNumber, 'insurance_card', 1)]);

    const set = await put(`/v1/insurers/${muni.insurerNumber}/targets`, [{ month: '2024-05', targetPercent: 20 }, { month: '2024-11', targetPercent: 50.5 }], muni.headers);
    expect(set.json()).toEqual({ insurerNumber: muni.insurerNumber, targets: [{ month: '2024-05', targetPercent: 20 }, { month: '2024-11', targetPercent: 50.5 }] });
    await put(`/v1/insurers/${muni2.insurerNumber}/targets`, [{ month: '2024-11', targetPercent: 60 }], muni2.headers);
    expectError(await put(`/v1/insurers/${muni2.insurerNumber}/targets`, [{ month: '2024-11', targetPercent: 60 }], muni.headers), 403, 'ONSHI_AUTH_FORBIDDEN');
    const bad = await put(`/v1/insurers/${muni.insurerNumber}/targets`, [{ month: '2024-11', targetPercent: 150 }], muni.headers);
    expect(fieldProblems(expectError(bad, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['0.targetPercent:out_of_range']);

    const report = (await get('/v1/programmes/insurer-targets?month=2024-11')).json();
    const by = Object.fromEntries(report.insurers.map((r: { insurerNumber: string }) => [r.insurerNumber, r]));
    expect(by[muni.insurerNumber]).toMatchObject({ targetPercent: 50.5, actualPercent: 51, met: true, rewardedAbove50: true });
    expect(by[muni2.insurerNumber]).toMatchObject({ targetPercent: 60, actualPercent: 50, met: false, rewardedAbove50: false });
    expect(by[kenpo.insurerNumber]).toMatchObject({ targetPercent: null, actualPercent: 90, met: null, rewardedAbove50: false });
    const own = (await get(`/v1/insurers/${muni.insurerNumber}/targets?month=2024-05`, muni.headers)).json();
    expect(own.report).toEqual([{ insurerNumber: muni.insurerNumber, name: muni.name, kind: 'kokuho', month: '2024-05', targetPercent: 20, confirmations: 0, cardUses: 0, actualPercent: null, met: null, rewardedAbove50: false }]);
  });
});
