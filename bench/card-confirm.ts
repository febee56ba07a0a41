// npm run bench:card — My Number card confirmations per second (signed confirm with RSA-2048
// signature verification), and card-number confirmations in the same run, for the ratio.
//
//   1. seed: a deterministic population of N people (default 100,000) into a fresh SQLite file; then
//      BENCH_CARDS of them (default 300) get a My Number link (the persons' link keys are set to the
//      HMAC of a synthetic My Number under the server's link secret, as an insurer registering the
//      number would have done).
//   2. server: `onshi serve` on that file in a child process (BENCH_CPU_PROF=DIR: with a CPU profile).
//   3. cards are issued through the API (POST /v1/cards, as an administrator). Each is an RSA-2048
//      key pair made by the server (tens to hundreds of ms, in the thread pool) and a scrypt PIN hash:
//      hence 300 cards by default, each then used many times by the load.
//   4. load, from this process (autocannon): the card path — each connection asks the challenge route
//      once, then loops: the simulated card signs the challenge in hand (RSA, the chip's work, here on
//      the client's CPU) → confirm (face verification, medication consent, registerNow on the first
//      use), whose answer carries the next challenge — then the card-number path on the same members.
//
// A card confirmation is one HTTP request (plus one challenge request per connection per 1,000
// confirmations), one RSA signature verification (the issuer's signature over the certificate is
// checked once per certificate), the challenge spent in the used-challenge ledger (group-committed),
// and a consent row and an access-log row committed in the usage event's transaction; the card-number
// path is one request. The target is a ratio ≥ 0.5 (card confirmations per second over card-number
// confirmations per second). On Linux each phase also prints the server's CPU time per confirmation
// (all threads), which other processes on a shared machine disturb less than the throughput. The
// client's card signatures (~250 µs each) run on the same machine as the server and take CPU from it
// when the cores are few; the server figure does not include them.

import { createHmac } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { openDatabase } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/migrations/index.ts';
import { seedPopulation } from '../src/registry/seed.ts';
import { SimulatedCard, fetchTransport } from '../src/reader/simulator.ts';
import { withMyNumberCheckDigit } from '../src/registry/rules.ts';

import { api, startServer } from '../test/support/server-process.ts';

const root = resolve(import.meta.dirname, '..');
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const PEOPLE = env('BENCH_PEOPLE', 100_000);
const CARDS = env('BENCH_CARDS', 300);
const SECONDS = env('BENCH_SECONDS', 15);
const CONNECTIONS = env('BENCH_CONNECTIONS', 32);
const ADMIN_TOKEN = `bench-admin-${process.pid}-${Date.now()}`;
const LINK_SECRET = `bench-link-secret-${'x'.repeat(32)}`;
const dir = join(root, '.bench-card');
const dbFile = join(dir, 'bench.db');

const fmt = (n: number) => Math.round(n).toLocaleString('en');

const myNumberFor = withMyNumberCheckDigit;

interface Holder {
  myNumber: string;
  name: string;
  birthDate: string;
  inquiry: string;
}

async function seed(): Promise<Holder[]> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const database = openDatabase(`sqlite:${dbFile}`);
  await migrateToLatest(database.db, database.dialect);
  const summary = await seedPopulation(database.db, { people: PEOPLE, facilities: 100, seed: 'bench-card' });
  console.log(`seed        ${fmt(summary.persons)} people (${fmt(summary.memberships)} memberships) in ${summary.seconds} s`);
  // People with exactly one membership, valid today, spread over the population.
  const rows = await database.db
    .selectFrom('memberships as m')
    .innerJoin('eligibility_periods as p', 'p.membership_id', 'm.id')
    .select(['m.person_id', 'm.insurer_number', 'm.symbol', 'm.number', 'm.branch', 'p.birth_date', 'p.name'])
    .where('m.lost_on', 'is', null)
    .where('p.valid_until', 'is', null)
    .where(sql<boolean>`(m.rowid % 37) = 0`)
    .where(sql<boolean>`(select count(*) from memberships o where o.person_id = m.person_id) = 1`)
    .limit(CARDS)
    .execute();
  const holders: Holder[] = [];
  await database.db.transaction().execute(async (trx) => {
    for (const [i, r] of rows.entries()) {
      const myNumber = myNumberFor(`8${String(i).padStart(10, '0')}`);
      const linkKey = createHmac('sha256', LINK_SECRET).update(myNumber).digest('base64url');
      await trx.updateTable('persons').set({ link_key: linkKey }).where('id', '=', r.person_id).execute();
      holders.push({
        myNumber,
        name: r.name,
        birthDate: r.birth_date,
        inquiry: JSON.stringify({ insurerNumber: r.insurer_number, symbol: r.symbol, number: r.number, branch: r.branch, birthDate: r.birth_date }),
      });
    }
  });
  await database.close();
  console.log(`            ${fmt(holders.length)} people linked to a My Number for cards`);
  return holders;
}

