// The folder gateway as the real process (`onshi gateway`) against the real server (`onshi serve`),
// killed with SIGKILL several times in the middle of a run of many request files and restarted:
// once wherever it stands, and twice exactly while a request is in flight (a proxy between them lets
// the server answer, then kills the gateway and drops the answer). Afterwards: every request has
// exactly one complete result in res, no temporary file is left, the server recorded each request
// once (the resent requests were answered from the idempotency store), and the face cursor resumed
// where it stood (no face result read again after the restart).

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db.ts';
import { makeFacilityCode, withInsurerCheckDigit } from '../../src/registry/rules.ts';
import { decodeResult, encodeRequest } from '../../src/interface/codec.ts';
import { STATE_FILE } from '../../src/interface/gateway.ts';
import type { Msg } from '../../src/interface/schema.ts';
import { fetchTransport, SimulatedCard, SimulatedReader } from '../../src/reader/simulator.ts';
import { createStore, storeKinds, TEST_ADMIN_TOKEN, type TestStore } from '../support/stores.ts';
import { api, startServer, type ServerProcess } from '../support/server-process.ts';
import { memberBody } from '../support/fixtures.ts';
import { newMyNumber } from '../support/cards.ts';

const root = resolve(import.meta.dirname, '../..');
const REQUESTS = 120;
/** Kill once at this many results, then in flight at these POST counts. */
const KILL_AT_RESULTS = 20;
const KILL_IN_FLIGHT = [50, 85];

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each(storeKinds)('the gateway process killed mid-run (%s)', (kind) => {
  let store: TestStore | undefined;
  let server: ServerProcess | undefined;
  let gatewayChild: ChildProcess | undefined;
  let dir: string | undefined;
  let proxy: Server | undefined;

  afterEach(async () => {
    if (gatewayChild && gatewayChild.exitCode === null && gatewayChild.signalCode === null) gatewayChild.kill('SIGKILL');
    await new Promise((ok) => (proxy ? proxy.close(ok) : ok(undefined)));
    await server?.stop();
    await store?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves exactly one complete result per request, records each once, and resumes the face cursor', { timeout: 180_000 }, async () => {
    store = await createStore(kind);
    server = await startServer({ ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    const { base } = server;
    const insurerNumber = withInsurerCheckDigit('0613907');
    const facilityCode = makeFacilityCode('13', 'clinic', '900007');
    await api(base, TEST_ADMIN_TOKEN, 'POST', '/v1/insurers', { insurerNumber, name: '再送健康保険組合', kind: 'kenpo_kumiai' });
    await api(base, TEST_ADMIN_TOKEN, 'POST', '/v1/facilities', { code: facilityCode, name: '再送クリニック', type: 'clinic', prefecture: '13' });
    const insurer = await api(base, TEST_ADMIN_TOKEN, 'POST', '/v1/credentials', { insurerNumber });
    const facility = await api(base, TEST_ADMIN_TOKEN, 'POST', '/v1/credentials', { facilityCode });
    for (let i = 0; i < 10; i++) await api(base, insurer.token, 'POST', `/v1/insurers/${insurerNumber}/members`, memberBody({ number: String(100 + i) }));

    // Card holders and their confirmations at the facility's reader (the face results).
    const transport = fetchTransport(base);
    const reader = new SimulatedReader(transport, facility.token);
    const cards: SimulatedCard[] = [];
    for (let i = 0; i < 4; i++) {
      const myNumber = newMyNumber();
      await api(base, insurer.token, 'POST', `/v1/insurers/${insurerNumber}/members`, memberBody({ number: String(900 + i), myNumber }));
      cards.push(await SimulatedCard.issue(transport, TEST_ADMIN_TOKEN, { myNumber, name: '山田　太郎', birthDate: '1980-04-01', pin: '1234' }));
    }
    const confirmAtReader = async (card: SimulatedCard) => (await reader.confirm(card, { verification: 'face', registerNow: true })).confirmationId as string;
    const firstFace = [await confirmAtReader(cards[0]), await confirmAtReader(cards[1])];

    dir = mkdtempSync(join(tmpdir(), 'onshi-gw-kill-'));
    const d = dir;
    mkdirSync(join(d, 'req'));
    const names: string[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const name = `OQSsiquc01req_${String(i).padStart(6, '0')}.xml`;
      names.push(name);
      const search = { InsurerNumber: insurerNumber, InsuredCardSymbol: '12', InsuredIdentificationNumber: String(100 + (i % 12)), InsuredBranchNumber: '00', Birthdate: '19800401' };
      writeFileSync(join(d, 'req', name), encodeRequest('OQSsiquc01', { MessageHeader: { MedicalInstitutionCode: facilityCode, ArbitraryFileIdentifier: `K${i}` }, MessageBody: { QualificationConfirmSearchInfo: search } }, i % 2 ? '1' : '0'));
    }
    // Requests written long enough ago that the gateway takes them at once.
    await new Promise((r) => setTimeout(r, 350));

    // The proxy: forwards everything; at a chosen POST it lets the server answer, then kills the
    // gateway and drops the answer (the request was processed, the gateway never learns it).
    let posts = 0;
    let replays = 0;
    let killInFlightAt = Infinity;
    let killedInFlight: (() => void) | undefined;
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const headers: Record<string, string> = {};
        for (const h of ['authorization', 'content-type', 'idempotency-key']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string;
        const isPost = req.method === 'POST';
        const answer = await fetch(`${base}${req.url}`, { method: req.method, headers, body: isPost ? Buffer.concat(chunks) : undefined });
        const bytes = Buffer.from(await answer.arrayBuffer());
        if (answer.headers.get('idempotent-replayed') === 'true') replays++;
        if (isPost && ++posts >= killInFlightAt) {
          killInFlightAt = Infinity;
          gatewayChild!.kill('SIGKILL');
          res.destroy();
          killedInFlight?.();
          return;
        }
        const out: Record<string, string> = {};
        for (const h of ['content-type', 'content-disposition', 'x-onshi-segment-of-result', 'idempotent-replayed']) {
          const v = answer.headers.get(h);
          if (v !== null) out[h] = v;
        }
        res.writeHead(answer.status, out).end(bytes);
      });
    });
    await new Promise<void>((ok) => proxy!.listen(0, '127.0.0.1', ok));
    const via = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    let log = '';
    const spawnGateway = () => {
      const child = spawn(process.execPath, [join(root, 'bin/onshi.js'), 'gateway', '--dir', d, '--server', via, '--token', facility.token, '--interval', '20'], {
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
      gatewayChild = child;
      return child;
    };
    const kill = async (child: ChildProcess) => {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGKILL');
      await exited;
      expect(child.signalCode).toBe('SIGKILL');
    };
    const results = () => (existsSync(join(d, 'res')) ? readdirSync(join(d, 'res')).filter((n) => n.endsWith('.xml')).length : 0);
    const faceFiles = () => (existsSync(join(d, 'face')) ? readdirSync(join(d, 'face')).filter((n) => n.endsWith('.xml')) : []);
    const cursor = () => (existsSync(join(d, STATE_FILE)) ? Number(JSON.parse(readFileSync(join(d, STATE_FILE), 'utf8')).faceAfter) : 0);

    // First run: the face results so far must be in place (and the cursor past them) before the kill.
    let child = spawnGateway();
    await until('the first results and face files', () => results() >= KILL_AT_RESULTS && faceFiles().length === 2 && cursor() > 0);
    await kill(child);
    const cursorAtKill = cursor();
    expect(results()).toBeLessThan(REQUESTS);
    // More card confirmations while the gateway is down.
    const laterFace = [await confirmAtReader(cards[2]), await confirmAtReader(cards[3])];

    // Killed again, twice, with a request in flight that the server has answered.
    for (const at of KILL_IN_FLIGHT) {
      child = spawnGateway();
      const exited = new Promise((ok) => child.once('exit', ok));
      await new Promise<void>((ok) => {
        killedInFlight = ok;
        killInFlightAt = at;
      });
      await exited;
      expect(child.signalCode).toBe('SIGKILL');
    }
    child = spawnGateway();
    await until('every result and face file', () => readdirSync(join(d, 'req')).length === 0 && results() === REQUESTS && faceFiles().length === 4);
    const exited = new Promise((ok) => child.once('exit', ok));
    child.kill('SIGTERM');
    await exited;
    // Each request in flight at a kill was resent after the restart and answered from the store.
    expect(replays).toBeGreaterThanOrEqual(KILL_IN_FLIGHT.length);
    await server.stop();

    // Exactly one complete result per request, under the real naming rule; nothing temporary left.
    const res = readdirSync(join(d, 'res')).sort();
    expect(res).toEqual(names.map((n) => n.replace('req_', 'res_')).sort());
    for (const [i, n] of names.entries()) {
      const { msg } = decodeResult('OQSsiquc01', readFileSync(join(d, 'res', n.replace('req_', 'res_'))));
      expect(msg.MessageHeader).toMatchObject({ SegmentOfResult: '1', ArbitraryFileIdentifier: `K${i}` });
      expect((msg.MessageBody as Msg).QualificationValidity).toBe(i % 12 < 10 ? '1' : '4');
    }
    for (const sub of ['', 'req', 'res', 'face']) expect(readdirSync(join(d, sub)).filter((n) => n.includes('onshi-tmp'))).toEqual([]);
    const face = faceFiles().sort();
    expect(face.every((n) => /^OQSsiquc01res_face_.+_(\d{14})\.xml$/.test(n))).toBe(true);
    const faceIds = face.map((n) => (decodeResult('OQSsiquc01', readFileSync(join(d, 'face', n))).msg.MessageHeader as Msg).ArbitraryFileIdentifier);
    expect(faceIds.sort()).toEqual([...firstFace, ...laterFace].sort());
    expect(cursor()).toBeGreaterThanOrEqual(cursorAtKill);

    const database = openDatabase(store.url);
    try {
      // Each request was processed once by the server, whatever was in flight at the kills.
      const events = await database.db.selectFrom('usage_events').select(['confirmation_id', 'method']).where('facility_code', '=', facilityCode).execute();
      expect(events.filter((e) => e.method === 'insurance_card')).toHaveLength(REQUESTS);
      expect(events.filter((e) => e.method === 'my_number_card')).toHaveLength(4);
      // The face cursor resumed: a face result fetched before the first kill was not fetched again.
      const reads = await database.db.selectFrom('access_log').select(['basis_id', 'detail']).where('facility_code', '=', facilityCode).where('what', '=', 'eligibility').execute();
      const faceReads = reads.filter((r) => r.detail !== null && JSON.parse(r.detail).via === 'face_result');
      // A face result whose cursor was saved before the kill is never fetched again. The kill can also
      // land between a face file and its cursor (the cursor moves only after its file is in place):
      // that one is fetched again after the restart and written under the same name (at least once).
      const eventIds = new Map((await database.db.selectFrom('usage_events').select(['id', 'confirmation_id']).where('confirmation_id', 'in', firstFace).execute()).map((e) => [e.confirmation_id, Number(e.id)]));
      for (const id of firstFace) {
        const reads = faceReads.filter((r) => r.basis_id === id).length;
        if (eventIds.get(id)! <= cursorAtKill) expect(reads, log).toBe(1);
        else expect(reads, log).toBeGreaterThanOrEqual(1);
      }
      expect(cursorAtKill).toBeGreaterThan(0);
      for (const id of laterFace) expect(faceReads.filter((r) => r.basis_id === id).length).toBeGreaterThanOrEqual(1);
    } finally {
      await database.close();
    }
  });
});
