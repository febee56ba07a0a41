// Batch inquiry (一括照会): a facility submits its booked patients' card numbers before their visits
// and fetches a result per row later. A batch is a persistent job: rows are stored when accepted,
// processed in chunks by a runner in the server process, and each chunk's results are committed
// with the job's progress in one transaction, so a restarted server resumes exactly where the last
// commit left off and no row is answered twice.
//
// Decision (DOMAIN.md §1–2): a batch inquiry is not a reception confirmation, so its rows are not
// usage events (utilisation statistics and incentive payments count confirmations at reception,
// where the patient is present); the eligibility rules and the registry are the same ones.

import { availableParallelism } from 'node:os';
import { SqliteAdapter, sql, type Insertable, type RawBuilder, type Selectable } from 'kysely';
import type { ConfirmationAnswer, ConfirmationService } from '../confirmation/service.ts';
import { insertMany, type Db } from '../platform/db.ts';
import { OnshiError } from '../platform/errors.ts';
import { newId } from '../platform/ids.ts';
import { todayJst } from '../platform/time.ts';
import { answerRows, type Answered } from './answer.ts';
import { decodeAnswer, decodeInput, encodeInput, RS } from './codec.ts';
import { LookupWorker } from './lookup-pool.ts';
import type { ByteBlock, ByteResultPage } from './results-csv.ts';

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

/** The submitted rows first_row … first_row + row_count - 1, encoded (codec.ts). */
export interface BatchInquiryInputBlocksTable {
  reception_number: string;
  first_row: number;
  row_count: number;
  input: string;
}

/** The answers of one committed chunk, encoded (codec.ts). */
export interface BatchInquiryAnswerBlocksTable {
  reception_number: string;
  first_row: number;
  row_count: number;
  answers: string;
}

declare module '../platform/db.ts' {
  interface Database {
    batch_inquiries: BatchInquiriesTable;
    batch_inquiry_input_blocks: BatchInquiryInputBlocksTable;
    batch_inquiry_answer_blocks: BatchInquiryAnswerBlocksTable;
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

/** Results as stored (codec.ts), in row order: rows[i]'s input (undefined when none is stored) and answer. */
interface EncodedResultPage {
  rows: number[];
  inputs: (string | undefined)[];
  answers: string[];
}

export const MAX_BATCH_ROWS = 200_000;

/** Submitted rows per stored input block. */
const INPUT_BLOCK_ROWS = 1000;
/** Input blocks encoded between two turns of the event loop when a batch is accepted. */
const ENCODE_SLICE_BLOCKS = 4;

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
  /**
   * SQLite file: lookup worker threads that answer part of each chunk beside the runner's own thread
   * (default: one less than the cores; 0 = none). Started for a job of minWorkerRows rows or more.
   */
  workers?: number;
  minWorkerRows?: number;
  /**
   * Start the lookup workers with the runner instead of at the first large job, whose first chunks
   * would otherwise be answered by the runner's thread alone while a worker loads its modules and
   * opens its connection (about a second). The server does; tests and the CLI do not.
   */
  warmWorkers?: boolean;
}

/** Rows a lookup worker is sent at once; two such requests are kept in flight so it never waits. */
const WORKER_PART_ROWS = 100;

export class BatchService {
  private readonly chunkSize: number;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly workerCount: number;
  private readonly minWorkerRows: number;
  private readonly warmWorkers: boolean;
  /** The workers being started with the runner (warmWorkers), awaited by stop(). */
  private warming: Promise<void> | undefined;
  /** The lookup workers, once a large job on a SQLite file started them; undefined before. */
  private workers: LookupWorker[] | undefined;
  private running: Promise<void> | null = null;
  private wanted = false;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  /** Figures for tests and the benchmark. */
  readonly stats = { chunks: 0, rows: 0, workerRows: 0 };

