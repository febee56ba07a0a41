// What the benches in bench/ share: options from the environment, number formatting, CPU time (this
// process's and the server process's), a deterministic generator, bench folders and fresh SQLite
// files, the sample of members to ask about, the server and its autocannon load, and the ending.
// Nothing here measures by itself.

import { createReadStream, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, resolve } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { SqliteAdapter, sql, type Kysely } from 'kysely';
import { openDatabase, type Database, type DatabaseHandle, eventsFileOf } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/migrations/index.ts';
import { todayJst } from '../src/platform/time.ts';
import { api, startServer, type ServerProcess } from '../test/support/server-process.ts';

// ── options and formatting ───────────────────────────────────────────────────────────────────────

/** A bench option: the number in the environment variable name, or fallback when it is unset or empty. */
export const envNumber = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);

/** A figure for the printed lines: rounded to a whole number, with thousands separators. */
export const fmt = (n: number): string => Math.round(n).toLocaleString('en');

/** A size in bytes as whole MiB, for the printed lines. */
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

// ── time ─────────────────────────────────────────────────────────────────────────────────────────

/** Wall seconds since t0 (a performance.now() reading). */
export const secondsSince = (t0: number): number => (performance.now() - t0) / 1000;

/** CPU seconds of this process since c0 (a process.cpuUsage() reading): on a shared machine wall time alone misleads. */
export const cpuSecondsSince = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};

/**
 * The server process's CPU time so far (user + system, every thread: libuv's pool too), in seconds,
 * from /proc on Linux; undefined elsewhere. Other processes on the machine change the throughput of a
 * phase but not the CPU a request costs the server, so this figure is the steadier one on a shared machine.
 */
export function serverCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds so far of every PostgreSQL process on this machine (its backends serve the bench
 * server's queries: their work is the store's share of a request), from /proc; undefined elsewhere.
 */
export function postgresCpuSeconds(): number | undefined {
  try {
    let ticks = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (!stat.includes('(postgres)')) continue;
        const fields = stat.split(') ')[1].split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // gone meanwhile
      }
    }
    return ticks / 100;
  } catch {
    return undefined;
  }
}

/** Runs one phase and answers its result with the server's CPU seconds during it (undefined where /proc is missing). */
export async function withServerCpu<T>(pid: number | undefined, run: () => Promise<T>): Promise<{ result: T; serverSeconds?: number }> {
  const before = serverCpuSeconds(pid);
  const result = await run();
  const after = serverCpuSeconds(pid);
  return { result, serverSeconds: before === undefined || after === undefined ? undefined : after - before };
}

// ── data ─────────────────────────────────────────────────────────────────────────────────────────

/** A small deterministic generator (mulberry32): the same seed, the same generated data on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A bench's working folder, under the repository root (ignored by git: .bench, .bench-card, …), one
 * per run (run-PID), so two benches running at once never empty each other's files.
 */
export const benchFolder = (...parts: string[]): string => resolve(import.meta.dirname, '..', ...parts, `run-${process.pid}`);

/** Empties a bench's folder (removed with all it holds, then made again). */
export function emptyDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

/**
 * A bench's store: a SQLite file in the bench's folder, or, with BENCH_POSTGRES_URL (an administrator
 * URL such as postgres://postgres@127.0.0.1:5432/postgres), a throwaway PostgreSQL database made for
 * the run. fresh() opens it migrated; drop() removes it (unless BENCH_KEEP is set).
 */
export interface BenchStore {
  url: string;
  kind: 'sqlite' | 'postgres';
  fresh(): Promise<DatabaseHandle>;
  drop(): Promise<void>;
}

