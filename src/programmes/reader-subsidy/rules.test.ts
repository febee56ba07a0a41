import { describe, expect, it } from 'vitest';
import { computeReaderSubsidy, peakMonthOf, readersAllowed, subsidyFor, validateReaderSubsidyInput } from './rules.ts';

describe('readersAllowed', () => {
  it.each(['clinic', 'dental_clinic', 'pharmacy'] as const)('%s: 1 reader from 500 uses, none at 499', (type) => {
    expect(readersAllowed(type, 1, 499)).toBe(0);
    expect(readersAllowed(type, 1, 500)).toBe(1);
    expect(readersAllowed(type, 1, 10_000)).toBe(1);
  });

  // The seed's hospital table at each column boundary: [peak uses, 1 free, 2 free, 3 free].
  const rows: [number, number, number, number][] = [
    [499, 0, 0, 0],
    [500, 1, 0, 0],
    [999, 1, 0, 0],
    [1000, 2, 1, 0],
    [1499, 2, 1, 0],
    [1500, 3, 2, 1],
    [1999, 3, 2, 1],
    [2000, 3, 3, 2],
    [2499, 3, 3, 2],
    [2500, 3, 3, 3],
    [50_000, 3, 3, 3],
  ];
  it.each(rows)('hospital at %i peak uses: %i / %i / %i readers for 1 / 2 / 3 free readers', (peak, one, two, three) => {
    expect(readersAllowed('hospital', 1, peak)).toBe(one);
    expect(readersAllowed('hospital', 2, peak)).toBe(two);
    expect(readersAllowed('hospital', 3, peak)).toBe(three);
  });
  it('a hospital with no free reader reads the first row', () => {
    expect(readersAllowed('hospital', 0, 1000)).toBe(2);
  });
});

describe('subsidy: half the cost, rounded down, capped', () => {
  it.each([
    [0, 275_000, 0],
    [300_001, 275_000, 150_000],
    [550_000, 275_000, 275_000],
    [550_002, 275_000, 275_000],
    [900_000, 450_000, 450_000],
    [899_999, 450_000, 449_999],
    [2_000_000, 625_000, 625_000],
    [100_000, 0, 0],
  ])('cost %i, cap %i → %i', (cost, cap, expected) => expect(subsidyFor(cost, cap)).toBe(expected));
});

describe('computeReaderSubsidy', () => {
  it('takes the peak of October 2023 – August 2024 (earliest on a tie), ignoring other months', () => {
    expect(peakMonthOf({ '2023-09': 9000, '2023-10': 480, '2024-03': 620, '2024-08': 620, '2024-09': 9000 })).toEqual({ month: '2024-03', uses: 620 });
  });

  it('a clinic at 620 gets one reader, cap ¥275,000, and ½ of ¥400,000 = ¥200,000', () => {
    expect(computeReaderSubsidy({ facilityType: 'clinic', freeReaders: 1, monthlyUses: { '2024-03': 620, '2023-10': 100 }, costYen: 400_000 })).toMatchObject({
      eligible: true, peakMonth: '2024-03', peakUses: 620, readersAllowed: 1, capYen: 275_000, subsidyYen: 200_000,
    });
  });

  it('a hospital with 2 free readers at 1,700 gets 2 readers, cap ¥450,000', () => {
    expect(computeReaderSubsidy({ facilityType: 'hospital', freeReaders: 2, monthlyUses: { '2024-07': 1700 }, costYen: 1_000_000 })).toMatchObject({ eligible: true, readersAllowed: 2, capYen: 450_000, subsidyYen: 450_000 });
  });

  it('below 500 is not eligible, with the reason; subsidy 0', () => {
    const r = computeReaderSubsidy({ facilityType: 'pharmacy', freeReaders: 1, monthlyUses: { '2024-07': 499 }, costYen: 300_000 });
    expect(r).toMatchObject({ eligible: false, readersAllowed: 0, capYen: 0, subsidyYen: 0, reason: 'below_500' });
  });

  it('a hospital with 3 free readers at 1,200 is not eligible by the hospital table', () => {
    expect(computeReaderSubsidy({ facilityType: 'hospital', freeReaders: 3, monthlyUses: { '2024-07': 1200 } })).toMatchObject({ eligible: false, reason: 'hospital_table', readersAllowed: 0 });
  });

  it('without a cost there is no subsidyYen', () => {
    expect(computeReaderSubsidy({ facilityType: 'clinic', freeReaders: 1, monthlyUses: { '2024-07': 800 } })).not.toHaveProperty('subsidyYen');
  });
});

describe('validateReaderSubsidyInput', () => {
  const problems = (b: Record<string, unknown>) => {
    const v = validateReaderSubsidyInput(b);
    return 'errors' in v ? v.errors.map((e) => `${e.field}:${e.code}`).sort() : [];
  };
  it('accepts a valid body', () => expect(problems({ facilityType: 'hospital', freeReaders: 3, monthlyUses: { '2023-10': 1 }, costYen: 5 })).toEqual([]));
  it('reports each problem', () => {
    expect(problems({})).toEqual(['facilityType:required', 'freeReaders:required', 'monthlyUses:required']);
    expect(problems({ facilityType: 'x', freeReaders: 4, monthlyUses: { '2024-09': 1, '2023-11': -1 }, costYen: -5 })).toEqual([
      'costYen:out_of_range', 'facilityType:not_allowed', 'freeReaders:out_of_range', 'monthlyUses.2023-11:out_of_range', 'monthlyUses.2024-09:not_allowed',
    ]);
    expect(problems({ facilityType: 'clinic', freeReaders: 2, monthlyUses: { '2023-10': 1 } })).toEqual(['freeReaders:mismatch']);
  });
});
