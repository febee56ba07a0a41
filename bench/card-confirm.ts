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
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { seedPopulation } from '../src/registry/seed.ts';
import { SimulatedCard, fetchTransport } from '../src/reader/simulator.ts';
import { withMyNumberCheckDigit } from '../src/registry/rules.ts';
import { RegistryService } from '../src/registry/service.ts';
import { TransitionService } from '../src/programmes/transition/service.ts';
import { api } from '../test/support/server-process.ts';
import { ADMIN_TOKEN, CONNECTIONS, benchFolder, cpuSecondsSince, emptyDir, envNumber, fmt, freshDatabase, loadFigures, membersValidToday, postRoundRobin, removeUnlessKept, runBench, secondsSince, startBenchServer, withServerCpu, type LoadFigures } from './support.ts';

const PEOPLE = envNumber('BENCH_PEOPLE', 100_000);
const CARDS = envNumber('BENCH_CARDS', 300);
const SECONDS = envNumber('BENCH_SECONDS', 15);
const LINK_SECRET = `bench-link-secret-${'x'.repeat(32)}`;
const dir = benchFolder('.bench-card');
const dbFile = join(dir, 'bench.db');

const myNumberFor = withMyNumberCheckDigit;

interface Holder {
  myNumber: string;
  name: string;
  birthDate: string;
  inquiry: string;
}

async function seed(): Promise<Holder[]> {
  emptyDir(dir);
  const database = await freshDatabase(dbFile);
  const summary = await seedPopulation(database.db, { people: PEOPLE, facilities: 100, seed: 'bench-card' });
  console.log(`seed        ${fmt(summary.persons)} people (${fmt(summary.memberships)} memberships) in ${summary.seconds} s`);
  // People with exactly one membership, valid today, spread over the population.
  const rows = await membersValidToday(database.db, { every: 37, limit: CARDS, onlyMembership: true });
  const holders: Holder[] = [];
  await database.db.transaction().execute(async (trx) => {
    for (const [i, r] of rows.entries()) {
      const myNumber = myNumberFor(`8${String(i).padStart(10, '0')}`);
      const linkKey = createHmac('sha256', LINK_SECRET).update(myNumber).digest('base64url');
      await trx.updateTable('persons').set({ link_key: linkKey }).where('id', '=', r.personId).execute();
      holders.push({ myNumber, name: r.name, birthDate: r.card.birthDate, inquiry: JSON.stringify({ ...r.card, document: 'certificate' }) });
    }
  });
  // The card-number path compared with: since 2025-12-02 a paper card confirms nothing, so the same
  // people are asked about by the numbers of a 資格確認書 each is given here (answered valid).
  const registry = new RegistryService(database.db, await RegistryService.resolveLinkSecret(database.db, undefined));
  const transition = new TransitionService(database.db, registry);
  for (const r of rows) await transition.issueOnRequest(r.card.insurerNumber, r.memberId, { reason: 'no_card' }, 'bench');
  await database.close();
  console.log(`            ${fmt(holders.length)} people linked to a My Number for cards`);
  return holders;
}

/** Runs a phase, adding the server's CPU per confirmation (Linux only) and this process's. */
async function measured(pid: number | undefined, run: () => Promise<Figures>): Promise<Figures> {
  const client = process.cpuUsage();
  const { result: f, serverSeconds } = await withServerCpu(pid, run);
  const clientSeconds = cpuSecondsSince(client);
  if (serverSeconds !== undefined && f.confirmations > 0) f.cpuPerConfirmation = (serverSeconds / f.confirmations) * 1e6;
  if (f.confirmations > 0) f.clientCpuPerConfirmation = (clientSeconds / f.confirmations) * 1e6;
  return f;
}

interface Figures extends Pick<LoadFigures, 'requests' | 'p50' | 'p99' | 'non2xx' | 'errors'> {
  /** Server CPU per confirmation, µs (Linux only). */
  cpuPerConfirmation?: number;
  /** This process's CPU per confirmation, µs: autocannon, and for the card path the simulated cards' RSA signatures. */
  clientCpuPerConfirmation?: number;
  confirmations: number;
  perSecond: number;
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
      if (status === 200 && body.startsWith('{"result":"valid"')) confirmed++;
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
  return figures(loadFigures(result), confirmed, seconds);
}

async function numberLoad(base: string, token: string, bodies: string[], seconds: number): Promise<Figures> {
  let valid = 0;
  const f = await postRoundRobin(`${base}/v1/confirmations`, token, bodies, { seconds, onBody: (body) => (valid += body.startsWith('{"result":"valid"') ? 1 : 0) });
  if (valid < f.ok) console.log(`warning: ${fmt(f.ok - valid)} card-number answers were not valid`);
  return figures(f, f.ok, seconds);
}

function figures(f: LoadFigures, confirmations: number, seconds: number): Figures {
  return { confirmations, perSecond: confirmations / seconds, requests: f.requests, p50: f.p50, p99: f.p99, non2xx: f.non2xx, errors: f.errors };
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
  const cpuProfile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.BENCH_CPU_PROF)] : [];
  const { server, base, token } = await startBenchServer(dbFile, { ONSHI_LINK_SECRET: LINK_SECRET }, cpuProfile);
  try {
    const started = performance.now();
    const transport = fetchTransport(base);
    const cards: SimulatedCard[] = [];
    for (let i = 0; i < holders.length; i += 16) {
      const batch = holders.slice(i, i + 16);
      cards.push(...(await Promise.all(batch.map((h) => SimulatedCard.issue(transport, ADMIN_TOKEN, { myNumber: h.myNumber, name: h.name, birthDate: h.birthDate, pin: '1234' })))));
    }
    const issueSeconds = secondsSince(started);
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
  removeUnlessKept(dir);
}

runBench(main);
