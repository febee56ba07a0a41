import { describe, expect, it } from 'vitest';
import { addDays, addYears, daysBetween, isIsoDate, jstDateOf, todayJst } from './time.ts';

describe('isIsoDate', () => {
  it('accepts 29 February in a leap year (2024) and in a 400-year leap year (2000)', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2000-02-29')).toBe(true);
  });

  it('rejects 29 February in a common year (2023) and in a century year that is not a leap year (2100)', () => {
    expect(isIsoDate('2023-02-29')).toBe(false);
    expect(isIsoDate('2100-02-29')).toBe(false);
  });

  it('rejects the 31st of a 30-day month', () => {
    expect(isIsoDate('2024-04-31')).toBe(false);
    expect(isIsoDate('2024-04-30')).toBe(true);
  });

  it('rejects month 00 and 13 and day 00', () => {
    expect(isIsoDate('2024-00-10')).toBe(false);
    expect(isIsoDate('2024-13-10')).toBe(false);
    expect(isIsoDate('2024-01-00')).toBe(false);
  });

  it('requires the zero-padded YYYY-MM-DD form', () => {
    expect(isIsoDate('2024-4-1')).toBe(false);
    expect(isIsoDate('2024/04/01')).toBe(false);
    expect(isIsoDate('2024-04-01T00:00:00Z')).toBe(false);
    expect(isIsoDate(' 2024-04-01')).toBe(false);
    expect(isIsoDate('')).toBe(false);
  });

  it('rejects values that are not strings', () => {
    expect(isIsoDate(undefined)).toBe(false);
    expect(isIsoDate(null)).toBe(false);
    expect(isIsoDate(20240401)).toBe(false);
    expect(isIsoDate(new Date('2024-04-01'))).toBe(false);
  });
});

describe('todayJst and jstDateOf', () => {
  it('stay on the JST day until 14:59:59.999 UTC', () => {
    expect(todayJst(new Date('2024-11-30T14:59:59.999Z'))).toBe('2024-11-30');
    expect(jstDateOf('2024-11-30T14:59:59.999Z')).toBe('2024-11-30');
  });

  it('move to the next JST day at 15:00 UTC (JST midnight), here across a month end', () => {
    expect(todayJst(new Date('2024-11-30T15:00:00Z'))).toBe('2024-12-01');
    expect(jstDateOf('2024-11-30T15:00:00Z')).toBe('2024-12-01');
    expect(jstDateOf(new Date('2024-11-30T15:00:00Z'))).toBe('2024-12-01');
  });

  it('turn the year at 15:00 UTC on 31 December', () => {
    expect(jstDateOf('2024-12-31T14:59:59Z')).toBe('2024-12-31');
    expect(jstDateOf('2024-12-31T15:00:00Z')).toBe('2025-01-01');
  });

  it('read an instant written with an offset as the same instant', () => {
    expect(jstDateOf('2024-12-01T00:00:00+09:00')).toBe('2024-12-01');
    expect(jstDateOf('2024-11-30T23:59:59+09:00')).toBe('2024-11-30');
  });
});

describe('addDays', () => {
  it('crosses a month end forwards and backwards', () => {
    expect(addDays('2024-01-31', 1)).toBe('2024-02-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(addDays('2023-03-01', -1)).toBe('2023-02-28');
  });

  it('crosses a year end forwards and backwards', () => {
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    expect(addDays('2025-01-01', -1)).toBe('2024-12-31');
  });

  it('steps onto and over the leap day', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2024-02-29', 1)).toBe('2024-03-01');
    expect(addDays('2024-02-28', 366)).toBe('2025-02-28');
  });

  it('returns the same date for zero days', () => {
    expect(addDays('2024-06-15', 0)).toBe('2024-06-15');
  });
});

describe('addYears', () => {
  it('clamps 29 February to 28 February in a common year', () => {
    expect(addYears('2024-02-29', 1)).toBe('2025-02-28');
    expect(addYears('2024-02-29', -1)).toBe('2023-02-28');
  });

  it('keeps 29 February when the target year is a leap year', () => {
    expect(addYears('2024-02-29', 4)).toBe('2028-02-29');
    expect(addYears('2000-02-29', 100)).toBe('2100-02-28');
  });

  it('keeps the month and day of an ordinary date', () => {
    expect(addYears('2023-10-31', 5)).toBe('2028-10-31');
    expect(addYears('2023-01-01', -3)).toBe('2020-01-01');
  });
});

describe('daysBetween', () => {
  it('counts whole days b − a, negative when b is earlier', () => {
    expect(daysBetween('2024-01-01', '2024-01-31')).toBe(30);
    expect(daysBetween('2024-01-31', '2024-01-01')).toBe(-30);
    expect(daysBetween('2024-05-05', '2024-05-05')).toBe(0);
  });

  it('counts 366 days across a leap year and 365 across a common year', () => {
    expect(daysBetween('2024-01-01', '2025-01-01')).toBe(366);
    expect(daysBetween('2023-01-01', '2024-01-01')).toBe(365);
    expect(daysBetween('2024-02-28', '2024-03-01')).toBe(2);
  });
});
