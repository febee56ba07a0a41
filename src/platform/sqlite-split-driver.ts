// A Kysely driver for SQLite's main connection that never lets a long transaction hold up reads.
// Kysely's own SqliteDriver queues every query behind the one connection's mutex, so while an import
// keeps a transaction open (it yields between batches) even /health waited for it. Here a query
// outside any transaction runs at once when no transaction holds the writer; while one does, a read
// goes to a read-only connection (the last committed state, which is what a query outside that
// transaction may see), and a write waits for the writer as before.

import type SQLite from 'better-sqlite3';
import { CompiledQuery, SelectQueryNode, type DatabaseConnection, type Driver, type QueryResult, type TransactionSettings } from 'kysely';

interface PreparingDatabase {
  prepare(sql: string): SQLite.Statement;
}

function execute<R>(db: PreparingDatabase, query: CompiledQuery): QueryResult<R> {
  const statement = db.prepare(query.sql);
  const parameters = query.parameters as unknown[];
  if (statement.reader) return { rows: statement.all(parameters) as R[] };
  const { changes, lastInsertRowid } = statement.run(parameters);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

/** One waiter at a time on the writer, in arrival order. */
class WriterLock {
  private tail: Promise<void> = Promise.resolve();
  held = false;

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const previous = this.tail;
    this.tail = new Promise<void>((ok) => (release = ok));
    await previous;
    this.held = true;
    return () => {
      this.held = false;
      release();
    };
  }
}

/** Longest stretch of work on the main connection before other requests get a turn. */
const SLICE_MS = 4;

/**
 * Statements here run synchronously and their promises resolve as microtasks, so a long job (an
 * import, a notices round, a batch's storage) would hold the event loop until it ends: no request
 * would be read meanwhile. Every query first asks for its turn: past SLICE_MS of work since the event
 * loop last turned, it waits one turn (setImmediate), and the confirmations in between are answered.
 */
class Turns {
  private sliceStart = 0;
  private open = false;

  take(): Promise<void> | undefined {
    const now = performance.now();
    if (!this.open) {
      this.open = true;
      this.sliceStart = now;
      setImmediate(() => (this.open = false));
      return undefined;
    }
    if (now - this.sliceStart < SLICE_MS) return undefined;
    return new Promise<void>((ok) => setImmediate(ok));
  }
}

class SplitConnection implements DatabaseConnection {
  /** Set while this connection runs a transaction: every query goes to the writer, which it holds. */
  release: (() => void) | undefined;

  constructor(private readonly driver: SplitSqliteDriver) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const turn = this.driver.turns.take();
    if (turn) await turn;
    const { writer, reader, lock } = this.driver;
    if (this.release || !lock.held) return execute<R>(writer, query);
    if (reader && SelectQueryNode.is(query.query)) return execute<R>(reader, query);
    const release = await lock.acquire();
    try {
      return execute<R>(writer, query);
    } finally {
      release();
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query.query)) throw new Error('SQLite streams only select queries');
    const { writer, reader, lock } = this.driver;
    const db = this.release || !lock.held || !reader ? writer : reader;
    for (const row of db.prepare(query.sql).iterate(query.parameters as unknown[])) yield { rows: [row as R] };
  }
}

export class SplitSqliteDriver implements Driver {
  readonly lock = new WriterLock();
  readonly turns = new Turns();

  constructor(
    readonly writer: PreparingDatabase & { close(): void },
    readonly reader: PreparingDatabase | undefined,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new SplitConnection(this);
  }

  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    const c = connection as SplitConnection;
    c.release = await this.lock.acquire();
    try {
      await c.executeQuery(CompiledQuery.raw('begin'));
    } catch (e) {
      c.release();
      c.release = undefined;
      throw e;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = connection as SplitConnection;
    c.release?.();
    c.release = undefined;
  }

  async destroy(): Promise<void> {
    this.writer.close();
  }
}
