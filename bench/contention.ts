// npm run bench:contention — confirmations at a fixed moderate rate while heavy work runs beside them.
//
//   1. seed: a population of N people (default 200,000) into a fresh store; a sample of members valid
//      today, each given a 資格確認書, so every confirmation answers valid with the record.
//   2. server: `onshi serve` on that store in a child process (demo data off, rate limits off).
//   3. phases, each with card-number confirmations sent at a fixed rate (default 500/s, autocannon's
//      overallRate) from this process:
//        quiet   nothing else;
//        import  a member import of M rows (default 1,000,000) streamed as one CSV file;
//        batch   a batch inquiry of B rows (default 100,000) uploaded as CSV and answered, then its
//                results.csv downloaded.
//      Prints, per phase, the confirmations' p50 / p99 / max latency, errors and non-2xx answers, and
//      what the heavy work took. Target: p99 < 50 ms and no error in every phase.
//   4. durability: every confirmation answered 200 is a usage event.
//
// Options (environment): BENCH_PEOPLE, BENCH_IMPORT_ROWS, BENCH_BATCH_ROWS, BENCH_RATE (confirmations/s),
// BENCH_QUIET_SECONDS (default 15), BENCH_CONNECTIONS (default 32), BENCH_POSTGRES_URL (run on a
// throwaway PostgreSQL database), BENCH_CPU_PROF=DIR (the server's CPU profile), BENCH_KEEP=1. The load generator shares the machine's cores with the
// server; nothing here is asserted.

