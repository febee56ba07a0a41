import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { expectError, fieldProblems, useApp } from '../support/fixtures.ts';

describe.each(storeKinds)('IT support fund calculators on %s', (kind) => {
  const h = useApp(kind);
  const post = (url: string, payload: unknown) => h.app.inject({ method: 'POST', url, payload: payload as object });

  describe('POST /v1/calculators/it-fund-subsidy', () => {
    it('a hospital with 2 readers, capped at ¥1,001,000, without a credential', async () => {
      const r = await post('/v1/calculators/it-fund-subsidy', {
        category: 'hospital',
        readersProvided: 2,
        readerIntroduced: true,
        costItems: [{ kind: 'terminal', amountYen: 1_500_000 }, { kind: 'system_modification', amountYen: 800_000 }, { kind: 'reader', amountYen: 130_000, units: 1 }],
      });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ table: '別表1-2', eligibleCostYen: 2_399_000, rate: 0.5, capYen: 1_001_000, subsidyYen: 1_001_000 });
      expect(r.json().explanation).toMatch(/cap ¥1,001,000/);
    });

    it('a clinic: ¥123,456 × 3/4 = ¥92,592 → ¥92,000; nothing without the reader', async () => {
      const body = { category: 'clinic', readersProvided: 1, readerIntroduced: true, costItems: [{ kind: 'package_software', amountYen: 123_456 }] };
      expect((await post('/v1/calculators/it-fund-subsidy', body)).json()).toMatchObject({ eligibleCostYen: 123_456, rate: 0.75, capYen: 321_000, subsidyYen: 92_000 });
      expect((await post('/v1/calculators/it-fund-subsidy', { ...body, readerIntroduced: false })).json()).toMatchObject({ eligibleCostYen: 0, subsidyYen: 0 });
    });

    it('400 with every field error', async () => {
      const r = await post('/v1/calculators/it-fund-subsidy', { category: 'dentist', readersProvided: 'one', costItems: [{ kind: 'reader', amountYen: 1.5 }] });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['category:not_allowed', 'costItems.0.amountYen:out_of_range', 'readerIntroduced:required', 'readersProvided:out_of_range']);
      const pharmacy = await post('/v1/calculators/it-fund-subsidy', { category: 'pharmacy', readersProvided: 2, readerIntroduced: true, costItems: [] });
      expect(fieldProblems(expectError(pharmacy, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['readersProvided:out_of_range']);
    });
  });

  describe('POST /v1/calculators/large-chain', () => {
    const months = ['2020-03', '2020-04', '2020-05', '2020-06', '2020-07', '2020-08', '2020-09', '2020-10', '2020-11', '2020-12', '2021-01', '2021-02'];
    const counts = (n: number) => Object.fromEntries(months.map((m) => [m, n]));

    it('20,000 + 20,000 does not exceed 40,000; a new pharmacy tips it over', async () => {
      const two = [{ designatedOn: '2010-01-01', monthlyCounts: counts(20_000) }, { designatedOn: '2012-01-01', monthlyCounts: counts(20_000) }];
      const r = await post('/v1/calculators/large-chain', { asOf: '2021-04-01', pharmacies: two });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ cutOff: '2021-02-28', groupMonthlyAverage: 40_000, largeChain: false });
      const three = await post('/v1/calculators/large-chain', { asOf: '2021-04-01', pharmacies: [...two, { designatedOn: '2021-01-05', monthlyCounts: { '2021-02': 1 } }] });
      expect(three.json()).toMatchObject({ groupMonthlyAverage: 40_001, largeChain: true });
    });

    it('400 with every field error', async () => {
      const r = await post('/v1/calculators/large-chain', { asOf: 'yesterday', pharmacies: [{ designatedOn: '2020-01-01', monthlyCounts: { '2020-1': 5 } }] });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['asOf:invalid_date', 'pharmacies.0.monthlyCounts.2020-1:format']);
      const none = await post('/v1/calculators/large-chain', {});
      expect(fieldProblems(expectError(none, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['asOf:required', 'pharmacies:required']);
    });
  });

  describe('POST /v1/calculators/return', () => {
    it('late return in a leap year: fee first, then principal', async () => {
      // Residual: 99,000 delivered 2023-01, cancelled 2023-12 (12 months) → 79,200; principal 79,200 + 285,800 = 365,000.
      const r = await post('/v1/calculators/return', { readerCostYen: 99_000, deliveredOn: '2023-01-20', cancelledOn: '2023-12-01', subsidyYen: 285_800, receivedOn: '2024-01-01', dueOn: '2024-03-31', payments: [{ on: '2024-12-31', amountYen: 365_000 }] });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ readerResidualYen: 79_200, principalYen: 365_000, late: true, lateFeeYen: 10_980, principalPaidYen: 354_020, outstandingYen: 10_980, settled: false });
      expect(r.json().schedule).toHaveLength(2);
    });

    it('400 with every field error', async () => {
      const r = await post('/v1/calculators/return', { readerCostYen: -1, deliveredOn: '2023-01-01', cancelledOn: '2022-01-01', receivedOn: '2024-01-01', dueOn: '2024-02-30', payments: [{ on: '2023-12-31', amountYen: 5 }] });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['cancelledOn:mismatch', 'dueOn:invalid_date', 'payments.0.on:mismatch', 'readerCostYen:out_of_range', 'subsidyYen:required']);
    });
  });
});
