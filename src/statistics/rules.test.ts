import { describe, expect, it } from 'vitest';
import { addMonths, changePoints, isMonth, rankRows, ratePercent, roundTo, validateMonth, type Counts } from './rules.ts';

describe('months', () => {
  it('adds and subtracts across years', () => {
    expect(addMonths('2024-01', -1)).toBe('2023-12');
    expect(addMonths('2023-12', 1)).toBe('2024-01');
    expect(addMonths('2024-07', -13)).toBe('2023-06');
  });
  it('validates YYYY-MM', () => {
    expect(isMonth('2024-07')).toBe(true);
    expect(isMonth('2024-7')).toBe(false);
    expect(isMonth('2024-00')).toBe(false);
    expect(validateMonth(undefined)?.code).toBe('required');
    expect(validateMonth('2024-13')?.code).toBe('format');
  });
});

describe('rates and changes', () => {
  it('rate in percent to 2 decimals, half away from zero; null without confirmations', () => {
    expect(ratePercent(1113, 10_000)).toBe(11.13);
    expect(ratePercent(1, 3)).toBe(33.33);
    expect(ratePercent(2, 3)).toBe(66.67);
    expect(ratePercent(29, 200)).toBe(14.5);
    expect(ratePercent(0, 0)).toBeNull();
    expect(roundTo(0.145)).toBe(0.15);
    expect(roundTo(-0.145)).toBe(-0.15);
  });
  it('change in points from unrounded rates', () => {
    expect(changePoints({ cardUses: 1113, confirmations: 10_000 }, { cardUses: 990, confirmations: 10_000 })).toBe(1.23);
    expect(changePoints({ cardUses: 1, confirmations: 2 }, { cardUses: 3, confirmations: 4 })).toBe(-25);
    // 1/3 − 1/6 = 16.666… pt
    expect(changePoints({ cardUses: 1, confirmations: 3 }, { cardUses: 1, confirmations: 6 })).toBe(16.67);
    expect(changePoints({ cardUses: 1, confirmations: 3 }, undefined)).toBeNull();
    expect(changePoints({ cardUses: 1, confirmations: 3 }, { cardUses: 0, confirmations: 0 })).toBeNull();
  });
});

describe('rankRows', () => {
  const counts = (entries: [string, number, number][]) => new Map<string, Counts>(entries.map(([k, u, c]) => [k, { cardUses: u, confirmations: c }]));
  it('ranks by rate, marks the top and bottom five, leaves rows without confirmations unranked', () => {
    const now = counts([['a', 10, 100], ['b', 20, 100], ['c', 30, 100], ['d', 40, 100], ['e', 50, 100], ['f', 60, 100], ['g', 70, 100], ['h', 80, 100], ['i', 90, 100], ['j', 5, 100], ['k', 15, 100], ['z', 0, 0]]);
    const rows = rankRows(now, new Map(), [...now.keys()]);
    const by = Object.fromEntries(rows.map((r) => [r.key, r]));
    expect(['i', 'h', 'g', 'f', 'e', 'd', 'c', 'b', 'k', 'a', 'j'].map((k) => by[k].rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(rows.filter((r) => r.top5).map((r) => r.key).sort()).toEqual(['e', 'f', 'g', 'h', 'i']);
    expect(rows.filter((r) => r.bottom5).map((r) => r.key).sort()).toEqual(['a', 'b', 'c', 'j', 'k']);
    expect(by.z).toMatchObject({ rank: null, top5: false, bottom5: false, ratePercent: null });
  });
  it('equal rates keep the order of their keys; exact comparison, not rounded rates', () => {
    const rows = rankRows(counts([['b', 1, 3], ['a', 2, 6], ['c', 333, 1000]]), new Map());
    expect(rows.map((r) => [r.key, r.rank])).toEqual([['a', 1], ['b', 2], ['c', 3]]);
  });
});
