// The person index of the access history (閲覧履歴), kept off the confirmation path on SQLite.
//
// Why: the patient's history reads usage events and access-log entries by person, and a clinical view
// reads the consents by person. An index on person_id in those tables costs every confirmation a write
// to a random index page (persons are random keys): measured on a 1,000,000-person registry, 49 of the
// 64 µs CPU a usage event costs to insert, and the card path writes three such rows (event, consent
// answer, access-log entry). So on SQLite the events carry no person index;
// person_history holds (person, source, ref) entries instead, filled behind the confirmations
// in batches by PersonHistoryIndexer, which moves the source's mark (person_history_marks.last_ref)
// in the same transaction as the entries it adds.
//
// The entries are small on purpose (migration 0011): the person as the 16 bytes of its UUID, the
// source as a number, the source row's integer key; no time (reads order the source rows themselves).
// Each entry still lands on a random page, and a page written is a page copied to the log, so the
// entry's size decides the cost: with 2,000,000 entries, 51 µs an entry with the text key of 0010
// (person id, time, source name) against 27 µs with this one, and 3 times fewer pages.
//
// Reads stay exact whatever the indexer's progress: a person's rows are those indexed plus those of
// the tail after the mark, read in one statement (one snapshot), and every indexed ref is at or below
// the mark, so nothing is missed or counted twice (personRefs). SQLite has one writer, so ids commit
// in order and the tail is always "ref > mark". Every reader also filters the source rows by their
// person_id, so two ids with one key (only conceivable for ids that are not UUIDs) cannot mix.
//
// PostgreSQL keeps its person indexes on usage_events, access_log and consents: there ids (bigserial) can commit
// out of order, so a mark could pass a row committed later, and its writes do not cost the same.

import type { Kysely, Migration } from 'kysely';
import { SqliteAdapter, sql, type RawBuilder, type SqlBool } from 'kysely';
import type SQLite from 'better-sqlite3';
import type { Types } from '../migrations/types.ts';
import { withSqliteWriter, type Database, type Db } from '../platform/db.ts';

export type HistorySource = 'usage' | 'access' | 'consent';

/**
 * Where each source's rows come from: table, its integer key (in commit order: rows are never
 * deleted, so even the consents' implicit rowid only grows), its time column, which rows are indexed.
 */
const sources: Record<HistorySource, { code: number; table: string; ref: string; at: string; where: string }> = {
  // The confirmations that returned a record, except the card path's: each of those has its own
  // access-log entry (basis = the confirmation), committed with it, and the history shows that entry
  // instead (see the audit service), so indexing the event too would be a wasted random write.
  usage: { code: 1, table: 'usage_events', ref: 'id', at: 'occurred_at', where: "result = 'valid' and person_id is not null and method <> 'my_number_card'" },
  access: { code: 2, table: 'access_log', ref: 'seq', at: 'occurred_at', where: 'person_id is not null' },
  // The consent answers of a person (a reader's answer is written with its card confirmation).
  consent: { code: 3, table: 'consents', ref: 'rowid', at: 'granted_at', where: 'person_id is not null' },
};

/** SQL: the key of the person id `expr`: its UUID's 16 bytes (any other id: itself). */
const personKey = (expr: string): string => `coalesce(unhex(replace(${expr}, '-', '')), ${expr})`;

/** SQL: the entries of `source`'s rows with ref in (from, to], sorted by key (neighbours share pages). */
function entriesOf(name: HistorySource, from: string, to: string): string {
  const s = sources[name];
  return `select ${personKey('person_id')}, ${s.code}, ${s.ref} from ${s.table} where ${s.ref} > ${from} and ${s.ref} <= ${to} and ${s.where} order by 1, 3`;
}

