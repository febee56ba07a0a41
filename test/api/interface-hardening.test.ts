// The real interface against hostile files, on both stores: over-long elements (echoed ones
// included), invalid Shift_JIS, control characters by numeric reference and refused file names get
// the interface's error result (SegmentOfResult 9), are not processed and not stored under an
// Idempotency-Key, and never reach a header; a member whose name holds a NUL never reaches a result;
// every XML file onshi writes is well-formed (fast-xml-parser's XMLValidator).

import iconv from 'iconv-lite';
import { XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { storeKinds } from '../support/stores.ts';
import { addMember, createFacility, createInsurer, memberBody, type Harness, type TestFacility, type TestInsurer, useApp } from '../support/fixtures.ts';
import { injectTransport, personWithCard } from '../support/cards.ts';
import { SimulatedReader } from '../../src/reader/simulator.ts';
import { decodeResult, encodeRequest } from '../../src/interface/codec.ts';
import type { FamilyName, Msg } from '../../src/interface/schema.ts';

function send(h: Harness, facility: { headers: Record<string, string> }, fileName: string, body: Buffer | string, key?: string) {
  return h.app.inject({
    method: 'POST',
    url: `/v1/interface/${encodeURIComponent(fileName)}`,
    headers: { ...facility.headers, 'content-type': 'application/xml', ...(key ? { 'idempotency-key': key } : {}) },
    payload: body,
  });
}

/** The result file: HTTP 200, well-formed, read back with the codec. */
function result(r: LightMyRequestResponse, family: FamilyName): { header: Msg; body: Msg } {
  expect(r.statusCode, r.body).toBe(200);
  expectWellFormed(r.rawPayload);
  const { msg } = decodeResult(family, r.rawPayload);
  return { header: msg.MessageHeader as Msg, body: (msg.MessageBody as Msg | undefined) ?? {} };
}

function expectWellFormed(bytes: Buffer): void {
  const sjis = bytes.subarray(0, 60).toString('latin1').includes('Shift_JIS');
  const text = sjis ? iconv.decode(bytes, 'cp932') : bytes.toString('utf8');
  expect(XMLValidator.validate(text), text.slice(0, 300)).toBe(true);
  // Nothing a parser might let through: no C0 control other than the line breaks onshi writes.
  expect(text).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
}

let now = new Date('2024-11-25T01:00:00Z');

describe.each(storeKinds)('the real interface against hostile files (%s)', (kind) => {
  // A clock of its own: face files are listed once they have settled (PostgreSQL).
  const h = useApp(kind, { clock: () => now });
  let insurer: TestInsurer;
  let facility: TestFacility;

  const single = (search: Msg, header: Msg = {}) =>
    encodeRequest('OQSsiquc01', { MessageHeader: { MedicalInstitutionCode: facility.code, QualificationConfirmationDate: '20241125', ...header }, MessageBody: { QualificationConfirmSearchInfo: search } }, '0');
  const search = (number: string): Msg => ({ InsurerNumber: insurer.insurerNumber, InsuredCardSymbol: '12', InsuredIdentificationNumber: number, InsuredBranchNumber: '00', Birthdate: '19800401' });

  async function counts(): Promise<{ events: number; stored: number }> {
    const db = h.ctx.database.db;
    const e = await db.selectFrom('usage_events').select((eb) => eb.fn.countAll<number>().as('n')).where('facility_code', '=', facility.code).executeTakeFirstOrThrow();
    const s = await db.selectFrom('interface_idempotency').select((eb) => eb.fn.countAll<number>().as('n')).where('facility_code', '=', facility.code).executeTakeFirstOrThrow();
    return { events: Number(e.n), stored: Number(s.n) };
  }

  beforeAll(async () => {
    insurer = await createInsurer(h.app);
    facility = await createFacility(h.app);
    await addMember(h.app, insurer, { number: '1001', name: '山田　太郎 <&"\'>', address: '東京都 =1+1' });
  });

  it('answers a valid inquiry with a well-formed result that echoes its identifiers', async () => {
    const r = await send(h, facility, 'OQSsiquc01req_ok.xml', single({ ...search('1001'), ArbitraryIdentifier: 'p-1' }, { ArbitraryFileIdentifier: 'f-1' }));
    const { header, body } = result(r, 'OQSsiquc01');
    expect(header.SegmentOfResult).toBe('1');
    expect(header.ArbitraryFileIdentifier).toBe('f-1');
    const record = ((body.ResultList as Msg).ResultOfQualificationConfirmation as Msg[])[0];
    expect(record.Name).toBe('山田　太郎 <&"\'>');
  });

  it('refuses an over-long echoed ArbitraryFileIdentifier with the error result: small, not processed, not stored under the key', async () => {
    const before = await counts();
    const huge = 'A'.repeat(1024 * 1024);
    const r = await send(h, facility, 'OQSsiquc01req_huge.xml', single(search('1001'), { ArbitraryFileIdentifier: huge }), 'key-huge');
    const { header, body } = result(r, 'OQSsiquc01');
    expect(header.SegmentOfResult).toBe('9');
    expect(header.ErrorCode).toBe('ONSI1001E');
    expect(String(header.ErrorMessage)).toContain('ArbitraryFileIdentifier');
    expect(body).toEqual({});
    expect(r.rawPayload.length).toBeLessThan(2048);
    expect(r.rawPayload.includes('AAAAAAAAAA')).toBe(false);
    expect(await counts()).toEqual(before);
    // The same key with a proper file is then processed (nothing was kept for it).
    const again = await send(h, facility, 'OQSsiquc01req_huge.xml', single(search('1001'), { ArbitraryFileIdentifier: 'short' }), 'key-huge');
    expect(result(again, 'OQSsiquc01').header.SegmentOfResult).toBe('1');
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(await counts()).toEqual({ events: before.events + 1, stored: before.stored + 1 });
  });

  it.each([
    ['an over-long per-record ArbitraryIdentifier', (s: Msg) => ({ ...s, ArbitraryIdentifier: 'x'.repeat(257) }), 'ArbitraryIdentifier'],
    ['an over-long InsuredIdentificationNumber', (s: Msg) => ({ ...s, InsuredIdentificationNumber: '1'.repeat(39) }), 'InsuredIdentificationNumber'],
    ['a 3-digit InsuredBranchNumber (INTERFACE.md: 2 digits)', (s: Msg) => ({ ...s, InsuredBranchNumber: '000' }), 'InsuredBranchNumber'],
    ['a NUL by numeric reference', (s: Msg) => ({ ...s, ArbitraryIdentifier: 'a&#1;b' }), 'ArbitraryIdentifier'],
    ['a bidi override', (s: Msg) => ({ ...s, InsuredCardSymbol: '12\u202e' }), 'InsuredCardSymbol'],
  ])('refuses %s with the error result, recording nothing', async (_name, change, element) => {
    const before = await counts();
    let bytes = single(change(search('1001')));
    // encodeRequest escapes "&": put the numeric reference in as written by a client.
    bytes = Buffer.from(bytes.toString('utf8').replace('a&amp;#1;b', 'a&#1;b'));
    const r = await send(h, facility, 'OQSsiquc01req_long.xml', bytes, `key-${element}`);
    const { header } = result(r, 'OQSsiquc01');
    expect(header.SegmentOfResult).toBe('9');
    expect(header.ErrorCode).toBe('ONSI1001E');
    expect(String(header.ErrorMessage)).toContain(element);
    expect(await counts()).toEqual(before);
  });

  it('refuses a bulk upload holding one over-long element, making no batch', async () => {
    const rows = [search('1001'), { ...search('1002'), ArbitraryIdentifier: 'y'.repeat(300) }];
    const bytes = encodeRequest('OQSmuquc01', { MessageHeader: { MedicalInstitutionCode: facility.code }, MessageBody: { QualificationConfirmSearchInfo: rows } }, '0');
    const r = await send(h, facility, 'OQSmuquc01req_long.xml', bytes);
    const { header, body } = result(r, 'OQSmuquc01');
    expect(header.SegmentOfResult).toBe('9');
    expect(header.ErrorCode).toBe('ONSI1001E');
    expect(body.ReceptionNumber).toBeUndefined();
  });

  it('refuses invalid Shift_JIS bytes like invalid UTF-8: no U+FFFD, no processing, nothing stored', async () => {
    const before = await counts();
    const text = single({ ...search('1001'), InsuredCardSymbol: 'SYM' }).toString('utf8').replace('UTF-8', 'Shift_JIS');
    const good = iconv.encode(text, 'cp932');
    // A lead byte followed by a byte that cannot trail it, and a byte that is no character at all.
    for (const bad of [Buffer.from([0x81, 0x20]), Buffer.from([0x85, 0x40]), Buffer.from([0xa0])]) {
      const at = good.indexOf('SYM');
      const bytes = Buffer.concat([good.subarray(0, at), bad, good.subarray(at + 3)]);
      const r = await send(h, facility, 'OQSsiquc01req_badsjis.xml', bytes, `key-sjis-${bad.toString('hex')}`);
      const { header } = result(r, 'OQSsiquc01');
      expect(header.SegmentOfResult, bad.toString('hex')).toBe('9');
      expect(header.ErrorCode).toBe('ONSI1001E');
      expect(String(header.ErrorMessage)).toContain('Shift_JIS');
    }
    expect(await counts()).toEqual(before);
    // The same file with valid bytes is answered.
    expect(result(await send(h, facility, 'OQSsiquc01req_goodsjis.xml', good), 'OQSsiquc01').header.SegmentOfResult).toBe('1');
  });

  it.each(['../../etc/passwd', 'OQSsiquc01req_../../etc/passwd.xml', 'OQSsiquc01req_a\r\nSet-Cookie: x=1.xml', 'OQSsiquc01req_\u202egnp.xml', 'OQSmutic01req_x.xml', `OQSsiquc01req_${'a'.repeat(201)}.xml`])(
    'never echoes a refused file name (%j) in a header or the result',
    async (name) => {
      const r = await send(h, facility, name, single(search('1001')));
      for (const v of Object.values(r.headers)) expect(String(v)).not.toMatch(/passwd|Set-Cookie|\u202e|aaaaaaaaaa|mutic/);
      expect(r.body).not.toMatch(/passwd|Set-Cookie|\u202e|aaaaaaaaaa|mutic/);
      // A path segment too long for the router is refused before the interface (JSON 400); any other name gets the error result.
      if (r.statusCode === 400) return void expect(r.json()).toMatchObject({ code: 'ONSHI_REQUEST_INVALID' });
      const { header } = result(r, 'OQSsiquc01');
      expect(header.SegmentOfResult).toBe('9');
      expect(header.ErrorCode).toBe('ONSI1002E');
      expect(r.headers['content-disposition']).toBe('attachment; filename="OQSres_refused.xml"');
    },
  );

  it('refuses a member named 山田\\u0000DROP: nothing of it reaches an OQSsiquc01res, by card numbers or by card', async () => {
    const nul = await h.app.inject({ method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/members`, headers: insurer.headers, payload: memberBody({ number: '2001', name: '山田\u0000DROP' }) });
    expect(nul.statusCode, nul.body).toBe(400);
    expect((nul.json() as { errors: { field: string; code: string }[] }).errors).toContainEqual(expect.objectContaining({ field: 'name', code: 'forbidden_character' }));
    for (const [field, value] of [['name', '山田\u0007太郎'], ['name', '山田\u202e太郎'], ['address', '東京\ud800都'], ['nameKana', 'ヤマダ\u0085']] as const) {
      const r = await h.app.inject({ method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/members`, headers: insurer.headers, payload: memberBody({ number: '2002', [field]: value }) });
      expect(r.statusCode, `${field} ${JSON.stringify(value)}`).toBe(400);
      expect((r.json() as { errors: { field: string; code: string }[] }).errors).toContainEqual(expect.objectContaining({ field, code: 'forbidden_character' }));
    }
    // A change cannot bring it in either.
    const m = await addMember(h.app, insurer, { number: '2003' });
    const change = await h.app.inject({ method: 'PATCH', url: `/v1/insurers/${insurer.insurerNumber}/members/${m.memberId}`, headers: insurer.headers, payload: { name: '山田\u0000DROP', effectiveFrom: '2024-01-01' } });
    expect(change.statusCode, change.body).toBe(400);
    // Nothing was registered: the inquiry finds no such member, in a well-formed file.
    const r = await send(h, facility, 'OQSsiquc01req_nul.xml', single(search('2001')));
    const { body } = result(r, 'OQSsiquc01');
    expect(body.ProcessingResultStatus).toBe('1');
    expect(body.QualificationValidity).toBe('4');
    expect(r.rawPayload.includes(0)).toBe(false);
    expect(r.rawPayload.toString('utf8')).not.toContain('DROP');
  });

  it('writes every kind of result file well-formed: single (both encodings, a name Shift_JIS cannot carry), bulk upload and download, registrations, face files', async () => {
    await addMember(h.app, insurer, { number: '3001', name: '𠮷田　花子 & <co>', nameKana: 'ヨシダ　ハナコ' });
    for (const code of ['0', '1'] as const) {
      const bytes = encodeRequest('OQSsiquc01', { MessageHeader: { MedicalInstitutionCode: facility.code, CharacterCodeIdentifier: code }, MessageBody: { QualificationConfirmSearchInfo: search('3001') } }, code);
      result(await send(h, facility, `OQSsiquc01req_wf${code}.xml`, bytes), 'OQSsiquc01');
    }
    const up = await send(h, facility, 'OQSmuquc01req_wf.xml', encodeRequest('OQSmuquc01', { MessageHeader: { MedicalInstitutionCode: facility.code, ArbitraryFileIdentifier: 'bulk&1' }, MessageBody: { QualificationConfirmSearchInfo: [search('1001'), search('3001'), search('9999'), { InsurerNumber: 'x' }] } }, '1'));
    const reception = String(result(up, 'OQSmuquc01').body.ReceptionNumber);
    await h.ctx.batch.idle();
    const down = await send(h, facility, 'OQSmuquc02req_wf.xml', encodeRequest('OQSmuquc02', { MessageHeader: { MedicalInstitutionCode: facility.code }, MessageBody: { ReceptionNumber: reception } }, '1'));
    expect(result(down, 'OQSmuquc02').header.SegmentOfResult).toBe('1');
    const record = { ...search('1001'), ReferenceNumber: 'R1' };
    result(await send(h, facility, 'OQSsiimm01req_wf.xml', encodeRequest('OQSsiimm01', { MessageHeader: { MedicalInstitutionCode: facility.code }, MessageBody: { ReferenceNumberRegistrationInfo: record } }, '0')), 'OQSsiimm01');
    result(await send(h, facility, 'OQSmuimm01req_wf.xml', encodeRequest('OQSmuimm01', { MessageHeader: { MedicalInstitutionCode: facility.code }, MessageBody: { ReferenceNumberRegistrationInfo: [record, { ...record, ReferenceNumber: 'bad ref!' }] } }, '1')), 'OQSmuimm01');
    // A face file of a card confirmation, in both encodings.
    const t = injectTransport(h.app);
    const holder = await personWithCard(h.app, t, insurer, { name: '顔認　"花子" & 𠮷' });
    await new SimulatedReader(t, facility.token).confirm(holder.card, { verification: 'face', registerNow: true, consent: {} });
    now = new Date(now.getTime() + 60_000);
    for (const code of ['0', '1']) {
      const page = await h.app.inject({ method: 'GET', url: `/v1/interface/face-results?characterCode=${code}`, headers: facility.headers });
      expect(page.statusCode, page.body).toBe(200);
      const results = (page.json() as { results: { content: string }[] }).results;
      expect(results.length).toBeGreaterThan(0);
      for (const f of results) expectWellFormed(Buffer.from(f.content, 'base64'));
    }
  });
});
