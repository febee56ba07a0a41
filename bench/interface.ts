// npm run bench:interface — the real interface, measured end to end against `onshi serve`.
//
//   1. seed a fresh SQLite file with N people (default 200,000).
//   2. single inquiries: autocannon POSTs OQSsiquc01req XML files (Shift_JIS) to /v1/interface/{fileName}
//      and, in the same run, the same inquiries as JSON to /v1/confirmations (with document:
//      certificate, each member holding a 資格確認書, so both answer valid), in alternating rounds;
//      prints requests/s (mean of the rounds; worst p50/p99) and the ratio XML / JSON (target ≥ 0.7).
//   3. bulk: a batch inquiry of M rows (default 100,000) as CSV (POST /v1/batch-inquiries, polled until
//      done, then results.csv) and as an OQSmuquc01req XML file (OQSmuquc02 polled until the result file
//      with every row arrives); prints rows/s end to end (upload → every row's result downloaded).
//   4. gateway: F request files (default 500) in a temporary req folder, sent by the folder gateway;
//      prints files/s.
//
// Options (environment): BENCH_PEOPLE, BENCH_BULK_ROWS, BENCH_GATEWAY_FILES, BENCH_SECONDS (default 10),
// BENCH_CONNECTIONS (default 32), BENCH_KEEP=1. Figures depend on the machine; nothing is asserted. On a
// shared machine read the server's CPU time per request or row (from /proc, Linux) beside the rates.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedPopulation } from '../src/registry/seed.ts';
import { RegistryService } from '../src/registry/service.ts';
import { TransitionService } from '../src/programmes/transition/service.ts';
import { compactDate, decodeResult, encodeRequest, paddedInsurerNumber } from '../src/interface/codec.ts';
import { FolderGateway } from '../src/interface/gateway.ts';
import type { Msg } from '../src/interface/schema.ts';
import { api } from '../test/support/server-process.ts';
import { CONNECTIONS, benchFolder, emptyDir, envNumber, fmt, freshDatabase, membersValidToday, mib, postRoundRobin, removeUnlessKept, runBench, secondsSince, serverCpuSeconds, startBenchServer, type CardInquiry, type LoadFigures } from './support.ts';

const PEOPLE = envNumber('BENCH_PEOPLE', 200_000);
const BULK_ROWS = envNumber('BENCH_BULK_ROWS', 100_000);
const GATEWAY_FILES = envNumber('BENCH_GATEWAY_FILES', 500);
const SECONDS = envNumber('BENCH_SECONDS', 10);
/** How often a bulk job's status is asked for (each ask is a cheap request; the figure's resolution). */
const POLL_MS = 25;
const dir = benchFolder('.bench-interface');
/** Members asked about by the single inquiries (XML and JSON alike), round robin. */
const SINGLES = 5_000;
const dbFile = join(dir, 'bench.db');

async function seed(): Promise<CardInquiry[]> {
  emptyDir(dir);
  const database = await freshDatabase(dbFile);
  const summary = await seedPopulation(database.db, { people: PEOPLE, facilities: 100, seed: 'bench-interface' });
  console.log(`seed        ${fmt(summary.persons)} people in ${summary.seconds} s`);
  const members = await membersValidToday(database.db, { every: 7, limit: Math.max(SINGLES, BULK_ROWS) });
  // The JSON confirmations compared with are asked as reception asks since 2025-12-02, by the
  // numbers of a 資格確認書 (a paper card confirms nothing any more), so both faces answer valid
  // with the whole record: the sample of single inquiries is given one each.
  const registry = new RegistryService(database.db, await RegistryService.resolveLinkSecret(database.db, undefined));
  const transition = new TransitionService(database.db, registry);
  for (const m of members.slice(0, SINGLES)) await transition.issueOnRequest(m.card.insurerNumber, m.memberId, { reason: 'no_card' }, 'bench');
  await database.close();
  return members.map((m) => m.card);
}

function search(c: CardInquiry): Msg {
  return {
    InsurerNumber: paddedInsurerNumber(c.insurerNumber),
    InsuredCardSymbol: c.symbol || undefined,
    InsuredIdentificationNumber: c.number,
    InsuredBranchNumber: c.branch || undefined,
    Birthdate: compactDate(c.birthDate),
  };
}

