// The bulk result file (OQSmuquc02res) written straight from the stored blocks (bulk-result.ts) is
// byte-for-byte the file the former code wrote from decoded rows (bulk-result-reference.ts): on
// hand-made rows of every kind and on generated ones, both character codes, Shift_JIS falling back
// to UTF-8, blocks and pages cut anywhere.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeAnswer, decodeInput, encodeAnswer, encodeInput, RS } from '../batch/codec.ts';
import type { ByteResultPage } from '../batch/results-csv.ts';
import type { BatchResultRow, BatchRowInput, RowAnswer } from '../batch/service.ts';
import { bulkResultReference } from '../../test/support/bulk-result-reference.ts';
import { writeBulkResult } from './bulk-result.ts';
import type { MemberNumbers } from './reference-numbers.ts';
import type { Msg } from './schema.ts';
import type { CharacterCode } from './xml.ts';

interface Row {
  input: BatchRowInput | undefined;
  answer: RowAnswer;
}

/** Stores rows as the batch does (blocks of encoded rows joined by RS, as UTF-8 bytes). */
function stored(rows: readonly Row[], answerBlock: number, inputBlock: number) {
  const blocks = (texts: (string | undefined)[], size: number) => {
    const out: { first: number; count: number; bytes: Buffer }[] = [];
    for (let i = 0; i < texts.length; i += size) {
      const part = texts.slice(i, i + size);
      // A missing input row (none stored) ends its block: the rows after it start a new one.
      let k = 0;
      while (k < part.length) {
        if (part[k] === undefined) {
          k++;
          continue;
        }
        let e = k;
        while (e < part.length && part[e] !== undefined) e++;
        out.push({ first: i + k + 1, count: e - k, bytes: Buffer.from(part.slice(k, e).join(RS), 'utf8') });
        k = e;
      }
    }
    return out;
  };
  return { answers: blocks(rows.map((r) => encodeAnswer(r.answer)), answerBlock), inputs: blocks(rows.map((r) => (r.input === undefined ? undefined : encodeInput(r.input))), inputBlock) };
}

/** The pages BatchService.allResultBytes hands over (blocks overlapping a page's rows, whole). */
function pagesOf(s: ReturnType<typeof stored>, total: number, pageSize: number): ByteResultPage[] {
  const pages: ByteResultPage[] = [];
  for (let offset = 0; offset < total; offset += pageSize) {
    const end = offset + pageSize;
    const covering = (b: { first: number; count: number }) => b.first <= end && b.first + b.count > offset;
    pages.push({ offset, end, answers: s.answers.filter(covering), inputs: s.inputs.filter(covering) });
  }
  return pages;
}

/** The rows as BatchService.allResults decoded them from the same stored bytes. */
function decodedRows(s: ReturnType<typeof stored>): BatchResultRow[] {
  const inputs = new Map<number, string>();
  for (const b of s.inputs) b.bytes.toString('utf8').split(RS).forEach((t, i) => inputs.set(b.first + i, t));
  const out: BatchResultRow[] = [];
  for (const b of s.answers) {
    b.bytes.toString('utf8').split(RS).forEach((t, i) => {
      const row = b.first + i;
      const input = inputs.get(row);
      out.push({ row, input: input === undefined ? {} : decodeInput(input), answer: decodeAnswer(t) });
    });
  }
  return out;
}

const HEAD: Msg = {
  ProcessExecutionTime: '20241125093000',
  QualificationConfirmationDate: '20241125',
  MedicalInstitutionCode: '1319000019',
  ArbitraryFileIdentifier: 'BULK&<1>',
  ReceptionNumber: '0123456789abcdef0123456789abcdef',
};

const keyOf = (m: MemberNumbers) => `${m.insurerNumber}|${m.symbol}|${m.number}|${m.branch}`;

