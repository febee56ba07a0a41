// Face results (GET /v1/interface/face-results) and exactly-once requests (Idempotency-Key on
// POST /v1/interface/{fileName}), on both stores.

import iconv from 'iconv-lite';
import { sql } from 'kysely';
import { describe, expect, it, beforeAll } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { adminHeaders, createFacility, createInsurer, staffCredential, useApp, type TestFacility, type TestInsurer } from '../support/fixtures.ts';
import { injectTransport, personWithCard } from '../support/cards.ts';
import { SimulatedReader } from '../../src/reader/simulator.ts';
import { decodeResult, encodeRequest } from '../../src/interface/codec.ts';
import { InterfaceService } from '../../src/interface/service.ts';
import type { Msg } from '../../src/interface/schema.ts';

const FACE_RE = /^OQSsiquc01res_face_.+_(\d{14})\.xml$/;

// The clock moves one minute per card confirmation, so each has its own instant (and consent).
const START = new Date('2024-11-30T15:00:00Z');
let now = START;
const tick = () => (now = new Date(now.getTime() + 60_000));

interface FacePage {
  results: { id: string; confirmationId: string; fileName: string; characterCode: string; content: string }[];
  next: string;
  more: boolean;
}

describe.each(storeKinds)('face results and idempotent requests (%s)', (kind) => {
  const h = useApp(kind, { clock: () => now });
  let insurer: TestInsurer;
  let facility: TestFacility;
  let other: TestFacility;

  beforeAll(async () => {
    now = START;
    insurer = await createInsurer(h.app);
    facility = await createFacility(h.app);
    other = await createFacility(h.app);
  });

  async function face(token: { headers: Record<string, string> }, query = ''): Promise<FacePage> {
    const r = await h.app.inject({ method: 'GET', url: `/v1/interface/face-results${query}`, headers: token.headers });
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as FacePage;
  }

  async function cardConfirmation(
    at: TestFacility,
    consent: { medication?: boolean; checkups?: boolean; limitInfo?: boolean },
    overrides: Record<string, unknown> = {},
    before?: (holder: Awaited<ReturnType<typeof personWithCard>>) => Promise<void>,
  ) {
    const t = injectTransport(h.app);
    const holder = await personWithCard(h.app, t, insurer, { name: '顔認　花子', nameKana: 'カオニン　ハナコ', sex: 'female', birthDate: '1990-02-03', limitCategory: 'A02', ...overrides });
    await before?.(holder);
    const reader = new SimulatedReader(t, at.token);
    tick();
    const answer = await reader.confirm(holder.card, { verification: 'face', registerNow: true, consent });
    return { holder, answer };
  }

  it('lists a card confirmation as a face file: name, card classification, record, consent flags, no My Number', async () => {
    const before = await face(facility);
    const { holder, answer } = await cardConfirmation(facility, { medication: true, limitInfo: true });
    const page = await face(facility, `?after=${before.next}`);
    expect(page.results).toHaveLength(1);
    expect(page.more).toBe(false);
    const [r] = page.results;
    expect(r.confirmationId).toBe(answer.confirmationId);
    expect(page.next).toBe(r.id);
    // 2024-11-30T15:01Z is 2024-12-01 00:01 in Japan.
    expect(r.fileName).toBe(`OQSsiquc01res_face_${facility.code}_${r.id.padStart(10, '0')}_20241201000100.xml`);
    expect(FACE_RE.exec(r.fileName)?.[1]).toBe('20241201000100');
    const bytes = Buffer.from(r.content, 'base64');
    expect(bytes.toString('utf8')).not.toContain(holder.myNumber);
    const { msg, encoding } = decodeResult('OQSsiquc01', bytes);
    expect(encoding).toBe('utf8');
    expect(msg.MessageHeader).toMatchObject({
      ProcessExecutionTime: '20241201000100',
      QualificationConfirmationDate: '20241201',
      MedicalInstitutionCode: facility.code,
      ArbitraryFileIdentifier: answer.confirmationId,
      ReferenceClassification: '1',
      SegmentOfResult: '1',
      CharacterCodeIdentifier: '0',
    });
    const body = msg.MessageBody as Msg;
    expect(body).toMatchObject({ ProcessingResultStatus: '1', QualificationValidity: '1' });
    const rec = ((body.ResultList as Msg).ResultOfQualificationConfirmation as Msg[])[0];
    expect(rec).toMatchObject({
      InsurerNumber: insurer.insurerNumber,
      InsuredIdentificationNumber: holder.member.number,
      Name: '顔認　花子',
      NameKana: 'ｶｵﾆﾝ ﾊﾅｺ',
      Sex1: '2',
      Birthdate: '19900203',
      PharmacistsInfoConsFlg: '1',
      PharmacistsInfoConsTime: '20241201000100',
      PharmacistsInfoAvailableTime: '20241202000100',
      SpecificHealthCheckupsInfoConsFlg: '0',
      LimitApplicationCertificateRelatedConsFlg: '1',
      LimitApplicationCertificateRelatedConsTime: '20241201000100',
    });
    expect(rec.SpecificHealthCheckupsInfoConsTime).toBeUndefined();
    expect(rec.LimitApplicationCertificateRelatedInfo).toMatchObject({ LimitApplicationCertificateClassificationFlag: 'A02' });
    // The read is logged (eligibility under the confirmation, limit category under the consent).
    const log = await h.ctx.audit.search({ personId: holder.member.personId });
    const reads = log.filter((l) => l.detail?.via === 'face_result');
    expect(reads.map((l) => [l.what, l.basis.kind, l.basis.id]).sort()).toEqual(
      [
        ['eligibility', 'confirmation', answer.confirmationId],
        ['limit_category', 'consent', answer.consent.id],
      ].sort(),
    );
    expect(reads[0]).toMatchObject({ facilityCode: facility.code, role: 'reception' });
  });

  it('shows no limit information without that consent, and writes Shift_JIS when asked', async () => {
    const before = await face(facility);
    const { answer } = await cardConfirmation(facility, { checkups: true });
    const page = await face(facility, `?after=${before.next}&characterCode=1`);
    expect(page.results.map((r) => r.confirmationId)).toEqual([answer.confirmationId]);
    const bytes = Buffer.from(page.results[0].content, 'base64');
    expect(page.results[0].characterCode).toBe('1');
    expect(bytes.includes(iconv.encode('顔認　花子', 'cp932'))).toBe(true);
    const { msg, encoding } = decodeResult('OQSsiquc01', bytes);
    expect(encoding).toBe('sjis');
    expect((msg.MessageHeader as Msg).CharacterCodeIdentifier).toBe('1');
    const rec = (((msg.MessageBody as Msg).ResultList as Msg).ResultOfQualificationConfirmation as Msg[])[0];
    expect(rec).toMatchObject({ SpecificHealthCheckupsInfoConsFlg: '1', PharmacistsInfoConsFlg: '0', LimitApplicationCertificateRelatedConsFlg: '0' });
    expect(rec.LimitApplicationCertificateRelatedInfo).toBeUndefined();
  });

  it("shows each confirmation's own consent answers, even two of one patient at one instant; an event from before migration 0012 is matched by time", async () => {
    const before = await face(facility);
    const t = injectTransport(h.app);
    const holder = await personWithCard(h.app, t, insurer, { name: '顔認　花子', nameKana: 'カオニン　ハナコ', sex: 'female', birthDate: '1990-02-03', limitCategory: 'A02' });
    const reader = new SimulatedReader(t, facility.token);
    tick();
    // The clock stands still: both confirmations and both consent answers have one instant.
    const first = await reader.confirm(holder.card, { verification: 'face', registerNow: true, consent: { medication: true } });
    const second = await reader.confirm(holder.card, { verification: 'face', consent: { checkups: true, limitInfo: true } });
    const flags = (content: string) => {
      const { msg } = decodeResult('OQSsiquc01', Buffer.from(content, 'base64'));
      const rec = (((msg.MessageBody as Msg).ResultList as Msg).ResultOfQualificationConfirmation as Msg[])[0];
      return [rec.PharmacistsInfoConsFlg, rec.SpecificHealthCheckupsInfoConsFlg, rec.LimitApplicationCertificateRelatedConsFlg].join('');
    };
    const page = await face(facility, `?after=${before.next}`);
    expect(page.results.map((r) => r.confirmationId)).toEqual([first.confirmationId, second.confirmationId]);
    expect(page.results.map((r) => flags(r.content))).toEqual(['100', '011']);
    // Written before the event named its consent: the person's first answer at the facility from the event's instant on.
    await sql`update usage_events set consent_id = null where confirmation_id = ${first.confirmationId}`.execute(h.ctx.database.db);
    const again = await face(facility, `?after=${before.next}`);
    expect(flags(again.results[0].content)).toBe('100');
  });

  it('answers an invalid card confirmation as 無効 with its code', async () => {
    const before = await face(facility);
    // Qualified only from 2025: not yet started on the confirmation day.
    const { answer } = await cardConfirmation(facility, {}, { qualifiedFrom: '2025-04-01' });
    expect(answer.result).toBe('invalid');
    const page = await face(facility, `?after=${before.next}`);
    const { msg } = decodeResult('OQSsiquc01', Buffer.from(page.results[0].content, 'base64'));
    expect(msg.MessageBody).toMatchObject({ ProcessingResultStatus: '1', QualificationValidity: '2', ProcessingResultCode: 'ONSI2103W' });
  });

  it("pages by cursor, lists only the facility's own confirmations, and any of its staff roles may read", async () => {
    const start = (await face(facility)).next;
    const mine = [];
    for (let i = 0; i < 3; i++) mine.push((await cardConfirmation(facility, { medication: true })).answer.confirmationId);
    const theirs = (await cardConfirmation(other, {})).answer.confirmationId;
    // Insurance-card confirmations are not face results.
    const first = await face(facility, `?after=${start}&limit=2`);
    expect(first.results.map((r) => r.confirmationId)).toEqual(mine.slice(0, 2));
    expect(first.more).toBe(true);
    const doctor = await staffCredential(h.app, facility, 'doctor');
    const second = await face(doctor, `?after=${first.next}&limit=2`);
    expect(second.results.map((r) => r.confirmationId)).toEqual(mine.slice(2));
    expect(second.more).toBe(false);
    const empty = await face(facility, `?after=${second.next}`);
    expect(empty).toEqual({ results: [], next: second.next, more: false });
    const all = await face(facility, '?limit=500');
    expect(all.results.map((r) => r.confirmationId)).not.toContain(theirs);
    expect((await face(other)).results.map((r) => r.confirmationId)).toEqual([theirs]);
  });

  it("echoes the facility's 照会番号 in its face results", async () => {
    const start = await face(facility);
    const { answer } = await cardConfirmation(facility, {}, {}, async (holder) => {
      const registration = encodeRequest(
        'OQSsiimm01',
        {
          MessageHeader: { MedicalInstitutionCode: facility.code },
          MessageBody: { InsurerNumber: insurer.insurerNumber, InsuredCardSymbol: '12', InsuredIdentificationNumber: String(holder.member.number), InsuredBranchNumber: '00', Birthdate: '19900203', ReferenceNumber: 'F77' },
        },
        '0',
      );
      const r = await h.app.inject({ method: 'POST', url: '/v1/interface/OQSsiimm01req_face.xml', headers: { ...facility.headers, 'content-type': 'application/xml' }, payload: registration });
      expect(decodeResult('OQSsiimm01', r.rawPayload).msg.MessageBody).toMatchObject({ ProcessingResultStatus: '1' });
    });
    const page = await face(facility, `?after=${start.next}`);
    expect(page.results.map((r) => r.confirmationId)).toEqual([answer.confirmationId]);
    const { msg } = decodeResult('OQSsiquc01', Buffer.from(page.results[0].content, 'base64'));
    expect((((msg.MessageBody as Msg).ResultList as Msg).ResultOfQualificationConfirmation as Msg[])[0].ReferenceNumber).toBe('F77');
  });

  it('holds back card events younger than 2 s on PostgreSQL (where ids may commit out of order), not on SQLite', async () => {
    const service = new InterfaceService(h.ctx.confirmation, h.ctx.batch, () => now, undefined, h.ctx.database.db);
    const staff = { actor: 'facility:test', role: 'reception', facilityCode: facility.code };
    const start = Number((await face(facility)).next);
    const { answer } = await cardConfirmation(facility, {});
    const early = await service.face.list(staff, start, 10, '0');
    expect(early.results.map((r) => r.confirmationId)).toEqual(kind === 'postgres' ? [] : [answer.confirmationId]);
    expect(early.next).toBe(kind === 'postgres' ? String(start) : early.results[0].id);
    now = new Date(now.getTime() + 2000);
    expect((await service.face.list(staff, start, 10, '0')).results.map((r) => r.confirmationId)).toEqual([answer.confirmationId]);
  });

  it('refuses without a credential (401), other kinds of credential (403) and a bad cursor (400)', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/v1/interface/face-results' })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/v1/interface/face-results', headers: { authorization: 'Bearer nope' } })).statusCode).toBe(401);
    const admin = await h.app.inject({ method: 'GET', url: '/v1/interface/face-results', headers: adminHeaders });
    expect(admin.statusCode).toBe(403);
    expect(admin.json()).toMatchObject({ code: 'ONSHI_AUTH_FORBIDDEN' });
    expect((await h.app.inject({ method: 'GET', url: '/v1/interface/face-results', headers: insurer.headers })).statusCode).toBe(403);
    for (const q of ['?after=-1', '?after=abc', '?limit=0', '?limit=501', '?characterCode=2']) {
      const r = await h.app.inject({ method: 'GET', url: `/v1/interface/face-results${q}`, headers: facility.headers });
      expect(r.statusCode, q).toBe(400);
      expect(r.json()).toMatchObject({ code: 'ONSHI_REQUEST_INVALID' });
    }
  });

  // ------------------------------------------------------------------ exactly once

  const single = (code: string, number: string) =>
    encodeRequest(
      'OQSsiquc01',
      {
        MessageHeader: { QualificationConfirmationDate: '20241125', MedicalInstitutionCode: code, ArbitraryFileIdentifier: `IDEM-${number}` },
        MessageBody: { QualificationConfirmSearchInfo: { InsurerNumber: insurer.insurerNumber, InsuredCardSymbol: '12', InsuredIdentificationNumber: number, InsuredBranchNumber: '00', Birthdate: '19800401' } },
      },
      '1',
    );

  function post(fileName: string, body: Buffer, key?: string) {
    return h.app.inject({
      method: 'POST',
      url: `/v1/interface/${fileName}`,
      headers: { ...facility.headers, 'content-type': 'application/xml', ...(key ? { 'idempotency-key': key } : {}) },
      payload: body,
    });
  }

  async function events(): Promise<number> {
    const r = await h.ctx.database.db.selectFrom('usage_events').select((eb) => eb.fn.countAll<number>().as('n')).where('facility_code', '=', facility.code).where('method', '=', 'insurance_card').executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async function batches(): Promise<number> {
    const r = await h.ctx.database.db.selectFrom('batch_inquiries').select((eb) => eb.fn.countAll<number>().as('n')).where('facility_code', '=', facility.code).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  it('answers a repeated single inquiry with the same key from the store: one usage event, the same bytes', async () => {
    const before = await events();
    const body = single(facility.code, '9001');
    const first = await post('OQSsiquc01req_idem1.xml', body, 'key-single-1');
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(decodeResult('OQSsiquc01', first.rawPayload).msg.MessageHeader).toMatchObject({ SegmentOfResult: '1', ArbitraryFileIdentifier: 'IDEM-9001' });
    tick();
    const again = await post('OQSsiquc01req_idem1.xml', body, 'key-single-1');
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['content-disposition']).toBe(first.headers['content-disposition']);
    expect(again.headers['content-type']).toBe('application/xml; charset=Shift_JIS');
    expect(Buffer.compare(again.rawPayload, first.rawPayload)).toBe(0);
    expect(await events()).toBe(before + 1);
    // Without a key every request is processed.
    await post('OQSsiquc01req_idem1.xml', body);
    expect(await events()).toBe(before + 2);
  });

  it('processes two racing copies of one keyed request once', async () => {
    const before = await events();
    const body = single(facility.code, '9002');
    const [a, b] = await Promise.all([post('OQSsiquc01req_race.xml', body, 'key-race'), post('OQSsiquc01req_race.xml', body, 'key-race')]);
    expect(Buffer.compare(a.rawPayload, b.rawPayload)).toBe(0);
    expect(await events()).toBe(before + 1);
  });

  it('makes one batch of a repeated bulk upload, and answers the same reception number', async () => {
    const before = await batches();
    const upload = encodeRequest(
      'OQSmuquc01',
      {
        MessageHeader: { MedicalInstitutionCode: facility.code, ArbitraryFileIdentifier: 'IDEM-BULK' },
        MessageBody: { QualificationConfirmSearchInfo: [{ InsurerNumber: insurer.insurerNumber, InsuredIdentificationNumber: '1', Birthdate: '19800401' }] },
      },
      '0',
    );
    const first = await post('OQSmuquc01req_idem.xml', upload, 'key-bulk-1');
    const again = await post('OQSmuquc01req_idem.xml', upload, 'key-bulk-1');
    expect(Buffer.compare(again.rawPayload, first.rawPayload)).toBe(0);
    expect((decodeResult('OQSmuquc01', first.rawPayload).msg.MessageBody as Msg).ReceptionNumber).toMatch(/^[0-9a-f]{32}$/);
    expect(await batches()).toBe(before + 1);
  });

  it('refuses a key reused for another file name (ONSI1011E) and a malformed key (ONSI1012E), processing nothing', async () => {
    const body = single(facility.code, '9003');
    await post('OQSsiquc01req_k1.xml', body, 'key-reused');
    const before = await events();
    const other = await post('OQSsiquc01req_k2.xml', body, 'key-reused');
    expect(other.statusCode).toBe(200);
    expect(other.headers['content-disposition']).toContain('OQSsiquc01res_k2.xml');
    expect(decodeResult('OQSsiquc01', other.rawPayload).msg.MessageHeader).toMatchObject({ SegmentOfResult: '9', ErrorCode: 'ONSI1011E', ArbitraryFileIdentifier: 'IDEM-9003' });
    const bad = await post('OQSsiquc01req_k3.xml', body, 'x'.repeat(129));
    expect(decodeResult('OQSsiquc01', bad.rawPayload).msg.MessageHeader).toMatchObject({ SegmentOfResult: '9', ErrorCode: 'ONSI1012E' });
    expect(await events()).toBe(before);
  });

  it('does not store failures: a malformed keyed request is answered 9 each time', async () => {
    const r1 = await post('OQSsiquc01req_bad.xml', Buffer.from('<XmlMsg>'), 'key-bad');
    const r2 = await post('OQSsiquc01req_bad.xml', Buffer.from('<XmlMsg>'), 'key-bad');
    for (const r of [r1, r2]) expect(decodeResult('OQSsiquc01', r.rawPayload).msg.MessageHeader).toMatchObject({ SegmentOfResult: '9', ErrorCode: 'ONSI1001E' });
    expect(r2.headers['idempotent-replayed']).toBeUndefined();
  });

  it('keeps stored results for 7 days: a retry within is replayed, after it processed anew; expired ones are purged', async () => {
    let at = new Date('2025-01-10T00:00:00Z');
    const service = new InterfaceService(h.ctx.confirmation, h.ctx.batch, () => at, undefined, h.ctx.database.db);
    const body = single(facility.code, '9004');
    const stored = async () =>
      (await h.ctx.database.db.selectFrom('interface_idempotency').select(['idempotency_key', 'created_at']).where('facility_code', '=', facility.code).where('idempotency_key', 'in', ['key-old', 'key-other']).execute()).map((r) => r.idempotency_key).sort();
    const before = await events();
    const first = await service.handle(facility.code, 'OQSsiquc01req_ret.xml', body, 'key-old');
    at = new Date(at.getTime() + 6 * 24 * 3600_000);
    const within = await service.handle(facility.code, 'OQSsiquc01req_ret.xml', body, 'key-old');
    expect(within.replayed).toBe(true);
    expect(Buffer.compare(within.bytes, first.bytes)).toBe(0);
    expect(await events()).toBe(before + 1);
    at = new Date(at.getTime() + 2 * 24 * 3600_000);
    const after = await service.handle(facility.code, 'OQSsiquc01req_ret.xml', body, 'key-old');
    expect(after.replayed).toBeUndefined();
    expect(after.segment).toBe('1');
    expect(await events()).toBe(before + 2);
    expect(await stored()).toEqual(['key-old']);
    // Another key a further 8 days on purges the expired one.
    at = new Date(at.getTime() + 8 * 24 * 3600_000);
    await service.handle(facility.code, 'OQSsiquc01req_ret2.xml', body, 'key-other');
    expect(await stored()).toEqual(['key-other']);
  });
});
