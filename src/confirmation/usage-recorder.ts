// Group commit for usage events. Incentive payments are computed from these events, so an answered
// confirmation must be a recorded one: each request waits for the transaction that holds its event,
// and every request that arrived meanwhile shares that transaction. Nothing is fire-and-forget.
//
// An event may bring rows that belong with it (the card confirmation's consent answer and its
// access-log entries): they are written in the event's transaction, one multi-row insert per table
// per batch, so the event, the consent and the audit trail of one confirmation commit together or
// not at all, and the answer leaves after that commit.

import type { Kysely } from 'kysely';
import { insertRowsAtOnce, type Database } from '../platform/db.ts';
import type { ConsentsTable } from '../clinical/tables.ts';
import type { AccessLogRow } from '../audit/rows.ts';
import type { NewUsageEvent } from './repository.ts';

/** Rows committed in the same transaction as the event. */
export interface EventRows {
  consents?: readonly ConsentsTable[];
  accessLog?: readonly AccessLogRow[];
}

interface Pending {
  event: NewUsageEvent;
  rows: EventRows | undefined;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class UsageRecorder {
  private queue: Pending[] = [];
  private running = false;
  private idle: Promise<void> = Promise.resolve();
  /** Figures for /health and the benchmark. */
  readonly stats = { events: 0, commits: 0, largestBatch: 0, failures: 0 };

  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxBatch = 2000,
  ) {}

  /** Resolves once the event (and its rows) are committed; rejects if its transaction failed (the caller answers 503). */
  record(event: NewUsageEvent, rows?: EventRows): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event, rows, resolve, reject });
      if (!this.running) {
        this.running = true;
        // setImmediate lets every request already parsed in this turn of the event loop join the batch.
        this.idle = new Promise<void>((done) => setImmediate(() => void this.drain().finally(done)));
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          await this.commit(batch);
          this.settled(batch);
        } catch (e) {
          if (batch.length === 1) {
            this.failed(batch, e);
            continue;
          }
          // One bad row must not fail its neighbours: each request of the failed batch gets its own
          // transaction (ids are unique keys, so nothing can be written twice).
          for (const p of batch) {
            try {
              await this.commit([p]);
              this.settled([p]);
            } catch (e1) {
              this.failed([p], e1);
            }
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async commit(batch: readonly Pending[]): Promise<void> {
    const consents: ConsentsTable[] = [];
    const accessLog: AccessLogRow[] = [];
    for (const p of batch) {
      if (p.rows?.consents) consents.push(...p.rows.consents);
      if (p.rows?.accessLog) accessLog.push(...p.rows.accessLog);
    }
    // One multi-row INSERT per table (or a few, for a large batch) inside one transaction.
    await insertRowsAtOnce(this.db, { usage_events: batch.map((p) => p.event), consents, access_log: accessLog });
  }

  private settled(batch: readonly Pending[]): void {
    this.stats.events += batch.length;
    this.stats.commits++;
    if (batch.length > this.stats.largestBatch) this.stats.largestBatch = batch.length;
    for (const p of batch) p.resolve();
  }

  private failed(batch: readonly Pending[], e: unknown): void {
    this.stats.failures++;
    for (const p of batch) p.reject(e);
  }

  /** Waits until everything queued so far is committed (used at shutdown). */
  async flush(): Promise<void> {
    while (this.running || this.queue.length > 0) await this.idle;
  }
}
