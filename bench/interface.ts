// npm run bench:interface — the real interface, measured end to end against `onshi serve`.
//
//   1. seed a fresh SQLite file with N people (default 200,000).
//   2. single inquiries: autocannon POSTs OQSsiquc01req XML files (Shift_JIS) to /v1/interface/{fileName}
//      and, in the same run, the same inquiries as JSON to /v1/confirmations, in alternating rounds;
//      prints requests/s (mean of the rounds; worst p50/p99) and the ratio XML / JSON (target ≥ 0.7).
//   3. bulk: a batch inquiry of M rows (default 100,000) as CSV (POST /v1/batch-inquiries) and as an
//      OQSmuquc01req XML file, polled until done; prints rows/s end to end (upload → last row answered).
//   4. gateway: F request files (default 500) in a temporary req folder, sent by the folder gateway;
//      prints files/s.
//
// Options (environment): BENCH_PEOPLE, BENCH_BULK_ROWS, BENCH_GATEWAY_FILES, BENCH_SECONDS (default 10),
// BENCH_CONNECTIONS (default 32), BENCH_KEEP=1. Figures depend on the machine; nothing is asserted.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { openDatabase } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/migrations/index.ts';
import { seedPopulation } from '../src/registry/seed.ts';
import { compactDate, decodeResult, encodeRequest, paddedInsurerNumber } from '../src/interface/codec.ts';
import { FolderGateway } from '../src/interface/gateway.ts';
import type { Msg } from '../src/interface/schema.ts';

import { api, startServer } from '../test/support/server-process.ts';

const root = resolve(import.meta.dirname, '..');
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const PEOPLE = env('BENCH_PEOPLE', 200_000);
const BULK_ROWS = env('BENCH_BULK_ROWS', 100_000);
const GATEWAY_FILES = env('BENCH_GATEWAY_FILES', 500);
const SECONDS = env('BENCH_SECONDS', 10);
const CONNECTIONS = env('BENCH_CONNECTIONS', 32);
const ADMIN_TOKEN = `bench-admin-${process.pid}-${Date.now()}`;
const dir = join(root, '.bench-interface');
const dbFile = join(dir, 'bench.db');
const fmt = (n: number) => Math.round(n).toLocaleString('en');

interface Card {
  insurerNumber: string;
  symbol: string;
  number: string;
  branch: string;
  birthDate: string;
}

async function seed(): Promise<Card[]> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const database = openDatabase(`sqlite:${dbFile}`);
  await migrateToLatest(database.db, database.dialect);
  const summary = await seedPopulation(database.db, { people: PEOPLE, facilities: 100, seed: 'bench-interface' });
  console.log(`seed        ${fmt(summary.persons)} people in ${summary.seconds} s`);
  const rows = await database.db
    .selectFrom('memberships as m')
    .innerJoin('eligibility_periods as p', 'p.membership_id', 'm.id')
    .select(['m.insurer_number', 'm.symbol', 'm.number', 'm.branch', 'p.birth_date'])
    .where('m.lost_on', 'is', null)
    .where('p.valid_until', 'is', null)
    .where(sql<boolean>`(m.rowid % 7) = 0`)
    .limit(Math.max(20_000, BULK_ROWS))
    .execute();
  await database.close();
  return rows.map((r) => ({ insurerNumber: r.insurer_number, symbol: r.symbol, number: r.number, branch: r.branch, birthDate: r.birth_date }));
}

function search(c: Card): Msg {
  return {
    InsurerNumber: paddedInsurerNumber(c.insurerNumber),
    InsuredCardSymbol: c.symbol || undefined,
    InsuredIdentificationNumber: c.number,
    InsuredBranchNumber: c.branch || undefined,
    Birthdate: compactDate(c.birthDate),
  };
}