async function both(rows: readonly Row[], characterCode: CharacterCode, options: { answerBlock?: number; inputBlock?: number; pageSize?: number; head?: Msg; references?: Map<string, string> } = {}) {
  const s = stored(rows, options.answerBlock ?? 3, options.inputBlock ?? 2);
  const references = options.references ?? new Map<string, string>();
  const referenceOf = (m: MemberNumbers) => references.get(keyOf(m));
  const head = { ...(options.head ?? HEAD), CharacterCodeIdentifier: characterCode };
  const counts = { total: rows.length, normal: rows.filter((r) => r.answer.result !== 'error').length, error: rows.filter((r) => r.answer.result === 'error').length };
  const expected = bulkResultReference(head, counts, decodedRows(s), referenceOf, characterCode);
  const pages = pagesOf(s, rows.length, options.pageSize ?? 5);
  const actual = await writeBulkResult(head, counts, async function* () {
    yield* pages;
  }, referenceOf, characterCode);
  return { expected, actual: actual.bytes, characterCode: actual.characterCode };
}

// ------------------------------------------------------------ hand-made rows

const member = (o: Record<string, unknown> = {}) => ({
  insurerNumber: '139014', insurerName: '千代田区', symbol: '記号１', number: '1234', branch: '01', relationship: 'self', name: '診療　太郎', nameKana: 'シンリョウ　タロウ',
  birthDate: '1980-04-01', sex: 'male', address: '東京都千代田区千代田1-1', postalCode: '100-0001', qualifiedFrom: '2020-04-01', lostOn: null, copayRate: 30,
  paperCardIssuedOn: '2020-04-01', paperCardExpiresOn: null, validFrom: '2020-04-01', ...o,
});
const valid = (m: Record<string, unknown> = {}, limitCategory?: string | null): RowAnswer =>
  ({ result: 'valid', asOf: '2024-11-25', member: member(m), ...(limitCategory === undefined ? {} : { limitCategory }) }) as unknown as RowAnswer;
const invalid = (reason: string, o: Record<string, unknown> = {}): RowAnswer =>
  ({ result: 'invalid', asOf: '2024-11-25', reason, message: `en ${reason}`, messageJa: `無効 ${reason}`, ...o }) as unknown as RowAnswer;
const error: RowAnswer = {
  result: 'error', code: 'ONSHI_CONFIRMATION_INVALID_INPUT', message: 'Invalid input', messageJa: '入力が正しくありません。',
  errors: [{ field: 'birthDate', code: 'invalid', en: 'birthDate: bad', ja: 'birthDate: 日付が正しくありません' }, { field: 'insurerNumber', code: 'required', en: 'x', ja: 'x: 必須' }],
} as unknown as RowAnswer;
const xmlInput = (search: Record<string, string>, o: BatchRowInput = {}): BatchRowInput => ({ insurerNumber: '139014', number: '1234', birthDate: '1980-04-01', limitConsent: search.LimitApplicationCertificateRelatedConsFlg === '1', search, ...o });
const SEARCH = { InsurerNumber: '  139014', InsuredCardSymbol: '記号１', InsuredIdentificationNumber: '1234', InsuredBranchNumber: '01', Birthdate: '19800401' };

