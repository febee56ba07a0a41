import { describe, expect, it } from 'vitest';
import {
  capOf,
  computeReturn,
  computeSubsidy,
  countItem,
  determineLargeChain,
  februaryCutOff,
  freeReadersAllowed,
  fundTables,
  lateFee,
  rateAt,
  readerResidual,
  tableFor,
  validateLargeChainInput,
  validateReturnInput,
  validateSubsidyInput,
  type CostItem,
  type LateFeeRate,
} from './rules.ts';

const items = (...amounts: number[]): CostItem[] => amounts.map((amountYen) => ({ kind: 'terminal', amountYen }));

describe('別表 1-1 to 3: caps computed from the base caps and rates', () => {
  it.each([
    ['hospital', 1, '別表1-1', 2_101_000, '1/2', 1_050_000],
    ['hospital', 2, '別表1-2', 2_002_000, '1/2', 1_001_000],
    ['hospital', 3, '別表1-3', 1_903_000, '1/2', 951_000],
    ['large_chain_pharmacy', 1, '別表2', 429_000, '1/2', 214_000],
    ['clinic', 1, '別表3', 429_000, '3/4', 321_000],
    ['pharmacy', 1, '別表3', 429_000, '3/4', 321_000],
  ] as const)('%s with %i reader(s): %s, base %i × %s → cap %i', (category, readers, name, base, rate, cap) => {
    const t = tableFor(category, readers);
    expect(t.name).toBe(name);
    expect(t.baseCostCapYen).toBe(base);
    expect(`${t.rate.numerator}/${t.rate.denominator}`).toBe(rate);
    expect(capOf(t)).toBe(cap);
    // A cost far above the base reaches the cap exactly; the base itself gives the cap too.
    expect(computeSubsidy({ category, readersProvided: readers, readerIntroduced: true, costItems: items(10_000_000) }).subsidyYen).toBe(cap);
    expect(computeSubsidy({ category, readersProvided: readers, readerIntroduced: true, costItems: items(base) }).subsidyYen).toBe(cap);
  });

  it('has exactly six rows, and no table for 0 or 4 hospital readers or 2 pharmacy readers', () => {
    expect(fundTables).toHaveLength(6);
    expect(() => tableFor('hospital', 0)).toThrow(RangeError);
    expect(() => tableFor('hospital', 4)).toThrow(RangeError);
    expect(() => tableFor('pharmacy', 2)).toThrow(RangeError);
  });

  it('free readers: hospitals 1 to 3, everyone else 1', () => {
    expect(freeReadersAllowed('hospital')).toEqual({ min: 1, max: 3 });
    for (const c of ['large_chain_pharmacy', 'clinic', 'pharmacy'] as const) expect(freeReadersAllowed(c)).toEqual({ min: 1, max: 1 });
  });
});

