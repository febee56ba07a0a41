// The bulk result (OQSmuquc02res) of a mixed batch through POST /v1/interface/{fileName}, on both
// stores: byte-for-byte the file the former code wrote from the decoded rows (BatchService.allResults
// → personResult → the schema writer, src/interface/bulk-result-reference.ts), in UTF-8 and
// Shift_JIS, by CharacterCodeIdentifier and by the request's own encoding, with valid rows (6-digit
// and 8-digit insurers, 後期高齢者, 70–74, limit consent with and without a category, 照会番号),
// invalid rows of every reason reachable here, error rows, and a batch sent as CSV.

import { describe, expect, it, beforeAll } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { addMember, createFacility, createInsurer, newInsurerNumber, terminateMember, useApp, type TestFacility, type TestInsurer } from '../support/fixtures.ts';
import { compactDate, decodeResult, encodeRequest } from '../../src/interface/codec.ts';
import { bulkResultReference } from '../support/bulk-result-reference.ts';
import { ReferenceNumbers } from '../../src/interface/reference-numbers.ts';
import type { BatchResultRow } from '../../src/batch/service.ts';
import type { Msg } from '../../src/interface/schema.ts';
import type { CharacterCode } from '../../src/interface/xml.ts';

let FACILITY = '';
let KOKUHO = '';
let KENPO = '';
let KOUKI = '';

