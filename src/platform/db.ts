// The database: SQLite (better-sqlite3, WAL) as the embedded default, PostgreSQL in production. One
// Kysely schema type and one set of migrations serve both. Dates are YYYY-MM-DD strings and
// instants ISO strings on both dialects (type parsers below make PostgreSQL answer that way).

import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DialectAdapter,
  type Generated,
  type Insertable,
  type Transaction,
} from 'kysely';
import { SplitSqliteDriver } from './sqlite-split-driver.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface InsurersTable {
  insurer_number: string;
  name: string;
  kind: string;
  created_at: string;
}

export interface FacilitiesTable {
  code: string;
  name: string;
  type: string;
  prefecture: string;
  created_at: string;
}

export interface FacilityMonthlyClaimsTable {
  facility_code: string;
  month: string;
  claims: number;
}

export interface CredentialsTable {
  id: string;
  token_hash: string;
  kind: string;
  facility_code: string | null;
  insurer_number: string | null;
  role: string;
  label: string | null;
  created_at: string;
  revoked_at: string | null;
  /** Patient sessions (kind 'patient', migration 0002a): whose session, and until when. */
  person_id: string | null;
  expires_at: string | null;
}

export interface PersonsTable {
  id: string;
  /** HMAC of the My Number under the server's link secret (a pseudonym like 機関別符号); never the number. */
  link_key: string | null;
  created_at: string;
}

export interface MembershipsTable {
  id: string;
  person_id: string;
  insurer_number: string;
  symbol: string;
  number: string;
  branch: string;
  relationship: string;
  qualified_from: string;
  /** 資格喪失日: the first day without eligibility; null while current. */
  lost_on: string | null;
  loss_reason: string | null;
  loss_recorded_at: string | null;
  loss_recorded_by: string | null;
  created_at: string;
}

export interface EligibilityPeriodsTable {
  id: string;
  membership_id: string;
  /** First day of the period (inclusive). */
  valid_from: string;
  /** First day after the period (exclusive); null while open. */
  valid_until: string | null;
  name: string;
  name_kana: string;
  birth_date: string;
  sex: string;
  address: string;
  postal_code: string | null;
  copay_rate: number;
  limit_category: string | null;
  paper_card_issued_on: string | null;
  paper_card_expires_on: string | null;
  recorded_at: string;
  recorded_by: string | null;
}

export interface UsageEventsTable {
  id: Generated<number>;
  confirmation_id: string;
  occurred_at: string;
  /** JST calendar date of occurred_at: monthly statistics group on it. */
  occurred_on: string;
  facility_code: string;
  method: string;
  result: string;
  reason: string | null;
  insurer_number: string | null;
  person_id: string | null;
  /** A card confirmation's consent answers (consents.id, written in the same transaction); null otherwise. */
  consent_id: string | null;
}

export interface SystemSecretsTable {
  name: string;
  value: string;
  created_at: string;
}

export interface Database {
  insurers: InsurersTable;
  facilities: FacilitiesTable;
  facility_monthly_claims: FacilityMonthlyClaimsTable;
  credentials: CredentialsTable;
  persons: PersonsTable;
  memberships: MembershipsTable;
  eligibility_periods: EligibilityPeriodsTable;
  usage_events: UsageEventsTable;
  system_secrets: SystemSecretsTable;
}

export type Db = Kysely<Database> | Transaction<Database>;

export interface DatabaseHandle {
  db: Kysely<Database>;
  /**
   * The hot appends' own handle: usage events, consents, the access log, used card challenges and
   * stored interface results are written through it and only through it. On a SQLite file those
   * tables live in a second file (EVENTS_SCHEMA) with its own writer, so a long transaction on the
   * registry (an import) never holds up a confirmation's commit; reads through `db` see them as
   * ordinary tables. On PostgreSQL and in memory it is `db` itself.
   */
  events: Kysely<Database>;
  dialect: Dialect;
  /** Where it lives, with no password (for logs). */
  description: string;
  close(): Promise<void>;
}

/** better-sqlite3 prepares a statement per call through Kysely; caching them saves most of a query's cost. */
function withStatementCache(raw: SQLite.Database, capacity = 256) {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => raw.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
        cache.set(sql, stmt);
        return stmt;
      }
      stmt = raw.prepare(sql);
      cache.set(sql, stmt);
      if (cache.size > capacity) cache.delete(cache.keys().next().value as string);
      return stmt;
    },
  };
}

