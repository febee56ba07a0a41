// Bulk member import: CSV (UTF-8 or Shift_JIS) or NDJSON, streamed row by row so that a file of a
// million rows never sits in memory. Rows have the single-member fields plus an optional `op`:
// add (default) | change | terminate. The whole file is one transaction: all or nothing, with every
// rejected row reported.

import { Readable, pipeline } from 'node:stream';
import { Parser as CsvParser } from 'csv-parse';
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

/**
 * The longest line (CSV record, NDJSON line) read, in characters: a row is a few hundred. A line
 * still open past it is a rejected row and ends the reading, so that no line is held without bound.
 */
export const MAX_LINE_CHARS = 1024 * 1024;

const lineTooLong = (line: number, field: string): ImportRow => ({ line, row: {}, parseError: fieldError(field, 'too_long', `a line of more than ${MAX_LINE_CHARS} characters`) });

export interface ReadOptions {
  /** The most rows a file may have: the first row past it throws ONSHI_IMPORT_TOO_MANY_ROWS, before the rest is read. */
  maxRows?: number;
}

/** Counts the rows read against the limit. */
class RowBudget {
  private rows = 0;
  constructor(private readonly maxRows: number) {}

  take(): void {
    if (++this.rows > this.maxRows) throw new OnshiError('ONSHI_IMPORT_TOO_MANY_ROWS', { maxRows: this.maxRows });
  }
}

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

/**
 * The body as UTF-8 bytes for the CSV reader (csv-parse reads bytes and decodes each field itself):
 * UTF-8 bodies pass through untouched instead of being decoded to text and encoded back, Shift_JIS
 * is decoded and re-encoded. Same detection as decodeStream; a leading byte-order mark is left to
 * the reader, which drops it as csv-parse's `bom: true` does.
 */
async function* utf8Bytes(source: AsyncIterable<Buffer | string>, declared: 'utf-8' | 'shift_jis' | undefined): AsyncGenerator<Buffer> {
  let charset = declared;
  let sjis: { write(b: Buffer): string; end(): string | undefined } | undefined;
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!charset) {
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) charset = 'utf-8';
      else if (isAscii(buf)) {
        if (buf.length) yield buf;
        continue;
      } else charset = looksLikeUtf8(buf) ? 'utf-8' : 'shift_jis';
    }
    if (charset === 'utf-8') {
      if (buf.length) yield buf;
      continue;
    }
    sjis ??= iconv.getDecoder('Shift_JIS', { stripBOM: true });
    const text = sjis.write(buf);
    if (text) yield Buffer.from(text);
  }
  const rest = sjis?.end();
  if (rest) yield Buffer.from(rest);
}

type CsvItem = { line: number; record: Record<string, string> } | { error: Error & { lines?: number } };

/**
 * csv-parse handing over, per chunk of input, the array of records it completed, each tagged with
 * the line it ends on. The parser's `info` option would tag them by copying its whole state into a
 * new object per record (a quarter of the parse time); its live `info.lines` at the moment a record
 * is pushed is the same number. One stream push per chunk instead of one per record saves the
 * stream machinery for every row. A parse error comes last in the stream, after every record before
 * it: as a stream error it would discard the records still buffered, a number that depended on how
 * the body happened to be cut into chunks.
 */
class LineNumberedCsvParser extends CsvParser {
  private completed: CsvItem[] = [];

  override push(record: unknown, encoding?: BufferEncoding): boolean {
    if (record !== null) {
      this.completed.push({ line: this.info.lines, record: record as Record<string, string> });
      return true;
    }
    this.handOver();
    return super.push(null, encoding);
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    super._transform(chunk, encoding, (error?: Error | null) => this.afterParse(error, callback));
  }

  override _flush(callback: (error?: Error | null) => void): void {
    super._flush((error?: Error | null) => this.afterParse(error, callback));
  }

  private afterParse(error: Error | null | undefined, callback: (error?: Error | null) => void): void {
    if (error) {
      // csv-parse stops at its first error and reads no further input.
      this.completed.push({ error });
      this.handOver();
      super.push(null);
      callback();
      return;
    }
    this.handOver();
    callback();
  }

  private handOver(): void {
    if (this.completed.length === 0) return;
    const items = this.completed;
    this.completed = [];
    super.push(items);
  }
}

const DIGITS = /^\d+$/;