describe('subsidy = min(eligible cost × rate, cap), rounded down to ¥1,000', () => {
  it('hospital: ¥1,999,999 × 1/2 = ¥999,999 → ¥999,000', () => {
    const r = computeSubsidy({ category: 'hospital', readersProvided: 1, readerIntroduced: true, costItems: [{ kind: 'terminal', amountYen: 1_000_000 }, { kind: 'system_modification', amountYen: 999_999 }] });
    expect(r).toMatchObject({ eligibleCostYen: 1_999_999, rate: 0.5, capYen: 1_050_000, subsidyYen: 999_000 });
    expect(r.explanation).toMatch(/¥999,999/);
  });

  it('clinic: ¥400,000 × 3/4 = ¥300,000; ¥1,333 gives ¥0; ¥428,000 gives ¥321,000 (under the cap)', () => {
    const at = (n: number) => computeSubsidy({ category: 'clinic', readersProvided: 1, readerIntroduced: true, costItems: items(n) }).subsidyYen;
    expect(at(400_000)).toBe(300_000);
    expect(at(1_333)).toBe(0);
    expect(at(428_000)).toBe(321_000);
    expect(at(426_666)).toBe(319_000);
  });

  it('hospital with 3 readers: ¥1,903,000 × 1/2 = ¥951,500 is capped at ¥951,000; ¥1,901,998 gives ¥950,000', () => {
    const at = (n: number) => computeSubsidy({ category: 'hospital', readersProvided: 3, readerIntroduced: true, costItems: items(n) });
    expect(at(1_903_000)).toMatchObject({ subsidyYen: 951_000 });
    expect(at(1_903_000).explanation).toMatch(/cap/);
    expect(at(1_901_998).subsidyYen).toBe(950_000);
  });

  it('large chain: ¥300,000 × 1/2 = ¥150,000', () => {
    expect(computeSubsidy({ category: 'large_chain_pharmacy', readersProvided: 1, readerIntroduced: true, costItems: items(300_000) }).subsidyYen).toBe(150_000);
  });

  it('nothing without the face-recognition reader', () => {
    const r = computeSubsidy({ category: 'clinic', readersProvided: 1, readerIntroduced: false, costItems: items(400_000) });
    expect(r).toMatchObject({ eligibleCostYen: 0, subsidyYen: 0, capYen: 321_000 });
    expect(r.items[0].countedYen).toBe(0);
  });

  it('a bought reader counts only up to ¥99,000 each', () => {
    expect(countItem({ kind: 'reader', amountYen: 120_000 }).countedYen).toBe(99_000);
    expect(countItem({ kind: 'reader', amountYen: 99_000 }).countedYen).toBe(99_000);
    expect(countItem({ kind: 'reader', amountYen: 98_000 }).countedYen).toBe(98_000);
    expect(countItem({ kind: 'reader', amountYen: 200_000, units: 2 }).countedYen).toBe(198_000);
    expect(countItem({ kind: 'reader', amountYen: 190_000, units: 2 }).countedYen).toBe(190_000);
    // Other kinds are not limited per unit.
    expect(countItem({ kind: 'terminal', amountYen: 200_000, units: 1 }).countedYen).toBe(200_000);
    const r = computeSubsidy({ category: 'clinic', readersProvided: 1, readerIntroduced: true, costItems: [{ kind: 'reader', amountYen: 150_000 }, { kind: 'training', amountYen: 1_000 }] });
    expect(r).toMatchObject({ eligibleCostYen: 100_000, subsidyYen: 75_000 });
  });

  it('only eligible items count: an excluded item counts 0', () => {
    const r = computeSubsidy({ category: 'clinic', readersProvided: 1, readerIntroduced: true, costItems: [{ kind: 'package_software', amountYen: 100_000, excludedReason: 'customisation' }, { kind: 'claims_line', amountYen: 40_000 }] });
    expect(r).toMatchObject({ eligibleCostYen: 40_000, subsidyYen: 30_000 });
    expect(r.items[0].note).toMatch(/customisation/);
  });
});