  constructor(
    private readonly db: Db,
    private readonly confirmation: ConfirmationService,
    private readonly clock: () => Date = () => new Date(),
    options: BatchOptions = {},
  ) {
    this.chunkSize = options.chunkSize ?? 2000;
    this.pollMs = options.pollMs ?? 2000;
    this.concurrency = options.concurrency ?? 8;
    this.workerCount = options.workers ?? Math.max(0, availableParallelism() - 1);
    this.minWorkerRows = options.minWorkerRows ?? 10_000;
    this.warmWorkers = options.warmWorkers ?? false;
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
      const blocks: Insertable<BatchInquiryInputBlocksTable>[] = [];
      for (let start = 0; start < rows.length; start += INPUT_BLOCK_ROWS) {
        const part = rows.slice(start, start + INPUT_BLOCK_ROWS);
        blocks.push({ reception_number: receptionNumber, first_row: start + 1, row_count: part.length, input: part.map(encodeInput).join(RS) });
        // A turn of the event loop every few thousand rows: a large batch is encoded beside the confirmations.
        if (blocks.length % ENCODE_SLICE_BLOCKS === 0) await new Promise<void>((ok) => setImmediate(ok));
      }
      await insertMany(trx, 'batch_inquiry_input_blocks', blocks, 4 * 50);
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
    return decodedPage(await this.encodedResults(receptionNumber, offset, limit));
  }

  /** Results in row order from `offset` (0-based), at most `limit` rows, as stored (codec.ts): nothing decoded. */
  private async encodedResults(receptionNumber: string, offset: number, limit: number): Promise<EncodedResultPage> {
    const end = offset + limit;
    const [answerBlocks, inputBlocks] = await Promise.all([this.blocksCovering('answers', receptionNumber, offset, end), this.blocksCovering('inputs', receptionNumber, offset, end)]);
    const { rows, texts: answers } = rowsOf(answerBlocks, offset, end);
    const stored = rowsOf(inputBlocks, offset, end);
    const inputs: (string | undefined)[] = new Array(rows.length);
    let k = 0;
    for (let i = 0; i < rows.length; i++) {
      while (k < stored.rows.length && stored.rows[k] < rows[i]) k++;
      inputs[i] = stored.rows[k] === rows[i] ? stored.texts[k] : undefined;
    }
    return { rows, inputs, answers };
  }

  /** The input or answer blocks that hold rows offset+1 … end, in row order. */
  private blocksCovering(kind: 'inputs' | 'answers', receptionNumber: string, offset: number, end: number): Promise<{ first_row: number; row_count: number; text: string }[]> {
    return this.blocksQuery(kind, receptionNumber, offset, end, sql.ref<string>(kind === 'inputs' ? 'input' : 'answers')).execute();
  }

  /** The same as their UTF-8 bytes (SQLite hands them over without making strings of them). */
  private async byteBlocksCovering(kind: 'inputs' | 'answers', receptionNumber: string, offset: number, end: number): Promise<ByteBlock[]> {
    const column = sql.ref<string>(kind === 'inputs' ? 'input' : 'answers');
    const sqlite = this.db.getExecutor().adapter instanceof SqliteAdapter;
    const text: RawBuilder<Buffer | string> = sqlite ? sql<Buffer>`cast(${column} as blob)` : column;
    const rows = await this.blocksQuery(kind, receptionNumber, offset, end, text).execute();
    return rows.map((b) => ({ first: Number(b.first_row), count: Number(b.row_count), bytes: typeof b.text === 'string' ? Buffer.from(b.text, 'utf8') : b.text }));
  }

  private blocksQuery<T>(kind: 'inputs' | 'answers', receptionNumber: string, offset: number, end: number, text: RawBuilder<T>) {
    return this.db
      .selectFrom(kind === 'inputs' ? 'batch_inquiry_input_blocks' : ('batch_inquiry_answer_blocks' as 'batch_inquiry_input_blocks'))
      .select(['first_row', 'row_count', text.as('text')])
      .where('reception_number', '=', receptionNumber)
      .where('first_row', '<=', end)
      // A block holds rows first_row … first_row + row_count - 1; the range asked is offset + 1 … end.
      .where(sql<number>`first_row + row_count`, '>', offset + 1)
      .orderBy('first_row');
  }