import { createWriteStream, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import autocannon from 'autocannon';
import { seedPopulation } from '../src/registry/seed.ts';
import { withInsurerCheckDigit } from '../src/registry/rules.ts';
import { RegistryService } from '../src/registry/service.ts';
import { TransitionService } from '../src/programmes/transition/service.ts';
import { api } from '../test/support/server-process.ts';
import { ADMIN_TOKEN, CONNECTIONS, benchFolder, benchStore, emptyDir, envNumber, fmt, membersValidToday, mib, memberImportCsv, removeUnlessKept, runBench, secondsSince, startBenchServer, uploadFile } from './support.ts';

const PEOPLE = envNumber('BENCH_PEOPLE', 200_000);
const IMPORT_ROWS = envNumber('BENCH_IMPORT_ROWS', 1_000_000);
const BATCH_ROWS = envNumber('BENCH_BATCH_ROWS', 100_000);
const RATE = envNumber('BENCH_RATE', 500);
const QUIET_SECONDS = envNumber('BENCH_QUIET_SECONDS', 15);
const dir = benchFolder('.bench-contention');
const store = await benchStore(dir);

interface Sample {
  bodies: string[];
  cards: { insurerNumber: string; symbol: string; number: string; branch: string; birthDate: string }[];
}

async function seed(): Promise<Sample> {
  emptyDir(dir);
  const database = await store.fresh();
  const summary = await seedPopulation(database.db, { people: PEOPLE, facilities: 200, seed: 'contention' });
  console.log(`seed        ${fmt(summary.persons)} people in ${summary.seconds} s`);
  const members = await membersValidToday(database.db, { every: 2, limit: Math.max(BATCH_ROWS, 2_000) });
  const registry = new RegistryService(database.db, await RegistryService.resolveLinkSecret(database.db, undefined));
  const transition = new TransitionService(database.db, registry);
  // The confirmations ask with a 資格確認書's numbers (a paper card confirms nothing since 2025-12-02).
  const asked = members.slice(0, 2_000);
  for (const m of asked) await transition.issueOnRequest(m.card.insurerNumber, m.memberId, { reason: 'no_card' }, 'bench');
  await database.close();
  return { bodies: asked.map((m) => JSON.stringify({ ...m.card, document: 'certificate' })), cards: members.map((m) => m.card) };
}

/** A running fixed-rate load of confirmations; stop() ends it and answers its figures. */
interface RateLoad {
  stop(): Promise<PhaseFigures>;
}

interface PhaseFigures {
  requests: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  ok: number;
}

function confirmAtRate(base: string, token: string, bodies: readonly string[]): RateLoad {
  let i = 0;
  let done!: (f: PhaseFigures) => void;
  const finished = new Promise<PhaseFigures>((ok) => (done = ok));
  const instance = autocannon(
    {
      url: `${base}/v1/confirmations`,
      method: 'POST',
      connections: CONNECTIONS,
      overallRate: RATE,
      duration: 3600,
      timeout: 30,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      requests: [{ setupRequest: (req: any) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
    },
    (err, r) => {
      if (err) throw err;
      done({ requests: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, ok: r['2xx'] });
    },
  );
  return {
    async stop() {
      instance.stop();
      return finished;
    },
  };
}

/** The server thread's event-loop delay since the last call (ms), then a new measurement. */
async function serverLoopDelay(base: string): Promise<{ p50: number; p99: number; max: number }> {
  return (await api(base, ADMIN_TOKEN, 'GET', '/health?reset=event-loop')).eventLoopDelayMs;
}

function print(label: string, f: PhaseFigures, seconds: number, loop: { p99: number; max: number }, work: string): void {
  const target = f.p99 < 50 && f.errors === 0 && f.non2xx === 0 ? 'meets' : 'misses';
  console.log(
    `${label.padEnd(8)}${fmt(f.requests).padStart(7)} confirmations in ${seconds.toFixed(1)} s (${fmt(f.requests / seconds)}/s)   p50 ${f.p50} ms   p99 ${f.p99} ms   max ${f.max} ms   ` +
      `errors ${f.errors}, timeouts ${f.timeouts}, non-2xx ${f.non2xx}   [${target} p99 < 50 ms, 0 errors]\n` +
      `        server thread's event-loop delay p99 ${loop.p99} ms, max ${loop.max} ms${work ? `\n        ${work}` : ''}`,
  );
}

async function main(): Promise<void> {
  console.log(`onshi bench:contention — node ${process.version}, ${store.kind}, ${fmt(PEOPLE)} people, confirmations at ${RATE}/s over ${CONNECTIONS} connections`);
  const sample = await seed();
  // Written before the server starts (not timed): the import file and the batch file.
  const importFile = join(dir, 'import.csv');
  await pipeline(Readable.from(memberImportCsv(IMPORT_ROWS, 'C')), createWriteStream(importFile));
  const batchFile = join(dir, 'batch.csv');
  const batchRows = sample.cards.slice(0, BATCH_ROWS);
  await pipeline(
    Readable.from([`insurerNumber,symbol,number,branch,birthDate\n${batchRows.map((c) => `${c.insurerNumber},${c.symbol},${c.number},${c.branch},${c.birthDate}`).join('\n')}\n`]),
    createWriteStream(batchFile),
  );
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.BENCH_CPU_PROF)] : [];
  const { server, base, token } = await startBenchServer(store.url, { ONSHI_RATE_LIMIT_CONFIRMATIONS: '0' }, profile);
  let answered = 0;
  try {
    // Warm-up, then the quiet phase.
    const warm = confirmAtRate(base, token, sample.bodies);
    await new Promise((ok) => setTimeout(ok, 3000));
    answered += (await warm.stop()).ok;
    let t0 = performance.now();
    await serverLoopDelay(base);
    let load = confirmAtRate(base, token, sample.bodies);
    await new Promise((ok) => setTimeout(ok, QUIET_SECONDS * 1000));
    let f = await load.stop();
    answered += f.ok;
    print('quiet', f, secondsSince(t0), await serverLoopDelay(base), '');

    // Import: a new insurer takes in its members from one streamed CSV.
    const insurerNumber = withInsurerCheckDigit('0699998');
    await api(base, ADMIN_TOKEN, 'POST', '/v1/insurers', { insurerNumber, name: '競合試験健康保険組合', kind: 'kenpo_kumiai' });
    const { token: insurerToken } = await api(base, ADMIN_TOKEN, 'POST', '/v1/credentials', { insurerNumber });
    t0 = performance.now();
    await serverLoopDelay(base);
    load = confirmAtRate(base, token, sample.bodies);
    await new Promise((ok) => setTimeout(ok, 1000));
    const started = performance.now();
    const imported = await uploadFile(`${base}/v1/insurers/${insurerNumber}/members/import`, insurerToken, importFile, 'text/csv; charset=utf-8');
    const importSeconds = secondsSince(started);
    await new Promise((ok) => setTimeout(ok, 1000));
    f = await load.stop();
    answered += f.ok;
    if (imported.status !== 200) throw new Error(`import: ${imported.status} ${imported.body.slice(0, 300)}`);
    print('import', f, secondsSince(t0), await serverLoopDelay(base), `import of ${fmt(IMPORT_ROWS)} rows (${mib(statSync(importFile).size)}) in ${importSeconds.toFixed(1)} s = ${fmt(IMPORT_ROWS / importSeconds)} rows/s`);

    // Batch: upload, answered in the background, results downloaded.
    t0 = performance.now();
    await serverLoopDelay(base);
    load = confirmAtRate(base, token, sample.bodies);
    await new Promise((ok) => setTimeout(ok, 1000));
    const batchStarted = performance.now();
    const accepted = await uploadFile(`${base}/v1/batch-inquiries`, token, batchFile, 'text/csv');
    if (accepted.status !== 202) throw new Error(`batch: ${accepted.status} ${accepted.body.slice(0, 300)}`);
    const acceptedAfter = secondsSince(batchStarted);
    const { receptionNumber } = JSON.parse(accepted.body) as { receptionNumber: string };
    for (;;) {
      const s = await api(base, token, 'GET', `/v1/batch-inquiries/${receptionNumber}?limit=1`);
      if (s.status === 'done') break;
      await new Promise((ok) => setTimeout(ok, 200));
    }
    const answeredAfter = secondsSince(batchStarted);
    const csv = await fetch(`${base}/v1/batch-inquiries/${receptionNumber}/results.csv`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text());
    const batchSeconds = secondsSince(batchStarted);
    await new Promise((ok) => setTimeout(ok, 1000));
    f = await load.stop();
    answered += f.ok;
    print('batch', f, secondsSince(t0), await serverLoopDelay(base), `batch of ${fmt(batchRows.length)} rows accepted in ${acceptedAfter.toFixed(1)} s, answered in ${answeredAfter.toFixed(1)} s, results.csv (${mib(csv.length)}) in ${batchSeconds.toFixed(1)} s`);

    const health = await api(base, ADMIN_TOKEN, 'GET', '/health');
    const recorded = (health.usageEvents as { events: number }).events;
    console.log(`durability  ${fmt(recorded)} usage events recorded by this server for ${fmt(answered)} confirmations answered 200 (warm-up included)`);
  } finally {
    await server.stop();
    await store.drop();
  }
  removeUnlessKept(dir);
}

runBench(main);
