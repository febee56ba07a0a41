import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { csvLine } from '../../platform/csv.ts';
import { payoutLines, payoutRow, type FacilityProgrammes } from './service.ts';

describe('the payout CSV line', () => {
  it('quotes only what needs it, and reads back the same', () => {
    const values = ['1310000018', '医療法人 "見本" 会', 'a,b', 'line\nbreak', 200000, '', -3];
    const line = csvLine(values);
    expect(line).toBe('1310000018,"医療法人 ""見本"" 会","a,b","line\nbreak",200000,,-3\n');
    expect(parse(line)).toEqual([values.map(String)]);
  });

  it('neutralises a facility name that starts like a formula, through payoutLines', () => {
    const facility = {
      facilityCode: '1310000018', name: '=HYPERLINK("http://x.example","y")', prefecture: '13', type: 'clinic', octClaims: 0, octUsers: 0,
      incentive: { octRatePercent: 0, small: false, band: '', table: '', bestMonth: null, bestMonthUsers: 0, increase: -1, column: null, conditionsMet: false, missingConditions: [], amountYen: 0, next: null },
      readerSubsidy: { peakMonth: null, peakUses: 0, readersAllowed: 0, capYen: 0 },
    } as unknown as FacilityProgrammes;
    const [read] = parse(payoutLines([facility])) as string[][];
    expect(read[1]).toBe('\'=HYPERLINK("http://x.example","y")');
    // A negative number is a number, not a formula.
    expect(read[12]).toBe('-1');
    expect(payoutRow(facility)[1]).toBe(facility.name);
  });
});