/** The server's CPU microseconds per item since `before` (a serverCpuSeconds reading), or '' where /proc is missing. */
function cpuPer(pid: number | undefined, before: number | undefined, items: number, unit: string): string {
  const after = serverCpuSeconds(pid);
  return before === undefined || after === undefined ? '' : `   server CPU ${fmt(((after - before) * 1e6) / items)} µs/${unit}`;
}

async function main(): Promise<void> {
  let pid: number | undefined;
  const serverCpu: Record<'json' | 'xml', number> = { json: 0, xml: 0 };
  const load = async (url: string, token: string, contentType: string, bodies: (string | Buffer)[], seconds: number, count?: 'json' | 'xml'): Promise<LoadFigures> => {
    const before = serverCpuSeconds(pid);
    const figures = await postRoundRobin(url, token, bodies, { seconds, contentType });
    const after = serverCpuSeconds(pid);
    if (count && before !== undefined && after !== undefined) serverCpu[count] += after - before;
    return figures;
  };
  console.log(`onshi bench:interface — node ${process.version}, ${fmt(PEOPLE)} people, ${SECONDS} s per load phase, ${CONNECTIONS} connections`);
  const cards = await seed();
  const { server, base, facilityCode, token } = await startBenchServer(dbFile);
  pid = server.child.pid;
  try {
    const sample = cards.slice(0, SINGLES);
    const json = sample.map((c) => JSON.stringify({ ...c, document: 'certificate' }));
    const xml = sample.map((c) => encodeRequest('OQSsiquc01', { MessageHeader: { MedicalInstitutionCode: facilityCode, ArbitraryFileIdentifier: 'bench' }, MessageBody: { QualificationConfirmSearchInfo: search(c) } }, '1'));
    const xmlUrl = `${base}/v1/interface/OQSsiquc01req_bench.xml`;
    await load(xmlUrl, token, 'application/xml', xml, 2);
    await load(`${base}/v1/confirmations`, token, 'application/json', json, 2);
    // Alternating rounds, so that load from elsewhere on the machine falls on both alike.
    const rounds = 3;
    const sum = (a: LoadFigures[]) => ({
      rps: a.reduce((s, f) => s + f.rps, 0) / a.length,
      p50: Math.max(...a.map((f) => f.p50)),
      p99: Math.max(...a.map((f) => f.p99)),
      requests: a.reduce((s, f) => s + f.requests, 0),
      non2xx: a.reduce((s, f) => s + f.non2xx, 0),
    });
    const jsonRuns = [];
    const xmlRuns = [];
    for (let r = 0; r < rounds; r++) {
      jsonRuns.push(await load(`${base}/v1/confirmations`, token, 'application/json', json, Math.max(1, Math.round(SECONDS / rounds)), 'json'));
      xmlRuns.push(await load(xmlUrl, token, 'application/xml', xml, Math.max(1, Math.round(SECONDS / rounds)), 'xml'));
    }
    const jsonFigures = sum(jsonRuns);
    const xmlFigures = sum(xmlRuns);
    console.log(`json        ${fmt(jsonFigures.rps).padStart(7)} req/s   p50 ${jsonFigures.p50} ms   p99 ${jsonFigures.p99} ms   (${fmt(jsonFigures.requests)} requests, ${jsonFigures.non2xx} non-2xx)`);
    console.log(`xml         ${fmt(xmlFigures.rps).padStart(7)} req/s   p50 ${xmlFigures.p50} ms   p99 ${xmlFigures.p99} ms   (${fmt(xmlFigures.requests)} requests, ${xmlFigures.non2xx} non-2xx)`);
    console.log(`ratio       XML single inquiries / JSON confirmations = ${(xmlFigures.rps / jsonFigures.rps).toFixed(2)} (target ≥ 0.7)`);
    if (serverCpuSeconds(pid) !== undefined) {
      const jsonCpu = (serverCpu.json * 1e6) / jsonFigures.requests;
      const xmlCpu = (serverCpu.xml * 1e6) / xmlFigures.requests;
      console.log(`server CPU  json ${fmt(jsonCpu)} µs/request, xml ${fmt(xmlCpu)} µs/request: JSON / XML = ${(jsonCpu / xmlCpu).toFixed(2)}`);
    }

    // Bulk as CSV.
    const bulk = Array.from({ length: BULK_ROWS }, (_, i) => cards[i % cards.length]);
    const csv = `insurerNumber,symbol,number,branch,birthDate\n${bulk.map((c) => `${c.insurerNumber},${c.symbol},${c.number},${c.branch},${c.birthDate}`).join('\n')}\n`;
    let started = performance.now();
    let cpuBefore = serverCpuSeconds(pid);
    const accepted = await fetch(`${base}/v1/batch-inquiries`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body: csv }).then((r) => r.json() as Promise<any>);
    const acceptedAfter = secondsSince(started);
    for (;;) {
      const s = await api(base, token, 'GET', `/v1/batch-inquiries/${accepted.receptionNumber}?limit=1`);
      if (s.status === 'done') {
        const answeredAfter = secondsSince(started);
        // End to end includes fetching every row's result (results.csv), as a facility does.
        const results = await fetch(`${base}/v1/batch-inquiries/${accepted.receptionNumber}/results.csv`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text());
        const seconds = secondsSince(started);
        const lines = results.split('\n').filter((l) => l !== '').length - 1;
        if (lines !== bulk.length) throw new Error(`bulk csv: ${lines} result lines for ${bulk.length} rows`);
        console.log(
          `bulk csv    ${fmt(bulk.length)} rows accepted in ${acceptedAfter.toFixed(2)} s, answered in ${answeredAfter.toFixed(2)} s, results.csv (${mib(results.length)}) in ${seconds.toFixed(2)} s = ${fmt(bulk.length / seconds)} rows/s end to end (${s.validRows} valid)${cpuPer(pid, cpuBefore, bulk.length, 'row')}`,
        );
        break;
      }
      await new Promise((ok) => setTimeout(ok, POLL_MS));
    }

    // Bulk as XML (OQSmuquc01 → OQSmuquc02 polling).
    const upload = encodeRequest('OQSmuquc01', { MessageHeader: { MedicalInstitutionCode: facilityCode }, MessageBody: { QualificationConfirmSearchInfo: bulk.map(search) } }, '1');
    started = performance.now();
    cpuBefore = serverCpuSeconds(pid);
    const acc = decodeResult('OQSmuquc01', Buffer.from(await (await fetch(`${base}/v1/interface/OQSmuquc01req_bench.xml`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: upload })).arrayBuffer())).msg;
    const receptionNumber = (acc.MessageBody as Msg).ReceptionNumber as string;
    const download = encodeRequest('OQSmuquc02', { MessageHeader: { MedicalInstitutionCode: facilityCode }, MessageBody: { ReceptionNumber: receptionNumber } }, '1');
    for (;;) {
      const bytes = Buffer.from(await (await fetch(`${base}/v1/interface/OQSmuquc02req_bench.xml`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: download })).arrayBuffer());
      // Timed when the result file has arrived; reading it back (checked below) is the client's work.
      const seconds = secondsSince(started);
      const cpu = cpuPer(pid, cpuBefore, bulk.length, 'row');
      const res = decodeResult('OQSmuquc02', bytes).msg;
      const header = res.MessageHeader as Msg;
      if (header.SegmentOfResult === '1') {
        const units = ((res.MessageBody as Msg | undefined)?.BulkConfirmUnit as Msg[] | undefined)?.length ?? 0;
        if (units !== bulk.length) throw new Error(`bulk xml: ${units} BulkConfirmUnit for ${bulk.length} rows`);
        console.log(`bulk xml    ${fmt(bulk.length)} rows (${mib(upload.length)} up, ${mib(bytes.length)} down) in ${seconds.toFixed(2)} s = ${fmt(bulk.length / seconds)} rows/s end to end${cpu}`);
        break;
      }
      if (header.SegmentOfResult !== '2') throw new Error(`bulk xml: ${JSON.stringify(header)}`);
      await new Promise((ok) => setTimeout(ok, POLL_MS));
    }

    // Gateway.
    const gwDir = join(dir, 'gateway');
    mkdirSync(join(gwDir, 'req'), { recursive: true });
    for (let i = 0; i < GATEWAY_FILES; i++) writeFileSync(join(gwDir, 'req', `OQSsiquc01req_${String(i).padStart(6, '0')}.xml`), xml[i % xml.length]);
    const gateway = new FolderGateway({ dir: gwDir, server: base, token, settleMs: 0, log: () => {} });
    await gateway.prepare();
    started = performance.now();
    const report = await gateway.scan();
    const seconds = secondsSince(started);
    console.log(`gateway     ${fmt(report.sent)} files in ${seconds.toFixed(2)} s = ${fmt(report.sent / seconds)} files/s (${readdirSync(join(gwDir, 'res')).length} results)`);
  } finally {
    await server.stop();
  }
  removeUnlessKept(dir);
}

runBench(main);