  /** Every result in row order, as the stored bytes, a page at a time (the CSV download). */
  allResultBytes(receptionNumber: string, pageSize = 10_000): AsyncGenerator<ByteResultPage> {
    return pages(pageSize, async (offset, end) => {
      const [answers, inputs] = await Promise.all([this.byteBlocksCovering('answers', receptionNumber, offset, end), this.byteBlocksCovering('inputs', receptionNumber, offset, end)]);
      const page: ByteResultPage = { offset, end, answers, inputs };
      let rows = 0;
      let last = offset;
      for (const b of answers) {
        const from = Math.max(offset + 1, b.first);
        const to = Math.min(end, b.first + b.count - 1);
        if (from <= to) {
          rows += to - from + 1;
          last = to;
        }
      }
      return { page, rows, last };
    });
  }

  /** Every result in row order, a page at a time (the XML download). */
  async *allResults(receptionNumber: string, pageSize = 10_000): AsyncGenerator<BatchResultRow> {
    const all = pages(pageSize, async (offset, end) => {
      const page = await this.encodedResults(receptionNumber, offset, end - offset);
      return { page, rows: page.rows.length, last: page.rows[page.rows.length - 1] };
    });
    for await (const page of all) yield* decodedPage(page);
  }

  // ------------------------------------------------------------ the runner

  /** Starts the runner: resumes every unfinished job, then waits for new ones. */
  start(): void {
    this.stopping = false;
    if (this.warmWorkers) this.warming = this.startWorkers().catch(() => undefined); // a failed start: the runner answers alone
    if (this.pollMs > 0 && !this.timer) {
      this.timer = setInterval(() => this.wake(), this.pollMs);
      this.timer.unref();
    }
    this.wake();
  }

  /** Lookup workers started, and those of them ready to answer (tests). */
  lookupWorkers(): { started: number; ready: number } {
    const workers = this.workers ?? [];
    return { started: workers.length, ready: workers.filter((w) => w.ready && !w.broken).length };
  }

  /** Stops after the chunk in progress is committed; unfinished jobs stay queued for the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.running) await this.running;
    await this.warming;
    const workers = this.workers;
    this.workers = undefined;
    if (workers) await Promise.all(workers.map((w) => w.stop()));
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

  /** Starts the lookup workers once, on a SQLite file (not in memory, not PostgreSQL). */
  private async startWorkers(): Promise<void> {
    if (this.workers || this.workerCount === 0 || this.stopping) return;
    if (!(this.db.getExecutor().adapter instanceof SqliteAdapter)) return;
    const main = await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(this.db);
    const path = main.rows[0]?.file;
    // Started meanwhile by the other caller (the warm start and a first large job), or stopping.
    if (this.workers || this.stopping) return;
    this.workers = path ? Array.from({ length: this.workerCount }, () => new LookupWorker(path)) : [];
  }