describe.each(storeKinds)('the bulk result of a mixed batch (%s)', (kind) => {
  const h = useApp(kind);
  let facility: TestFacility;
  let kokuho: TestInsurer;
  let kenpo: TestInsurer;
  let kouki: TestInsurer;

  const send = (fileName: string, body: Buffer) =>
    h.app.inject({ method: 'POST', url: `/v1/interface/${fileName}`, headers: { ...facility.headers, 'content-type': 'application/xml' }, payload: body });

  beforeAll(async () => {
    KOKUHO = newInsurerNumber('kokuho');
    KENPO = newInsurerNumber('kenpo_kumiai');
    KOUKI = newInsurerNumber('koki_korei');
    expect([KOKUHO.length, KOUKI.slice(0, 2)]).toEqual([6, '39']);
    kokuho = await createInsurer(h.app, { insurerNumber: KOKUHO, kind: 'kokuho', name: '港区' });
    kenpo = await createInsurer(h.app, { insurerNumber: KENPO, kind: 'kenpo_kumiai', name: 'テスト＆健保' });
    kouki = await createInsurer(h.app, { insurerNumber: KOUKI, kind: 'koki_korei', name: '東京都後期高齢者医療広域連合' });
    facility = await createFacility(h.app);
    FACILITY = facility.code;
    await addMember(h.app, kokuho, { symbol: '記号１', number: '1234', branch: '01', name: '診療　太郎', nameKana: 'シンリョウ　タロウ', birthDate: '1980-04-01', postalCode: '100-0001', limitCategory: 'A03' });
    await addMember(h.app, kokuho, { symbol: '記号１', number: '1235', branch: '00', name: '髙橋　花子', nameKana: 'タカハシ　ハナコ', birthDate: '1952-06-15', sex: 'female', limitCategory: 'B05' });
    await addMember(h.app, kenpo, { symbol: '12', number: '77', branch: '02', relationship: 'family', name: '健保　ヴィオラ', nameKana: 'ケンポ　ヴィオラ', birthDate: '1990-01-31', sex: 'female', address: '大阪府<大阪市> &北区' });
    await addMember(h.app, kouki, { symbol: '', number: '00000001', branch: '00', name: '高齢　一郎', nameKana: 'コウレイ　イチロウ', birthDate: '1940-02-02' });
    const lost = await addMember(h.app, kenpo, { symbol: '12', number: '88', branch: '00', name: '喪失　次郎', nameKana: 'ソウシツ　ジロウ', birthDate: '1975-07-07' });
    expect((await terminateMember(h.app, kenpo, lost.memberId, { lostOn: '2024-10-01', lossReason: 'other_insurance' })).statusCode).toBe(200);
    await addMember(h.app, kenpo, { symbol: '12', number: '99', branch: '00', name: '未来　三郎', nameKana: 'ミライ　サブロウ', birthDate: '1985-03-03', qualifiedFrom: '2099-04-01' });
    // 照会番号 of two members.
    for (const [number, branch, birth, ref] of [['1234', '01', '19800401', 'P0001'], ['1235', '00', '19520615', 'Q2']]) {
      const reg = encodeRequest('OQSsiimm01', { MessageHeader: { MedicalInstitutionCode: FACILITY }, MessageBody: { InsurerNumber: KOKUHO, InsuredCardSymbol: '記号１', InsuredIdentificationNumber: number, InsuredBranchNumber: branch, Birthdate: birth, ReferenceNumber: ref } }, '0');
      const r = await send('OQSsiimm01req_reg.xml', reg);
      expect((decodeResult('OQSsiimm01', r.rawPayload).msg.MessageBody as Msg).ProcessingResultStatus).toBe('1');
    }
  });

  const searchList = (): Msg[] => [
    { InsurerNumber: `  ${KOKUHO}`, InsuredCardSymbol: '記号１', InsuredIdentificationNumber: '1234', InsuredBranchNumber: '01', Birthdate: '19800401', LimitApplicationCertificateRelatedConsFlg: '1', ArbitraryIdentifier: 'valid&limit' },
    { InsurerNumber: `00${KOKUHO}`, InsuredCardSymbol: '記号１', InsuredIdentificationNumber: '1234', InsuredBranchNumber: '01', Birthdate: '19800401', ArbitraryIdentifier: 'no-consent' },
    { InsurerNumber: KOKUHO, InsuredCardSymbol: '記号１', InsuredIdentificationNumber: '1235', InsuredBranchNumber: '00', Birthdate: '19520615', LimitApplicationCertificateRelatedConsFlg: '1' },
    { InsurerNumber: KENPO, InsuredCardSymbol: '12', InsuredIdentificationNumber: '77', InsuredBranchNumber: '02', Birthdate: '19900131', LimitApplicationCertificateRelatedConsFlg: '1' },
    { InsurerNumber: KOUKI, InsuredIdentificationNumber: '00000001', InsuredBranchNumber: '00', Birthdate: '19400202' },
    { InsurerNumber: KENPO, InsuredCardSymbol: '12', InsuredIdentificationNumber: '88', InsuredBranchNumber: '00', Birthdate: '19750707', ArbitraryIdentifier: 'lost' },
    { InsurerNumber: KENPO, InsuredCardSymbol: '12', InsuredIdentificationNumber: '99', InsuredBranchNumber: '00', Birthdate: '19850303' },
    { InsurerNumber: KENPO, InsuredCardSymbol: '12', InsuredIdentificationNumber: '77', InsuredBranchNumber: '02', Birthdate: '19900201' },
    { InsurerNumber: KENPO, InsuredCardSymbol: '12', InsuredIdentificationNumber: '404', InsuredBranchNumber: '00', Birthdate: '19900201' },
    { InsurerNumber: KENPO, InsuredIdentificationNumber: '77', Birthdate: '1990' },
    { InsuredIdentificationNumber: '77', ArbitraryIdentifier: 'no insurer' },
  ];

  /** The result the former code wrote for a batch, its time taken from the file itself. */
  async function expected(bytes: Buffer, receptionNumber: string, characterCode: CharacterCode): Promise<Buffer> {
    const header = decodeResult('OQSmuquc02', bytes).msg.MessageHeader as Msg;
    const job = await h.ctx.batch.get(FACILITY, receptionNumber);
    const rows: BatchResultRow[] = [];
    for await (const r of h.ctx.batch.allResults(receptionNumber)) rows.push(r);
    const referenceOf = await new ReferenceNumbers(h.ctx.database.db).allOf(FACILITY);
    const head: Msg = {
      ProcessExecutionTime: header.ProcessExecutionTime as string,
      QualificationConfirmationDate: job.meta.qualificationConfirmationDate ?? compactDate(job.asOf),
      MedicalInstitutionCode: FACILITY,
      ArbitraryFileIdentifier: job.meta.arbitraryFileIdentifier,
      ReceptionNumber: receptionNumber,
      CharacterCodeIdentifier: characterCode,
    };
    return bulkResultReference(head, { total: job.totalRows, normal: job.validRows + job.invalidRows, error: job.errorRows }, rows, referenceOf, characterCode);
  }

  async function download(receptionNumber: string, encoding: CharacterCode, requested: CharacterCode | undefined): Promise<Buffer> {
    await h.ctx.batch.idle();
    const req = encodeRequest('OQSmuquc02', { MessageHeader: { MedicalInstitutionCode: FACILITY, CharacterCodeIdentifier: requested }, MessageBody: { ReceptionNumber: receptionNumber } }, encoding);
    const r = await send('OQSmuquc02req_mixed.xml', req);
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-onshi-segment-of-result']).toBe('1');
    expect(r.headers['content-disposition']).toContain('OQSmuquc02res_mixed.xml');
    return r.rawPayload;
  }

  for (const [encoding, requested] of [['0', undefined], ['1', undefined], ['0', '1'], ['1', '0']] as const) {
    it(`writes every row as the former code did (request in ${encoding === '1' ? 'Shift_JIS' : 'UTF-8'}, CharacterCodeIdentifier ${requested ?? 'absent'})`, async () => {
      const upload = encodeRequest('OQSmuquc01', { MessageHeader: { MedicalInstitutionCode: FACILITY, ArbitraryFileIdentifier: 'MIXED<1>', QualificationConfirmationDate: '20241125', CharacterCodeIdentifier: requested }, MessageBody: { QualificationConfirmSearchInfo: searchList() } }, encoding);
      const accepted = decodeResult('OQSmuquc01', (await send('OQSmuquc01req_mixed.xml', upload)).rawPayload).msg;
      const receptionNumber = (accepted.MessageBody as Msg).ReceptionNumber as string;
      const cc: CharacterCode = requested ?? encoding;
      const bytes = await download(receptionNumber, encoding, requested);
      const want = await expected(bytes, receptionNumber, cc);
      expect(bytes.toString('latin1')).toBe(want.toString('latin1'));
      const { msg, encoding: written } = decodeResult('OQSmuquc02', bytes);
      expect(written).toBe(cc === '1' ? 'sjis' : 'utf8');
      const units = (msg.MessageBody as Msg).BulkConfirmUnit as Msg[];
      expect(units).toHaveLength(searchList().length);
      // Every kind is there: valid (with 照会番号, 限度額, 高齢受給者, 後期高齢者), invalid of several reasons, errors.
      const record = (i: number) => units[i].ResultOfQualificationConfirmation as Msg;
      expect(units.map((u) => [u.ProcessingResultStatus, u.ProcessingResultCode ?? '', u.QualificationValidity ?? '', u.ReferenceNumber ?? ''])).toEqual([
        ['1', '', '1', 'P0001'],
        ['1', '', '1', 'P0001'],
        ['1', '', '1', 'Q2'],
        ['1', '', '1', ''],
        ['1', '', '1', ''],
        ['1', 'ONSI2104W', '2', ''],
        ['1', 'ONSI2103W', '2', ''],
        ['1', 'ONSI2102W', '4', ''],
        ['1', 'ONSI2101W', '4', ''],
        ['2', 'ONSI2001E', '', ''],
        ['2', 'ONSI2001E', '', ''],
      ]);
      expect(record(0).LimitApplicationCertificateRelatedInfo).toMatchObject({ LimitApplicationCertificateClassificationFlag: 'A03' });
      expect(record(1).LimitApplicationCertificateRelatedInfo).toBeUndefined();
      expect(record(2)).toMatchObject({ ElderlyRecipientCertificateInfo: {}, LimitApplicationCertificateRelatedInfo: { LimitApplicationCertificateClassification: '02' } });
      expect(record(4).InsuredPartialContributionRatio).toBeDefined();
      expect(record(5)).toMatchObject({ DisqualificationDate: '20241001', ReasonOfLoss: '03', ArbitraryIdentifier: 'lost' });
    });
  }

  it('writes a batch sent as CSV (no search block) as the former code did', async () => {
    const csv = `insurerNumber,symbol,number,branch,birthDate\n${KOKUHO},記号１,1234,01,1980-04-01\n00${KOKUHO},記号１,1235,00,1952-06-15\n${KENPO},12,404,00,1990-02-01\n${KENPO},,77,,1990\n`;
    const r = await h.app.inject({ method: 'POST', url: '/v1/batch-inquiries', headers: { ...facility.headers, 'content-type': 'text/csv' }, payload: csv });
    expect(r.statusCode, r.body).toBeLessThan(300);
    const receptionNumber = r.json().receptionNumber as string;
    for (const cc of ['0', '1'] as const) {
      const bytes = await download(receptionNumber, cc, undefined);
      expect(bytes.toString('latin1')).toBe((await expected(bytes, receptionNumber, cc)).toString('latin1'));
    }
  });
});