/**
 * The server process's CPU time so far (user + system, every thread: the signature checks run in
 * libuv's pool), in seconds, from /proc on Linux; undefined elsewhere. Other processes on the machine
 * change the throughput of a phase but not the CPU a confirmation costs the server, so this figure is
 * the steadier one on a shared machine.
 */
function serverCpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

async function measured(pid: number | undefined, run: () => Promise<Figures>): Promise<Figures> {
  const before = serverCpuSeconds(pid);
  const client = process.cpuUsage();
  const f = await run();
  const after = serverCpuSeconds(pid);
  const used = process.cpuUsage(client);
  if (before !== undefined && after !== undefined && f.confirmations > 0) f.cpuPerConfirmation = ((after - before) / f.confirmations) * 1e6;
  if (f.confirmations > 0) f.clientCpuPerConfirmation = (used.user + used.system) / f.confirmations;
  return f;
}

interface Figures {
  /** Server CPU per confirmation, µs (Linux only). */
  cpuPerConfirmation?: number;
  /** This process's CPU per confirmation, µs: autocannon, and for the card path the simulated cards' RSA signatures. */
  clientCpuPerConfirmation?: number;
  confirmations: number;
  perSecond: number;
  requests: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** Confirmations a connection makes before it starts over with the challenge route (autocannon resets a connection's context there). */
const CONFIRMATIONS_PER_CHALLENGE_ROUTE = 1000;

/**
 * The card path: each connection asks the challenge route once, then loops sign → confirm over the
 * issued cards, answering each time the challenge piggybacked on the previous answer (nextChallenge),
 * as a reader serving one patient after another does: one request per confirmation.
 */
async function cardLoad(base: string, token: string, cards: SimulatedCard[], seconds: number): Promise<Figures> {
  let next = 0;
  let confirmed = 0;
  const confirm = {
    method: 'POST',
    path: '/v1/card-confirmations',
    setupRequest: (req: any, context: any) => {
      const c = context.challenge;
      // No challenge in hand (a connection's start, or a refusal without one): back to the challenge route.
      if (!c) return null;
      context.challenge = undefined; // answered once
      const card = cards[next++ % cards.length];
      return {
        ...req,
        body: JSON.stringify({
          challengeId: c.challengeId,
          serial: card.serial,
          certificate: card.certificate,
          signature: card.sign('reader', c.nonce, c.audience),
          verification: 'face',
          faceMatched: true,
          consent: { medication: true, checkups: false, limitInfo: false },
          registerNow: true,
        }),
      };
    },
    onResponse: (status: number, body: string, context: any) => {
      if (status === 200) confirmed++;
      context.challenge = body ? JSON.parse(body).nextChallenge : undefined;
    },
  };
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        path: '/v1/card-confirmations/challenges',
        body: '{}', // the connection's content-type is JSON: an empty body would be refused
        onResponse: (status: number, body: string, context: any) => {
          if (status === 201) context.challenge = JSON.parse(body);
        },
      },
      ...Array.from({ length: CONFIRMATIONS_PER_CHALLENGE_ROUTE }, () => ({ ...confirm })),
    ],
  } as autocannon.Options);
  return figures(result, confirmed, seconds);
}

