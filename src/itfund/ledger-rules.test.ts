// Pure date rules of the ledger: fiscal years (April–March), the retention of the records (別記 1(5))
// and the due date of the consumption-tax purchase deduction report (別記 4), at their edges.

import { describe, expect, it } from 'vitest';
import { DEFAULT_USEFUL_LIFE_YEARS, fiscalYearOf, fiscalYearRange, retentionOf, taxReportDueOn } from './rules.ts';

describe('fiscal years', () => {
  it.each([
    ['2021-03-31', 2020],
    ['2021-04-01', 2021],
    ['2020-01-01', 2019],
    ['2020-12-31', 2020],
    ['2024-02-29', 2023],
  ])('%s is in fiscal year %i', (date, fy) => expect(fiscalYearOf(date)).toBe(fy));

  it('runs from 1 April to 31 March', () => {
    expect(fiscalYearRange(2020)).toEqual({ from: '2020-04-01', to: '2021-03-31' });
    expect(fiscalYearRange(2023)).toEqual({ from: '2023-04-01', to: '2024-03-31' });
  });
});

describe('retention of the records', () => {
  it('without property: 5 years after the end of the fiscal year of completion', () => {
    expect(retentionOf({ completedOn: '2021-03-31', hasProperty: false })).toEqual({ fiscalYearOfCompletion: 2020, basicUntil: '2026-03-31', usefulLifeYears: null, usefulLifeEndsOn: null, disposedOn: null, keepUntil: '2026-03-31', basis: 'fiscal_year' });
    expect(retentionOf({ completedOn: '2021-04-01', hasProperty: false }).keepUntil).toBe('2027-03-31');
    expect(retentionOf({ completedOn: '2020-04-01', hasProperty: false }).keepUntil).toBe('2026-03-31');
  });

  it('with property of the default 5-year life the fiscal-year rule is never shorter', () => {
    expect(DEFAULT_USEFUL_LIFE_YEARS).toBe(5);
    // Completed on the last day of a fiscal year: the useful life ends the same day as the basic period.
    expect(retentionOf({ completedOn: '2021-03-31', hasProperty: true })).toMatchObject({ usefulLifeYears: 5, usefulLifeEndsOn: '2026-03-31', keepUntil: '2026-03-31', basis: 'fiscal_year' });
    expect(retentionOf({ completedOn: '2020-10-15', hasProperty: true })).toMatchObject({ basicUntil: '2026-03-31', usefulLifeEndsOn: '2025-10-15', keepUntil: '2026-03-31', basis: 'fiscal_year' });
  });

  it('a longer useful life keeps the records until it elapses', () => {
    expect(retentionOf({ completedOn: '2020-10-15', hasProperty: true, usefulLifeYears: 10 })).toMatchObject({ basicUntil: '2026-03-31', usefulLifeEndsOn: '2030-10-15', keepUntil: '2030-10-15', basis: 'useful_life' });
    // One day past the basic period.
    expect(retentionOf({ completedOn: '2020-04-01', hasProperty: true, usefulLifeYears: 6 })).toMatchObject({ basicUntil: '2026-03-31', usefulLifeEndsOn: '2026-04-01', keepUntil: '2026-04-01', basis: 'useful_life' });
    // Acquired on 29 February: the life ends on 28 February of a common year.
    expect(retentionOf({ completedOn: '2020-02-29', hasProperty: true, usefulLifeYears: 6 })).toMatchObject({ fiscalYearOfCompletion: 2019, basicUntil: '2025-03-31', usefulLifeEndsOn: '2026-02-28', keepUntil: '2026-02-28' });
    expect(retentionOf({ completedOn: '2020-02-29', hasProperty: true, usefulLifeYears: 8 }).usefulLifeEndsOn).toBe('2028-02-29');
    // The acquisition day, when given, is where the life starts.
    expect(retentionOf({ completedOn: '2021-01-10', acquiredOn: '2020-09-01', hasProperty: true, usefulLifeYears: 10 }).usefulLifeEndsOn).toBe('2030-09-01');
  });

  it('the later of the disposal and the end of the useful life', () => {
    expect(retentionOf({ completedOn: '2020-10-15', hasProperty: true, usefulLifeYears: 10, disposedOn: '2031-01-05' })).toMatchObject({ keepUntil: '2031-01-05', basis: 'disposal' });
    expect(retentionOf({ completedOn: '2020-10-15', hasProperty: true, usefulLifeYears: 10, disposedOn: '2024-01-05' })).toMatchObject({ keepUntil: '2030-10-15', basis: 'useful_life', disposedOn: '2024-01-05' });
    expect(retentionOf({ completedOn: '2020-10-15', hasProperty: true, disposedOn: '2026-04-01' })).toMatchObject({ keepUntil: '2026-04-01', basis: 'disposal' });
    expect(retentionOf({ completedOn: '2020-10-15', hasProperty: true, disposedOn: '2026-03-31' })).toMatchObject({ keepUntil: '2026-03-31', basis: 'fiscal_year' });
  });
});

describe('the consumption-tax purchase deduction report', () => {
  it.each([
    ['2021-03-31', '2022-06-30'],
    ['2021-04-01', '2023-06-30'],
    ['2020-11-15', '2022-06-30'],
    ['2020-04-01', '2022-06-30'],
    ['2024-02-29', '2025-06-30'],
  ])('completed %s: due %s (30 June of the fiscal year after next)', (completedOn, due) => expect(taxReportDueOn(completedOn)).toBe(due));
});