const handMade: Row[] = [
  // valid: 6-digit insurer, limit consent with a category (and a meal one), without consent, arbitrary identifier with escapes
  { input: xmlInput({ ...SEARCH, LimitApplicationCertificateRelatedConsFlg: '1', ArbitraryIdentifier: 'row-1' }), answer: valid({}, 'A03') },
  { input: xmlInput({ ...SEARCH, LimitApplicationCertificateRelatedConsFlg: '1' }), answer: valid({}, 'B05') },
  { input: xmlInput({ ...SEARCH, LimitApplicationCertificateRelatedConsFlg: '1' }), answer: valid({}, null) },
  { input: xmlInput({ ...SEARCH, LimitApplicationCertificateRelatedConsFlg: '0', ArbitraryIdentifier: 'a&b<c>"d"' }), answer: valid({}, 'A03') },
  { input: xmlInput({ ...SEARCH, LimitApplicationCertificateRelatedConsFlg: '1' }), answer: valid({}, '') },
  // 後期高齢者 (39), 70–74 (elderly), 74, 75, 70, 69, family, female, no symbol/branch/address/postal code, a lost date, a paper card
  { input: xmlInput({ InsurerNumber: '39131015', InsuredIdentificationNumber: '00000001', Birthdate: '19450101' }), answer: valid({ insurerNumber: '39131015', symbol: '', branch: '', copayRate: 10, birthDate: '1945-01-01' }) },
  { input: xmlInput({ InsurerNumber: '06139018', InsuredIdentificationNumber: '1', Birthdate: '19520401' }), answer: valid({ insurerNumber: '06139018', birthDate: '1952-04-01', copayRate: 20, relationship: 'family', sex: 'female' }) },
  { input: xmlInput({ InsurerNumber: '06139018', InsuredIdentificationNumber: '1', Birthdate: '19491126' }), answer: valid({ insurerNumber: '06139018', birthDate: '1949-11-26', copayRate: 10 }) },
  { input: xmlInput({ InsurerNumber: '06139018', InsuredIdentificationNumber: '1', Birthdate: '19491125' }), answer: valid({ insurerNumber: '06139018', birthDate: '1949-11-25', copayRate: 10 }) },
  { input: xmlInput({ InsurerNumber: '06139018', InsuredIdentificationNumber: '1', Birthdate: '19541125' }), answer: valid({ insurerNumber: '06139018', birthDate: '1954-11-25', copayRate: 20, sex: 'other' }) },
  { input: xmlInput({ InsurerNumber: '06139018', InsuredIdentificationNumber: '1', Birthdate: '19541126' }), answer: valid({ insurerNumber: '06139018', birthDate: '1954-11-26', address: '', postalCode: null, lostOn: '2025-03-31', paperCardExpiresOn: '2025-12-01' }) },
  // kana: voiced, semi-voiced, small, ヴ, hiragana, long vowel, full-width space
  { input: xmlInput(SEARCH), answer: valid({ nameKana: 'ヴァイオリン　パピプペポ　がぎぐ　ーッャ', name: '髙橋　﨑' }) },
  // invalid: every reason, with and without the new eligibility, lost with details and a loss reason
  ...['no_such_member', 'birth_date_mismatch', 'not_yet_started', 'paper_card_expired', 'several_match', 'paper_card_no_longer_usable', 'no_valid_certificate', 'some_new_reason'].map((reason) => ({ input: xmlInput(SEARCH), answer: invalid(reason) })),
  { input: xmlInput({ ...SEARCH, ArbitraryIdentifier: 'lost-1' }), answer: invalid('eligibility_lost', { details: { lostOn: '2024-10-01', lossReason: 'other_insurance' }, newEligibilityExists: true }) },
  { input: xmlInput(SEARCH), answer: invalid('eligibility_lost', { details: { lostOn: '2024-10-01', lossReason: 'death' }, newEligibilityExists: false }) },
  { input: xmlInput(SEARCH), answer: invalid('eligibility_lost', { details: { lostOn: '2024-10-01' } }) },
  { input: xmlInput(SEARCH), answer: invalid('eligibility_lost') },
  { input: xmlInput(SEARCH), answer: invalid('not_yet_started', { details: { qualifiedFrom: '2025-01-01' } }) },
  // error rows (stored as JSON)
  { input: xmlInput({ InsurerNumber: '1390', Birthdate: '1980' }), answer: error },
  { input: xmlInput({}), answer: error },
  // rows that came in as JSON or CSV (no search block): 6- and 8-digit insurers, zero-padded, no symbol
  { input: { insurerNumber: '139014', symbol: '記号１', number: '1234', branch: '01', birthDate: '1980-04-01' }, answer: valid({}, 'A03') },
  { input: { insurerNumber: '00139014', number: '1234', birthDate: '1980-04-01' }, answer: invalid('no_such_member') },
  { input: { insurerNumber: '06139018', number: '1', birthDate: '1980-04-01', asOf: '2024-11-25', limitConsent: true }, answer: valid({ insurerNumber: '06139018' }, 'A03') },
  { input: {}, answer: error },
  // odd shapes: a value holding a reserved character (stored as JSON), a search block of another shape, no input at all
  { input: xmlInput(SEARCH, { symbol: 'a\u001fb' }), answer: valid({ name: 'x\u001ey' }) },
  { input: xmlInput({ ...SEARCH, InsuredCardSymbol: '' }), answer: valid() },
  { input: undefined, answer: valid() },
  { input: undefined, answer: invalid('no_such_member') },
];

