// Group commit for usage events. Incentive payments are computed from these events, so an answered
// confirmation must be a recorded one: each request waits for the transaction that holds its event,
// and every request that arrived meanwhile shares that transaction. Nothing is fire-and-forget.

import type { Kysely } from 'kysely';
import type { Database } from '../platform/db.ts';
import { insertUsageEvents, type NewUsageEvent } from './repository.ts';

interface Pending {
  event: NewUsageEvent;
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

  /** Resolves once the event is committed; rejects if its transaction failed (the caller answers 503). */
  record(event: NewUsageEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
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
          // One multi-row INSERT (or a few, for a large batch) inside one transaction.
          await this.db.transaction().execute((trx) => insertUsageEvents(trx, batch.map((p) => p.event)));
          this.stats.events += batch.length;
          this.stats.commits++;
          if (batch.length > this.stats.largestBatch) this.stats.largestBatch = batch.length;
          for (const p of batch) p.resolve();
        } catch (e) {
          this.stats.failures++;
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** Waits until everything queued so far is committed (used at shutdown). */
  async flush(): Promise<void> {
    while (this.running || this.queue.length > 0) await this.idle;
  }
}
