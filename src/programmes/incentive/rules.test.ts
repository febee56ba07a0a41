import { describe, expect, it } from 'vitest';
import { applicableTables, bestMonthOf, computeIncentive, incentiveTables, rateBandIndex, rateBands, readTable, validateIncentiveInput, type FacilityType, type IncentiveInput } from './rules.ts';

// The seed's tables written out in full (×¥10,000), as printed: each row as many values as the seed shows.
const seedRows = {
  hospital: [
    [0, 0, 0, 10, 12, 15, 20, 30, 35, 40],
    [0, 0, 10, 12, 15, 20, 30, 35, 40],
    [0, 10, 12, 15, 20, 30, 35, 40],
    [10, 12, 15, 20, 30, 35, 40],
    [12, 15, 20, 30, 35, 40],
    [15, 20, 30, 35, 40],
    [20, 30, 35, 40],
  ],
  clinic_pharmacy: [
    [0, 0, 0, 3, 5, 7, 10, 15, 17, 20],
    [0, 0, 3, 5, 7, 10, 15, 17, 20],
    [0, 3, 5, 7, 10, 15, 17, 20],
    [3, 5, 7, 10, 15, 17, 20],
    [5, 7, 10, 15, 17, 20],
    [7, 10, 15, 17, 20],
    [10, 15, 17, 20],
  ],
  small: [
    [0, 0, 1, 1.5, 2.5, 3.5, 5],
    [0, 1, 1.5, 2.5, 3.5, 5],
    [1, 1.5, 2.5, 3.5, 5], // completed by the staircase (the seed truncates after 1.5)
  ],
} as const;
const seedColumns = {
  hospital: [10, 40, 80, 150, 250, 350, 450, 540, 720, 900],
  clinic_pharmacy: [1, 10, 20, 30, 50, 70, 80, 100, 160, 240],
  small: [1, 5, 10, 15, 25, 35, 40],
} as const;

/** The seed's amount in yen for a table, band and column index (the row's maximum once it has ended). */
function seedAmount(table: keyof typeof seedRows, band: number, col: number): number {
  const row = seedRows[table][band];
  return Math.round(row[Math.min(col, row.length - 1)] * 10_000);
}

const input = (over: Partial<IncentiveInput> = {}): IncentiveInput => ({
  facilityType: 'clinic',
  octClaims: 1000,
  octUsers: 40,
  monthlyUsers: { '2024-05': 120, '2024-06': 150, '2024-07': 200, '2024-08': 180 },
  conditions: { poster: true, askPatients: true, flyers: true },
  ...over,
});

describe('the worked example of the seed', () => {
  it('clinic, 1,000 claims, 40 users (4%), best month 200 (+160) → ¥200,000', () => {
    const r = computeIncentive(input());
    expect(r).toMatchObject({ amountYen: 200_000, table: 'clinic_pharmacy', band: '3-5%', column: 160, bestMonth: '2024-07', bestMonthUsers: 200, increase: 160, octRatePercent: 4, small: false, conditionsMet: true });
    expect(r.next).toBeUndefined(); // ¥200,000 is the clinic maximum
    expect(r.explanation).toContain('¥200,000');
    expect(r.explanation).toContain('2024-07');
    expect(r.explanationJa).toContain('200,000円');
  });

  it('one user fewer (+159) falls to the ≥100 column, ¥170,000, and the next step is 1 more user → ¥200,000', () => {
    const r = computeIncentive(input({ monthlyUsers: { '2024-07': 199 } }));
    expect(r).toMatchObject({ amountYen: 170_000, column: 100, increase: 159, next: { moreUsers: 1, amountYen: 200_000 } });
  });
});

describe('rateBandIndex: lower bounds inclusive, compared exactly', () => {
  const cases: [number, number, string][] = [
    [0, 1000, '<3%'], [29, 1000, '<3%'], [30, 1000, '3-5%'], [49, 1000, '3-5%'], [50, 1000, '5-10%'], [99, 1000, '5-10%'],
    [100, 1000, '10-20%'], [199, 1000, '10-20%'], [200, 1000, '20-30%'], [299, 1000, '20-30%'], [300, 1000, '30-40%'],
    [399, 1000, '30-40%'], [400, 1000, '>=40%'], [1000, 1000, '>=40%'],
    [9, 300, '3-5%'], [3, 100, '3-5%'], [7, 70, '10-20%'], [1, 7, '10-20%'], [0, 0, '<3%'], [29_999_999, 1_000_000_000, '<3%'],
    [1, 34, '<3%'], [1, 33, '3-5%'], // 2.94% and 3.03%
  ];
  it.each(cases)('%i users of %i claims → %s', (users, claims, band) => {
    expect(rateBands[rateBandIndex(users, claims)].label).toBe(band);
  });
});

