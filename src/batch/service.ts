// Batch inquiry (一括照会): a facility submits its booked patients' card numbers before their visits
// and fetches a result per row later. A batch is a persistent job: rows are stored when accepted,
// processed in chunks by a runner in the server process, and each chunk's results are committed
// with the job's progress in one transaction, so a restarted server resumes exactly where the last
// commit left off and no row is answered twice.
//
// Decision (DOMAIN.md §1–2): a batch inquiry is not a reception confirmation, so its rows are not
// usage events (utilisation statistics and incentive payments count confirmations at reception,
// where the patient is present); the eligibility rules and the registry are the same ones.

import type { Insertable, Selectable } from 'kysely';
import type { ConfirmationAnswer, ConfirmationService } from '../confirmation/service.ts';
import { insertMany, type Db } from '../platform/db.ts';
import { OnshiError } from '../platform/errors.ts';
import { newId } from '../platform/ids.ts';
import { todayJst } from '../platform/time.ts';

export interface BatchInquiriesTable {
  reception_number: string;
  facility_code: string;
  status: string;
  source: string;
  total_rows: number;
  processed_rows: number;
  valid_rows: number;
  invalid_rows: number;
  error_rows: number;
  as_of: string;
  meta: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface BatchInquiryRowsTable {
  reception_number: string;
  row_no: number;
  input: string;
}

export interface BatchInquiryResultsTable {
  reception_number: string;
  row_no: number;
  result: string;
  answer: string;
}

declare module '../platform/db.ts' {
  interface Database {
    batch_inquiries: BatchInquiriesTable;
    batch_inquiry_rows: BatchInquiryRowsTable;
    batch_inquiry_results: BatchInquiryResultsTable;
  }
}

export type BatchStatus = 'queued' | 'running' | 'done';
export type BatchSource = 'json' | 'csv' | 'xml';

/** One submitted row: the JSON API's field names; `search` keeps an XML search block to echo. */
export interface BatchRowInput {
  insurerNumber?: string;
  symbol?: string;
  number?: string;
  branch?: string;
  birthDate?: string;
  asOf?: string;
  /** The patient's consent to 限度額 information (XML LimitApplicationCertificateRelatedConsFlg 1). */
  limitConsent?: boolean;
  search?: Record<string, unknown>;
}

export type RowAnswer = Omit<Extract<ConfirmationAnswer, { result: 'valid' }>, 'confirmationId'> | Omit<Extract<ConfirmationAnswer, { result: 'invalid' }>, 'confirmationId'> | Omit<Extract<ConfirmationAnswer, { result: 'error' }>, 'confirmationId'>;

export interface BatchSummary {
  receptionNumber: string;
  status: BatchStatus;
  source: BatchSource;
  asOf: string;
  totalRows: number;
  processedRows: number;
  validRows: number;
  invalidRows: number;
  errorRows: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  meta: Record<string, string>;
}

export interface BatchResultRow {
  row: number;
  input: BatchRowInput;
  answer: RowAnswer;
}

export const MAX_BATCH_ROWS = 200_000;

function summaryOf(r: Selectable<BatchInquiriesTable>): BatchSummary {
  return {
    receptionNumber: r.reception_number,
    status: r.status as BatchStatus,
    source: r.source as BatchSource,
    asOf: r.as_of,
    totalRows: Number(r.total_rows),
    processedRows: Number(r.processed_rows),
    validRows: Number(r.valid_rows),
    invalidRows: Number(r.invalid_rows),
    errorRows: Number(r.error_rows),
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    meta: r.meta ? (JSON.parse(r.meta) as Record<string, string>) : {},
  };
}

export interface BatchOptions {
  /** Rows per committed chunk. */
  chunkSize?: number;
  /** How often the runner looks for jobs queued by other processes (ms); 0 = only when woken. */
  pollMs?: number;
  /** Rows looked up at once within a chunk. */
  concurrency?: number;
}

export class BatchService {
  private readonly chunkSize: number;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private running: Promise<void> | null = null;
  private wanted = false;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  /** Figures for tests and the benchmark. */
  readonly stats = { chunks: 0, rows: 0 };