/** CSV cells are text: empty means absent, numeric fields (copayRate) become numbers. */
function normaliseCsvRecord(record: Record<string, string>, trimmed: Map<string, string>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const k in record) {
    const v = record[k];
    if (v === '') continue;
    let key = trimmed.get(k); // header names repeat on every record: trim each once
    if (key === undefined) trimmed.set(k, (key = k.trim()));
    if (key === '') continue;
    row[key] = key === 'copayRate' && DIGITS.test(v) ? Number(v) : v;
  }
  return row;
}

const CSV_OPTIONS = { columns: true, bom: true, skip_empty_lines: true, relax_column_count: false, max_record_size: MAX_LINE_CHARS } as const;

/** Rows of a CSV read by csv-parse (the general path, and the rest of a body the fast path gives up on). */
async function* csvParseRows(bytes: AsyncIterable<Buffer>, budget: RowBudget): AsyncGenerator<ImportRow> {
  const parser = new LineNumberedCsvParser(CSV_OPTIONS);
  // pipeline, not pipe: an error of the body (a limit passed) must end the parser too, not leave it waiting.
  pipeline(Readable.from(bytes), parser, () => {});
  const trimmed = new Map<string, string>();
  for await (const items of parser as AsyncIterable<CsvItem[]>) {
    for (const item of items) {
      if ('error' in item) {
        yield { line: item.error.lines ?? 0, row: {}, parseError: fieldError('csv', 'format', item.error.message?.slice(0, 200)) };
        return;
      }
      budget.take();
      yield { line: item.line, row: normaliseCsvRecord(item.record, trimmed) };
    }
  }
}

/** Where a UTF-8 buffer can be cut without splitting a character: before a trailing incomplete sequence. */
function utf8Cut(buf: Buffer): number {
  for (let i = 1; i <= 3 && i <= buf.length; i++) {
    const b = buf[buf.length - i];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const needed = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return needed > i ? buf.length - i : buf.length;
  }
  return buf.length;
}

/**
 * The CSV reader. csv-parse reads byte by byte and was a fifth of the import; most files have no
 * quoted cells, and a line of those is simply its cells between commas. This fast path takes such
 * lines (one record delimiter throughout, the header's cells all different) and gives the rest of the
 * body to csv-parse at the first line it cannot take exactly as csv-parse would: a quote, a stray CR,
 * a record with the wrong number of cells. csv-parse is then given the header and one empty line per
 * line already read, so that its line numbers and error messages are what they would have been.
 */
async function* readCsvRows(body: AsyncIterable<Buffer>, budget: RowBudget): AsyncGenerator<ImportRow> {
  const source = body[Symbol.asyncIterator]();
  let carry: Buffer = Buffer.alloc(0); // bytes not yet decoded (at most an incomplete character)
  let text = ''; // decoded text not yet consumed, from the start of a line
  let names: string[] | undefined; // the header's cells, trimmed
  let headerLine = '';
  let delimiter = '';
  let line = 0; // lines consumed
  let ended = false;

  /** Everything not consumed yet, then the rest of the body, for csv-parse. */
  async function* remainder(prefix: string): AsyncGenerator<Buffer> {
    yield Buffer.concat([Buffer.from(prefix + text), carry]);
    for (;;) {
      const next = await source.next();
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    }
  }
  const handOver = () => csvParseRows(remainder(names === undefined ? '' : headerLine + delimiter + delimiter.repeat(line - 1)), budget);

  // The first bytes decide: csv-parse's byte-order marks (UTF-16LE switches its decoding) go to it.
  while (carry.length < 3 && !ended) {
    const next = await source.next();
    if (next.done) ended = true;
    else carry = Buffer.concat([carry, typeof next.value === 'string' ? Buffer.from(next.value) : next.value]);
  }
  if (carry[0] === 0xff && carry[1] === 0xfe) {
    yield* handOver();
    return;
  }
  for (;;) {
    // Decode what can be decoded; keep an incomplete trailing character for the next chunk.
    const cut = ended ? carry.length : utf8Cut(carry);
    const kept = text.length; // text kept from before holds no line end: not searched again
    text += carry.toString('utf8', 0, cut);
    carry = carry.subarray(cut);
    let start = 0;
    const rows: ImportRow[] = [];
    for (;;) {
      let end = text.indexOf('\n', Math.max(start, kept));
      if (end === -1) {
        if (!ended || start >= text.length) break;
        end = text.length; // the last line, without a line end
      }
      let content = text.slice(start, end);
      if (names === undefined) {
        if (content.charCodeAt(0) === 0xfeff) content = content.slice(1);
        delimiter = content.endsWith('\r') && end < text.length ? '\r\n' : '\n';
        if (delimiter === '\r\n') content = content.slice(0, -1);
        const header = content.split(',').map((c) => c.trim());
        if (content === '' || content.includes('"') || content.includes('\r') || new Set(header).size !== header.length || header.some((n) => /^\d+$|^__proto__$/.test(n))) break;
        names = header;
        headerLine = content;
      } else {
        if (delimiter === '\r\n' && end < text.length) {
          if (text.charCodeAt(end - 1) !== 13) break; // a bare LF: csv-parse would read on
          content = content.slice(0, -1);
        }
        if (content.includes('"') || content.includes('\r')) break;
        if (content !== '') {
          const cells = content.split(',');
          if (cells.length !== names.length) break;
          const row: Record<string, unknown> = {};
          for (let i = 0; i < cells.length; i++) {
            const v = cells[i];
            const key = names[i];
            if (v === '' || key === '') continue;
            row[key] = key === 'copayRate' && DIGITS.test(v) ? Number(v) : v;
          }
          budget.take();
          rows.push({ line: line + 1, row });
        }
      }
      line++;
      start = end + 1;
    }
    text = text.slice(Math.min(start, text.length));
    for (const r of rows) yield r;
    if (text !== '' && (ended || text.indexOf('\n') !== -1)) {
      yield* handOver();
      return;
    }
    if (text.length > MAX_LINE_CHARS) {
      yield lineTooLong(line + 1, 'csv');
      return;
    }
    if (ended) return;
    const next = await source.next();
    if (next.done) ended = true;
    else carry = carry.length ? Buffer.concat([carry, next.value as Buffer]) : typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
  }
}