export async function benchStore(dir: string, fileName = 'bench.db'): Promise<BenchStore> {
  const admin = process.env.BENCH_POSTGRES_URL;
  if (!admin) {
    const file = resolve(dir, fileName);
    return { url: `sqlite:${file}`, kind: 'sqlite', fresh: () => freshDatabase(file), drop: async () => undefined };
  }
  const name = `onshi_bench_${process.pid}`;
  const run = async (statement: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    kind: 'postgres',
    async fresh() {
      await run(`drop database if exists ${name} with (force)`);
      await run(`create database ${name}`);
      const handle = openDatabase(url.toString());
      await migrateToLatest(handle.db, handle.dialect);
      return handle;
    },
    async drop() {
      if (process.env.BENCH_KEEP) console.log(`kept        database ${name}`);
      else await run(`drop database if exists ${name} with (force)`);
    },
  };
}

/** Opens a new SQLite file migrated to the latest schema (its folder made; an earlier file, with its -wal and -shm, removed). */
export async function freshDatabase(file: string): Promise<DatabaseHandle> {
  mkdirSync(dirname(file), { recursive: true });
  const events = eventsFileOf(file);
  for (const f of [file, `${file}-wal`, `${file}-shm`, events, `${events}-wal`, `${events}-shm`]) rmSync(f, { force: true });
  const handle = openDatabase(`sqlite:${file}`);
  await migrateToLatest(handle.db, handle.dialect);
  return handle;
}

/** A card-number confirmation's inquiry (the body of POST /v1/confirmations, keys in this order). */
export interface CardInquiry {
  insurerNumber: string;
  symbol: string;
  number: string;
  branch: string;
  birthDate: string;
}

/** A member picked for the load: the person, the name on the current period, and the card-number inquiry. */
export interface SampleMember {
  personId: string;
  memberId: string;
  name: string;
  card: CardInquiry;
}

/**
 * Members valid today (membership not lost, current eligibility period), spread over the whole
 * population: every `every`th membership by rowid, at most `limit`; with onlyMembership, only people
 * who have no other membership.
 */
export async function membersValidToday(db: Kysely<Database>, options: { every: number; limit: number; onlyMembership?: boolean }): Promise<SampleMember[]> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  const rows = await db
    .selectFrom('memberships as m')
    .innerJoin('eligibility_periods as p', 'p.membership_id', 'm.id')
    .select(['m.id', 'm.person_id', 'm.insurer_number', 'm.symbol', 'm.number', 'm.branch', 'p.birth_date', 'p.name'])
    .where('m.lost_on', 'is', null)
    .where('m.qualified_from', '<=', todayJst())
    .where('p.valid_until', 'is', null)
    // Every n-th membership: by rowid on SQLite, by a hash of the id on PostgreSQL (no rowid there).
    .where(sqlite ? sql<boolean>`(m.rowid % ${sql.lit(options.every)}) = 0` : sql<boolean>`(abs(hashtext(m.id)) % ${sql.lit(options.every)}) = 0`)
    .$if(options.onlyMembership === true, (q) => q.where(sql<boolean>`(select count(*) from memberships o where o.person_id = m.person_id) = 1`))
    .limit(options.limit)
    .execute();
  return rows.map((r) => ({
    personId: r.person_id,
    memberId: r.id,
    name: r.name,
    card: { insurerNumber: r.insurer_number, symbol: r.symbol, number: r.number, branch: r.branch, birthDate: r.birth_date },
  }));
}

// ── server and load ──────────────────────────────────────────────────────────────────────────────

/** The administrator token the bench's server is started with (new on every run). */
export const ADMIN_TOKEN = `bench-admin-${process.pid}-${Date.now()}`;

/** Connections of a load phase (BENCH_CONNECTIONS, default 32: reception terminals asking at once). */
export const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 32);

/** A running bench server: the process, its address (127.0.0.1), and a facility's code and credential token for the load. */
export interface BenchServer {
  server: ServerProcess;
  base: string;
  facilityCode: string;
  token: string;
}

/**
 * Starts `onshi serve` on a bench's store (a SQLite file's path, or a store URL) in a child process (demo data off, ADMIN_TOKEN, its
 * stderr shown), with more environment variables and node arguments if given, and makes a
 * credential for its first facility. Stop it with server.stop().
 */