/** How often the background checkpointer copies the write-ahead log into the database file. */
export const CHECKPOINT_INTERVAL_MS = 200;
/** The same for the hot appends' file (see openDatabase). */
export const EVENTS_CHECKPOINT_INTERVAL_MS = 5_000;

// The checkpointer's thread: its own connection, a PASSIVE checkpoint (never blocks readers or the
// writer) at every interval. Pages rewritten many times between two checkpoints (index pages that
// every commit touches) are copied once, and the fsync happens here, not in a commit.
const checkpointerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ frames: r.log, copied: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message || e) });
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.postMessage({ stopped: true });
});
`;

/** Figures of the background checkpointer, for /health and tests. */
export interface CheckpointerStats {
  checkpoints: number;
  /** Frames in the log and frames copied, at the last checkpoint. */
  lastFrames: number;
  lastCopied: number;
  failures: number;
}

/**
 * Moves checkpoints off the connection's thread: the connection's automatic checkpoint is turned
 * off and a worker thread checkpoints every CHECKPOINT_INTERVAL_MS. If the worker fails or exits,
 * the automatic checkpoint comes back, so the log can never grow without bound.
 */
function startCheckpointer(raw: SQLite.Database, path: string, intervalMs = CHECKPOINT_INTERVAL_MS): { stop(): Promise<void> } {
  const stats: CheckpointerStats = { checkpoints: 0, lastFrames: 0, lastCopied: 0, failures: 0 };
  const worker = new Worker(checkpointerSource, {
    eval: true,
    workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), path, intervalMs },
  });
  raw.pragma('wal_autocheckpoint = 0');
  let stopping = false;
  const fallBack = () => {
    if (raw.open) raw.pragma('wal_autocheckpoint = 1000');
  };
  worker.on('message', (m: { frames?: number; copied?: number; error?: string; stopped?: boolean }) => {
    if (m.error !== undefined) {
      stats.failures++;
      return;
    }
    if (m.frames !== undefined) {
      stats.checkpoints++;
      stats.lastFrames = m.frames;
      stats.lastCopied = m.copied ?? 0;
    }
  });
  worker.on('error', (e) => {
    stats.failures++;
    process.stderr.write(`onshi: the background checkpointer failed (${e.message}); checkpoints run in commits again\n`);
    fallBack();
  });
  worker.on('exit', () => {
    if (!stopping) fallBack();
  });
  worker.unref();
  checkpointerStats.set(raw, stats);
  return {
    async stop() {
      if (stopping) return;
      stopping = true;
      const exited = new Promise((ok) => worker.once('exit', ok));
      const stopped = new Promise<void>((ok) => worker.on('message', (m: { stopped?: boolean }) => m.stopped && ok()));
      worker.postMessage('stop');
      await Promise.race([stopped, exited, new Promise((ok) => setTimeout(ok, 5000))]);
      await worker.terminate();
      await exited;
      fallBack();
    },
  };
}

const checkpointerStats = new WeakMap<SQLite.Database, CheckpointerStats>();

/** The background checkpointer's figures of a database opened with backgroundCheckpoints, else undefined. */
export function checkpointStats(db: Kysely<Database>): CheckpointerStats | undefined {
  const sqlite = connections.get(db);
  return sqlite && checkpointerStats.get(sqlite.writer);
}

let pgParsersSet = false;
function setPgTypeParsers() {
  if (pgParsersSet) return;
  pgParsersSet = true;
  const types = pg.types;
  types.setTypeParser(1082, (v: string) => v); // date → 'YYYY-MM-DD'
  types.setTypeParser(1184, (v: string) => new Date(v).toISOString()); // timestamptz → ISO
  types.setTypeParser(1114, (v: string) => new Date(`${v}Z`).toISOString()); // timestamp
  types.setTypeParser(20, (v: string) => Number(v)); // int8: counts and ids stay below 2^53
}

export function describeDatabaseUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export interface OpenOptions {
  poolSize?: number;
  /**
   * SQLite: copy the write-ahead log into the database file from a worker thread (see
   * startCheckpointer) instead of inside the commit that fills it. For the server: its commits then
   * never wait for a checkpoint's writes and fsync.
   */
  backgroundCheckpoints?: boolean;
}

export function openDatabase(url: string, options: OpenOptions = {}): DatabaseHandle {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === ':memory:') {
      const raw = openWriter(path);
      const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
      connections.set(db, { writer: raw, reader: undefined });
      return { db, events: db, dialect: 'sqlite', description: 'sqlite::memory:', close: async () => {
        connections.delete(db);
        await db.destroy();
      } };
    }
    mkdirSync(dirname(path), { recursive: true });
    const eventsPath = eventsFileOf(path);
    const raw = openWriter(path, eventsPath);
    // Hot paths run synchronously on the connection itself (see runRead, insertRowsAtOnce) when no
    // Kysely transaction is open on it: that keeps its page cache warm, which a second connection
    // loses at every commit. While a transaction is open (an import yields between its batches),
    // reads go to a read-only connection instead: it sees only committed rows and does not queue
    // behind the transaction (SplitSqliteDriver does the same for every Kysely query).
    const reader = new SQLite(path, { readonly: true });
    reader.pragma('cache_size = -65536');
    reader.pragma('mmap_size = 2147483648');
    reader.pragma('busy_timeout = 5000');
    reader.prepare(`attach database ? as ${EVENTS_SCHEMA}`).run(eventsPath);
    const driver = new SplitSqliteDriver(withStatementCache(raw), withStatementCache(reader));
    const db = new Kysely<Database>({
      dialect: {
        createAdapter: () => new SqliteAdapter(),
        createDriver: () => driver,
        createIntrospector: (k) => new SqliteIntrospector(k),
        createQueryCompiler: () => new SqliteQueryCompiler(),
      },
    });
    connections.set(db, { writer: raw, reader, lock: driver.lock });
    // The hot appends' writer: the same two files, its own connection. It writes only the events
    // file, and the main connection never does (outside migrations), so neither ever waits on the
    // other's lock while holding its own across an await.
    const hot = openWriter(path, eventsPath);
    const events = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(hot) }) });
    connections.set(events, { writer: hot, reader: undefined });
    const checkpointer = options.backgroundCheckpoints ? startCheckpointer(raw, path) : undefined;
    // Seldom: once a checkpoint has taken the whole log, the next commit starts it again and syncs its
    // header (an fsync on the server's thread, which waits behind the disk when an import or a
    // checkpoint of the store is writing hundreds of MiB). The events' log stays small either way.
    const eventsCheckpointer = options.backgroundCheckpoints ? startCheckpointer(hot, eventsPath, EVENTS_CHECKPOINT_INTERVAL_MS) : undefined;
    return {
      db,
      events,
      dialect: 'sqlite',
      description: `sqlite:${path}`,
      close: async () => {
        connections.delete(db);
        connections.delete(events);
        await eventsCheckpointer?.stop();
        await checkpointer?.stop();
        await events.destroy();
        reader.close();
        await db.destroy();
      },
    };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    setPgTypeParsers();
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
    // An idle connection the server drops (restart, failover, pg_terminate_backend) is reported on the
    // pool; unheard, that event would crash the process. The pool discards the client and the next
    // query opens a fresh connection, so a line on stderr is all it needs.
    pool.on('error', (e: Error & { code?: string }) => {
      process.stderr.write(`onshi: an idle PostgreSQL connection was closed by the server (${e.code ?? e.message}); the pool replaces it\n`);
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    postgresPools.set(db, pool);
    return { db, events: db, dialect: 'postgres', description: describeDatabaseUrl(url), close: () => db.destroy() };
  }
  throw new Error(`Unsupported database URL: ${describeDatabaseUrl(url)} (use sqlite:PATH or postgres://…)`);
}