/** An import file as it arrives: its bytes, how to read them, and the most rows it may have. */
export interface ImportFile {
  bytes: AsyncIterable<Buffer | string>;
  format: ImportFormat;
  charset: 'utf-8' | 'shift_jis' | undefined;
  maxRows?: number;
}

export function readImportRows(body: AsyncIterable<Buffer | string>, format: ImportFormat, charset: 'utf-8' | 'shift_jis' | undefined, options: ReadOptions = {}): AsyncGenerator<ImportRow> {
  // The reader's own generator, not one delegating to it: each row then costs one generator step, not two.
  const budget = new RowBudget(options.maxRows ?? Infinity);
  return format === 'csv' ? readCsvRows(utf8Bytes(body, charset), budget) : readNdjsonRows(body, charset, budget);
}

async function* readNdjsonRows(body: AsyncIterable<Buffer | string>, charset: 'utf-8' | 'shift_jis' | undefined, budget: RowBudget): AsyncGenerator<ImportRow> {
  let line = 0;
  const rowOf = (raw: string): ImportRow | undefined => {
    line++;
    if (raw.trim() === '') return undefined;
    budget.take();
    try {
      const value = JSON.parse(raw) as unknown;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return { line, row: {}, parseError: fieldError('line', 'format', 'each line must be a JSON object') };
      return { line, row: value as Record<string, unknown> };
    } catch {
      return { line, row: {}, parseError: fieldError('line', 'format', 'not valid JSON') };
    }
  };
  // Line ends as readline reads them: LF, CRLF or a lone CR (this reader's own regex: it keeps its place across yields).
  const lineEnd = /\r\n|\n|\r/g;
  let parts: string[] = []; // the line not yet ended, in pieces (each chunk is searched once)
  let held = 0;
  let afterCR = false; // the last chunk ended with CR: an LF starting this one is the same line end
  for await (const chunk of decodeStream(body, charset)) {
    let start = afterCR && chunk.charCodeAt(0) === 10 ? 1 : 0;
    afterCR = false;
    lineEnd.lastIndex = start;
    for (let m = lineEnd.exec(chunk); m !== null; m = lineEnd.exec(chunk)) {
      let raw = chunk.slice(start, m.index);
      if (parts.length > 0) {
        parts.push(raw);
        raw = parts.join('');
        parts = [];
        held = 0;
      }
      start = m.index + m[0].length;
      if (m[0] === '\r' && start === chunk.length) afterCR = true;
      const row = rowOf(raw);
      if (row) yield row;
    }
    if (start < chunk.length) {
      parts.push(chunk.slice(start));
      held += chunk.length - start;
      if (held > MAX_LINE_CHARS) {
        yield lineTooLong(line + 1, 'line');
        return;
      }
    }
  }
  if (parts.length > 0) {
    const row = rowOf(parts.join(''));
    if (row) yield row;
  }
}