export async function startBenchServer(dbFileOrUrl: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<BenchServer> {
  const url = /^(sqlite:|postgres(ql)?:)/.test(dbFileOrUrl) ? dbFileOrUrl : `sqlite:${dbFileOrUrl}`;
  // The benches drive one credential far past any reception desk's rate: the limits are off.
  const server = await startServer({ ONSHI_DATABASE_URL: url, ONSHI_ADMIN_TOKEN: ADMIN_TOKEN, ONSHI_RATE_LIMIT_CONFIRMATIONS: '0', ONSHI_RATE_LIMIT_SIGN_IN: '0', ...env }, { stderr: 'inherit', nodeArgs });
  const base = server.base.replace('localhost', '127.0.0.1');
  try {
    const facilities = await api(base, ADMIN_TOKEN, 'GET', '/v1/facilities?limit=1');
    const facilityCode = facilities.facilities[0].code as string;
    const { token } = await api(base, ADMIN_TOKEN, 'POST', '/v1/credentials', { facilityCode });
    return { server, base, facilityCode, token };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

/** What a load phase measured (from autocannon's result): requests/s is autocannon's mean over the seconds. */
export interface LoadFigures {
  requests: number;
  ok: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** The figures of an autocannon result. */
export function loadFigures(result: autocannon.Result): LoadFigures {
  return {
    requests: result.requests.total,
    ok: result['2xx'],
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** A load phase: autocannon POSTs the bodies to url, round robin, from this process, for `seconds` over CONNECTIONS connections. */
export async function postRoundRobin(
  url: string,
  token: string,
  bodies: readonly (string | Buffer)[],
  options: { seconds: number; connections?: number; contentType?: string; onBody?: (body: string) => void },
): Promise<LoadFigures> {
  let i = 0;
  const onBody = options.onBody;
  const result = await autocannon({
    url,
    method: 'POST',
    connections: options.connections ?? CONNECTIONS,
    duration: options.seconds,
    headers: { authorization: `Bearer ${token}`, 'content-type': options.contentType ?? 'application/json' },
    requests: [{ setupRequest: (req: any) => ({ ...req, body: bodies[i++ % bodies.length] }), ...(onBody ? { onResponse: (_status: number, body: string) => onBody(body) } : {}) }],
  });
  return loadFigures(result);
}

// ── files sent to the server ─────────────────────────────────────────────────────────────────────

/** POSTs a file as a stream (chunked, no declared length), answering the status and the body text. */
export function uploadFile(url: string, token: string, file: string, contentType: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    createReadStream(file).pipe(req);
  });
}

/** A member import CSV of `rows` new members (symbols `${symbolPrefix}0` … `${symbolPrefix}49`), in pieces of 1,000 rows. */
export function* memberImportCsv(rows: number, symbolPrefix: string): Generator<string> {
  yield 'symbol,number,branch,name,nameKana,birthDate,sex,address,relationship,qualifiedFrom,copayRate\n';
  let chunk = '';
  for (let n = 1; n <= rows; n++) {
    const number = String(n).padStart(7, '0');
    const born = `19${String(40 + (n % 60)).padStart(2, '0')}-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + (n % 28)).padStart(2, '0')}`;
    chunk += `${symbolPrefix}${n % 50},${number},00,試験　${n},シケン　タロウ,${born},${n % 2 ? 'male' : 'female'},東京都千代田区霞が関1-2-2,self,2024-04-01,30\n`;
    if (n % 1000 === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

// ── ending ───────────────────────────────────────────────────────────────────────────────────────

/** Removes a bench's folder, unless BENCH_KEEP is set (to inspect the files afterwards). */
export function removeUnlessKept(dir: string): void {
  if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept        ${dir}`);
}

/** Runs a bench's main: on failure, prints the error and exits with 1. */
export function runBench(main: () => Promise<void>): void {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
