// The CSV download of a batch's results (一括照会). The stored blocks (codec.ts) are read as their
// UTF-8 bytes and the CSV is written as bytes: a valid or invalid answer and a plain input row are
// cut at US and RS (single bytes that never occur inside a multi-byte character) and their values
// copied into place, quoted when they hold a comma, a quote or a line break (ASCII too). No string
// and no object is made for such a row; only a row stored as JSON (every error answer, an odd shape,
// a value holding a reserved character) is decoded and written from its objects by the project's
// CSV writer (platform/csv.ts). Both ways give the same bytes, formula cells included: a value
// starting like a formula (`=1+1`, `@2`, the facility's own input echoed) gets a leading single
// quote by the same rule (startsLikeFormulaBytes); results-csv.test.ts checks both against
// csv-stringify.

import { decodeAnswer, decodeInput, INVALID_AT, JSON_ROW, NIL as NIL_TEXT, RS as RS_TEXT, US as US_TEXT, VALID_AT } from './codec.ts';
import type { BatchResultRow } from './service.ts';
import { csvLine, startsLikeFormulaBytes, type CsvCell } from '../platform/csv.ts';

export const CSV_COLUMNS = [
  'row', 'insurerNumber', 'symbol', 'number', 'branch', 'birthDate', 'asOf', 'result', 'reason', 'code', 'message',
  'name', 'nameKana', 'sex', 'relationship', 'insurerName', 'qualifiedFrom', 'lostOn', 'copayRate', 'paperCardExpiresOn',
];

/** One value alone as the CSV writer writes it (its line without the LF). */
const field = (v: string): string => csvLine([v]).slice(0, -1);

/** A value as the CSV shows it: absent is empty. */
const text = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/** A result row's CSV values, in CSV_COLUMNS order (the row number a number, every other a string). */
function csvValues(r: BatchResultRow): CsvCell[] {
  const a = r.answer as Record<string, any>;
  const m = (a.member ?? {}) as Record<string, unknown>;
  return [
    r.row,
    text(r.input.insurerNumber),
    text(r.input.symbol),
    text(r.input.number),
    text(r.input.branch),
    text(r.input.birthDate),
    text(a.asOf ?? r.input.asOf),
    text(a.result),
    text(a.reason),
    text(a.code),
    a.result === 'error' ? (a.errors as { en: string }[]).map((e) => e.en).join('; ') : text(a.message),
    text(m.name),
    text(m.nameKana),
    text(m.sex),
    text(m.relationship),
    text(m.insurerName),
    text(m.qualifiedFrom),
    text(m.lostOn ?? a.details?.lostOn),
    text(m.copayRate),
    text(m.paperCardExpiresOn),
  ];
}

export function csvHeader(): string {
  return csvLine(CSV_COLUMNS);
}

// ------------------------------------------------------------ straight from the stored bytes

/** A stored block as its UTF-8 bytes: rows first … first + count - 1, joined by RS. */
export interface ByteBlock {
  first: number;
  count: number;
  bytes: Buffer;
}

/** The blocks that hold rows offset+1 … end (in first order); rows outside that range are left out. */
export interface ByteResultPage {
  offset: number;
  end: number;
  answers: ByteBlock[];
  inputs: ByteBlock[];
}

const RS = RS_TEXT.charCodeAt(0);
const US = US_TEXT.charCodeAt(0);
const NIL = NIL_TEXT.charCodeAt(0);
const JSON_INPUT = JSON_ROW.charCodeAt(0);
const QUOTE = 0x22;
const COMMA = 0x2c;
const APOSTROPHE = 0x27;

/** Chunks of about this many bytes are handed on. */
const CHUNK_BYTES = 256 * 1024;

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const AFTER_VALID_AS_OF = ascii(',valid,,,,');
const AFTER_INVALID_AS_OF = ascii(',invalid,');
const NO_INPUT = ascii(',,,,,,');
const BEFORE_LOST_ON = ascii(',,,,,,,');
const AFTER_LOST_ON = ascii(',,\n');
/** An invalid answer's details when they are just a lostOn string with nothing escaped: `{"lostOn":"` … `"}`. */
const LOST_ON_OPEN = ascii('{"lostOn":"');

/** Where each row of a block starts, and at [count] one past the RS after its last row. */
function rowStarts(b: ByteBlock): Int32Array {
  const at = new Int32Array(b.count + 1);
  let p = 0;
  for (let i = 0; i < b.count; i++) {
    at[i] = p;
    const rs = b.bytes.indexOf(RS, p);
    p = rs < 0 ? b.bytes.length + 1 : rs + 1;
  }
  at[b.count] = p;
  return at;
}