describe.each(['hospital', 'clinic_pharmacy', 'small'] as const)('readTable %s at every band and column boundary', (name) => {
  const table = incentiveTables[name];
  it('has the seed columns', () => expect(table.columns).toEqual(seedColumns[name]));
  for (let band = 0; band < seedRows[name].length; band++) {
    it(`band ${rateBands[band].label}: below the first column 0, each threshold and one below it`, () => {
      expect(readTable(table, band, seedColumns[name][0] - 1)).toEqual({ table: name, column: null, amountYen: 0 });
      expect(readTable(table, band, -50).amountYen).toBe(0);
      seedColumns[name].forEach((threshold, col) => {
        expect(readTable(table, band, threshold), `≥${threshold}`).toEqual({ table: name, column: threshold, amountYen: seedAmount(name, band, col) });
        if (col > 0) expect(readTable(table, band, threshold - 1).amountYen, `${threshold - 1}`).toBe(seedAmount(name, band, col - 1));
      });
      expect(readTable(table, band, 100_000).amountYen).toBe(name === 'hospital' ? 400_000 : name === 'clinic_pharmacy' ? 200_000 : 50_000);
    });
  }
  it('has no row beyond its bands', () => expect(() => readTable(table, seedRows[name].length, 10)).toThrow(RangeError));
});

describe('facility types and tables', () => {
  it.each<[FacilityType, string]>([
    ['hospital', 'hospital'],
    ['clinic', 'clinic_pharmacy'],
    ['dental_clinic', 'clinic_pharmacy'],
    ['pharmacy', 'clinic_pharmacy'],
  ])('%s (not small) pays by the %s table', (type, table) => {
    expect(applicableTables(type, 151, 0).map((t) => t.name)).toEqual([table]);
    expect(computeIncentive(input({ facilityType: type, octClaims: 2000, octUsers: 20, monthlyUsers: { '2024-06': 270 } })).table).toBe(table);
  });

  it('a hospital at <3% with +150 gets ¥100,000, at +900 the maximum ¥400,000', () => {
    const base = { facilityType: 'hospital' as const, octClaims: 10_000, octUsers: 100 };
    expect(computeIncentive(input({ ...base, monthlyUsers: { '2024-05': 250 } }))).toMatchObject({ amountYen: 100_000, table: 'hospital', column: 150, band: '<3%', next: { moreUsers: 100, amountYen: 120_000 } });
    expect(computeIncentive(input({ ...base, monthlyUsers: { '2024-08': 1000 } }))).toMatchObject({ amountYen: 400_000, column: 900 });
    expect(computeIncentive(input({ ...base, monthlyUsers: { '2024-08': 1000 } })).next).toBeUndefined();
  });

  it('a hospital at ≥40% reaches its maximum at the fourth column (≥150) and keeps it', () => {
    const r = computeIncentive(input({ facilityType: 'hospital', octClaims: 1000, octUsers: 400, monthlyUsers: { '2024-05': 550 } }));
    expect(r).toMatchObject({ amountYen: 400_000, band: '>=40%', column: 150 });
  });
});

describe('small facilities (≤150 claims in October 2023)', () => {
  const small = (octClaims: number, octUsers: number, best: number, type: FacilityType = 'clinic') =>
    computeIncentive(input({ facilityType: type, octClaims, octUsers, monthlyUsers: { '2024-06': best } }));

  it('150 claims is small, 151 is not', () => {
    expect(small(150, 0, 40)).toMatchObject({ small: true, table: 'small', amountYen: 50_000 });
    expect(small(151, 0, 40)).toMatchObject({ small: false, table: 'clinic_pharmacy', amountYen: 30_000 });
  });

  it('<3%: +10 → ¥10,000 by the small table (the regular table pays 0 there)', () => {
    expect(small(100, 2, 12)).toMatchObject({ table: 'small', band: '<3%', column: 10, amountYen: 10_000, next: { moreUsers: 5, amountYen: 15_000 } });
  });

  it('<3%: +40 → small ¥50,000 beats regular ¥30,000; +70 → regular ¥70,000 beats small ¥50,000', () => {
    expect(small(100, 2, 42)).toMatchObject({ table: 'small', amountYen: 50_000, next: { moreUsers: 30, amountYen: 70_000 } });
    expect(small(100, 2, 72)).toMatchObject({ table: 'clinic_pharmacy', column: 70, amountYen: 70_000 });
  });

  it('at +50 both tables pay ¥50,000: the small table is reported', () => {
    expect(small(100, 2, 52)).toMatchObject({ table: 'small', column: 40, amountYen: 50_000 });
  });

  it('3–5%: +5 → ¥10,000 by the small table', () => {
    expect(small(100, 4, 9)).toMatchObject({ table: 'small', band: '3-5%', column: 5, amountYen: 10_000 });
  });

  it('5–10% completed by the staircase: +1 → ¥10,000, +5 → ¥15,000, +15 → ¥35,000, +25 → ¥50,000', () => {
    expect(small(100, 5, 6)).toMatchObject({ table: 'small', band: '5-10%', amountYen: 10_000 });
    expect(small(100, 5, 10)).toMatchObject({ table: 'small', amountYen: 15_000 });
    // +10: small ¥25,000 vs regular (5–10% row: ≥10 → ¥30,000): regular pays more (the "≥10 more users" rule)
    expect(small(100, 5, 15)).toMatchObject({ table: 'clinic_pharmacy', column: 10, amountYen: 30_000 });
    expect(small(100, 5, 20)).toMatchObject({ table: 'small', column: 15, amountYen: 35_000 });
    expect(small(100, 5, 30)).toMatchObject({ table: 'small', column: 25, amountYen: 50_000 });
  });

  it('≥10% meets the regular table only', () => {
    expect(applicableTables('clinic', 100, 3).map((t) => t.name)).toEqual(['clinic_pharmacy']);
    expect(small(100, 10, 11)).toMatchObject({ table: 'clinic_pharmacy', band: '10-20%', column: 1, amountYen: 30_000 });
  });

  it('a small hospital compares the small table with the hospital table', () => {
    expect(small(120, 0, 40, 'hospital')).toMatchObject({ table: 'small', amountYen: 50_000 });
    expect(small(120, 0, 150, 'hospital')).toMatchObject({ table: 'hospital', amountYen: 100_000 });
  });
});

