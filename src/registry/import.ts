// Bulk member import: CSV (UTF-8 or Shift_JIS) or NDJSON, streamed row by row so that a file of a
// million rows never sits in memory. Rows have the single-member fields plus an optional `op`:
// add (default) | change | terminate. The whole file is one transaction: all or nothing, with every
// rejected row reported.

import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import iconv from 'iconv-lite';
import { fieldError, OnshiError, type FieldError } from '../platform/errors.ts';

export interface ImportRow {
  /** 1-based line number in the file (CSV: the line where the record ends; the header is line 1). */
  line: number;
  row: Record<string, unknown>;
  /** A problem found while parsing (bad JSON); the row is then rejected. */
  parseError?: FieldError;
}

export type ImportFormat = 'csv' | 'ndjson';

export function importFormatOf(contentType: string | undefined): ImportFormat | undefined {
  const mime = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (mime === 'text/csv') return 'csv';
  if (mime === 'application/x-ndjson' || mime === 'application/ndjson' || mime === 'application/jsonl') return 'ndjson';
  return undefined;
}

/** The charset parameter of a content type, normalised: 'utf-8', 'shift_jis' or undefined. */
export function charsetOf(contentType: string | undefined): 'utf-8' | 'shift_jis' | undefined {
  const m = /charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  if (!m) return undefined;
  const c = m[1].toLowerCase().replace(/[-_]/g, '');
  if (c === 'utf8') return 'utf-8';
  if (['shiftjis', 'sjis', 'cp932', 'windows31j', 'mskanji'].includes(c)) return 'shift_jis';
  throw new OnshiError('ONSHI_IMPORT_ENCODING', { charset: m[1], supported: ['utf-8', 'shift_jis'] });
}

/**
 * Decodes a byte stream to text. With no declared charset, plain ASCII passes through (it reads the
 * same either way) until the first chunk with a byte above 0x7F: if that chunk is valid UTF-8 the
 * stream is UTF-8, otherwise Shift_JIS (what Japanese spreadsheet software writes).
 */
export async function* decodeStream(source: AsyncIterable<Buffer | string>, declared: 'utf-8' | 'shift_jis' | undefined): AsyncGenerator<string> {
  let decoder: { write(b: Buffer): string; end(): string | undefined } | undefined;
  const open = (charset: 'utf-8' | 'shift_jis') => iconv.getDecoder(charset === 'utf-8' ? 'utf8' : 'Shift_JIS', { stripBOM: true });
  if (declared) decoder = open(declared);
  let leadingBom = true;
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!decoder) {
      if (leadingBom && buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) decoder = open('utf-8');
      else if (isAscii(buf)) {
        leadingBom = false;
        if (buf.length) yield buf.toString('latin1');
        continue;
      } else decoder = open(looksLikeUtf8(buf) ? 'utf-8' : 'shift_jis');
    }
    const text = decoder.write(buf);
    if (text) yield text;
  }
  const rest = decoder?.end();
  if (rest) yield rest;
}

function isAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] > 0x7f) return false;
  return true;
}

/** Valid UTF-8 except perhaps for a multi-byte sequence cut at the chunk's end. */
function looksLikeUtf8(buf: Buffer): boolean {
  let end = buf.length;
  // Step back over a possibly incomplete trailing sequence (at most 3 bytes).
  for (let i = 1; i <= 3 && i <= buf.length; i++) {
    const b = buf[buf.length - i];
    if ((b & 0xc0) === 0xc0) {
      end = buf.length - i;
      break;
    }
    if ((b & 0x80) === 0) break;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

const NUMERIC_FIELDS = new Set(['copayRate']);

/** CSV cells are text: empty means absent, numeric fields become numbers. */
function normaliseCsvRecord(record: Record<string, string>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    const key = k.trim();
    if (key === '' || v === '') continue;
    row[key] = NUMERIC_FIELDS.has(key) && /^\d+$/.test(v) ? Number(v) : v;
  }
  return row;
}

export async function* readImportRows(body: AsyncIterable<Buffer | string>, format: ImportFormat, charset: 'utf-8' | 'shift_jis' | undefined): AsyncGenerator<ImportRow> {
  const text = Readable.from(decodeStream(body, charset));
  if (format === 'csv') {
    const parser = text.pipe(parseCsv({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: false, info: true }));
    try {
      for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
        yield { line: info.lines, row: normaliseCsvRecord(record) };
      }
    } catch (e) {
      const err = e as { code?: string; lines?: number; message?: string };
      yield { line: err.lines ?? 0, row: {}, parseError: fieldError('csv', 'format', err.message?.slice(0, 200)) };
    }
    return;
  }
  let line = 0;
  for await (const raw of createInterface({ input: text, crlfDelay: Infinity })) {
    line++;
    if (raw.trim() === '') continue;
    try {
      const value = JSON.parse(raw) as unknown;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        yield { line, row: {}, parseError: fieldError('line', 'format', 'each line must be a JSON object') };
      } else {
        yield { line, row: value as Record<string, unknown> };
      }
    } catch {
      yield { line, row: {}, parseError: fieldError('line', 'format', 'not valid JSON') };
    }
  }
}