async function load(url: string, token: string, contentType: string, bodies: (string | Buffer)[], seconds: number) {
  let i = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    requests: [{ setupRequest: (req: any) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, non2xx: result.non2xx };
}

async function main(): Promise<void> {
  console.log(`onshi bench:interface — node ${process.version}, ${fmt(PEOPLE)} people, ${SECONDS} s per load phase, ${CONNECTIONS} connections`);
  const cards = await seed();
  const server = await startServer({ ONSHI_DATABASE_URL: `sqlite:${dbFile}`, ONSHI_ADMIN_TOKEN: ADMIN_TOKEN }, { stderr: 'inherit' });
  const base = server.base.replace('localhost', '127.0.0.1');
  try {
    const facilities = await api(base, ADMIN_TOKEN, 'GET', '/v1/facilities?limit=1');
    const facilityCode = facilities.facilities[0].code as string;
    const { token } = await api(base, ADMIN_TOKEN, 'POST', '/v1/credentials', { facilityCode });
    const sample = cards.slice(0, 20_000);
    const json = sample.map((c) => JSON.stringify(c));
    const xml = sample.map((c) => encodeRequest('OQSsiquc01', { MessageHeader: { MedicalInstitutionCode: facilityCode, ArbitraryFileIdentifier: 'bench' }, MessageBody: { QualificationConfirmSearchInfo: search(c) } }, '1'));
    const xmlUrl = `${base}/v1/interface/OQSsiquc01req_bench.xml`;
    await load(xmlUrl, token, 'application/xml', xml, 2);
    await load(`${base}/v1/confirmations`, token, 'application/json', json, 2);
    // Alternating rounds, so that load from elsewhere on the machine falls on both alike.
    const rounds = 3;
    const sum = (a: Awaited<ReturnType<typeof load>>[]) => ({
      rps: a.reduce((s, f) => s + f.rps, 0) / a.length,
      p50: Math.max(...a.map((f) => f.p50)),
      p99: Math.max(...a.map((f) => f.p99)),
      requests: a.reduce((s, f) => s + f.requests, 0),
      non2xx: a.reduce((s, f) => s + f.non2xx, 0),
    });
    const jsonRuns = [];
    const xmlRuns = [];
    for (let r = 0; r < rounds; r++) {
      jsonRuns.push(await load(`${base}/v1/confirmations`, token, 'application/json', json, Math.max(1, Math.round(SECONDS / rounds))));
      xmlRuns.push(await load(xmlUrl, token, 'application/xml', xml, Math.max(1, Math.round(SECONDS / rounds))));
    }
    const jsonFigures = sum(jsonRuns);
    const xmlFigures = sum(xmlRuns);
    console.log(`json        ${fmt(jsonFigures.rps).padStart(7)} req/s   p50 ${jsonFigures.p50} ms   p99 ${jsonFigures.p99} ms   (${fmt(jsonFigures.requests)} requests, ${jsonFigures.non2xx} non-2xx)`);
    console.log(`xml         ${fmt(xmlFigures.rps).padStart(7)} req/s   p50 ${xmlFigures.p50} ms   p99 ${xmlFigures.p99} ms   (${fmt(xmlFigures.requests)} requests, ${xmlFigures.non2xx} non-2xx)`);
    console.log(`ratio       XML single inquiries / JSON confirmations = ${(xmlFigures.rps / jsonFigures.rps).toFixed(2)} (target ≥ 0.7)`);

    // Bulk as CSV.
    const bulk = Array.from({ length: BULK_ROWS }, (_, i) => cards[i % cards.length]);
    const csv = `insurerNumber,symbol,number,branch,birthDate\n${bulk.map((c) => `${c.insurerNumber},${c.symbol},${c.number},${c.branch},${c.birthDate}`).join('\n')}\n`;
    let started = performance.now();
    const accepted = await fetch(`${base}/v1/batch-inquiries`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body: csv }).then((r) => r.json() as Promise<any>);
    const acceptedAfter = (performance.now() - started) / 1000;
    for (;;) {
      const s = await api(base, token, 'GET', `/v1/batch-inquiries/${accepted.receptionNumber}?limit=1`);
      if (s.status === 'done') {
        const seconds = (performance.now() - started) / 1000;
        console.log(`bulk csv    ${fmt(bulk.length)} rows accepted in ${acceptedAfter.toFixed(2)} s, answered in ${seconds.toFixed(2)} s = ${fmt(bulk.length / seconds)} rows/s end to end (${s.validRows} valid)`);
        break;
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }

    // Bulk as XML (OQSmuquc01 → OQSmuquc02 polling).
    const upload = encodeRequest('OQSmuquc01', { MessageHeader: { MedicalInstitutionCode: facilityCode }, MessageBody: { QualificationConfirmSearchInfo: bulk.map(search) } }, '1');
    started = performance.now();
    const acc = decodeResult('OQSmuquc01', Buffer.from(await (await fetch(`${base}/v1/interface/OQSmuquc01req_bench.xml`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: upload })).arrayBuffer())).msg;
    const receptionNumber = (acc.MessageBody as Msg).ReceptionNumber as string;
    const download = encodeRequest('OQSmuquc02', { MessageHeader: { MedicalInstitutionCode: facilityCode }, MessageBody: { ReceptionNumber: receptionNumber } }, '1');
    for (;;) {
      const bytes = Buffer.from(await (await fetch(`${base}/v1/interface/OQSmuquc02req_bench.xml`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: download })).arrayBuffer());
      const res = decodeResult('OQSmuquc02', bytes).msg;
      const header = res.MessageHeader as Msg;
      if (header.SegmentOfResult === '1') {
        const seconds = (performance.now() - started) / 1000;
        console.log(`bulk xml    ${fmt(bulk.length)} rows (${(upload.length / 1048576).toFixed(0)} MiB up, ${(bytes.length / 1048576).toFixed(0)} MiB down) in ${seconds.toFixed(2)} s = ${fmt(bulk.length / seconds)} rows/s end to end`);
        break;
      }
      if (header.SegmentOfResult !== '2') throw new Error(`bulk xml: ${JSON.stringify(header)}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }

    // Gateway.
    const gwDir = join(dir, 'gateway');
    mkdirSync(join(gwDir, 'req'), { recursive: true });
    for (let i = 0; i < GATEWAY_FILES; i++) writeFileSync(join(gwDir, 'req', `OQSsiquc01req_${String(i).padStart(6, '0')}.xml`), xml[i % xml.length]);
    const gateway = new FolderGateway({ dir: gwDir, server: base, token, settleMs: 0, log: () => {} });
    await gateway.prepare();
    started = performance.now();
    const report = await gateway.scan();
    const seconds = (performance.now() - started) / 1000;
    console.log(`gateway     ${fmt(report.sent)} files in ${seconds.toFixed(2)} s = ${fmt(report.sent / seconds)} files/s (${readdirSync(join(gwDir, 'res')).length} results)`);
  } finally {
    await server.stop();
  }
  if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