describe('large chain pharmacy (第4)', () => {
  const monthsOf = (from: string, to: string, n: number) => {
    const counts: Record<string, number> = {};
    let [y, m] = from.split('-').map(Number);
    for (;;) {
      const key = `${y}-${String(m).padStart(2, '0')}`;
      if (key > to) break;
      counts[key] = n;
      m === 12 ? ((y += 1), (m = 1)) : (m += 1);
    }
    return counts;
  };
  const year = (n: number) => monthsOf('2020-03', '2021-02', n);

  it('February cut-off: the end of February on or before asOf (29 February in a leap year)', () => {
    expect(februaryCutOff('2021-06-30')).toBe('2021-02-28');
    expect(februaryCutOff('2021-02-28')).toBe('2021-02-28');
    expect(februaryCutOff('2021-02-27')).toBe('2020-02-29');
    expect(februaryCutOff('2024-02-29')).toBe('2024-02-29');
    expect(februaryCutOff('2024-02-28')).toBe('2023-02-28');
  });

  it('exactly 40,000 does not exceed; one more prescription does', () => {
    const ten = Array.from({ length: 10 }, () => ({ designatedOn: '2015-04-01', monthlyCounts: year(4_000) }));
    const r = determineLargeChain('2021-06-30', ten);
    expect(r).toMatchObject({ cutOff: '2021-02-28', period: { from: '2020-03-01', to: '2021-02-28' }, groupMonthlyAverage: 40_000, largeChain: false });
    ten[3] = { designatedOn: '2015-04-01', monthlyCounts: { ...year(4_000), '2020-07': 4_001 } };
    const more = determineLargeChain('2021-06-30', ten);
    expect(more.largeChain).toBe(true);
    expect(more.groupMonthlyAverage).toBe(40_000.08);
  });

  it('case 1: designated on or before the previous end of February (29 Feb 2020) → March–February ÷ 12; counts outside ignored', () => {
    const r = determineLargeChain('2021-03-01', [{ designatedOn: '2020-02-29', monthlyCounts: { ...year(1_200), '2020-02': 99_999, '2021-03': 99_999 } }]);
    expect(r.pharmacies[0]).toMatchObject({ basis: 'continuous', months: 12, total: 14_400, average: 1_200 });
  });

  it('case 2: newly designated 1 March – 31 January → from the month after designation ÷ months', () => {
    const r = determineLargeChain('2021-06-30', [
      { designatedOn: '2020-03-01', monthlyCounts: year(1_100) },
      { designatedOn: '2020-10-15', monthlyCounts: { '2020-10': 50_000, '2020-11': 1_000, '2020-12': 2_000, '2021-01': 3_000, '2021-02': 6_000 } },
      { designatedOn: '2021-01-31', monthlyCounts: { '2021-02': 777 } },
      { designatedOn: '2021-02-01', monthlyCounts: { '2021-02': 99_999 } },
    ]);
    expect(r.pharmacies.map((p) => [p.basis, p.months, p.total])).toEqual([
      ['new', 11, 11 * 1_100],
      ['new', 4, 12_000],
      ['new', 1, 777],
      ['not_counted', 0, 0],
    ]);
    expect(r.groupMonthlyAverage).toBe(1_100 + 3_000 + 777);
    expect(r.largeChain).toBe(false);
  });

  it('case 3: a retroactive designation reads the earlier record as continuous', () => {
    const counts = year(5_000);
    const without = determineLargeChain('2021-06-30', [{ designatedOn: '2020-12-01', monthlyCounts: counts }]);
    expect(without.pharmacies[0]).toMatchObject({ basis: 'new', months: 2 });
    const r = determineLargeChain('2021-06-30', [{ designatedOn: '2020-12-01', retroactiveFrom: '2012-05-01', monthlyCounts: counts }]);
    expect(r.pharmacies[0]).toMatchObject({ basis: 'continuous', months: 12, average: 5_000 });
  });

  it('missing months count 0; thirds are summed exactly (3 × 40,001/3 = 40,001 > 40,000)', () => {
    const r = determineLargeChain('2021-06-30', [{ designatedOn: '2015-01-01', monthlyCounts: { '2020-05': 12_000 } }]);
    expect(r.groupMonthlyAverage).toBe(1_000);
    const third = { designatedOn: '2020-11-20', monthlyCounts: { '2020-12': 13_333, '2021-01': 13_334, '2021-02': 13_334 } };
    const t = determineLargeChain('2021-06-30', [third, third, third]);
    expect(t.largeChain).toBe(true);
    expect(t.groupMonthlyAverage).toBe(40_001);
    const exact = { designatedOn: '2020-11-20', monthlyCounts: { '2020-12': 13_333, '2021-01': 13_333, '2021-02': 13_334 } };
    expect(determineLargeChain('2021-06-30', [exact, exact, exact]).largeChain).toBe(false);
  });
});

