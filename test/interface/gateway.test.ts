// The folder gateway end to end on a temporary folder against a listening onshi server: requests in
// both encodings, a malformed file, an unreachable server, and the states a kill can leave behind;
// card confirmations arriving in DIR/face; a lost answer resent without being processed twice.

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app/build-app.ts';
import { decodeResult } from '../../src/interface/codec.ts';
import { FolderGateway, STATE_FILE } from '../../src/interface/gateway.ts';
import { SimulatedReader } from '../../src/reader/simulator.ts';
import { injectTransport, personWithCard } from '../support/cards.ts';
import type { Msg } from '../../src/interface/schema.ts';
import { createTestContext, type TestContext } from '../support/stores.ts';
import { addMember, createFacility, createInsurer, type TestFacility, type TestInsurer } from '../support/fixtures.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/interface');

describe('folder gateway', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let url: string;
  let facility: TestFacility;
  let kokuho: TestInsurer;
  const dirs: string[] = [];

  beforeAll(async () => {
    ctx = await createTestContext('sqlite');
    app = await buildApp(ctx);
    kokuho = await createInsurer(app, { insurerNumber: '139014', kind: 'kokuho' });
    await createInsurer(app, { insurerNumber: '06139018', kind: 'kenpo_kumiai' });
    facility = await createFacility(app, { code: '1319000019' });
    await addMember(app, kokuho, { symbol: '記号１', number: '1234', branch: '01', name: '診療　太郎', nameKana: 'シンリョウ　タロウ', birthDate: '1980-04-01' });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app.close();
    await ctx.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function folder(): string {
    const d = mkdtempSync(join(tmpdir(), 'onshi-gw-'));
    dirs.push(d);
    return d;
  }

  function gateway(dir: string, extra: Partial<ConstructorParameters<typeof FolderGateway>[0]> = {}) {
    const lines: string[] = [];
    let calls = 0;
    const gw = new FolderGateway({
      dir,
      server: url,
      token: facility.token,
      settleMs: 0,
      retryMinMs: 50,
      log: (l) => lines.push(l),
      fetch: (input, init) => {
        calls++;
        return fetch(input, init);
      },
      ...extra,
    });
    return { gw, lines, calls: () => calls };
  }

  async function usageEvents(): Promise<number> {
    const r = await ctx.database.db.selectFrom('usage_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  it('answers UTF-8 and Shift_JIS requests into res by the req → res rule and removes them', async () => {
    const dir = folder();
    const { gw, lines } = gateway(dir);
    await gw.prepare();
    copyFileSync(join(FIXTURES, 'OQSsiquc01req_utf8_valid.xml'), join(dir, 'req', 'OQSsiquc01req_202411250001.xml'));
    copyFileSync(join(FIXTURES, 'OQSsiquc01req_sjis_valid.xml'), join(dir, 'req', 'OQSsiquc01req_202411250002.xml'));
    const report = await gw.scan();
    expect(report).toMatchObject({ sent: 2, rejected: 0 });
    expect(readdirSync(join(dir, 'req'))).toEqual([]);
    expect(readdirSync(join(dir, 'res')).sort()).toEqual(['OQSsiquc01res_202411250001.xml', 'OQSsiquc01res_202411250002.xml']);
    const first = decodeResult('OQSsiquc01', readFileSync(join(dir, 'res', 'OQSsiquc01res_202411250001.xml')));
    expect(first.encoding).toBe('utf8');
    expect((first.msg.MessageBody as Msg).QualificationValidity).toBe('1');
    const second = decodeResult('OQSsiquc01', readFileSync(join(dir, 'res', 'OQSsiquc01res_202411250002.xml')));
    expect(second.encoding).toBe('sjis');
    expect(((second.msg.MessageBody as Msg).ResultList as Msg).ResultOfQualificationConfirmation).toMatchObject([{ Name: '診療　太郎' }]);
    expect(lines.filter((l) => l.includes('→'))).toHaveLength(2);
  });

  it('moves a malformed or unknown file to res with a .err beside it, sending nothing', async () => {
    const dir = folder();
    const { gw, calls } = gateway(dir);
    await gw.prepare();
    copyFileSync(join(FIXTURES, 'OQSsiquc01req_utf8_malformed.xml'), join(dir, 'req', 'OQSsiquc01req_bad.xml'));
    writeFileSync(join(dir, 'req', 'OQSxxxxx01req_1.xml'), '<XmlMsg/>');
    const before = await usageEvents();
    const report = await gw.scan();
    expect(report).toMatchObject({ sent: 0, rejected: 2 });
    expect(calls()).toBe(0);
    expect(readdirSync(join(dir, 'req'))).toEqual([]);
    expect(readdirSync(join(dir, 'res')).sort()).toEqual(['OQSsiquc01req_bad.err', 'OQSsiquc01req_bad.xml', 'OQSxxxxx01req_1.err', 'OQSxxxxx01req_1.xml']);
    const err = readFileSync(join(dir, 'res', 'OQSsiquc01req_bad.err'), 'utf8');
    expect(err).toMatch(/^ErrorCode=ONSI1001E\nErrorMessage=電文の形式が正しくありません。/);
    expect(err).toContain('File=OQSsiquc01req_bad.xml');
    expect(readFileSync(join(dir, 'res', 'OQSxxxxx01req_1.err'), 'utf8')).toContain('ErrorCode=ONSI1002E');
    expect(await usageEvents()).toBe(before);
  });

  it('keeps requests while the server is unreachable, backs off, and sends each once when it is back', async () => {
    const dir = folder();
    let now = Date.now() + 10_000;
    const down = gateway(dir, { server: 'http://127.0.0.1:9', clock: () => now });
    await down.gw.prepare();
    copyFileSync(join(FIXTURES, 'OQSsiquc01req_utf8_valid.xml'), join(dir, 'req', 'OQSsiquc01req_a.xml'));
    copyFileSync(join(FIXTURES, 'OQSsiquc01req_sjis_valid.xml'), join(dir, 'req', 'OQSsiquc01req_b.xml'));
    expect(await down.gw.scan()).toMatchObject({ sent: 0, deferred: 1 });
    expect(down.gw.nextAttemptAt).toBe(now + 50);
    expect(await down.gw.scan()).toMatchObject({ sent: 0 }); // inside the back-off: not even tried
    expect(down.calls()).toBe(1);
    now += 50;
    await down.gw.scan();
    expect(down.gw.nextAttemptAt).toBe(now + 100); // doubled
    expect(down.calls()).toBe(2);
    expect(readdirSync(join(dir, 'req')).sort()).toEqual(['OQSsiquc01req_a.xml', 'OQSsiquc01req_b.xml']);
    expect(readdirSync(join(dir, 'res'))).toEqual([]);
    expect(down.lines.some((l) => l.includes('server not reached'))).toBe(true);

    const before = await usageEvents();
    const up = gateway(dir);
    expect(await up.gw.scan()).toMatchObject({ sent: 2 });
    expect(await up.gw.scan()).toMatchObject({ sent: 0 });
    expect(up.calls()).toBe(2);
    expect(await usageEvents()).toBe(before + 2);
    expect(readdirSync(join(dir, 'res')).sort()).toEqual(['OQSsiquc01res_a.xml', 'OQSsiquc01res_b.xml']);
  });

  it('after a kill: drops a half-written temporary result, and does not resend a request already answered', async () => {
    const dir = folder();
    const { gw, calls, lines } = gateway(dir);
    await gw.prepare();
    // Killed while writing: a partial temporary file, the request still in req.
    copyFileSync(join(FIXTURES, 'OQSsiquc01req_utf8_valid.xml'), join(dir, 'req', 'OQSsiquc01req_k1.xml'));
    writeFileSync(join(dir, 'res', 'OQSsiquc01res_k1.xml.onshi-tmp'), '<?xml version="1.0"?><XmlMsg><MessageHea');
    // Killed after the rename, before removing the request.
    copyFileSync(join(FIXTURES, 'OQSsiquc01req_utf8_valid.xml'), join(dir, 'req', 'OQSsiquc01req_k2.xml'));
    writeFileSync(join(dir, 'res', 'OQSsiquc01res_k2.xml'), readFileSync(join(FIXTURES, 'OQSsiquc01res_utf8_valid.xml')));
    const restarted = gateway(dir);
    await restarted.gw.prepare();
    expect(existsSync(join(dir, 'res', 'OQSsiquc01res_k1.xml.onshi-tmp'))).toBe(false);
    expect(await restarted.gw.scan()).toMatchObject({ sent: 1, alreadyAnswered: 1 });
    expect(restarted.calls()).toBe(1);
    expect(readdirSync(join(dir, 'req'))).toEqual([]);
    expect(readdirSync(join(dir, 'res')).sort()).toEqual(['OQSsiquc01res_k1.xml', 'OQSsiquc01res_k2.xml']);
    expect(decodeResult('OQSsiquc01', readFileSync(join(dir, 'res', 'OQSsiquc01res_k1.xml'))).msg.MessageHeader).toMatchObject({ SegmentOfResult: '1' });
    expect(calls()).toBe(0);
    expect(lines).toEqual([]);
  });

  it('leaves a file the client is still writing until it settles', async () => {
    const dir = folder();
    const { gw } = gateway(dir, { settleMs: 60_000 });
    await gw.prepare();
    copyFileSync(join(FIXTURES, 'OQSsiquc01req_utf8_valid.xml'), join(dir, 'req', 'OQSsiquc01req_w.xml'));
    expect(await gw.scan()).toMatchObject({ sent: 0, deferred: 1 });
    expect(readdirSync(join(dir, 'req'))).toEqual(['OQSsiquc01req_w.xml']);
  });

  async function cardConfirmation(): Promise<string> {
    const t = injectTransport(app);
    const holder = await personWithCard(app, t, kokuho, { name: '顔認　次郎', nameKana: 'カオニン　ジロウ' });
    const answer = await new SimulatedReader(t, facility.token).confirm(holder.card, { verification: 'face', registerNow: true, consent: { medication: true } });
    return answer.confirmationId as string;
  }

  it('writes card confirmations into face, keeps the cursor after the files, and re-writes the same names after a lost cursor', async () => {
    const dir = folder();
    const { gw } = gateway(dir);
    await gw.prepare();
    // Whatever happened before this folder existed is fetched too (cursor 0).
    const known = (await gw.pollFace()).written;
    const ids = [await cardConfirmation(), await cardConfirmation()];
    expect(await gw.pollFace()).toEqual({ written: 2, failed: false });
    const names = readdirSync(join(dir, 'face')).sort();
    expect(names).toHaveLength(known + 2);
    const mine = names.filter((n) => ids.some((id) => readFileSync(join(dir, 'face', n), 'utf8').includes(id)));
    expect(mine).toHaveLength(2);
    for (const n of mine) {
      expect(n).toMatch(/^OQSsiquc01res_face_1319000019_\d{10}_\d{14}\.xml$/);
      const { msg } = decodeResult('OQSsiquc01', readFileSync(join(dir, 'face', n)));
      expect(msg.MessageHeader).toMatchObject({ ReferenceClassification: '1', SegmentOfResult: '1', MedicalInstitutionCode: '1319000019' });
      expect((((msg.MessageBody as Msg).ResultList as Msg).ResultOfQualificationConfirmation as Msg[])[0]).toMatchObject({ Name: '顔認　次郎', PharmacistsInfoConsFlg: '1' });
    }
    const state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8'));
    expect(state.faceAfter).toBe(/_(\d{10})_\d{14}\.xml$/.exec(names[names.length - 1])![1].replace(/^0+/, ''));
    expect(await gw.pollFace()).toEqual({ written: 0, failed: false });
    // The EHR takes one file away; one more confirmation brings exactly one new file.
    rmSync(join(dir, 'face', mine[0]));
    await cardConfirmation();
    expect(await gw.pollFace()).toEqual({ written: 1, failed: false });
    expect(readdirSync(join(dir, 'face'))).toHaveLength(known + 2);
    // Killed before the cursor was written: everything is written again under the same names.
    rmSync(join(dir, STATE_FILE));
    const again = await gw.pollFace();
    expect(again.written).toBe(known + 3);
    expect(readdirSync(join(dir, 'face')).sort()).toEqual([...names, ...readdirSync(join(dir, 'face')).filter((n) => !names.includes(n))].sort());
    expect(readdirSync(join(dir, 'face')).filter((n) => !n.endsWith('.xml'))).toEqual([]);
  });

  it('keeps the face cursor while the server is unreachable', async () => {
    const dir = folder();
    const { gw, lines } = gateway(dir, { server: 'http://127.0.0.1:9' });
    await gw.prepare();
    expect(await gw.pollFace()).toEqual({ written: 0, failed: true });
    expect(existsSync(join(dir, STATE_FILE))).toBe(false);
    expect(lines.some((l) => l.includes('face results not fetched'))).toBe(true);
  });

  it('resends a request whose answer was lost with its idempotency key: answered from the store, recorded once', async () => {
    const dir = folder();
    let lose = true;
    const seen: string[] = [];
    const { gw } = gateway(dir, {
      fetch: async (input, init) => {
        seen.push(String(new Headers(init?.headers).get('idempotency-key')));
        const r = await fetch(input, init);
        if (!lose) return r;
        // The server answered; the connection drops before the answer arrives.
        await r.arrayBuffer();
        lose = false;
        throw new TypeError('fetch failed (connection reset)');
      },
    });
    await gw.prepare();
    copyFileSync(join(FIXTURES, 'OQSsiquc01req_utf8_valid.xml'), join(dir, 'req', 'OQSsiquc01req_lost.xml'));
    const before = await usageEvents();
    expect(await gw.scan()).toMatchObject({ sent: 0, deferred: 1 });
    expect(await usageEvents()).toBe(before + 1); // the server did the work; the answer never arrived
    gw.nextAttemptAt = 0;
    expect(await gw.scan()).toMatchObject({ sent: 1 });
    expect(await usageEvents()).toBe(before + 1);
    expect(new Set(seen).size).toBe(1);
    expect(seen[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(decodeResult('OQSsiquc01', readFileSync(join(dir, 'res', 'OQSsiquc01res_lost.xml'))).msg.MessageHeader).toMatchObject({ SegmentOfResult: '1', ArbitraryFileIdentifier: '202411250001' });
  });
});