  constructor(
    private readonly db: Db,
    private readonly confirmation: ConfirmationService,
    private readonly clock: () => Date = () => new Date(),
    options: BatchOptions = {},
  ) {
    this.chunkSize = options.chunkSize ?? 2000;
    this.pollMs = options.pollMs ?? 2000;
    this.concurrency = options.concurrency ?? 8;
  }

  /**
   * Accepts a batch: stores every row and queues the job; answers the reception number. `within`
   * runs in the same transaction (the XML interface stores its idempotent result there, so a retried
   * upload can never create a second batch).
   */
  async submit(
    facilityCode: string,
    rows: readonly BatchRowInput[],
    source: BatchSource,
    meta: Record<string, string> = {},
    asOf?: string,
    within?: (trx: Db, accepted: BatchSummary) => Promise<void>,
  ): Promise<BatchSummary> {
    if (rows.length === 0) throw new OnshiError('ONSHI_BATCH_EMPTY');
    if (rows.length > MAX_BATCH_ROWS) throw new OnshiError('ONSHI_BATCH_TOO_MANY_ROWS', { maxRows: MAX_BATCH_ROWS, rows: rows.length });
    const now = this.clock();
    const receptionNumber = newId(now.getTime()).replace(/-/g, '');
    const job: Insertable<BatchInquiriesTable> = {
      reception_number: receptionNumber,
      facility_code: facilityCode,
      status: 'queued',
      source,
      total_rows: rows.length,
      processed_rows: 0,
      valid_rows: 0,
      invalid_rows: 0,
      error_rows: 0,
      // The default date of every row is fixed at acceptance: a resumed job answers for the same day.
      as_of: asOf ?? todayJst(now),
      meta: JSON.stringify(meta),
      created_at: now.toISOString(),
      started_at: null,
      finished_at: null,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('batch_inquiries').values(job).execute();
      await insertMany(
        trx,
        'batch_inquiry_rows',
        rows.map((r, i) => ({ reception_number: receptionNumber, row_no: i + 1, input: JSON.stringify(r) })),
      );
      if (within) await within(trx, summaryOf(job as Selectable<BatchInquiriesTable>));
    });
    this.wake();
    return summaryOf(job as Selectable<BatchInquiriesTable>);
  }

  /** A facility's own batch; another facility's (or none) is 404, never a hint that it exists. */
  async get(facilityCode: string, receptionNumber: string): Promise<BatchSummary> {
    const r = await this.db.selectFrom('batch_inquiries').selectAll().where('reception_number', '=', receptionNumber).executeTakeFirst();
    if (!r || r.facility_code !== facilityCode) throw new OnshiError('ONSHI_BATCH_NOT_FOUND', { receptionNumber });
    return summaryOf(r);
  }