async function numberLoad(base: string, token: string, bodies: string[], seconds: number): Promise<Figures> {
  let i = 0;
  const result = await autocannon({
    url: `${base}/v1/confirmations`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requests: [{ setupRequest: (req: any) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
  });
  return figures(result, result['2xx'], seconds);
}

function figures(result: autocannon.Result, confirmations: number, seconds: number): Figures {
  return {
    confirmations,
    perSecond: confirmations / seconds,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

function print(label: string, f: Figures): void {
  console.log(
    `${label.padEnd(13)}${fmt(f.perSecond).padStart(7)} confirmations/s   per request p50 ${f.p50} ms, p99 ${f.p99} ms   (${fmt(f.confirmations)} confirmations in ${fmt(f.requests)} requests, ${f.non2xx} non-2xx, ${f.errors} errors)` +
      (f.cpuPerConfirmation === undefined ? '' : `   server CPU ${fmt(f.cpuPerConfirmation)} µs/confirmation`) +
      (f.clientCpuPerConfirmation === undefined ? '' : `, client ${fmt(f.clientCpuPerConfirmation)} µs`),
  );
}

async function main(): Promise<void> {
  console.log(`onshi bench:card — node ${process.version}, ${fmt(PEOPLE)} people, ${fmt(CARDS)} cards, ${SECONDS} s per load phase, ${CONNECTIONS} connections`);
  const holders = await seed();
  const server = await startServer({ ONSHI_DATABASE_URL: `sqlite:${dbFile}`, ONSHI_ADMIN_TOKEN: ADMIN_TOKEN, ONSHI_LINK_SECRET: LINK_SECRET }, { stderr: 'inherit', nodeArgs: process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.BENCH_CPU_PROF)] : [] });
  const base = server.base.replace('localhost', '127.0.0.1');
  try {
    const facilities = await api(base, ADMIN_TOKEN, 'GET', '/v1/facilities?limit=1');
    const { token } = await api(base, ADMIN_TOKEN, 'POST', '/v1/credentials', { facilityCode: facilities.facilities[0].code });

    const started = performance.now();
    const transport = fetchTransport(base);
    const cards: SimulatedCard[] = [];
    for (let i = 0; i < holders.length; i += 16) {
      const batch = holders.slice(i, i + 16);
      cards.push(...(await Promise.all(batch.map((h) => SimulatedCard.issue(transport, ADMIN_TOKEN, { myNumber: h.myNumber, name: h.name, birthDate: h.birthDate, pin: '1234' })))));
    }
    const issueSeconds = (performance.now() - started) / 1000;
    console.log(`issue       ${fmt(cards.length)} cards over HTTP in ${issueSeconds.toFixed(1)} s = ${fmt(cards.length / issueSeconds)} cards/s (key pair, certificate, scrypt PIN hash)`);

    // Warm-up: also registers every card for insurance use (registerNow on first use).
    await cardLoad(base, token, cards, 3);
    await numberLoad(base, token, holders.map((h) => h.inquiry), 3);
    const byCard = await measured(server.child.pid, () => cardLoad(base, token, cards, SECONDS));
    const byNumbers = await measured(server.child.pid, () => numberLoad(base, token, holders.map((h) => h.inquiry), SECONDS));
    console.log('');
    print('card', byCard);
    print('card-number', byNumbers);
    console.log(`ratio       card / card-number = ${(byCard.perSecond / byNumbers.perSecond).toFixed(2)} (target ≥ 0.5)`);
    if (byCard.cpuPerConfirmation !== undefined && byNumbers.cpuPerConfirmation !== undefined) {
      console.log(`            server CPU per confirmation, card-number / card = ${(byNumbers.cpuPerConfirmation / byCard.cpuPerConfirmation).toFixed(2)}`);
    }
    const health = await api(base, ADMIN_TOKEN, 'GET', '/health');
    console.log(`usage       ${JSON.stringify(health.usageEvents)}`);
  } finally {
    await server.stop();
  }
  if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