export function personHistoryMigrations(t: Types): Record<string, Migration> {
  return {
    '0010_person_history': {
      async up(db: Kysely<any>) {
        if (t.dialect !== 'sqlite') return;
        await sql`create table person_history (
          person_id text not null, occurred_at text not null, source text not null, ref integer not null,
          primary key (person_id, occurred_at, source, ref)) without rowid`.execute(db);
        await sql`create table person_history_marks (source text primary key, last_ref integer not null)`.execute(db);
        for (const [name, s] of Object.entries(sources)) {
          await sql
            .raw(`insert into person_history (person_id, occurred_at, source, ref) select person_id, ${s.at}, '${name}', ${s.ref} from ${s.table} where ${s.where}`)
            .execute(db);
          await sql.raw(`insert into person_history_marks (source, last_ref) select '${name}', coalesce(max(${s.ref}), 0) from ${s.table}`).execute(db);
        }
        // The history's "already logged by the card path" test looks the entry up by its basis (a
        // confirmation id: time-ordered, so this index grows at its end) instead of by person.
        await db.schema.createIndex('access_log_basis').on('access_log').columns(['basis_id']).execute();
        await db.schema.dropIndex('usage_events_person_time').execute();
        await db.schema.dropIndex('access_log_person_time').execute();
        await db.schema.dropIndex('consents_person_facility').execute();
      },
    },
    // The compact entries (see the top of this file), rebuilt from the sources up to each mark.
    '0011_person_history_compact': {
      async up(db: Kysely<any>) {
        if (t.dialect !== 'sqlite') return;
        await sql`drop table person_history`.execute(db);
        await sql`create table person_history (person blob not null, source integer not null, ref integer not null, primary key (person, source, ref)) without rowid`.execute(db);
        for (const name of Object.keys(sources) as HistorySource[]) {
          await sql.raw(`insert into person_history (person, source, ref) ${entriesOf(name, '0', `(select last_ref from person_history_marks where source = '${name}')`)}`).execute(db);
        }
      },
    },
  };
}

/** Whether the store finds a person's rows through person_history (SQLite) or its own person indexes (PostgreSQL). */
export function byPersonHistory(db: Db): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/**
 * SQLite: the condition "this row of `source` belongs to the person", for a query over that source's
 * table aliased `alias`: indexed refs, plus the tail after the mark, in the statement's own snapshot.
 */
export function personRefs(source: HistorySource, alias: string, personId: string): RawBuilder<SqlBool> {
  const s = sources[source];
  return sql<SqlBool>`${sql.ref(`${alias}.${s.ref}`)} in (select ref from person_history where person = coalesce(unhex(replace(${personId}, '-', '')), ${personId}) and source = ${sql.raw(String(s.code))} union all select ${sql.raw(s.ref)} from ${sql.table(s.table)} where ${sql.raw(s.ref)} > (select last_ref from person_history_marks where source = ${source}) and person_id = ${personId})`;
}

export interface IndexerStats {
  /** Entries added since start. */
  indexed: number;
  batches: number;
  /** Rows after the marks at the last look (0 = caught up). */
  behind: number;
  /** The longest batch so far and the time of all batches, in ms (a batch holds the event loop). */
  longestMs: number;
  totalMs: number;
  failures: number;
}

/**
 * Rows indexed per transaction and source. Each row lands on a random page of person_history, so a
 * batch costs about what its rows' index entries cost the events before; small batches keep the event
 * loop free (a few milliseconds each), and the requests that arrive meanwhile are served between them.
 */
const BATCH_ROWS = 64;

/**
 * Indexes up to `maxRows` rows of each source after its mark, in one transaction (one commit). Answers
 * how many rows were taken, or undefined when the writer is busy in a transaction (try later).
 */
export function indexPersonHistory(db: Kysely<Database>, maxRows = BATCH_ROWS): { taken: number; behind: number } | undefined {
  return withSqliteWriter(db, (writer) => {
    let taken = 0;
    let behind = 0;
    writer.transaction(() => {
      for (const [name, s] of Object.entries(sources) as [HistorySource, (typeof sources)[HistorySource]][]) {
        const statements = indexerStatements(writer, name, s);
        const mark = statements.mark.get(name) as number;
        const end = statements.end.get(mark, maxRows) as number | null;
        if (end === null) continue;
        statements.insert.run(mark, end);
        statements.move.run(end, name);
        taken += end - mark;
        behind += ((statements.last.get() as number | null) ?? end) - end;
      }
    })();
    return { taken, behind };
  });
}