  /** Results in row order from `offset` (0-based), at most `limit` rows. */
  async results(receptionNumber: string, offset: number, limit: number): Promise<BatchResultRow[]> {
    const rows = await this.db
      .selectFrom('batch_inquiry_results as r')
      .innerJoin('batch_inquiry_rows as i', (j) => j.onRef('i.reception_number', '=', 'r.reception_number').onRef('i.row_no', '=', 'r.row_no'))
      .select(['r.row_no', 'i.input', 'r.answer'])
      .where('r.reception_number', '=', receptionNumber)
      .where('r.row_no', '>', offset)
      .orderBy('r.row_no')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ row: Number(r.row_no), input: JSON.parse(r.input) as BatchRowInput, answer: JSON.parse(r.answer) as RowAnswer }));
  }

  /** Every result in row order, a page at a time (CSV and XML downloads). */
  async *allResults(receptionNumber: string, pageSize = 5000): AsyncGenerator<BatchResultRow> {
    let offset = 0;
    for (;;) {
      const page = await this.results(receptionNumber, offset, pageSize);
      for (const r of page) yield r;
      if (page.length < pageSize) return;
      offset = page[page.length - 1].row;
    }
  }

  // ------------------------------------------------------------ the runner

  /** Starts the runner: resumes every unfinished job, then waits for new ones. */
  start(): void {
    this.stopping = false;
    if (this.pollMs > 0 && !this.timer) {
      this.timer = setInterval(() => this.wake(), this.pollMs);
      this.timer.unref();
    }
    this.wake();
  }

  /** Stops after the chunk in progress is committed; unfinished jobs stay queued for the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.running) await this.running;
  }

  /** Resolves when no job is left to run (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private wake(): void {
    if (this.stopping) return;
    this.wanted = true;
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      if (this.wanted && !this.stopping) this.wake();
    });
  }

  private async loop(): Promise<void> {
    while (this.wanted && !this.stopping) {
      this.wanted = false;
      for (;;) {
        if (this.stopping) return;
        const job = await this.db
          .selectFrom('batch_inquiries')
          .selectAll()
          .where('status', 'in', ['queued', 'running'])
          .orderBy('created_at')
          .limit(1)
          .executeTakeFirst();
        if (!job) break;
        await this.runJob(job);
      }
    }
  }

  private async runJob(job: Selectable<BatchInquiriesTable>): Promise<void> {
    if (job.status === 'queued') {
      await this.db.updateTable('batch_inquiries').set({ status: 'running', started_at: this.clock().toISOString() }).where('reception_number', '=', job.reception_number).execute();
    }
    let processed = Number(job.processed_rows);
    while (!this.stopping) {
      const rows = await this.db
        .selectFrom('batch_inquiry_rows')
        .select(['row_no', 'input'])
        .where('reception_number', '=', job.reception_number)
        .where('row_no', '>', processed)
        .orderBy('row_no')
        .limit(this.chunkSize)
        .execute();
      if (rows.length === 0) {
        await this.db
          .updateTable('batch_inquiries')
          .set({ status: 'done', finished_at: this.clock().toISOString() })
          .where('reception_number', '=', job.reception_number)
          .execute();
        return;
      }
      const now = this.clock();
      const answered: { row_no: number; result: string; answer: string }[] = new Array(rows.length);
      // A few lookups in flight (PostgreSQL's pool); thousands would only queue on SQLite's one connection.
      let next = 0;
      const worker = async () => {
        while (next < rows.length) {
          const i = next++;
          const r = rows[i];
          const input = JSON.parse(r.input) as BatchRowInput;
          const raw = { insurerNumber: input.insurerNumber, symbol: input.symbol, number: input.number, branch: input.branch, birthDate: input.birthDate, asOf: input.asOf || job.as_of };
          const { answer } = await this.confirmation.evaluateCardNumbers(raw, now, { withLimitCategory: input.limitConsent === true });
          // Nothing is recorded for a batch row, so its answer is stored without the id (JSON leaves an
          // undefined member out, keeping the other keys in order; the answer is this row's own object).
          (answer as { confirmationId?: string }).confirmationId = undefined;
          answered[i] = { row_no: Number(r.row_no), result: answer.result, answer: JSON.stringify(answer) };
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, rows.length) }, worker));
      const counts = { valid: 0, invalid: 0, error: 0 };
      for (const a of answered) counts[a.result as keyof typeof counts]++;
      const last = answered[answered.length - 1].row_no;
      const committed = await this.db.transaction().execute(async (trx) => {
        // The guard on processed_rows makes a chunk commit once, even if two runners raced for it.
        const u = await trx
          .updateTable('batch_inquiries')
          .set((eb) => ({
            processed_rows: last,
            valid_rows: eb('valid_rows', '+', counts.valid),
            invalid_rows: eb('invalid_rows', '+', counts.invalid),
            error_rows: eb('error_rows', '+', counts.error),
          }))
          .where('reception_number', '=', job.reception_number)
          .where('processed_rows', '=', processed)
          .executeTakeFirst();
        if (Number(u.numUpdatedRows) !== 1) return false;
        await insertMany(trx, 'batch_inquiry_results', answered.map((a) => ({ reception_number: job.reception_number, ...a })));
        return true;
      });
      if (!committed) return; // another runner has it
      processed = last;
      this.stats.chunks++;
      this.stats.rows += answered.length;
      // On SQLite every query resolves without a macrotask: yield so requests are served between chunks.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
