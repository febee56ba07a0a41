// The one CSV writer of onshi: csv-stringify, with one rule for every file the system writes.
//
// Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with `=`, `+`,
// `-`, `@`, a tab or a carriage return (and, in some, their full-width forms ＝＋－＠) as a formula.
// Every *string* cell starting so is written with a single quote before it (`=1+1` → `'=1+1`);
// cells that are JavaScript numbers are written as numbers (`-5` stays `-5`, a number cannot be a
// formula). That is csv-stringify's own `escape_formulas` rule. Values holding a comma, a quote, CR
// or LF are quoted (quotes doubled). The batch results' byte writer (batch/results-csv.ts) applies
// the same rule through startsLikeFormulaBytes, and its tests compare it with this writer.

import { stringify, type Options } from 'csv-stringify/sync';
import { fieldError, OnshiError, type FieldError } from './errors.ts';
import { describeCharacter, encodeShiftJis, notEncodableInShiftJis } from './text.ts';

export type CsvCell = string | number | null | undefined;

export interface CsvOptions {
  /** Line end (default LF). */
  eol?: '\n' | '\r\n';
}

const optionsOf = (eol: '\n' | '\r\n'): Options => ({
  record_delimiter: eol,
  escape_formulas: true,
  // A bare CR is a line break to some readers: quote it as LF is quoted.
  quote_record_delimiter: true,
  cast: { boolean: (v) => (v ? '1' : '0') },
});

const LF = optionsOf('\n');
const CRLF = optionsOf('\r\n');

/** CSV text of rows (each line ends with the eol); the first row is the header when there is one. */
export function csvText(rows: readonly (readonly CsvCell[])[], options: CsvOptions = {}): string {
  return stringify(rows as CsvCell[][], options.eol === '\r\n' ? CRLF : LF);
}

/** One CSV line (with its eol). */
export function csvLine(values: readonly CsvCell[], options: CsvOptions = {}): string {
  return csvText([values], options);
}

/** Whether a string cell is written with a leading single quote (the formula rule above). */
export function startsLikeFormula(s: string): boolean {
  if (s.length === 0) return false;
  const c = s.charCodeAt(0);
  return c === 0x3d || c === 0x2b || c === 0x2d || c === 0x40 || c === 0x09 || c === 0x0d || c === 0xff1d || c === 0xff0b || c === 0xff0d || c === 0xff20;
}

/**
 * startsLikeFormula for a cell given as its UTF-8 bytes src[s … e): ASCII `=+-@`, TAB, CR, or the
 * full-width forms U+FF1D, U+FF0B, U+FF0D, U+FF20 (EF BC 9D / 8B / 8D, EF BC A0).
 */
export function startsLikeFormulaBytes(src: Uint8Array, s: number, e: number): boolean {
  if (s >= e) return false;
  const c = src[s];
  if (c === 0x3d || c === 0x2b || c === 0x2d || c === 0x40 || c === 0x09 || c === 0x0d) return true;
  if (c !== 0xef || e - s < 3 || src[s + 1] !== 0xbc) return false;
  const t = src[s + 2];
  return t === 0x9d || t === 0x8b || t === 0x8d || t === 0xa0;
}

/** At most this many unencodable cells are listed in a refusal. */
const NOT_ENCODABLE_LISTED = 100;

/**
 * CSV in Shift_JIS (CP932) for the print and mailing files. By the one Shift_JIS rule (text.ts) no
 * character is replaced: when any cell holds one CP932 cannot represent, nothing is written and the
 * answer is 422 ONSHI_EXPORT_NOT_ENCODABLE listing each such cell as `rows[n].<column>` (n the data
 * row, 1-based; the header is line 0) with `not_encodable` and the characters.
 */
export function csvShiftJis(header: readonly string[], rows: readonly (readonly CsvCell[])[], options: CsvOptions = {}): Buffer {
  const errors: FieldError[] = [];
  const rowNumbers: number[] = [];
  let count = 0;
  rows.forEach((row, r) => {
    let bad = false;
    row.forEach((cell, c) => {
      if (typeof cell !== 'string') return;
      const chars = notEncodableInShiftJis(cell);
      if (chars.length === 0) return;
      bad = true;
      if (count++ < NOT_ENCODABLE_LISTED) errors.push(fieldError(`rows[${r + 1}].${header[c] ?? c}`, 'not_encodable', chars.map((ch) => `${ch} ${describeCharacter(ch)}`).join(', ')));
    });
    if (bad) rowNumbers.push(r + 1);
  });
  if (count > 0) throw new OnshiError('ONSHI_EXPORT_NOT_ENCODABLE', { rows: rowNumbers.slice(0, NOT_ENCODABLE_LISTED), rejectedRows: rowNumbers.length, errorsTruncated: count > NOT_ENCODABLE_LISTED, errors });
  return encodeShiftJis(csvText([header, ...rows], options))!;
}
