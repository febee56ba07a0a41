// npm run bench:confirm — the core hot paths, measured end to end.
//
//   1. seed: a deterministic population of N people (default 1,000,000) into a fresh SQLite file;
//      prints people/s.
//   2. server: `onshi serve` on that file in a child process (demo data off, bench routes on).
//   3. confirmations: autocannon, in this process (a second process from the server), POSTs
//      /v1/confirmations with card numbers drawn from the population, round robin; then, in the
//      same run, the same server answering POST /bench/fixed (a fixed body of a confirmation's size).
//      Prints requests/s, p50/p99 latency and the ratio real / fixed.
//   4. import: a generated CSV of M rows (default 200,000) streamed to
//      POST /v1/insurers/{n}/members/import; prints rows/s.
//   5. durability check: every answered confirmation has its usage event.
//
// Options (environment): BENCH_PEOPLE, BENCH_IMPORT_ROWS, BENCH_SECONDS (per load phase, default 15),
// BENCH_CONNECTIONS (default 32: reception terminals asking at once), BENCH_KEEP=1 keeps .bench/ for inspection.
// Figures depend on the machine; compare ratios, not absolutes. Nothing here is asserted.

import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { openDatabase } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/migrations/index.ts';
import { seedPopulation } from '../src/registry/seed.ts';
import { withInsurerCheckDigit } from '../src/registry/rules.ts';
import { api, startServer } from '../test/support/server-process.ts';

const root = resolve(import.meta.dirname, '..');
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const PEOPLE = env('BENCH_PEOPLE', 1_000_000);
const IMPORT_ROWS = env('BENCH_IMPORT_ROWS', 200_000);
const SECONDS = env('BENCH_SECONDS', 15);
const CONNECTIONS = env('BENCH_CONNECTIONS', 32);
const ADMIN_TOKEN = `bench-admin-${process.pid}-${Date.now()}`;
const dir = join(root, '.bench');
const dbFile = join(dir, 'bench.db');

const fmt = (n: number) => Math.round(n).toLocaleString('en');
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

async function seed(): Promise<{ cards: string[] }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const database = openDatabase(`sqlite:${dbFile}`);
  await migrateToLatest(database.db, database.dialect);
  const before = process.memoryUsage().rss;
  const summary = await seedPopulation(database.db, { people: PEOPLE, facilities: 1_000, seed: 'bench' });
  console.log(
    `seed        ${fmt(summary.persons)} people (${fmt(summary.memberships)} memberships, ${fmt(summary.periods)} periods) in ${summary.seconds} s` +
      ` = ${fmt(summary.persons / summary.seconds)} people/s  (rss +${mib(process.memoryUsage().rss - before)})`,
  );
  // Inquiries for members valid today, spread over the whole population (every 97th membership).
  const rows = await database.db
    .selectFrom('memberships as m')
    .innerJoin('eligibility_periods as p', 'p.membership_id', 'm.id')
    .select(['m.insurer_number', 'm.symbol', 'm.number', 'm.branch', 'p.birth_date'])
    .where('m.lost_on', 'is', null)
    .where('p.valid_until', 'is', null)
    .where(sql<boolean>`(m.rowid % 97) = 0`)
    .limit(20_000)
    .execute();
  await database.close();
  const cards = rows.map((r) =>
    JSON.stringify({ insurerNumber: r.insurer_number, symbol: r.symbol, number: r.number, branch: r.branch, birthDate: r.birth_date }),
  );
  console.log(`            ${fmt(cards.length)} distinct inquiries prepared for the load`);
  return { cards };
}

interface LoadFigures {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, token: string, bodies: string[], seconds: number): Promise<LoadFigures> {
  let i = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requests: [{ setupRequest: (req: any) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
  });
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

function printLoad(label: string, f: LoadFigures): void {
  console.log(
    `${label.padEnd(12)}${fmt(f.rps).padStart(7)} req/s   p50 ${f.p50} ms   p99 ${f.p99} ms   (${fmt(f.requests)} requests, ${f.non2xx} non-2xx, ${f.errors} errors)`,
  );
}

/** POSTs a file as a stream (chunked), answering the status and the body text. */
function upload(url: string, token: string, file: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv; charset=utf-8' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    createReadStream(file).pipe(req);
  });
}