  /**
   * The encoded answers of a chunk's rows. With ready lookup workers the chunk is shared out in
   * parts: each worker keeps two parts in flight, this thread answers parts too, and a part whose
   * worker failed is answered here. Answers come back in row order whoever made them.
   */
  private async answer(rows: string[], now: Date, asOf: string): Promise<Answered> {
    const workers = (this.workers ?? []).filter((w) => w.ready && !w.broken);
    if (workers.length === 0) return answerRows(this.confirmation, rows, now, asOf, this.concurrency);
    const parts: string[][] = [];
    for (let i = 0; i < rows.length; i += WORKER_PART_ROWS) parts.push(rows.slice(i, i + WORKER_PART_ROWS));
    const done: Answered[] = new Array(parts.length);
    let next = 0;
    const here = async () => {
      while (next < parts.length) {
        const p = next++;
        done[p] = await answerRows(this.confirmation, parts[p], now, asOf, this.concurrency);
        // Let the workers' answers in (SQLite lookups resolve without a macrotask).
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const via = async (w: LookupWorker) => {
      while (next < parts.length) {
        const p = next++;
        try {
          done[p] = await w.answer(parts[p], now, asOf);
          this.stats.workerRows += parts[p].length;
        } catch {
          done[p] = await answerRows(this.confirmation, parts[p], now, asOf, this.concurrency);
        }
      }
    };
    await Promise.all([...workers.flatMap((w) => [via(w), via(w)]), here()]);
    const counts = { valid: 0, invalid: 0, error: 0 };
    for (const d of done) {
      counts.valid += d.counts.valid;
      counts.invalid += d.counts.invalid;
      counts.error += d.counts.error;
    }
    return { answers: done.flatMap((d) => d.answers), counts };
  }

  private async runJob(job: Selectable<BatchInquiriesTable>): Promise<void> {
    if (job.status === 'queued') {
      await this.db.updateTable('batch_inquiries').set({ status: 'running', started_at: this.clock().toISOString() }).where('reception_number', '=', job.reception_number).execute();
    }
    let processed = Number(job.processed_rows);
    if (Number(job.total_rows) - processed >= this.minWorkerRows) await this.startWorkers();
    while (!this.stopping) {
      const { rows, texts } = rowsOf(await this.blocksCovering('inputs', job.reception_number, processed, processed + this.chunkSize), processed, processed + this.chunkSize);
      if (rows.length === 0) {
        await this.db
          .updateTable('batch_inquiries')
          .set({ status: 'done', finished_at: this.clock().toISOString() })
          .where('reception_number', '=', job.reception_number)
          .execute();
        return;
      }
      const { answers: answered, counts } = await this.answer(texts, this.clock(), job.as_of);
      const last = processed + rows.length;
      if (rows[0] !== processed + 1 || rows[rows.length - 1] !== last) throw new Error(`batch ${job.reception_number}: rows after ${processed} are not contiguous`);
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
        await trx
          .insertInto('batch_inquiry_answer_blocks')
          .values({ reception_number: job.reception_number, first_row: processed + 1, row_count: answered.length, answers: answered.join(RS) })
          .execute();
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

/** The encoded rows offset+1 … end of some blocks (in first_row order) and their row numbers. */
function rowsOf(blocks: readonly { first_row: number; row_count: number; text: string }[], offset: number, end: number): { rows: number[]; texts: string[] } {
  const rows: number[] = [];
  const texts: string[] = [];
  for (const b of blocks) {
    const first = Number(b.first_row);
    const from = Math.max(0, offset + 1 - first);
    const to = Math.min(Number(b.row_count), end + 1 - first);
    if (from >= to) continue;
    const all = b.text.split(RS);
    for (let i = from; i < to; i++) {
      rows.push(first + i);
      texts.push(all[i]);
    }
  }
  return { rows, texts };
}

/**
 * The pages of rows offset+1 … offset+pageSize from offset 0 on, each page starting after the last
 * row of the one before, until a page is short. `read` says how many rows a page holds and its last.
 */
async function* pages<P>(pageSize: number, read: (offset: number, end: number) => Promise<{ page: P; rows: number; last: number }>): AsyncGenerator<P> {
  let offset = 0;
  for (;;) {
    const { page, rows, last } = await read(offset, offset + pageSize);
    if (rows > 0) yield page;
    if (rows < pageSize) return;
    offset = last;
  }
}

/** A page's rows decoded. */
function decodedPage(page: EncodedResultPage): BatchResultRow[] {
  const out: BatchResultRow[] = new Array(page.rows.length);
  for (let i = 0; i < out.length; i++) {
    const input = page.inputs[i];
    out[i] = { row: page.rows[i], input: input === undefined ? {} : decodeInput(input), answer: decodeAnswer(page.answers[i]) };
  }
  return out;
}