describe('months, increase and conditions', () => {
  it('the best month is the one with most users; the earliest on a tie; absent months count as none', () => {
    expect(bestMonthOf({ '2024-05': 10, '2024-06': 30, '2024-07': 30, '2024-08': 5 })).toEqual({ month: '2024-06', users: 30 });
    expect(bestMonthOf({ '2024-08': 7 })).toEqual({ month: '2024-08', users: 7 });
    expect(bestMonthOf({})).toEqual({ month: null, users: 0 });
    expect(bestMonthOf({ '2023-10': 999, '2024-09': 999 })).toEqual({ month: null, users: 0 });
  });

  it('a negative increase pays 0 and tells how many more users reach the first paying column', () => {
    const r = computeIncentive(input({ monthlyUsers: { '2024-05': 35 } }));
    expect(r).toMatchObject({ amountYen: 0, increase: -5, column: null, next: { moreUsers: 25, amountYen: 30_000 } });
  });

  it('an increase inside the zero columns pays 0 with its column named', () => {
    expect(computeIncentive(input({ monthlyUsers: { '2024-05': 50 } }))).toMatchObject({ amountYen: 0, increase: 10, column: 10, next: { moreUsers: 10, amountYen: 30_000 } });
  });

  it.each(['poster', 'askPatients', 'flyers'] as const)('without %s the facility gets 0 with that reason', (missing) => {
    const r = computeIncentive(input({ conditions: { poster: true, askPatients: true, flyers: true, [missing]: false } }));
    expect(r).toMatchObject({ amountYen: 0, tableAmountYen: 200_000, conditionsMet: false, missingConditions: [missing] });
    expect(r.next).toBeUndefined();
    expect(r.explanation).toContain(missing);
  });
});

describe('validateIncentiveInput', () => {
  const problems = (body: Record<string, unknown>) => {
    const v = validateIncentiveInput(body);
    return 'errors' in v ? v.errors.map((e) => `${e.field}:${e.code}`).sort() : [];
  };
  const ok = { facilityType: 'clinic', octClaims: 1000, octUsers: 40, monthlyUsers: { '2024-07': 200 } };

  it('accepts a minimal body and defaults every condition to true', () => {
    const v = validateIncentiveInput(ok);
    expect('input' in v && v.input.conditions).toEqual({ poster: true, askPatients: true, flyers: true });
  });
  it('reports every missing field', () => {
    expect(problems({})).toEqual(['facilityType:required', 'monthlyUsers:required', 'octClaims:required', 'octUsers:required']);
  });
  it('reports bad values', () => {
    expect(problems({ ...ok, facilityType: 'clinc', octClaims: -1, octUsers: 1.5, monthlyUsers: { '2024-04': 1, '2024-05': -2 } })).toEqual([
      'facilityType:not_allowed', 'monthlyUsers.2024-04:not_allowed', 'monthlyUsers.2024-05:out_of_range', 'octClaims:out_of_range', 'octUsers:out_of_range',
    ]);
    expect(problems({ ...ok, octUsers: 1001 })).toEqual(['octUsers:mismatch']);
    expect(problems({ ...ok, monthlyUsers: {} })).toEqual(['monthlyUsers:required']);
    expect(problems({ ...ok, monthlyUsers: [1] })).toEqual(['monthlyUsers:format']);
    expect(problems({ ...ok, conditions: { poster: 'yes', flyers: true, extra: true } })).toEqual(['conditions.askPatients:required', 'conditions.extra:unknown', 'conditions.poster:format']);
  });
});