const preparedByConnection = new WeakMap<SQLite.Database, Map<string, ReturnType<typeof prepareIndexer>>>();

function indexerStatements(writer: SQLite.Database, name: HistorySource, s: (typeof sources)[HistorySource]) {
  let map = preparedByConnection.get(writer);
  if (!map) preparedByConnection.set(writer, (map = new Map()));
  let statements = map.get(name);
  if (!statements) map.set(name, (statements = prepareIndexer(writer, name, s)));
  return statements;
}

function prepareIndexer(writer: SQLite.Database, name: HistorySource, s: (typeof sources)[HistorySource]) {
  return {
    mark: writer.prepare('select last_ref from person_history_marks where source = ?').pluck(),
    // The last ref of the next batch (refs are the tables' integer primary keys, in commit order).
    end: writer.prepare(`select max(r) from (select ${s.ref} as r from ${s.table} where ${s.ref} > ? order by ${s.ref} limit ?)`).pluck(),
    last: writer.prepare(`select max(${s.ref}) from ${s.table}`).pluck(),
    // Sorted by person: neighbouring entries share index pages, so each page is written once per batch.
    insert: writer.prepare(`insert into person_history (person, source, ref) ${entriesOf(name, '?', '?')}`),
    move: writer.prepare('update person_history_marks set last_ref = ? where source = ?'),
  };
}

/**
 * Keeps person_history up with the events: looks every `intervalMs`; while behind, runs a batch per
 * turn of the event loop (setImmediate), so confirmations are served between batches. SQLite only
 * (on PostgreSQL start() does nothing).
 */
export class PersonHistoryIndexer {
  readonly stats: IndexerStats = { indexed: 0, batches: 0, behind: 0, longestMs: 0, totalMs: 0, failures: 0 };
  private timer: NodeJS.Timeout | null = null;
  private pending: NodeJS.Immediate | null = null;
  private stopped = true;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.timer = setInterval(() => this.run(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearImmediate(this.pending);
    this.timer = null;
    this.pending = null;
  }

  /** Indexes everything after the marks now (tests, and before a backup). */
  catchUp(): void {
    for (;;) {
      const r = this.step();
      if (!r || r.taken === 0) return;
    }
  }

  private step(): { taken: number; behind: number } | undefined {
    try {
      const started = performance.now();
      const r = indexPersonHistory(this.db);
      const ms = performance.now() - started;
      if (ms > this.stats.longestMs) this.stats.longestMs = Math.round(ms * 10) / 10;
      this.stats.totalMs = Math.round((this.stats.totalMs + ms) * 10) / 10;
      if (r) {
        this.stats.indexed += r.taken;
        if (r.taken > 0) this.stats.batches++;
        this.stats.behind = r.behind;
      }
      return r;
    } catch (e) {
      // Another process (a CLI import, another server) holds the write lock or wrote first: its turn;
      // the next look tries again, and the history stays exact meanwhile.
      if (String((e as { code?: unknown }).code ?? '').startsWith('SQLITE_BUSY')) return undefined;
      // A closed or broken store: the same, but said once.
      this.stats.failures++;
      if (this.stats.failures === 1) process.stderr.write(`onshi: the person-history indexer failed (${(e as Error).message}); history reads stay exact, only slower\n`);
      return undefined;
    }
  }

  private run(): void {
    if (this.stopped || this.pending) return;
    const r = this.step();
    if (r && r.behind > 0 && !this.stopped) {
      this.pending = setImmediate(() => {
        this.pending = null;
        this.run();
      });
    }
  }
}
