// npm run bench:confirm — the core hot paths, measured end to end.
//
//   1. seed: a deterministic population of N people (default 1,000,000) into a fresh SQLite file;
//      prints people/s.
//   2. server: `onshi serve` on that file in a child process (demo data off, bench routes on).
//   3. confirmations: autocannon, in this process (a second process from the server), POSTs
//      /v1/confirmations with card numbers drawn from the population, round robin (each member holds
//      a 資格確認書 and the inquiry says so: every answer is valid with the record); then, in the
//      same run, the same server answering POST /bench/fixed (a fixed body of a confirmation's size).
//      Prints requests/s, p50/p99 latency and the ratio real / fixed; on Linux also the server's
//      CPU time per request in each phase (all threads, from /proc) and the ratio of those two. On a
//      shared machine (2 cores, other work on them) the CPU ratio is the steadier figure: other
//      processes change a phase's throughput much more than the CPU a request costs the server.
//   4. import: a generated CSV of M rows (default 200,000) streamed to
//      POST /v1/insurers/{n}/members/import; prints rows/s.
//   5. durability check: every answered confirmation has its usage event.
//
// PostgreSQL (the production store): BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres runs
// the same phases on a throwaway database made for the run (dropped after), and adds the PostgreSQL
// processes' CPU per request to the server's figure. BENCH_CPU_PROF=DIR writes the server's CPU profile there.
// Options (environment): BENCH_PEOPLE, BENCH_IMPORT_ROWS, BENCH_SECONDS (per load phase, default 15),
// BENCH_CONNECTIONS (default 32: reception terminals asking at once), BENCH_KEEP=1 keeps .bench/ for inspection.
// Figures depend on the machine; compare ratios, not absolutes. Nothing here is asserted.

import { createWriteStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { seedPopulation } from '../src/registry/seed.ts';
import { withInsurerCheckDigit } from '../src/registry/rules.ts';
import { RegistryService } from '../src/registry/service.ts';
import { TransitionService } from '../src/programmes/transition/service.ts';
import { api } from '../test/support/server-process.ts';
import { ADMIN_TOKEN, CONNECTIONS, benchFolder, benchStore, emptyDir, envNumber, fmt, membersValidToday, postgresCpuSeconds, mib, postRoundRobin, memberImportCsv, removeUnlessKept, runBench, uploadFile, secondsSince, startBenchServer, withServerCpu, type LoadFigures } from './support.ts';

const PEOPLE = envNumber('BENCH_PEOPLE', 1_000_000);
const IMPORT_ROWS = envNumber('BENCH_IMPORT_ROWS', 200_000);
const SECONDS = envNumber('BENCH_SECONDS', 15);
const dir = benchFolder('.bench');
const store = await benchStore(dir);

async function seed(): Promise<{ cards: string[] }> {
  emptyDir(dir);
  const database = await store.fresh();
  const before = process.memoryUsage().rss;
  const summary = await seedPopulation(database.db, { people: PEOPLE, facilities: 1_000, seed: 'bench' });
  console.log(
    `seed        ${fmt(summary.persons)} people (${fmt(summary.memberships)} memberships, ${fmt(summary.periods)} periods) in ${summary.seconds} s` +
      ` = ${fmt(summary.persons / summary.seconds)} people/s  (rss +${mib(process.memoryUsage().rss - before)})`,
  );
  // Inquiries for members valid today, spread over the whole population (every 97th membership).
  const members = await membersValidToday(database.db, { every: 97, limit: 20_000 });
  // Since 2025-12-02 a paper card no longer confirms anything: a patient without a My Number card
  // shows a 資格確認書 (eligibility certificate), so each sampled member gets one, and the load asks
  // with its numbers (document: certificate), answered valid with the whole record.
  const t0 = performance.now();
  const registry = new RegistryService(database.db, await RegistryService.resolveLinkSecret(database.db, undefined));
  const transition = new TransitionService(database.db, registry);
  for (const m of members) await transition.issueOnRequest(m.card.insurerNumber, m.memberId, { reason: 'no_card' }, 'bench');
  await database.close();
  const cards = members.map((m) => JSON.stringify({ ...m.card, document: 'certificate' }));
  console.log(`            ${fmt(cards.length)} distinct inquiries prepared for the load (each member given a 資格確認書 in ${secondsSince(t0).toFixed(1)} s)`);
  return { cards };
}

function printLoad(label: string, f: LoadFigures): void {
  console.log(
    `${label.padEnd(12)}${fmt(f.rps).padStart(7)} req/s   p50 ${f.p50} ms   p99 ${f.p99} ms   (${fmt(f.requests)} requests, ${f.non2xx} non-2xx, ${f.errors} errors)`,
  );
}

/** The server's CPU per request of a phase, in µs (undefined without /proc or without requests). */
function cpuPerRequest(phase: { result: LoadFigures; serverSeconds?: number }): number | undefined {
  return phase.serverSeconds === undefined || phase.result.requests === 0 ? undefined : (phase.serverSeconds / phase.result.requests) * 1e6;
}

async function main(): Promise<void> {
  console.log(`onshi bench:confirm — node ${process.version}, ${store.kind}, ${fmt(PEOPLE)} people, ${SECONDS} s per load phase, ${CONNECTIONS} connections`);
  const { cards } = await seed();
  const { server, base, token } = await startBenchServer(store.url, { ONSHI_BENCH_ROUTES: 'true' }, process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.BENCH_CPU_PROF)] : []);
  try {
    const load = (url: string, seconds: number) => postRoundRobin(url, token, cards, { seconds });
    // What the load is answered: a sample of its inquiries, one by one.
    const sample = await Promise.all(cards.slice(0, 50).map((c) => api(base, token, 'POST', '/v1/confirmations', JSON.parse(c))));
    const results = sample.reduce<Record<string, number>>((n, a) => ({ ...n, [a.result]: (n[a.result] ?? 0) + 1 }), {});
    console.log(`answers     of ${sample.length} sample inquiries: ${JSON.stringify(results)}`);
    const warm = await load(`${base}/v1/confirmations`, 3);
    if (warm.non2xx > 0) console.log(`warning: ${warm.non2xx} non-2xx answers during warm-up`);
    const pg0 = postgresCpuSeconds();
    const fixedPhase = await withServerCpu(server.child.pid, () => load(`${base}/bench/fixed`, SECONDS));
    const pg1 = postgresCpuSeconds();
    const realPhase = await withServerCpu(server.child.pid, () => load(`${base}/v1/confirmations`, SECONDS));
    const pg2 = postgresCpuSeconds();
    if (store.kind === 'postgres' && pg0 !== undefined && pg1 !== undefined && pg2 !== undefined) {
      // The store's work is the server's too: its processes' CPU joins the server's.
      fixedPhase.serverSeconds = (fixedPhase.serverSeconds ?? 0) + (pg1 - pg0);
      realPhase.serverSeconds = (realPhase.serverSeconds ?? 0) + (pg2 - pg1);
      console.log(`postgres    CPU ${fmt(((pg2 - pg1) / Math.max(1, realPhase.result.requests)) * 1e6)} µs a confirmation in PostgreSQL's processes (included below)`);
    }
    const fixed = fixedPhase.result;
    const real = realPhase.result;
    console.log('');
    printLoad('fixed', fixed);
    printLoad('confirm', real);
    console.log(`ratio       confirmations / fixed = ${((real.rps / fixed.rps) * 100).toFixed(1)} %`);
    const fixedCpu = cpuPerRequest(fixedPhase);
    const realCpu = cpuPerRequest(realPhase);
    if (fixedCpu !== undefined && realCpu !== undefined) {
      // The same ratio in server CPU per request (fixed / confirmation): steadier than throughput on a shared machine.
      console.log(`server CPU  fixed ${fmt(fixedCpu)} µs/request, confirm ${fmt(realCpu)} µs/request; fixed / confirm = ${((fixedCpu / realCpu) * 100).toFixed(1)} %`);
    }

    // Every answered confirmation (warm-up + measured) must be a usage event.
    const health = await api(base, ADMIN_TOKEN, 'GET', '/health');
    console.log(`usage       ${JSON.stringify(health.usageEvents)}`);

    // Import: a new 健保組合 takes in its members from one streamed CSV.
    const insurerNumber = withInsurerCheckDigit('0699999');
    await api(base, ADMIN_TOKEN, 'POST', '/v1/insurers', { insurerNumber, name: 'ベンチ健康保険組合', kind: 'kenpo_kumiai' });
    const { token: insurerToken } = await api(base, ADMIN_TOKEN, 'POST', '/v1/credentials', { insurerNumber });
    // The file is written first (not timed) and then uploaded as an insurer system would: a file stream.
    const csvFile = join(dir, 'import.csv');
    await pipeline(Readable.from(memberImportCsv(IMPORT_ROWS, 'B')), createWriteStream(csvFile));
    const bytes = statSync(csvFile).size;
    const started = performance.now();
    const { status, body } = await uploadFile(`${base}/v1/insurers/${insurerNumber}/members/import`, insurerToken, csvFile, 'text/csv; charset=utf-8');
    const seconds = secondsSince(started);
    const report = JSON.parse(body) as { added: number };
    if (status !== 200) throw new Error(`import: ${status} ${body.slice(0, 500)}`);
    console.log(`import      ${fmt(IMPORT_ROWS)} CSV rows (${mib(bytes)}) over HTTP in ${seconds.toFixed(2)} s = ${fmt(IMPORT_ROWS / seconds)} rows/s  (added ${fmt(report.added)})`);
  } finally {
    await server.stop();
    await store.drop();
  }
  removeUnlessKept(dir);
}

runBench(main);