function* csvRows(insurerNumber: string, rows: number): Generator<string> {
  yield 'symbol,number,branch,name,nameKana,birthDate,sex,address,relationship,qualifiedFrom,copayRate\n';
  let chunk = '';
  for (let n = 1; n <= rows; n++) {
    const number = String(n).padStart(7, '0');
    const born = `19${String(40 + (n % 60)).padStart(2, '0')}-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + (n % 28)).padStart(2, '0')}`;
    chunk += `B${n % 50},${number},00,試験　${n},シケン　タロウ,${born},${n % 2 ? 'male' : 'female'},東京都千代田区霞が関1-2-2,self,2024-04-01,30\n`;
    if (n % 1000 === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

async function main(): Promise<void> {
  console.log(`onshi bench:confirm — node ${process.version}, ${PEOPLE.toLocaleString('en')} people, ${SECONDS} s per load phase, ${CONNECTIONS} connections`);
  const { cards } = await seed();
  const server = await startServer(
    { ONSHI_DATABASE_URL: `sqlite:${dbFile}`, ONSHI_ADMIN_TOKEN: ADMIN_TOKEN, ONSHI_BENCH_ROUTES: 'true' },
    { stderr: 'inherit' },
  );
  const base = server.base.replace('localhost', '127.0.0.1');
  try {
    const facilities = await api(base, ADMIN_TOKEN, 'GET', '/v1/facilities?limit=1');
    const facilityCode = facilities.facilities[0].code;
    const { token } = await api(base, ADMIN_TOKEN, 'POST', '/v1/credentials', { facilityCode });
    const warm = await load(`${base}/v1/confirmations`, token, cards, 3);
    if (warm.non2xx > 0) console.log(`warning: ${warm.non2xx} non-2xx answers during warm-up`);
    const fixed = await load(`${base}/bench/fixed`, token, cards, SECONDS);
    const real = await load(`${base}/v1/confirmations`, token, cards, SECONDS);
    console.log('');
    printLoad('fixed', fixed);
    printLoad('confirm', real);
    console.log(`ratio       confirmations / fixed = ${((real.rps / fixed.rps) * 100).toFixed(1)} %`);

    // Every answered confirmation (warm-up + measured) must be a usage event.
    const health = await api(base, ADMIN_TOKEN, 'GET', '/health');
    console.log(`usage       ${JSON.stringify(health.usageEvents)}`);

    // Import: a new 健保組合 takes in its members from one streamed CSV.
    const insurerNumber = withInsurerCheckDigit('0699999');
    await api(base, ADMIN_TOKEN, 'POST', '/v1/insurers', { insurerNumber, name: 'ベンチ健康保険組合', kind: 'kenpo_kumiai' });
    const { token: insurerToken } = await api(base, ADMIN_TOKEN, 'POST', '/v1/credentials', { insurerNumber });
    // The file is written first (not timed) and then uploaded as an insurer system would: a file stream.
    const csvFile = join(dir, 'import.csv');
    await pipeline(Readable.from(csvRows(insurerNumber, IMPORT_ROWS)), createWriteStream(csvFile));
    const bytes = statSync(csvFile).size;
    const started = performance.now();
    const { status, body } = await upload(`${base}/v1/insurers/${insurerNumber}/members/import`, insurerToken, csvFile);
    const seconds = (performance.now() - started) / 1000;
    const report = JSON.parse(body) as { added: number };
    if (status !== 200) throw new Error(`import: ${status} ${body.slice(0, 500)}`);
    console.log(`import      ${fmt(IMPORT_ROWS)} CSV rows (${mib(bytes)}) over HTTP in ${seconds.toFixed(2)} s = ${fmt(IMPORT_ROWS / seconds)} rows/s  (added ${fmt(report.added)})`);
  } finally {
    await server.stop();
  }
  if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