describe('return after cancellation (第11): 5-year straight-line depreciation of the reader', () => {
  it.each([
    ['2021-03-10', '2022-02-05', 99_000, 12, 79_200],
    ['2021-03-10', '2021-03-31', 99_000, 1, 97_350],
    ['2021-01-15', '2022-01-01', 98_765, 13, 77_365],
    ['2021-01-15', '2025-11-30', 99_000, 59, 1_650],
    ['2021-01-15', '2025-12-01', 99_000, 60, 0],
    ['2021-01-15', '2030-01-01', 99_000, 109, 0],
  ])('delivered %s, cancelled %s, cost %i: %i months used → ¥%i', (delivered, cancelled, cost, months, residual) => {
    expect(readerResidual(cost, delivered, cancelled)).toEqual({ monthsUsed: months, residualYen: residual });
  });

  it('principal = residual + subsidy; no late fee when paid in full by the due date', () => {
    const r = computeReturn({ readerCostYen: 99_000, deliveredOn: '2021-03-10', cancelledOn: '2022-02-05', subsidyYen: 321_000, receivedOn: '2021-06-01', dueOn: '2022-03-31', payments: [{ on: '2022-03-31', amountYen: 400_200 }] });
    expect(r).toMatchObject({ readerResidualYen: 79_200, principalYen: 400_200, late: false, lateFeeYen: 0, outstandingYen: 0, settled: true });
  });
});

