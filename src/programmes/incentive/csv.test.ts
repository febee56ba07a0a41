import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { csvLine } from './service.ts';

describe('csvLine', () => {
  it('quotes only what needs it, and reads back the same', () => {
    const values = ['1310000018', '医療法人 "見本" 会', 'a,b', 'line\nbreak', 200000, '', -3];
    const line = csvLine(values);
    expect(line).toBe('1310000018,"医療法人 ""見本"" 会","a,b","line\nbreak",200000,,-3\n');
    expect(parse(line)).toEqual([values.map(String)]);
  });
});