/** Writes CSV lines into buffers of about CHUNK_BYTES, handing each on when full. */
class CsvBytes {
  private out = Buffer.allocUnsafe(CHUNK_BYTES + 64 * 1024);
  private o = 0;
  /** Starts and ends of the values of the answer and of the input row being written (US-separated). */
  private readonly fs = new Int32Array(VALID_AT.limitCategory + 2);
  private readonly fe = new Int32Array(VALID_AT.limitCategory + 2);
  private readonly ifs = new Int32Array(5);
  private readonly ife = new Int32Array(5);

  constructor(private readonly emit: (chunk: Buffer) => void) {}

  /** Makes room for n more bytes. */
  private room(n: number): void {
    if (this.o + n <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.o + n));
    this.out.copy(bigger, 0, 0, this.o);
    this.out = bigger;
  }

  /** Hands on what is written once a chunk is full (at the end: whatever is written). */
  flush(all = false): void {
    if (this.o === 0 || (!all && this.o < CHUNK_BYTES)) return;
    this.emit(this.out.subarray(0, this.o));
    this.out = Buffer.allocUnsafe(CHUNK_BYTES + 64 * 1024);
    this.o = 0;
  }

  private bytes(b: Buffer): void {
    const out = this.out;
    let o = this.o;
    for (let i = 0; i < b.length; i++) out[o++] = b[i];
    this.o = o;
  }

  private byte(c: number): void {
    this.out[this.o++] = c;
  }

  private number(n: number): void {
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    const out = this.out;
    const o = this.o;
    for (let k = digits - 1; k >= 0; k--) {
      out[o + k] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.o = o + digits;
  }

  private string(s: string): void {
    this.room(s.length * 3);
    this.o += this.out.write(s, this.o);
  }

  /**
   * The bytes src[s … e) as one CSV value, by the writer's rules: a leading single quote when it
   * starts like a formula; quoted when it holds ",\n\r (ASCII, never inside a multi-byte character).
   */
  private value(src: Uint8Array, s: number, e: number): void {
    const out = this.out;
    const formula = startsLikeFormulaBytes(src, s, e);
    let o = this.o;
    if (formula) out[o++] = APOSTROPHE;
    let i = s;
    for (; i < e; i++) {
      const c = src[i];
      if (c <= COMMA && (c === COMMA || c === QUOTE || c === 0x0a || c === 0x0d)) break;
      out[o++] = c;
    }
    if (i < e) {
      o = this.o;
      out[o++] = QUOTE;
      if (formula) out[o++] = APOSTROPHE;
      for (i = s; i < e; i++) {
        const c = src[i];
        out[o++] = c;
        if (c === QUOTE) out[o++] = QUOTE;
      }
      out[o++] = QUOTE;
    }
    this.o = o;
  }

  /** An encoded value: NIL (absent) is empty. */
  private stored(src: Uint8Array, s: number, e: number): void {
    if (e - s === 1 && src[s] === NIL) return;
    this.value(src, s, e);
  }

  /**
   * Cuts src[s … e) at US into starts and ends; the number of values. When there are more values
   * than they hold: 0, or with `leading` the number they hold (the leading values).
   */
  private cut(starts: Int32Array, ends: Int32Array, src: Uint8Array, s: number, e: number, leading = false): number {
    const max = starts.length;
    let n = 0;
    starts[0] = s;
    for (let i = s; i < e; i++) {
      if (src[i] === US) {
        ends[n++] = i;
        if (n === max) return leading ? n : 0;
        starts[n] = i + 1;
      }
    }
    ends[n++] = e;
    return n;
  }

  /** A row written from its objects, the way every row used to be. */
  private decoded(row: number, input: string | undefined, answer: string): void {
    this.string(csvLine(csvValues({ row, input: input === undefined ? {} : decodeInput(input), answer: decodeAnswer(answer) })));
  }

  /** One row: its answer a[as … ae) and its input row i[is … ie), if any. */
  row(row: number, a: Buffer, as: number, ae: number, inp: Buffer | undefined, is: number, ie: number): void {
    const kind = a[as];
    const { fs, fe } = this;
    const n = kind === 0x56 /* V */ || kind === 0x49 /* I */ ? this.cut(fs, fe, a, as, ae) : 0;
    if (n !== (kind === 0x56 ? VALID_AT.limitCategory + 1 : INVALID_AT.newEligibilityExists + 1) || (inp !== undefined && inp[is] === JSON_INPUT)) {
      this.decoded(row, inp?.toString('utf8', is, ie), a.toString('utf8', as, ae));
      return;
    }
    // Every value doubled, quoted and prefixed in the worst case, the separators and the row number.
    this.room(2 * (ae - as) + (inp === undefined ? 0 : 2 * (ie - is)) + 128);
    this.number(row);
    if (inp === undefined) this.bytes(NO_INPUT);
    else {
      const { ifs, ife } = this;
      const m = this.cut(ifs, ife, inp, is, ie, true);
      for (let k = 0; k < 5; k++) {
        this.byte(COMMA);
        if (k < m) this.stored(inp, ifs[k], ife[k]);
      }
      this.byte(COMMA);
    }
    if (kind === 0x56) {
      // A valid answer has no reason, code, message or details; its asOf is a string (never NIL), its
      // copayRate the String of a finite number.
      this.value(a, fs[VALID_AT.asOf], fe[VALID_AT.asOf]);
      this.bytes(AFTER_VALID_AS_OF);
      for (const k of VALID_MEMBER_VALUES) {
        this.value(a, fs[k], fe[k]);
        this.byte(COMMA);
      }
      this.stored(a, fs[VALID_AT.lostOn], fe[VALID_AT.lostOn]);
      this.byte(COMMA);
      this.value(a, fs[VALID_AT.copayRate], fe[VALID_AT.copayRate]);
      this.byte(COMMA);
      this.stored(a, fs[VALID_AT.paperCardExpiresOn], fe[VALID_AT.paperCardExpiresOn]);
      this.byte(0x0a);
      return;
    }
    this.value(a, fs[INVALID_AT.asOf], fe[INVALID_AT.asOf]);
    this.bytes(AFTER_INVALID_AS_OF);
    this.value(a, fs[INVALID_AT.reason], fe[INVALID_AT.reason]);
    this.byte(COMMA);
    this.byte(COMMA);
    this.value(a, fs[INVALID_AT.message], fe[INVALID_AT.message]);
    this.bytes(BEFORE_LOST_ON);
    this.lostOn(a, fs[INVALID_AT.details], fe[INVALID_AT.details]);
    this.bytes(AFTER_LOST_ON);
  }

  /** details?.lostOn of an invalid answer's details (JSON, or NIL). */
  private lostOn(a: Buffer, s: number, e: number): void {
    if (e - s === 1 && a[s] === NIL) return;
    const open = LOST_ON_OPEN.length;
    if (e - s >= open + 2 && a[e - 2] === QUOTE && a[e - 1] === 0x7d /* } */) {
      let plain = true;
      for (let k = 0; k < open; k++) if (a[s + k] !== LOST_ON_OPEN[k]) plain = false;
      // A JSON string with no quote and no backslash in it is its own bytes.
      for (let i = s + open; plain && i < e - 2; i++) if (a[i] === QUOTE || a[i] === 0x5c) plain = false;
      if (plain) return this.value(a, s + open, e - 2);
    }
    this.string(field(text((JSON.parse(a.toString('utf8', s, e)) as { lostOn?: unknown } | null)?.lostOn)));
  }

  /** The rows of a page, in row order. */
  page(p: ByteResultPage): void {
    let ib = 0;
    let inputAt: Int32Array | undefined;
    for (const b of p.answers) {
      const at = rowStarts(b);
      const from = Math.max(p.offset + 1, b.first);
      const to = Math.min(p.end, b.first + b.count - 1);
      for (let row = from; row <= to; row++) {
        // The input block holding this row, if any.
        while (ib < p.inputs.length && p.inputs[ib].first + p.inputs[ib].count <= row) {
          ib++;
          inputAt = undefined;
        }
        const ib0 = p.inputs[ib];
        const i = row - b.first;
        if (ib0 !== undefined && ib0.first <= row) {
          inputAt ??= rowStarts(ib0);
          const j = row - ib0.first;
          this.row(row, b.bytes, at[i], at[i + 1] - 1, ib0.bytes, inputAt[j], inputAt[j + 1] - 1);
        } else this.row(row, b.bytes, at[i], at[i + 1] - 1, undefined, 0, 0);
        this.flush();
      }
    }
  }
}

/** The member values a valid row shows before lostOn, in CSV_COLUMNS order. */
const VALID_MEMBER_VALUES = [VALID_AT.name, VALID_AT.nameKana, VALID_AT.sex, VALID_AT.relationship, VALID_AT.insurerName, VALID_AT.qualifiedFrom];

/** The CSV lines of a page of results, in chunks of about 256 KB. */
export function csvOfPage(p: ByteResultPage): Buffer[] {
  const chunks: Buffer[] = [];
  const w = new CsvBytes((c) => chunks.push(c));
  w.page(p);
  w.flush(true);
  return chunks;
}