describe('late fee (第12): 3.0% a year, 365-day year, both end days, payments first to the fee', () => {
  it('the formula: ¥365,000 for 30 days at 3.0% is ¥900; rounded down', () => {
    expect(lateFee(365_000, 30, 30)).toBe(900);
    expect(lateFee(1_000_000, 761, 30)).toBe(62_547);
    expect(lateFee(62_547, 30, 30)).toBe(154);
  });

  it('hand example: ¥1,000,000 received 2021-04-01, due 2023-03-31, paid 2023-05-01 and 2023-05-31', () => {
    // 2021-04-01..2023-05-01 both included: 365 + 365 + 31 = 761 days → 1,000,000 × 3% × 761/365 = 62,547.9 → ¥62,547.
    const first = computeReturn({ readerCostYen: 0, deliveredOn: '2021-03-01', cancelledOn: '2022-10-01', subsidyYen: 1_000_000, receivedOn: '2021-04-01', dueOn: '2023-03-31', payments: [{ on: '2023-05-01', amountYen: 1_000_000 }] });
    expect(first).toMatchObject({ principalYen: 1_000_000, late: true, lateFeeYen: 62_547, lateFeePaidYen: 62_547, principalPaidYen: 937_453, outstandingYen: 62_547, settled: false, lateFeeThrough: '2023-05-01' });
    expect(first.schedule[0]).toEqual({ type: 'accrual', from: '2021-04-01', to: '2023-05-01', days: 761, principalYen: 1_000_000, ratePercent: 3, feeYen: 62_547 });
    // The rest, ¥62,547, accrues 2023-05-02..2023-05-31 (30 days): 62,547 × 3% × 30/365 = 154.2 → ¥154.
    const second = computeReturn({ readerCostYen: 0, deliveredOn: '2021-03-01', cancelledOn: '2022-10-01', subsidyYen: 1_000_000, receivedOn: '2021-04-01', dueOn: '2023-03-31', payments: [{ on: '2023-05-01', amountYen: 1_000_000 }, { on: '2023-05-31', amountYen: 62_701 }] });
    expect(second).toMatchObject({ lateFeeYen: 62_701, lateFeePaidYen: 62_701, principalPaidYen: 1_000_000, outstandingYen: 0, settled: true, overpaidYen: 0 });
    expect(second.schedule[2]).toMatchObject({ type: 'accrual', from: '2023-05-02', to: '2023-05-31', days: 30, principalYen: 62_547, feeYen: 154 });
  });

  it('leap year: 2024-01-01..2024-12-31 is 366 days on a 365-day year → ¥10,980 on ¥365,000 (not ¥10,950)', () => {
    const r = computeReturn({ readerCostYen: 0, deliveredOn: '2023-01-01', cancelledOn: '2023-12-01', subsidyYen: 365_000, receivedOn: '2024-01-01', dueOn: '2024-06-30', payments: [{ on: '2024-12-31', amountYen: 375_980 }] });
    expect(r).toMatchObject({ late: true, lateFeeYen: 10_980, lateFeePaidYen: 10_980, principalPaidYen: 365_000, outstandingYen: 0, settled: true });
    // February 2024: 2024-02-01..2024-03-01 includes the 29th: 30 days → ¥900.
    const feb = computeReturn({ readerCostYen: 0, deliveredOn: '2023-01-01', cancelledOn: '2023-12-01', subsidyYen: 365_000, receivedOn: '2024-02-01', dueOn: '2024-02-15', payments: [{ on: '2024-03-01', amountYen: 365_900 }] });
    expect(feb).toMatchObject({ lateFeeYen: 900, settled: true });
  });

  it('a part paid before the due date still makes the return late; the fee runs on the unpaid principal, fee first', () => {
    // 01-01..01-10: 10 days on 365,000 → 300; 01-11..03-09 (21 + 29 + 9 = 59 days) on 265,300 → 1,286.5 → 1,286.
    const r = computeReturn({ readerCostYen: 0, deliveredOn: '2023-01-01', cancelledOn: '2023-12-01', subsidyYen: 365_000, receivedOn: '2024-01-01', dueOn: '2024-01-31', payments: [{ on: '2024-03-09', amountYen: 300_000 }, { on: '2024-01-10', amountYen: 100_000 }] });
    expect(r.schedule).toEqual([
      { type: 'accrual', from: '2024-01-01', to: '2024-01-10', days: 10, principalYen: 365_000, ratePercent: 3, feeYen: 300 },
      { type: 'payment', on: '2024-01-10', amountYen: 100_000, toLateFeeYen: 300, toPrincipalYen: 99_700, principalAfterYen: 265_300, lateFeeUnpaidYen: 0 },
      { type: 'accrual', from: '2024-01-11', to: '2024-03-09', days: 59, principalYen: 265_300, ratePercent: 3, feeYen: 1_286 },
      { type: 'payment', on: '2024-03-09', amountYen: 300_000, toLateFeeYen: 1_286, toPrincipalYen: 265_300, principalAfterYen: 0, lateFeeUnpaidYen: 0 },
    ]);
    expect(r).toMatchObject({ lateFeeYen: 1_586, outstandingYen: 0, overpaidYen: 33_414, settled: true });
  });

  it('without payments: not late up to the due date; from the day after, the fee runs from receipt to asOf', () => {
    const base = { readerCostYen: 0, deliveredOn: '2023-01-01', cancelledOn: '2023-12-01', subsidyYen: 365_000, receivedOn: '2024-01-01', dueOn: '2024-01-31', payments: [] };
    expect(computeReturn(base)).toMatchObject({ late: false, lateFeeYen: 0, outstandingYen: 365_000, lateFeeThrough: null, settled: false });
    expect(computeReturn({ ...base, asOf: '2024-01-31' })).toMatchObject({ late: false, lateFeeYen: 0 });
    // 2024-01-01..2024-02-01: 32 days → 960.
    expect(computeReturn({ ...base, asOf: '2024-02-01' })).toMatchObject({ late: true, lateFeeYen: 960, outstandingYen: 365_960, lateFeeThrough: '2024-02-01' });
    expect(computeReturn({ ...base, asOf: '2024-12-31' })).toMatchObject({ lateFeeYen: 10_980, outstandingYen: 375_980 });
  });

  it('the rate at the first accrual applies for the whole period (rate table)', () => {
    const table: LateFeeRate[] = [{ from: '2020-04-01', perMille: 30 }, { from: '2026-04-01', perMille: 20 }];
    expect(rateAt('2020-03-31', table)).toBeUndefined();
    expect(rateAt('2026-03-31', table)?.perMille).toBe(30);
    expect(rateAt('2026-04-01', table)?.perMille).toBe(20);
    const base = { readerCostYen: 0, deliveredOn: '2025-01-01', cancelledOn: '2025-12-01', subsidyYen: 365_000, dueOn: '2026-05-31', payments: [], asOf: '2026-06-29' };
    // Received 2026-03-31 (3.0%): 2026-03-31..2026-06-29 = 1 + 30 + 31 + 29 = 91 days → 2,730.
    expect(computeReturn({ ...base, receivedOn: '2026-03-31' }, table)).toMatchObject({ ratePercent: 3, lateFeeYen: 2_730 });
    // Received 2026-04-01 (2.0%): 90 days → 1,800.
    expect(computeReturn({ ...base, receivedOn: '2026-04-01' }, table)).toMatchObject({ ratePercent: 2, lateFeeYen: 1_800 });
  });
});

