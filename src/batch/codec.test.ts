// The stored form of batch rows and answers gives back exactly what JSON did; the direct CSV split
// reads a plain body exactly as csv-parse does, and leaves every other body to it.

import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { decodeAnswer, decodeInput, encodeAnswer, encodeInput } from './codec.ts';
import { rowsOfCsv, rowsOfPlainCsv, rowsOfPlainCsvInSlices } from './routes.ts';
import fc from 'fast-check';
import type { BatchRowInput, RowAnswer } from './service.ts';

/** What the rows and answers used to come back as: a JSON round trip. */
const viaJson = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

const member = {
  insurerNumber: '06139901', insurerName: '健保組合', symbol: '12', number: '3456', branch: '00', relationship: 'self', name: '山田　太郎',
  nameKana: 'ヤマダ　タロウ', birthDate: '1980-04-01', sex: 'male', address: '東京都千代田区千代田1-1', postalCode: null, qualifiedFrom: '2020-04-01',
  lostOn: null, copayRate: 0.3, paperCardIssuedOn: '2020-04-01', paperCardExpiresOn: null, validFrom: '2020-04-01',
};

describe('batch codec', () => {
  it('gives back input rows as their JSON did (absent members left out, key order kept)', () => {
    const rows: BatchRowInput[] = [
      { insurerNumber: '06139901', symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01' },
      { insurerNumber: '06139901', symbol: '', number: '3456', asOf: '2024-11-25' },
      {},
      { insurerNumber: '06139901', symbol: undefined, number: '1', limitConsent: true, search: { InsurerNumber: '  061399', Birthdate: '19800401', X: { y: ['\u001e'] } } },
      { number: '1', limitConsent: false, search: {} },
      { number: 'a\u001fb', symbol: '\u0002' },
      { number: '\u0001x\u001e' },
    ];
    for (const r of rows) {
      expect(decodeInput(encodeInput(r))).toStrictEqual(viaJson(r));
      // The same key order too (the JSON API writes them out in it).
      expect(JSON.stringify(decodeInput(encodeInput(r)))).toBe(JSON.stringify(r));
    }
    expect(decodeInput(`\u0001${JSON.stringify(rows[0])}`)).toStrictEqual(rows[0]);
  });

  it('gives back answers as their JSON did, whatever their shape', () => {
    const answers = [
      { result: 'valid', confirmationId: undefined, asOf: '2024-11-25', member },
      { result: 'valid', asOf: '2024-11-25', member: { ...member, postalCode: '100-0001', lostOn: '2025-01-01', copayRate: 0.1 }, limitCategory: null },
      { result: 'valid', asOf: '2024-11-25', member, limitCategory: 'ア' },
      { result: 'valid', asOf: '2024-11-25', member, limitCategory: '' },
      { result: 'valid', asOf: '2024-11-25', member, certificate: { number: '1', issuedOn: '2024-01-01', validUntil: '2025-01-01' } },
      { result: 'valid', asOf: '2024-11-25', member: { ...member, name: 'a\u001fb' } },
      { result: 'valid', asOf: '2024-11-25', member: { ...member, extra: 1 } },
      { result: 'invalid', asOf: '2024-11-25', reason: 'no_such_member', message: 'No.', messageJa: 'ありません。' },
      { result: 'invalid', asOf: '2024-11-25', reason: 'eligibility_lost', message: 'Lost.', messageJa: '喪失', details: { lostOn: '2024-10-01' }, newEligibilityExists: false },
      { result: 'invalid', confirmationId: undefined, asOf: '2024-11-25', reason: 'eligibility_lost', message: 'Lost.', messageJa: '喪失', newEligibilityExists: true },
      { result: 'error', code: 'ONSHI_CONFIRMATION_INVALID_INPUT', message: 'Bad.', messageJa: '誤り', errors: [{ field: 'birthDate', code: 'required', ja: '必須', en: 'is required' }] },
    ] as unknown as RowAnswer[];
    for (const a of answers) {
      expect(decodeAnswer(encodeAnswer(a))).toStrictEqual(viaJson(a));
      expect(JSON.stringify(decodeAnswer(encodeAnswer(a)))).toBe(JSON.stringify(a));
    }
    expect(decodeAnswer(`J${JSON.stringify(answers[7])}`)).toStrictEqual(answers[7]);
  });
});

describe('plain CSV bodies', () => {
  const parsed = async (text: string) => rowsOfCsv(Readable.from([Buffer.from(text)]));

  it('are read exactly as csv-parse reads them', async () => {
    const bodies = [
      'insurerNumber,symbol,number,branch,birthDate\n06139901,12,3456,00,1980-04-01\n06139901,,03456,,1980-04-01\n',
      '\ufeffinsurerNumber,symbol,number,branch,birthDate,asOf\r\n06139901,記号,3456,00,1980-04-01,2024-11-25\r\n\r\n06139901,12\r\n',
      'number,insurerNumber,other\n1,2,3\n\n,,\n4\n',
      'insurerNumber,number\n',
      '',
    ];
    for (const body of bodies) {
      const direct = rowsOfPlainCsv(body);
      expect(direct, body).toBeDefined();
      expect(direct).toStrictEqual(await parsed(body));
    }
  });

  it('are read a slice at a time into exactly the rows of one pass, or left to csv-parse alike', async () => {
    const line = fc.array(fc.constantFrom('06139901', '12', '', '3456', '00', '1980-04-01', '記号', ' ', '"'), { maxLength: 7 }).map((cells) => cells.join(','));
    const body = fc
      .tuple(fc.constantFrom('insurerNumber,symbol,number,branch,birthDate', '\ufeffnumber,insurerNumber', '', 'number,number'), fc.array(line, { maxLength: 40 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
      .map(([header, lines, eol, trailing]) => [header, ...lines].join(eol) + (trailing ? eol : ''));
    await fc.assert(
      fc.asyncProperty(body, fc.integer({ min: 1, max: 60 }), async (text, sliceChars) => {
        expect(await rowsOfPlainCsvInSlices(text, 10_000, sliceChars)).toStrictEqual(rowsOfPlainCsv(text, 10_000));
      }),
      { numRuns: 500 },
    );
  });

  it('are left to csv-parse when quoted, padded, mixed in line endings or wider than the header', () => {
    for (const body of ['number\n"1"\n', 'number\n 1\n', 'number\n1\u3000\n', 'number\r\n1\n2\r\n', 'number\n1,2\n', 'number,number\n1,2\n', 'number\n1\r2\n']) {
      expect(rowsOfPlainCsv(body), body).toBeUndefined();
    }
  });
});
