import { describe, expect, it } from 'vitest';
import { meetsTarget, rewardedAbove50, validateTargets } from './rules.ts';

describe('validateTargets', () => {
  it('accepts months with percent targets to 2 decimals', () => {
    expect(validateTargets([{ month: '2024-05', targetPercent: 12.5 }, { month: '2024-11', targetPercent: 50 }])).toEqual({ targets: [{ month: '2024-05', basisPoints: 1250 }, { month: '2024-11', basisPoints: 5000 }] });
  });
  it('reports each problem', () => {
    const v = validateTargets([{ month: '2024-13', targetPercent: 101 }, { month: '2024-05', targetPercent: 1.234 }, { month: '2024-05' }, 7]);
    expect('errors' in v && v.errors.map((e) => `${e.field}:${e.code}`)).toEqual([
      '0.month:format', '0.targetPercent:out_of_range', '1.targetPercent:out_of_range', '2.month:duplicate', '2.targetPercent:required', '3.month:required', '3.targetPercent:required',
    ]);
    expect('errors' in validateTargets({})).toBe(true);
    expect('errors' in validateTargets([])).toBe(true);
  });
});

describe('meetsTarget and the November 2024 reward', () => {
  it('meets a target at exactly the target rate', () => {
    expect(meetsTarget(125, 1000, 1250)).toBe(true);
    expect(meetsTarget(124, 1000, 1250)).toBe(false);
    expect(meetsTarget(0, 0, 0)).toBe(false);
  });
  it('rewards a municipal insurer strictly above 50% in November 2024 only', () => {
    expect(rewardedAbove50('kokuho', '2024-11', 501, 1000)).toBe(true);
    expect(rewardedAbove50('kokuho', '2024-11', 500, 1000)).toBe(false);
    expect(rewardedAbove50('kokuho', '2024-10', 900, 1000)).toBe(false);
    expect(rewardedAbove50('kyokai_kenpo', '2024-11', 900, 1000)).toBe(false);
  });
});