describe('validation of the calculator bodies', () => {
  const problems = (v: { errors: { field: string; code: string }[] } | { input: unknown }) => ('errors' in v ? v.errors.map((e) => `${e.field}:${e.code}`).sort() : []);

  it('subsidy', () => {
    expect(problems(validateSubsidyInput({}))).toEqual(['category:required', 'costItems:required', 'readerIntroduced:required', 'readersProvided:required']);
    expect(problems(validateSubsidyInput({ category: 'clinic', readersProvided: 2, readerIntroduced: 'yes', costItems: [{ kind: 'coffee', amountYen: -1, units: 0, extra: 1 }, 3] }))).toEqual([
      'costItems.0.amountYen:out_of_range',
      'costItems.0.extra:unknown',
      'costItems.0.kind:not_allowed',
      'costItems.0.units:out_of_range',
      'costItems.1:format',
      'readerIntroduced:format',
      'readersProvided:out_of_range',
    ]);
    expect(problems(validateSubsidyInput({ category: 'hospital', readersProvided: 3, readerIntroduced: true, costItems: [] }))).toEqual([]);
  });

  it('large chain', () => {
    expect(problems(validateLargeChainInput({ asOf: '2021-02-30', pharmacies: [{ designatedOn: '2020-01-01', retroactiveFrom: '2020-02-01', monthlyCounts: { '2020-13': 1, '2020-05': 1.5 } }, {}] }))).toEqual([
      'asOf:invalid_date',
      'pharmacies.0.monthlyCounts.2020-05:out_of_range',
      'pharmacies.0.monthlyCounts.2020-13:format',
      'pharmacies.0.retroactiveFrom:mismatch',
      'pharmacies.1.designatedOn:required',
      'pharmacies.1.monthlyCounts:required',
    ]);
  });

  it('return', () => {
    expect(problems(validateReturnInput({ readerCostYen: 1, deliveredOn: '2022-01-01', cancelledOn: '2021-01-01', subsidyYen: 1, receivedOn: '2020-03-01', dueOn: '2020-02-01', payments: [{ on: '2020-01-01', amountYen: -5 }] }))).toEqual([
      'cancelledOn:mismatch',
      'dueOn:mismatch',
      'payments.0.amountYen:out_of_range',
      'payments.0.on:mismatch',
      'receivedOn:out_of_range',
    ]);
    expect(problems(validateReturnInput({ readerCostYen: 0, deliveredOn: '2021-01-01', cancelledOn: '2021-02-01', subsidyYen: 1, receivedOn: '2021-01-01', dueOn: '2021-03-01', asOf: '2021-03-01', payments: [{ on: '2021-03-02', amountYen: 1 }] }))).toEqual(['payments.0.on:mismatch']);
  });
});