/** The schema name under which a SQLite store's hot-append file is attached. */
export const EVENTS_SCHEMA = 'events';

/** The hot appends' file beside a SQLite store: ./data/onshi.db → ./data/onshi-events.db. */
export function eventsFileOf(path: string): string {
  return path.endsWith('.db') ? `${path.slice(0, -3)}-events.db` : `${path}-events`;
}

/** A read-write SQLite connection set up as onshi wants it, with the events file attached when given. */
function openWriter(path: string, eventsPath?: string): SQLite.Database {
  const raw = new SQLite(path);
  raw.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a committed transaction survives a crash of the process (what the
  // group-commit promise relies on); only a power loss can roll back the last commits.
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('cache_size = -65536');
  // Temporary data in memory: a large multi-row INSERT inside a transaction journals the pages it
  // changes (to undo that statement alone), and past 64 KiB that journal would spill to a temporary
  // file (a quarter of a bulk import's insert time). The database file and its durability are untouched.
  raw.pragma('temp_store = memory');
  // Reads through a memory map: a page the OS already caches costs no read() call and no copy,
  // which makes the card-number lookups of a large registry much cheaper (writes still go to the WAL).
  if (path !== ':memory:') raw.pragma('mmap_size = 2147483648');
  if (eventsPath) {
    raw.prepare(`attach database ? as ${EVENTS_SCHEMA}`).run(eventsPath);
    raw.pragma(`${EVENTS_SCHEMA}.journal_mode = WAL`);
    raw.pragma(`${EVENTS_SCHEMA}.synchronous = NORMAL`);
  }
  return raw;
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** Splits rows into chunks that keep a multi-row statement under both dialects' parameter limits. */
export function* chunks<T>(rows: readonly T[], columnsPerRow: number, maxParameters = 30_000): Generator<T[]> {
  const size = Math.max(1, Math.floor(maxParameters / columnsPerRow));
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

/** Statement texts of insertMany, per dialect (one adapter per Kysely instance and its transactions). */
const insertSqlCache = new WeakMap<DialectAdapter, Map<string, string>>();

/**
 * Inserts many rows of one shape (every row has the first row's columns) in multi-row statements.
 * Kysely builds and compiles each statement shape once; later chunks of the same size reuse its SQL
 * with fresh parameters, which takes most of the cost out of bulk imports and seeding.
 */
export async function insertMany<T extends keyof Database & string>(db: Db, table: T, rows: readonly Insertable<Database[T]>[], maxParameters = 30_000): Promise<void> {
  for (const { text, parameters } of insertStatements(db, table, rows as readonly Record<string, unknown>[], maxParameters)) {
    await db.executeQuery(CompiledQuery.raw(text, parameters));
  }
}

/**
 * The text of a multi-row INSERT of `count` rows into `columns`, built by Kysely once per (dialect,
 * table, columns, count) and kept: insertMany, insertRowsAtOnce and insertFlat share it.
 */
function insertText(db: Db, table: keyof Database & string, columns: readonly string[], count: number): { key: string; text: string } {
  const adapter = db.getExecutor().adapter;
  let cache = insertSqlCache.get(adapter);
  if (!cache) insertSqlCache.set(adapter, (cache = new Map()));
  const key = `${table}|${count}|${columns.join(',')}`;
  let text = cache.get(key);
  if (text === undefined) {
    const placeholder = Object.fromEntries(columns.map((c) => [c, '']));
    text = db.insertInto(table).values(new Array(count).fill(placeholder) as never).compile().sql;
    if (cache.size > 200) cache.clear();
    cache.set(key, text);
  }
  return { key: `insert|${key}`, text };
}

/** The multi-row INSERT statements of insertMany: text (built once per shape) and parameters, per chunk. */
function* insertStatements(db: Db, table: keyof Database & string, rows: readonly Record<string, unknown>[], maxParameters = 30_000): Generator<{ key: string; text: string; parameters: unknown[] }> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const perChunk = Math.max(1, Math.floor(maxParameters / columns.length));
  for (let start = 0; start < rows.length; start += perChunk) {
    const chunk = rows.slice(start, start + perChunk);
    const parameters: unknown[] = new Array(chunk.length * columns.length);
    let i = 0;
    for (const record of chunk) {
      for (const column of columns) parameters[i++] = record[column] ?? null;
    }
    yield { ...insertText(db, table, columns, chunk.length), parameters };
  }
}

/** SQLite: the connections behind each Kysely instance (see openDatabase), and their prepared statements. */
const connections = new WeakMap<Kysely<Database>, SqliteConnections>();

interface SqliteConnections {
  writer: SQLite.Database;
  reader: SQLite.Database | undefined;
  /** The main connection's writer lock (SplitSqliteDriver): held by a transaction, or by holdWriter. */
  lock?: { held: boolean; acquire(): Promise<() => void> };
}

/** The writer is taken: a transaction is open on it, or another connection writes for it (holdWriter). */
function writerBusy(sqlite: SqliteConnections): boolean {
  return sqlite.writer.inTransaction || sqlite.lock?.held === true;
}

/**
 * SQLite file stores: takes the main connection's writer for work that another connection (a worker
 * thread's) does on the same file, and answers its release. Until then every write through `db` waits
 * (asynchronously: better-sqlite3 would wait for SQLite's file lock synchronously, freezing the
 * server), and reads go on. Undefined elsewhere (PostgreSQL, in memory): nothing to hold.
 */
export async function holdWriter(db: Kysely<Database>): Promise<(() => void) | undefined> {
  const lock = connections.get(db)?.lock;
  return lock ? lock.acquire() : undefined;
}
const preparedStatements = new WeakMap<SQLite.Database, Map<string, SQLite.Statement>>();

function prepared(connection: SQLite.Database, key: string, text: () => string): SQLite.Statement {
  let statements = preparedStatements.get(connection);
  if (!statements) preparedStatements.set(connection, (statements = new Map()));
  let statement = statements.get(key);
  if (!statement) {
    if (statements.size > 500) statements.clear();
    statement = connection.prepare(text());
    statements.set(key, statement);
  }
  return statement;
}

/**
 * A hot-path read: runStatement, except that on SQLite while a transaction is open on the main
 * connection (an import yields between its batches) it reads from the read-only connection instead
 * of queueing behind that transaction. Either way it reads the last committed state, so use it only
 * where that is right (to read inside your own transaction, pass the transaction).
 */
export async function runRead<Row>(db: Db, key: string, build: (db: Db) => { compile(): CompiledQuery }, parameters: readonly unknown[]): Promise<Row[]> {
  const sqlite = db.isTransaction ? undefined : connections.get(db as Kysely<Database>);
  if (sqlite?.reader && writerBusy(sqlite)) return runPrepared<Row>(sqlite.reader, db, key, build, parameters);
  return runStatement<Row>(db, key, build, parameters);
}

/**
 * runRead answering each row as an array of its columns in the select's order: no object per row
 * (better-sqlite3's raw mode on SQLite). For hot paths that map rows by position.
 */
export async function runReadTuples(db: Db, key: string, build: (db: Db) => { compile(): CompiledQuery }, parameters: readonly unknown[]): Promise<unknown[][]> {
  const sqlite = db.isTransaction ? undefined : connections.get(db as Kysely<Database>);
  const connection = !sqlite ? undefined : !writerBusy(sqlite) ? sqlite.writer : sqlite.reader;
  if (connection) {
    const statement = prepared(connection, `${key}#tuples`, () => compiledText(db, key, build, parameters.length));
    if (!statement.reader) throw new Error(`runReadTuples(${key}): not a query`);
    return statement.raw(true).all(...parameters) as unknown[][];
  }
  const rows = await runStatement<Record<string, unknown>>(db, key, build, parameters);
  return rows.map((r) => Object.values(r));
}

function compiledText(db: Db, key: string, build: (db: Db) => { compile(): CompiledQuery }, parameterCount: number): string {
  const compiled = build(db).compile();
  if (compiled.parameters.length !== parameterCount) throw new Error(`runStatement(${key}): the builder binds ${compiled.parameters.length} parameters, ${parameterCount} given`);
  return compiled.sql;
}

function runPrepared<Row>(connection: SQLite.Database, db: Db, key: string, build: (db: Db) => { compile(): CompiledQuery }, parameters: readonly unknown[]): Row[] {
  const statement = prepared(connection, key, () => compiledText(db, key, build, parameters.length));
  if (statement.reader) return statement.all(...parameters) as Row[];
  statement.run(...parameters);
  return [];
}

/**
 * Inserts rows into several tables in one transaction (the group commit of usage events). On SQLite,
 * when no Kysely transaction is open on the connection, the whole transaction is one synchronous
 * call: nothing can interleave and no request sees it half done. Elsewhere, a Kysely transaction.
 */
export async function insertRowsAtOnce(db: Kysely<Database>, batches: { [T in keyof Database & string]?: readonly Insertable<Database[T]>[] }): Promise<void> {
  const sqlite = connections.get(db);
  if (sqlite && !writerBusy(sqlite)) {
    const writer = sqlite.writer;
    writer.transaction(() => {
      for (const [table, rows] of Object.entries(batches) as [keyof Database & string, readonly Record<string, unknown>[]][]) {
        if (!rows || rows.length === 0) continue;
        for (const { key, text, parameters } of insertStatements(db, table, rows)) prepared(writer, key, () => text).run(...parameters);
      }
    })();
    return;
  }
  await db.transaction().execute(async (trx) => {
    for (const [table, rows] of Object.entries(batches) as [keyof Database & string, readonly Insertable<Database[keyof Database]>[]][]) {
      if (rows && rows.length > 0) await insertMany(trx, table, rows as never);
    }
  });
}

/**
 * SQLite: calls `work` with the main (writer) connection, for synchronous work of its own there
 * (background jobs). Undefined on PostgreSQL, or while a Kysely transaction is open on the
 * connection (the caller tries later rather than write into someone else's transaction).
 */
export function withSqliteWriter<T>(db: Kysely<Database>, work: (connection: SQLite.Database) => T): T | undefined {
  const sqlite = connections.get(db);
  if (!sqlite || writerBusy(sqlite) || !sqlite.writer.open) return undefined;
  return work(sqlite.writer);
}

/** Statement texts of hot-path queries, per dialect, built once. */
const statementCache = new WeakMap<DialectAdapter, Map<string, string>>();

/**
 * A hot-path query built and compiled once per dialect, then executed with fresh parameters.
 * Building a Kysely query costs more than running an indexed lookup on SQLite, so the per-request
 * paths (authentication, card-number lookup) pay it once. `build` must produce the same SQL whatever
 * the placeholder values, and `parameters` must follow the order the builder binds them in.
 */
export async function runStatement<Row>(db: Db, key: string, build: (db: Db) => { compile(): CompiledQuery }, parameters: readonly unknown[]): Promise<Row[]> {
  // SQLite with no transaction open on the connection: one synchronous call (the statement is atomic
  // on its own, and nothing can interleave), keeping Kysely's queue and promise hops off the hot path.
  const sqlite = db.isTransaction ? undefined : connections.get(db as Kysely<Database>);
  if (sqlite && !writerBusy(sqlite)) return runPrepared<Row>(sqlite.writer, db, key, build, parameters);
  // The writer is taken: a read still runs at once (on the read-only connection), a write waits its turn below.
  if (sqlite?.reader && sqlite.lock?.held) {
    const statement = prepared(sqlite.reader, key, () => compiledText(db, key, build, parameters.length));
    if (statement.reader) return statement.all(...parameters) as Row[];
  }
  const adapter = db.getExecutor().adapter;
  let cache = statementCache.get(adapter);
  if (!cache) statementCache.set(adapter, (cache = new Map()));
  let text = cache.get(key);
  if (text === undefined) {
    const compiled = build(db).compile();
    if (compiled.parameters.length !== parameters.length) {
      throw new Error(`runStatement(${key}): the builder binds ${compiled.parameters.length} parameters, ${parameters.length} given`);
    }
    text = compiled.sql;
    cache.set(key, text);
  }
  // PostgreSQL outside a transaction: a named statement, which each pooled connection parses and
  // plans once (Kysely's queries are unnamed: parsed and planned at every call).
  const pool = db.isTransaction ? undefined : postgresPools.get(db as Kysely<Database>);
  if (pool) return (await pool.query<Row & pg.QueryResultRow>({ name: statementName(text), text, values: parameters as unknown[] })).rows;
  const result = await db.executeQuery<Row>(CompiledQuery.raw(text, parameters as unknown[]));
  return result.rows;
}

/** PostgreSQL: the pool behind each Kysely instance (see openDatabase), for runStatement's named statements. */
const postgresPools = new WeakMap<Kysely<Database>, pg.Pool>();
const statementNames = new Map<string, string>();

/** A prepared statement's name: from its text, so one name never stands for two texts (at most 63 bytes). */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `onshi_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    if (statementNames.size > 1000) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

/**
 * The chunks (first row, row count) of a flat array of `length` values in rows of `width` columns,
 * each chunk's parameters under `maxParameters`; `label` names the caller when the values are not
 * whole rows.
 */
export function* flatChunks(label: string, length: number, width: number, maxParameters: number): Generator<{ start: number; count: number }> {
  const rows = length / width;
  if (!Number.isInteger(rows)) throw new Error(`${label}: ${length} values are not rows of ${width} columns`);
  const perChunk = Math.max(1, Math.floor(maxParameters / width));
  for (let start = 0; start < rows; start += perChunk) yield { start, count: Math.min(perChunk, rows - start) };
}

/**
 * Inserts rows given as one flat array of values (row after row, each in `columns` order) in
 * multi-row statements under `maxParameters`. For bulk writers that have the values already: no
 * object per row, and the text of each (table, columns, row count) statement is compiled once.
 */
export async function insertFlat(db: Db, table: keyof Database & string, columns: readonly string[], values: readonly unknown[], maxParameters = 30_000): Promise<void> {
  const width = columns.length;
  const rows = values.length / width;
  for (const { start, count } of flatChunks(`insertFlat(${table})`, values.length, width, maxParameters)) {
    const { text } = insertText(db, table, columns, count);
    const parameters = count === rows ? values : values.slice(start * width, (start + count) * width);
    await db.executeQuery(CompiledQuery.raw(text, parameters as unknown[]));
  }
}
