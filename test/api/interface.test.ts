// The real interface over HTTP, on both stores: the golden request files under
// test/fixtures/interface/ (UTF-8 and Shift_JIS, shuffled element order, 6-digit insurers padded
// with spaces or zeros) go through POST /v1/interface/{fileName}; their results must match the
// golden result files (times and reception numbers masked) and read back with the codec.
// UPDATE_GOLDEN=1 rewrites the golden result files (review the diff before committing).

import { readFileSync, writeFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { storeKinds } from '../support/stores.ts';
import { addMember, confirm, createFacility, createInsurer, type Harness, type TestFacility, type TestInsurer, useApp } from '../support/fixtures.ts';
import { decodeResult, encodeRequest } from '../../src/interface/codec.ts';
import { FolderGateway } from '../../src/interface/gateway.ts';
import type { FamilyName, Msg } from '../../src/interface/schema.ts';

const DIR = join(import.meta.dirname, '../fixtures/interface');
const FACILITY = '1319000019';
const KOKUHO = '139014';
const KENPO = '06139018';

const fixture = (name: string) => readFileSync(join(DIR, name));

/** Masks what changes from run to run, so a result compares with its golden file. */
function masked(bytes: Buffer, sjis: boolean): string {
  const text = sjis ? iconv.decode(bytes, 'cp932') : bytes.toString('utf8');
  return text
    .replace(/<ProcessExecutionTime>\d{14}<\/ProcessExecutionTime>/g, '<ProcessExecutionTime>YYYYMMDDHHmmss</ProcessExecutionTime>')
    .replace(/<ReceptionDateTime>\d{14}<\/ReceptionDateTime>/g, '<ReceptionDateTime>YYYYMMDDHHmmss</ReceptionDateTime>')
    .replace(/<LimitApplicationCertificateRelatedConsTime>\d{14}</g, '<LimitApplicationCertificateRelatedConsTime>YYYYMMDDHHmmss<')
    .replace(/<ReceptionNumber>[0-9a-f]{32}<\/ReceptionNumber>/g, '<ReceptionNumber>RECEPTION_NUMBER</ReceptionNumber>');
}

function expectGolden(r: LightMyRequestResponse, goldenName: string): void {
  expectGoldenBytes(r.rawPayload, /Shift_JIS/.test(String(r.headers['content-type'])), goldenName);
}

function expectGoldenBytes(bytes: Buffer, sjis: boolean, goldenName: string): void {
  const text = masked(bytes, sjis);
  const path = join(DIR, goldenName);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, sjis ? iconv.encode(text, 'cp932') : Buffer.from(text));
  const golden = readFileSync(path);
  expect(text).toBe(sjis ? iconv.decode(golden, 'cp932') : golden.toString('utf8'));
}

function send(h: Harness, facility: { headers: Record<string, string> }, fileName: string, body: Buffer | string, contentType = 'application/xml') {
  return h.app.inject({ method: 'POST', url: `/v1/interface/${encodeURIComponent(fileName)}`, headers: { ...facility.headers, 'content-type': contentType }, payload: body });
}

function result(r: LightMyRequestResponse, family: FamilyName): { header: Msg; body: Msg; encoding: string } {
  expect(r.statusCode, r.body).toBe(200);
  const { msg, encoding } = decodeResult(family, r.rawPayload);
  return { header: msg.MessageHeader as Msg, body: (msg.MessageBody as Msg | undefined) ?? {}, encoding };
}

async function usageEvents(h: Harness, facilityCode: string): Promise<number> {
  const r = await h.ctx.database.db.selectFrom('usage_events').select((eb) => eb.fn.countAll<number>().as('n')).where('facility_code', '=', facilityCode).executeTakeFirstOrThrow();
  return Number(r.n);
}

