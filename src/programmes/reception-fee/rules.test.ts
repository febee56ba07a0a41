import { describe, expect, it } from 'vitest';
import { computeReceptionFee, validateReceptionFeeInput, type VisitKind } from './rules.ts';

// DOMAIN.md §6 as printed: [visit, card used, fee Apr–Dec 2023, 30% share, fee from Jan 2024, 30% share].
const table: [VisitKind, boolean, number, number, number, number][] = [
  ['first', true, 20, 6, 20, 6],
  ['first', false, 60, 18, 40, 12],
  ['revisit', true, 0, 0, 0, 0],
  ['revisit', false, 20, 6, 0, 0],
  ['dispensing', true, 10, 3, 10, 3],
  ['dispensing', false, 40, 12, 30, 9],
];

describe('computeReceptionFee', () => {
  it.each(table)('%s, card used %s: %i (%i) in 2023, %i (%i) from 2024', (visit, cardUsed, fee23, share23, fee24, share24) => {
    for (const date of ['2023-04-01', '2023-12-31']) expect(computeReceptionFee({ date, visit, cardUsed, copayRate: 30 })).toMatchObject({ feeYen: fee23, patientShareYen: share23, period: 'apr_dec_2023' });
    for (const date of ['2024-01-01', '2026-06-30']) expect(computeReceptionFee({ date, visit, cardUsed, copayRate: 30 })).toMatchObject({ feeYen: fee24, patientShareYen: share24, period: 'from_jan_2024' });
  });

  it('the share follows the copay rate', () => {
    expect(computeReceptionFee({ date: '2023-06-01', visit: 'first', cardUsed: false, copayRate: 10 }).patientShareYen).toBe(6);
    expect(computeReceptionFee({ date: '2023-06-01', visit: 'first', cardUsed: false, copayRate: 20 }).patientShareYen).toBe(12);
    expect(computeReceptionFee({ date: '2024-06-01', visit: 'dispensing', cardUsed: true, copayRate: 10 }).patientShareYen).toBe(1);
  });

  it('what the card saved the patient', () => {
    expect(computeReceptionFee({ date: '2023-06-01', visit: 'first', cardUsed: true, copayRate: 30 })).toMatchObject({ savedYen: 12, couldSaveYen: 0 });
    expect(computeReceptionFee({ date: '2024-06-01', visit: 'first', cardUsed: true, copayRate: 30 })).toMatchObject({ savedYen: 6 });
    expect(computeReceptionFee({ date: '2023-06-01', visit: 'revisit', cardUsed: true, copayRate: 30 })).toMatchObject({ savedYen: 6 });
    expect(computeReceptionFee({ date: '2024-06-01', visit: 'revisit', cardUsed: true, copayRate: 30 })).toMatchObject({ savedYen: 0 });
    expect(computeReceptionFee({ date: '2024-06-01', visit: 'dispensing', cardUsed: true, copayRate: 20 })).toMatchObject({ savedYen: 4 });
    expect(computeReceptionFee({ date: '2024-06-01', visit: 'dispensing', cardUsed: false, copayRate: 30 })).toMatchObject({ savedYen: 0, couldSaveYen: 6 });
  });
});

describe('validateReceptionFeeInput', () => {
  const problems = (b: Record<string, unknown>) => {
    const v = validateReceptionFeeInput(b);
    return 'errors' in v ? v.errors.map((e) => `${e.field}:${e.code}`).sort() : [];
  };
  it('accepts a valid body', () => expect(problems({ date: '2024-02-29', visit: 'first', cardUsed: true, copayRate: 30 })).toEqual([]));
  it('reports each problem', () => {
    expect(problems({})).toEqual(['cardUsed:required', 'copayRate:required', 'date:required', 'visit:required']);
    expect(problems({ date: '2023-02-29', visit: 'home', cardUsed: 'yes', copayRate: 0 })).toEqual(['cardUsed:format', 'copayRate:not_allowed', 'date:invalid_date', 'visit:not_allowed']);
    expect(problems({ date: '2023-03-31', visit: 'first', cardUsed: false, copayRate: 10 })).toEqual(['date:out_of_range']);
  });
});