describe('the bulk result file from the stored blocks', () => {
  for (const cc of ['0', '1'] as const) {
    it(`writes every kind of row as the former code did (CharacterCodeIdentifier ${cc})`, async () => {
      const references = new Map([[keyOf({ insurerNumber: '139014', symbol: '記号１', number: '1234', branch: '01' }), 'P0001X'], [keyOf({ insurerNumber: '06139018', symbol: '記号１', number: '1', branch: '01' }), 'R&1']]);
      for (const [answerBlock, inputBlock, pageSize] of [[3, 2, 5], [1000, 1000, 10_000], [2, 7, 3], [1, 1, 1]]) {
        const r = await both(handMade, cc, { answerBlock, inputBlock, pageSize, references });
        expect(r.characterCode).toBe(cc);
        expect(r.actual.equals(r.expected), `blocks ${answerBlock}/${inputBlock}, pages ${pageSize}`).toBe(true);
      }
    });
  }

  it('falls back to UTF-8 when Shift_JIS cannot carry a character (in a record, an echoed search block, the header)', async () => {
    const cases: [Row[], Msg?][] = [
      [[...handMade.slice(0, 3), { input: xmlInput(SEARCH), answer: valid({ name: '𠮷野　家' }) }]],
      [[...handMade.slice(0, 3), { input: xmlInput({ ...SEARCH, ArbitraryIdentifier: 'é' }), answer: invalid('no_such_member') }]],
      [handMade.slice(0, 3), { ...HEAD, ArbitraryFileIdentifier: 'ü' }],
    ];
    for (const [rows, head] of cases) {
      const r = await both(rows, '1', { head });
      expect(r.characterCode).toBe('0');
      expect(r.actual.equals(r.expected)).toBe(true);
      expect(r.actual.subarray(0, 60).toString('latin1')).toContain('UTF-8');
    }
  });

  it('writes a file of one row and of many pages', async () => {
    for (const n of [1, 2, 41]) {
      const rows = Array.from({ length: n }, (_, i) => handMade[i % handMade.length]);
      for (const cc of ['0', '1'] as const) {
        const r = await both(rows, cc, { pageSize: 4, answerBlock: 5, inputBlock: 3 });
        expect(r.actual.equals(r.expected)).toBe(true);
      }
    }
  });

  // ------------------------------------------------------------ generated rows

  const char = fc.constantFrom('a', 'Z', '0', '9', ' ', '-', '&', '<', '>', '"', "'", '\n', 'あ', 'ア', 'ｱ', '漢', '髙', '　', 'ー', '－', '①', '㈱', '\u3099', '𠮷', 'é', '\u0001', '\u001f', '\ud800', '\\');
  const text = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('', '12', '記号１', '診療　太郎', 'シンリョウ　タロウ') }, fc.array(char, { maxLength: 6 }).map((a) => a.join('')));
  const isoDate = fc.date({ min: new Date('1930-01-01'), max: new Date('2030-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  const insurer = fc.constantFrom('139014', '06139018', '39131015', '39', '  139014', '00139014', '');
  const memberArb = fc.record({
    insurerNumber: insurer, insurerName: text, symbol: text, number: text, branch: text, relationship: fc.constantFrom('self', 'family', 'x'), name: text, nameKana: text,
    birthDate: fc.oneof(isoDate, fc.constantFrom('1954-11-25', '1949-11-26', '1950-02-29')), sex: fc.constantFrom('male', 'female', 'unknown'), address: text, postalCode: fc.option(text, { nil: null }),
    qualifiedFrom: isoDate, lostOn: fc.option(isoDate, { nil: null }), copayRate: fc.constantFrom(10, 20, 30, 0, 100, 0.5), paperCardIssuedOn: fc.option(isoDate, { nil: null }),
    paperCardExpiresOn: fc.option(isoDate, { nil: null }), validFrom: fc.oneof(isoDate, fc.constant('')),
  });
  const validArb = fc.record({ asOf: fc.constantFrom('2024-11-25', '2025-12-02'), member: memberArb, limitCategory: fc.constantFrom(undefined, null, 'A03', 'B05', 'A06', '', 'x&y') }).map(
    ({ asOf, member: m, limitCategory }) => ({ result: 'valid', asOf, member: m, ...(limitCategory === undefined ? {} : { limitCategory }) }) as unknown as RowAnswer,
  );
  const invalidArb = fc
    .record({
      reason: fc.constantFrom('no_such_member', 'birth_date_mismatch', 'not_yet_started', 'eligibility_lost', 'paper_card_expired', 'several_match', 'paper_card_no_longer_usable', 'no_valid_certificate', 'other'),
      messageJa: text,
      details: fc.constantFrom(undefined, { lostOn: '2024-10-01' }, { lostOn: '2024-10-01', lossReason: 'death' }, { lossReason: 'other' }, { lostOn: '2024-"10' }),
      newEligibilityExists: fc.constantFrom(undefined, true, false),
    })
    .map(({ reason, messageJa, details, newEligibilityExists }) => {
      const a: Record<string, unknown> = { result: 'invalid', asOf: '2024-11-25', reason, message: 'm', messageJa };
      if (details !== undefined) a.details = details;
      if (newEligibilityExists !== undefined) a.newEligibilityExists = newEligibilityExists;
      return a as unknown as RowAnswer;
    });
  const answerArb = fc.oneof({ weight: 4, arbitrary: validArb }, { weight: 3, arbitrary: invalidArb }, { weight: 1, arbitrary: fc.constant(error) });
  const searchArb = fc.record(
    { InsurerNumber: insurer, InsuredCardSymbol: text, InsuredIdentificationNumber: text, InsuredBranchNumber: text, Birthdate: text, LimitApplicationCertificateRelatedConsFlg: fc.constantFrom('1', '0', '2'), ArbitraryIdentifier: text },
    { requiredKeys: [] },
  );
  const inputArb = fc.oneof(
    { weight: 4, arbitrary: fc.record({ insurerNumber: fc.option(insurer, { nil: undefined }), number: fc.option(text, { nil: undefined }), birthDate: fc.option(isoDate, { nil: undefined }), search: searchArb }).map((r) => ({ ...r, limitConsent: r.search.LimitApplicationCertificateRelatedConsFlg === '1' }) as BatchRowInput) },
    { weight: 2, arbitrary: fc.record({ insurerNumber: fc.option(insurer, { nil: undefined }), symbol: fc.option(text, { nil: undefined }), number: fc.option(text, { nil: undefined }), branch: fc.option(text, { nil: undefined }), birthDate: fc.option(isoDate, { nil: undefined }) }, { requiredKeys: [] }) as fc.Arbitrary<BatchRowInput> },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

  it('writes generated rows as the former code did', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ input: inputArb, answer: answerArb }), { minLength: 1, maxLength: 25 }),
        fc.constantFrom<CharacterCode>('0', '1'),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        async (rows, cc, answerBlock, inputBlock, pageSize, withReferences) => {
          const references = new Map<string, string>();
          if (withReferences) for (const r of rows) if (r.answer.result === 'valid') references.set(keyOf(r.answer.member), `R${references.size}`);
          const r = await both(rows, cc, { answerBlock, inputBlock, pageSize, references });
          expect(r.actual.toString('latin1')).toBe(r.expected.toString('latin1'));
        },
      ),
      { numRuns: 400 },
    );
  });
});