describe.each(storeKinds)('the real interface over HTTP (%s)', (kind) => {
  const h = useApp(kind);
  let facility: TestFacility;
  let other: TestFacility;
  let kokuho: TestInsurer;

  let url: string;
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** One request file through the folder gateway (a real HTTP client of the listening app): what it leaves in res. */
  async function viaGateway(fileName: string, body: Buffer): Promise<Map<string, Buffer>> {
    const dir = mkdtempSync(join(tmpdir(), 'onshi-gw-golden-'));
    dirs.push(dir);
    const gw = new FolderGateway({ dir, server: url, token: facility.token, settleMs: 0, log: () => {}, face: false });
    await gw.prepare();
    writeFileSync(join(dir, 'req', fileName), body);
    await gw.scan();
    expect(readdirSync(join(dir, 'req'))).toEqual([]);
    return new Map(readdirSync(join(dir, 'res')).map((n) => [n, readFileSync(join(dir, 'res', n))]));
  }

  /** Sends a request file through the gateway and checks its result against the golden file. */
  async function expectGoldenViaGateway(fileName: string, body: Buffer, goldenName: string): Promise<Buffer> {
    const files = await viaGateway(fileName, body);
    const resultName = fileName.replace('req_', 'res_');
    expect([...files.keys()]).toEqual([resultName]);
    const bytes = files.get(resultName)!;
    expectGoldenBytes(bytes, bytes.subarray(0, 60).toString('latin1').includes('Shift_JIS'), goldenName);
    return bytes;
  }

  beforeAll(async () => {
    kokuho = await createInsurer(h.app, { insurerNumber: KOKUHO, kind: 'kokuho', name: '千代田区' });
    await createInsurer(h.app, { insurerNumber: KENPO, kind: 'kenpo_kumiai', name: 'テスト健保' });
    facility = await createFacility(h.app, { code: FACILITY });
    other = await createFacility(h.app);
    await addMember(h.app, kokuho, {
      symbol: '記号１',
      number: '1234',
      branch: '01',
      name: '診療　太郎',
      nameKana: 'シンリョウ　タロウ',
      birthDate: '1980-04-01',
      sex: 'male',
      address: '東京都千代田区千代田1-1',
      postalCode: '100-0001',
      qualifiedFrom: '2020-04-01',
      limitCategory: 'A03',
    });
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
  });

  it('answers a UTF-8 single inquiry (shuffled, space-padded insurer) with the record, and records a usage event', async () => {
    const before = await usageEvents(h, FACILITY);
    const r = await send(h, facility, 'OQSsiquc01req_utf8_valid.xml', fixture('OQSsiquc01req_utf8_valid.xml'));
    expect(r.headers['content-disposition']).toBe('attachment; filename="OQSsiquc01res_utf8_valid.xml"');
    expect(r.headers['content-type']).toBe('application/xml; charset=UTF-8');
    const { header, body } = result(r, 'OQSsiquc01');
    expect(header).toMatchObject({ SegmentOfResult: '1', ArbitraryFileIdentifier: '202411250001', MedicalInstitutionCode: FACILITY, QualificationConfirmationDate: '20241125', ReferenceClassification: '2', CharacterCodeIdentifier: '0' });
    expect(header.ProcessExecutionTime).toMatch(/^\d{14}$/);
    expect(body).toMatchObject({ ProcessingResultStatus: '1', QualificationValidity: '1' });
    expect(body.QualificationConfirmSearchInfo).toEqual({
      InsurerNumber: '  139014',
      InsuredCardSymbol: '記号１',
      InsuredIdentificationNumber: '1234',
      Birthdate: '19800401',
      LimitApplicationCertificateRelatedConsFlg: '1',
      ArbitraryIdentifier: 'patient-0001',
    });
    const rec = ((body.ResultList as Msg).ResultOfQualificationConfirmation as Msg[])[0];
    expect(rec).toMatchObject({
      InsuredCardClassification: '01',
      InsurerNumber: '  139014',
      InsuredCardSymbol: '記号１',
      InsuredIdentificationNumber: '1234',
      InsuredBranchNumber: '01',
      PersonalFamilyClassification: '1',
      Name: '診療　太郎',
      NameKana: 'ｼﾝﾘｮｳ ﾀﾛｳ',
      Sex1: '1',
      Birthdate: '19800401',
      PostNumber: '100-0001',
      QualificationDate: '20200401',
      InsurerName: '千代田区',
      LimitApplicationCertificateRelatedConsFlg: '1',
      ArbitraryIdentifier: 'patient-0001',
    });
    expect(rec.LimitApplicationCertificateRelatedInfo).toMatchObject({ LimitApplicationCertificateClassification: '01', LimitApplicationCertificateClassificationFlag: 'A03' });
    expect(await usageEvents(h, FACILITY)).toBe(before + 1);
    expectGolden(r, 'OQSsiquc01res_utf8_valid.xml');
  });

  it('answers a Shift_JIS request (zero-padded insurer) in Shift_JIS, without limit info when not consented', async () => {
    const r = await send(h, facility, 'OQSsiquc01req_sjis_valid.xml', fixture('OQSsiquc01req_sjis_valid.xml'), 'text/xml');
    expect(r.headers['content-type']).toBe('application/xml; charset=Shift_JIS');
    expect(r.rawPayload.includes(Buffer.from('診療', 'utf8'))).toBe(false);
    expect(r.rawPayload.includes(iconv.encode('診療　太郎', 'cp932'))).toBe(true);
    const { header, body, encoding } = result(r, 'OQSsiquc01');
    expect(encoding).toBe('sjis');
    expect(header).toMatchObject({ SegmentOfResult: '1', CharacterCodeIdentifier: '1', ArbitraryFileIdentifier: 'SJIS-0002' });
    const rec = ((body.ResultList as Msg).ResultOfQualificationConfirmation as Msg[])[0];
    expect(rec).toMatchObject({ Name: '診療　太郎', NameKana: 'ｼﾝﾘｮｳ ﾀﾛｳ', InsurerNumber: '  139014', LimitApplicationCertificateRelatedConsFlg: '0' });
    expect(rec.LimitApplicationCertificateRelatedInfo).toBeUndefined();
    expectGolden(r, 'OQSsiquc01res_sjis_valid.xml');
  });

  it('answers 該当資格なし (4) in Shift_JIS when CharacterCodeIdentifier asks for it', async () => {
    const r = await send(h, facility, 'OQSsiquc01req_utf8_notfound.xml', fixture('OQSsiquc01req_utf8_notfound.xml'));
    const { header, body, encoding } = result(r, 'OQSsiquc01');
    expect(encoding).toBe('sjis');
    expect(header.CharacterCodeIdentifier).toBe('1');
    expect(body).toMatchObject({ ProcessingResultStatus: '1', QualificationValidity: '4', ProcessingResultCode: 'ONSI2101W', ProcessingResultMessage: '該当する資格がありません。' });
    expect(body.ResultList).toBeUndefined();
    expectGolden(r, 'OQSsiquc01res_utf8_notfound.xml');
  });

  it('answers a per-person input error with status 2 naming the elements, still recorded as a usage event', async () => {
    const before = await usageEvents(h, FACILITY);
    const r = await send(h, facility, 'OQSsiquc01req_sjis_error.xml', fixture('OQSsiquc01req_sjis_error.xml'));
    const { header, body } = result(r, 'OQSsiquc01');
    expect(header.SegmentOfResult).toBe('1');
    expect(body.ProcessingResultStatus).toBe('2');
    expect(body.ProcessingResultCode).toBe('ONSI2001E');
    expect(body.ProcessingResultMessage).toContain('InsurerNumber');
    expect(body.ProcessingResultMessage).toContain('Birthdate');
    expect(body.QualificationValidity).toBeUndefined();
    expect(await usageEvents(h, FACILITY)).toBe(before + 1);
    expectGolden(r, 'OQSsiquc01res_sjis_error.xml');
  });

  it.each([
    ['malformed XML', 'OQSsiquc01req_utf8_malformed.xml', () => fixture('OQSsiquc01req_utf8_malformed.xml'), 'ONSI1001E'],
    ['an empty body', 'OQSsiquc01req_empty.xml', () => Buffer.alloc(0), 'ONSI1001E'],
    ['binary garbage', 'OQSsiquc01req_bin.xml', () => Buffer.from([0, 1, 2, 0xff, 0xfe, 0x3c]), 'ONSI1001E'],
    ['no search block', 'OQSsiquc01req_nosearch.xml', () => encodeRequest('OQSsiquc01', { MessageHeader: { MedicalInstitutionCode: FACILITY } }, '0'), 'ONSI1001E'],
    ['no MedicalInstitutionCode', 'OQSsiquc01req_nocode.xml', () => encodeRequest('OQSsiquc01', { MessageHeader: { ArbitraryFileIdentifier: 'x' }, MessageBody: { QualificationConfirmSearchInfo: { InsurerNumber: KENPO } } }, '0'), 'ONSI1003E'],
    ['another facility’s code', 'OQSsiquc01req_other.xml', () => encodeRequest('OQSsiquc01', { MessageHeader: { MedicalInstitutionCode: '1310000013' }, MessageBody: { QualificationConfirmSearchInfo: { InsurerNumber: KENPO } } }, '1'), 'ONSI1004E'],
    ['an unknown message', 'OQSmutic01req_1.xml', () => fixture('OQSsiquc01req_utf8_valid.xml'), 'ONSI1002E'],
    ['an unknown reception number', 'OQSmuquc02req_x.xml', () => encodeRequest('OQSmuquc02', { MessageHeader: { MedicalInstitutionCode: FACILITY }, MessageBody: { ReceptionNumber: '0'.repeat(32) } }, '0'), 'ONSI1005E'],
    ['a bulk upload without rows', 'OQSmuquc01req_empty.xml', () => encodeRequest('OQSmuquc01', { MessageHeader: { MedicalInstitutionCode: FACILITY } }, '0'), 'ONSI1006E'],
  ])('answers %s with SegmentOfResult 9, never a 500, recording nothing', async (_name, fileName, body, code) => {
    const before = await usageEvents(h, FACILITY);
    const r = await send(h, facility, fileName, body());
    const family = (/^(OQS(?:siquc01|muquc01|muquc02))/.exec(fileName)?.[1] ?? 'OQSsiquc01') as FamilyName;
    const { header, body: b } = result(r, family);
    expect(header.SegmentOfResult).toBe('9');
    expect(header.ErrorCode).toBe(code);
    expect(header.ErrorMessage).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/u);
    expect(b).toEqual({});
    // A refused file name is never echoed in a header: its result has a fixed name.
    expect(r.headers['content-disposition']).toContain(code === 'ONSI1002E' ? 'OQSres_refused.xml' : fileName.replace(/req_/, 'res_'));
    expect(await usageEvents(h, FACILITY)).toBe(before);
  });

  it('answers the membership, not a presumed paper card: 有効 after 2025-12-01 where the JSON default (paper_card) is 無効', async () => {
    await addMember(h.app, kokuho, { symbol: '記号１', number: '7001', branch: '00', birthDate: '1975-05-05', qualifiedFrom: '2020-04-01', paperCardIssuedOn: '2020-04-01', paperCardExpiresOn: '2026-03-31' });
    const single = (date: string) =>
      Buffer.from(
        `<?xml version="1.0" encoding="UTF-8" standalone="no"?><XmlMsg><MessageHeader><MedicalInstitutionCode>${FACILITY}</MedicalInstitutionCode>` +
          `<QualificationConfirmationDate>${date}</QualificationConfirmationDate><ArbitraryFileIdentifier>TR-${date}</ArbitraryFileIdentifier></MessageHeader>` +
          `<MessageBody><QualificationConfirmSearchInfo><InsurerNumber>  ${KOKUHO}</InsurerNumber><InsuredCardSymbol>記号１</InsuredCardSymbol>` +
          `<InsuredIdentificationNumber>7001</InsuredIdentificationNumber><InsuredBranchNumber>00</InsuredBranchNumber><Birthdate>19750505</Birthdate>` +
          `</QualificationConfirmSearchInfo></MessageBody></XmlMsg>`,
      );
    const numbers = { insurerNumber: KOKUHO, symbol: '記号１', number: '7001', branch: '00', birthDate: '1975-05-05', asOf: '2025-12-02' };
    expect((await confirm(h.app, facility, numbers)).json()).toMatchObject({ result: 'invalid', reason: 'paper_card_no_longer_usable' });
    const r = await send(h, facility, 'OQSsiquc01req_transition.xml', single('20251202'));
    const { header, body } = result(r, 'OQSsiquc01');
    expect(header).toMatchObject({ SegmentOfResult: '1', ArbitraryFileIdentifier: 'TR-20251202', QualificationConfirmationDate: '20251202' });
    expect(body).toMatchObject({ ProcessingResultStatus: '1', QualificationValidity: '1' });
    expect(body.ProcessingResultCode).toBeUndefined();
    const rec = ((body.ResultList as Msg).ResultOfQualificationConfirmation as Msg[])[0];
    expect(rec).toMatchObject({ InsuredCardClassification: '01', InsuredIdentificationNumber: '7001', InsuredCardExpirationDate: '20260331' });
    // The membership rules still apply: before qualification it is 無効 (ONSI2103W), not a transition code.
    const early = result(await send(h, facility, 'OQSsiquc01req_transition_early.xml', single('20200331')), 'OQSsiquc01').body;
    expect(early).toMatchObject({ QualificationValidity: '2', ProcessingResultCode: 'ONSI2103W' });
  });

  it('writes the malformed answer exactly (golden)', async () => {
    expectGolden(await send(h, facility, 'OQSsiquc01req_utf8_malformed.xml', fixture('OQSsiquc01req_utf8_malformed.xml')), 'OQSsiquc01res_utf8_malformed.xml');
  });

  it('refuses without a facility credential (401/403 JSON, as every route)', async () => {
    const r = await h.app.inject({ method: 'POST', url: '/v1/interface/OQSsiquc01req_1.xml', payload: fixture('OQSsiquc01req_utf8_valid.xml'), headers: { 'content-type': 'application/xml' } });
    expect(r.statusCode).toBe(401);
    const a = await send(h, { headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' } }, 'OQSsiquc01req_1.xml', fixture('OQSsiquc01req_utf8_valid.xml'));
    expect(a.statusCode).toBe(403);
  });

  it.each([
    ['UTF-8', 'OQSmuquc01req_utf8_bulk.xml', 'OQSmuquc02req_utf8_download.xml', 'utf8'],
    ['Shift_JIS', 'OQSmuquc01req_sjis_bulk.xml', 'OQSmuquc02req_sjis_download.xml', 'sjis'],
  ])('bulk inquiry in %s: upload → reception number → 2 (processing) or results; another facility gets 9', async (_name, upload, download, enc) => {
    const before = await usageEvents(h, FACILITY);
    // Hold the runner so the first download must answer 処理中 (2).
    await h.ctx.batch.stop();
    const up = await send(h, facility, upload, fixture(upload));
    expect(up.headers['content-disposition']).toContain(upload.replace('req_', 'res_'));
    const acc = result(up, 'OQSmuquc01');
    expect(acc.encoding).toBe(enc);
    expect(acc.header).toMatchObject({ SegmentOfResult: '1', MedicalInstitutionCode: FACILITY });
    const receptionNumber = acc.body.ReceptionNumber as string;
    expect(receptionNumber).toMatch(/^[0-9a-f]{32}$/);
    expect(acc.body.ReceptionDateTime).toMatch(/^\d{14}$/);
    expectGolden(up, upload.replace('req_', 'res_'));

    const request = enc === 'sjis' ? iconv.encode(iconv.decode(fixture(download), 'cp932').replace('RECEPTION_NUMBER', receptionNumber), 'cp932') : Buffer.from(fixture(download).toString('utf8').replace('RECEPTION_NUMBER', receptionNumber));
    // Another facility never sees it.
    const theirs = result(await send(h, other, download, Buffer.from(request.toString('latin1').replace(FACILITY, other.code), 'latin1')), 'OQSmuquc02');
    expect(theirs.header).toMatchObject({ SegmentOfResult: '9', ErrorCode: 'ONSI1005E' });

    const pending = await send(h, facility, download, request);
    let res = result(pending, 'OQSmuquc02');
    expect(res.header).toMatchObject({ SegmentOfResult: '2', ErrorCode: 'ONSI1008I', ReceptionNumber: receptionNumber });
    expect(res.body).toEqual({});
    h.ctx.batch.start();
    await h.ctx.batch.idle();
    const r = await send(h, facility, download, request);
    res = result(r, 'OQSmuquc02');
    expect(res.encoding).toBe(enc);
    expect(res.header).toMatchObject({ SegmentOfResult: '1', ReceptionNumber: receptionNumber, NumberOfProcessingResult: '3', NumberOfNormalProcessing: '2', NumberOfError: '1', QualificationConfirmationDate: '20241125' });
    const units = res.body.BulkConfirmUnit as Msg[];
    expect(units.map((u) => [(u.QualificationConfirmSearchInfo as Msg).ArbitraryIdentifier, u.ProcessingResultStatus, u.QualificationValidity])).toEqual([
      ['row-1', '1', '1'],
      ['row-2', '1', '4'],
      ['row-3', '2', undefined],
    ]);
    expect((units[0].QualificationConfirmSearchInfo as Msg).InsurerNumber).toBe('  139014');
    expect(units[0].ResultOfQualificationConfirmation).toMatchObject({ Name: '診療　太郎', NameKana: 'ｼﾝﾘｮｳ ﾀﾛｳ', InsurerNumber: '  139014', Birthdate: '19800401' });
    expect(units[2].ProcessingResultCode).toBe('ONSI2001E');
    expectGolden(r, download.replace('req_', 'res_'));
    // Batch inquiries are not reception confirmations: no usage events.
    expect(await usageEvents(h, FACILITY)).toBe(before);
  });

  it('gives every golden request fixture the same result through the folder gateway as through the route', async () => {
    const reception: Record<string, string> = {};
    const requests = readdirSync(DIR)
      .filter((n) => /^OQS(siquc01|muquc01|muquc02)req_/.test(n))
      .sort();
    expect(requests.length).toBeGreaterThanOrEqual(9);
    for (const name of requests) {
      const enc = name.includes('_sjis_') ? 'sjis' : 'utf8';
      const golden = name.replace('req_', 'res_');
      if (name.includes('_malformed')) {
        // Not well-formed: the gateway never sends it; it moves it to res with a .err beside it.
        const files = await viaGateway(name, fixture(name));
        expect([...files.keys()].sort()).toEqual([name.replace(/\.xml$/, '.err'), name]);
        expect(files.get(name.replace(/\.xml$/, '.err'))!.toString('utf8')).toMatch(/^ErrorCode=ONSI1001E\n/);
        continue;
      }
      let body: Buffer = fixture(name);
      if (name.startsWith('OQSmuquc02')) {
        await h.ctx.batch.idle();
        body = enc === 'sjis' ? iconv.encode(iconv.decode(body, 'cp932').replace('RECEPTION_NUMBER', reception[enc]), 'cp932') : Buffer.from(body.toString('utf8').replace('RECEPTION_NUMBER', reception[enc]));
      }
      const bytes = await expectGoldenViaGateway(name, body, golden);
      if (name.startsWith('OQSmuquc01')) {
        reception[enc] = (decodeResult('OQSmuquc01', bytes).msg.MessageBody as Msg).ReceptionNumber as string;
        h.ctx.batch.start();
      }
    }
    expect(Object.keys(reception).sort()).toEqual(['sjis', 'utf8']);
  });

  it('registers 照会番号 (single and bulk, both encodings) through the route and the gateway; each bulk record reported', async () => {
    await addMember(h.app, kokuho, { symbol: '記号１', number: '2345', branch: '00', name: '照会　花子', nameKana: 'ショウカイ　ハナコ', birthDate: '1985-05-05', sex: 'female', qualifiedFrom: '2020-04-01' });
    const before = await usageEvents(h, FACILITY);
    const registered = async () =>
      (await h.ctx.database.db.selectFrom('interface_reference_numbers').select(['number', 'branch', 'reference_number']).where('facility_code', '=', FACILITY).orderBy('number').execute()).map((r) => `${r.number}/${r.branch}=${r.reference_number}`);

    const one = async (name: string) => {
      const r = await send(h, facility, name, fixture(name));
      expect(r.headers['content-disposition']).toContain(name.replace('req_', 'res_'));
      expectGolden(r, name.replace('req_', 'res_'));
      // Registering again is harmless (the same number replaces itself): the gateway gets the same file.
      await expectGoldenViaGateway(name, fixture(name), name.replace('req_', 'res_'));
      return r;
    };

    let r = await one('OQSsiimm01req_utf8_register.xml');
    let res = result(r, 'OQSsiimm01');
    expect(res.encoding).toBe('utf8');
    expect(res.header).toMatchObject({ SegmentOfResult: '1', ArbitraryFileIdentifier: 'REG-0001', MedicalInstitutionCode: FACILITY });
    expect(res.body).toMatchObject({ ProcessingResultStatus: '1', ReferenceNumberRegistrationInfo: { ReferenceNumber: 'P0001', InsurerNumber: '  139014', ArbitraryIdentifier: 'reg-1' } });
    expect(await registered()).toEqual(['1234/01=P0001']);

    r = await one('OQSsiimm01req_sjis_register.xml');
    res = result(r, 'OQSsiimm01');
    expect(res.encoding).toBe('sjis');
    expect(res.body).toMatchObject({ ProcessingResultStatus: '1', ReferenceNumberRegistrationInfo: { ReferenceNumber: 'A123456789', InsuredCardSymbol: '記号１' } });
    expect(await registered()).toEqual(['1234/01=P0001', '2345/00=A123456789']);

    r = await one('OQSmuimm01req_utf8_bulk.xml');
    res = result(r, 'OQSmuimm01');
    expect(res.header).toMatchObject({ SegmentOfResult: '1', NumberOfProcessingResult: '3', NumberOfNormalProcessing: '1', NumberOfError: '2' });
    expect((res.body.ReferenceNumberRegistrationInfo as Msg[]).map((u) => [u.ArbitraryIdentifier, u.ProcessingResultStatus, u.ProcessingResultCode])).toEqual([
      ['reg-a', '1', undefined],
      ['reg-b', '2', 'ONSI2101W'],
      ['reg-c', '2', 'ONSI2201E'],
    ]);
    expect(await registered()).toEqual(['1234/01=P0001X', '2345/00=A123456789']);

    r = await one('OQSmuimm01req_sjis_bulk.xml');
    res = result(r, 'OQSmuimm01');
    expect(res.encoding).toBe('sjis');
    expect((res.body.ReferenceNumberRegistrationInfo as Msg[]).map((u) => [u.ArbitraryIdentifier, u.ProcessingResultStatus, u.ProcessingResultCode])).toEqual([
      ['reg-d', '1', undefined],
      ['reg-e', '2', 'ONSI2102W'],
      ['reg-f', '2', 'ONSI2001E'],
    ]);
    expect((res.body.ReferenceNumberRegistrationInfo as Msg[])[2].ProcessingResultMessage).toContain('Birthdate');
    expect(await registered()).toEqual(['1234/01=P0001X', '2345/00=B2']);
    // Registrations are not confirmations.
    expect(await usageEvents(h, FACILITY)).toBe(before);

    // A registration without records, or of another facility, is refused as a whole.
    const empty = result(await send(h, facility, 'OQSmuimm01req_empty.xml', encodeRequest('OQSmuimm01', { MessageHeader: { MedicalInstitutionCode: FACILITY } }, '0')), 'OQSmuimm01');
    expect(empty.header).toMatchObject({ SegmentOfResult: '9', ErrorCode: 'ONSI1006E' });
    const nobody = result(await send(h, facility, 'OQSsiimm01req_empty.xml', encodeRequest('OQSsiimm01', { MessageHeader: { MedicalInstitutionCode: FACILITY } }, '0')), 'OQSsiimm01');
    expect(nobody.header).toMatchObject({ SegmentOfResult: '9', ErrorCode: 'ONSI1001E' });
    const theirs = result(await send(h, other, 'OQSsiimm01req_x.xml', fixture('OQSsiimm01req_utf8_register.xml')), 'OQSsiimm01');
    expect(theirs.header).toMatchObject({ SegmentOfResult: '9', ErrorCode: 'ONSI1004E' });
    expect(await registered()).toEqual(['1234/01=P0001X', '2345/00=B2']);
  });

  it("echoes the facility's 照会番号 in its single and bulk results, and only in its own", async () => {
    const single = (code: string, number: string, branch: string, birth: string) =>
      encodeRequest('OQSsiquc01', { MessageHeader: { MedicalInstitutionCode: code }, MessageBody: { QualificationConfirmSearchInfo: { InsurerNumber: KOKUHO, InsuredCardSymbol: '記号１', InsuredIdentificationNumber: number, InsuredBranchNumber: branch, Birthdate: birth } } }, '0');
    const record = (r: LightMyRequestResponse) => ((result(r, 'OQSsiquc01').body.ResultList as Msg).ResultOfQualificationConfirmation as Msg[])[0];
    expect(record(await send(h, facility, 'OQSsiquc01req_ref1.xml', single(FACILITY, '1234', '01', '19800401'))).ReferenceNumber).toBe('P0001X');
    expect(record(await send(h, facility, 'OQSsiquc01req_ref2.xml', single(FACILITY, '2345', '00', '19850505'))).ReferenceNumber).toBe('B2');
    expect(record(await send(h, other, 'OQSsiquc01req_ref3.xml', single(other.code, '1234', '01', '19800401'))).ReferenceNumber).toBeUndefined();

    const up = result(await send(h, facility, 'OQSmuquc01req_ref.xml', fixture('OQSmuquc01req_utf8_bulk.xml')), 'OQSmuquc01');
    await h.ctx.batch.idle();
    const download = encodeRequest('OQSmuquc02', { MessageHeader: { MedicalInstitutionCode: FACILITY }, MessageBody: { ReceptionNumber: up.body.ReceptionNumber as string } }, '0');
    const units = result(await send(h, facility, 'OQSmuquc02req_ref.xml', download), 'OQSmuquc02').body.BulkConfirmUnit as Msg[];
    expect(units.map((u) => u.ReferenceNumber)).toEqual(['P0001X', undefined, undefined]);
  });
});
