// Batch inquiry (一括照会) in JSON and CSV: submit rows, poll the status, fetch the results.

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parse as parseCsv } from 'csv-parse';
import { Readable } from 'node:stream';
import { requireKind } from '../platform/auth.ts';
import { principalOf, type AuthGuard } from '../platform/http.ts';
import { closeIfBodyUnread, passThrough, requestBody } from '../platform/body-limit.ts';
import { OnshiError, fieldError } from '../platform/errors.ts';
import { errorResponses } from '../platform/http-schemas.ts';
import { csvHeader, csvOfPage } from './results-csv.ts';
import { MAX_BATCH_ROWS, type BatchRowInput, type BatchService } from './service.ts';

export interface BatchLimits {
  /** ONSHI_LIMIT_BATCH_BYTES: the body, CSV or JSON. */
  batchBytes: number;
  /** ONSHI_LIMIT_BATCH_ROWS: rows, at most the service's MAX_BATCH_ROWS. */
  batchRows: number;
}

const tooManyRows = (maxRows: number) => new OnshiError('ONSHI_BATCH_TOO_MANY_ROWS', { maxRows });

const ROW_FIELDS = ['insurerNumber', 'symbol', 'number', 'branch', 'birthDate', 'asOf'] as const;

function rowOf(v: unknown): BatchRowInput {
  const o = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const row: BatchRowInput = {};
  for (const f of ROW_FIELDS) {
    const x = o[f];
    // Values stay strings (leading zeros kept); a number given in JSON is taken as its digits.
    if (typeof x === 'string' && x !== '') row[f] = x;
    else if (typeof x === 'number') row[f] = String(x);
  }
  return row;
}

/** Streams a CSV body (header line naming the columns) into rows. */
export async function rowsOfCsv(stream: Readable, maxRows = MAX_BATCH_ROWS): Promise<BatchRowInput[]> {
  const rows: BatchRowInput[] = [];
  const parser = stream.pipe(
    parseCsv({ columns: (h: string[]) => h.map((c) => c.trim().replace(/^\ufeff/, '')), bom: true, skip_empty_lines: true, trim: true, relax_column_count: true }),
  );
  try {
    for await (const record of parser) {
      rows.push(rowOf(record));
      if (rows.length > maxRows) {
        stream.destroy();
        throw tooManyRows(maxRows);
      }
    }
  } catch (e) {
    if (e instanceof OnshiError) throw e;
    throw new OnshiError('ONSHI_REQUEST_INVALID', { errors: [fieldError('body', 'format', e instanceof Error ? e.message : 'CSV')] });
  }
  return rows;
}

/** Whitespace other than line breaks, or a quote: what csv-parse's trim and quoting would act on. */
const NOT_PLAIN = /[^\S\n\r]|"/;

/**
 * The rows of a CSV body with no quotes and no whitespace inside its lines (every line ending LF, or
 * every one CRLF), split directly: exactly what rowsOfCsv makes of such a body, in a fraction of the
 * time. Undefined for any other body (rowsOfCsv reads it).
 */
export function rowsOfPlainCsv(body: string, maxRows = MAX_BATCH_ROWS): BatchRowInput[] | undefined {
  if (body.charCodeAt(0) === 0xfeff) body = body.slice(1);
  let lines: string[];
  if (body.includes('\r')) {
    lines = body.split('\r\n');
    if (lines.some((l) => l.includes('\r') || l.includes('\n'))) return undefined;
  } else lines = body.split('\n');
  if (NOT_PLAIN.test(body)) return undefined;
  let header: string[] | undefined;
  const at: number[] = [];
  const rows: BatchRowInput[] = [];
  for (const line of lines) {
    if (line === '') continue;
    const fields = line.split(',');
    if (!header) {
      header = fields;
      if (new Set(header).size !== header.length) return undefined;
      for (const f of ROW_FIELDS) at.push(header.indexOf(f));
      continue;
    }
    if (fields.length > header.length) return undefined;
    const row: BatchRowInput = {};
    for (let k = 0; k < ROW_FIELDS.length; k++) {
      const x = at[k] < 0 ? undefined : fields[at[k]];
      if (x !== undefined && x !== '') row[ROW_FIELDS[k]] = x;
    }
    rows.push(row);
    if (rows.length > maxRows) throw tooManyRows(maxRows);
  }
  return rows;
}

/**
 * Counts, as bytes arrive, the lines of a CSV that certainly hold a record: a line end outside quotes
 * after some visible ASCII character. Never more than csv-parse would find (a line of spaces, or of
 * nothing but non-ASCII, is not counted), so a body is refused on it only when it surely has too many.
 * Like csv-parse, it takes the first line end outside quotes as the line end of the whole body: after
 * a CRLF, a bare LF is no line end; after a bare CR, it counts no further.
 */
export class CsvRecordCounter {
  records = 0;
  private quoted = false;
  private content = false;
  private eol: 'lf' | 'crlf' | 'cr' | undefined;
  private lastWasCR = false;

  count(chunk: Buffer): number {
    if (this.eol === 'cr') return this.records;
    let i = 0;
    if (this.eol === undefined || this.quoted || chunk.indexOf(0x22) !== -1) i = this.scan(chunk);
    if (i < chunk.length) this.lines(chunk, i); // scan() took all of a chunk once the line end is CR
    return this.records;
  }

  /** Byte by byte (quotes, and the first line end), until the chunk ends or the rest can be taken by lines(). */
  private scan(chunk: Buffer): number {
    let nextQuote = chunk.indexOf(0x22);
    let i = 0;
    for (; i < chunk.length; i++) {
      if (this.eol !== undefined && !this.quoted && nextQuote === -1) return i;
      const b = chunk[i];
      const afterCR = this.lastWasCR;
      this.lastWasCR = b === 0x0d;
      if (b === 0x22) {
        this.quoted = !this.quoted; // an escaped quote ("") toggles twice
        this.content = true;
        nextQuote = chunk.indexOf(0x22, i + 1);
      } else if (this.quoted) continue;
      else if (this.eol === undefined && afterCR && b !== 0x0a) {
        this.eol = 'cr';
        return chunk.length;
      } else if (b === 0x0a) {
        this.eol ??= afterCR ? 'crlf' : 'lf';
        if (this.eol === 'lf' || afterCR) this.lineEnd();
      } else if (b > 0x20 && b < 0x7f) this.content = true;
    }
    return i;
  }

  /** From `from` on, with no quote left in the chunk: from line end to line end. */
  private lines(chunk: Buffer, from: number): void {
    for (let end = chunk.indexOf(0x0a, from); end !== -1; from = end + 1, end = chunk.indexOf(0x0a, from)) {
      if (visibleIn(chunk, from, end)) this.content = true;
      const afterCR = end > 0 ? chunk[end - 1] === 0x0d : this.lastWasCR;
      if (this.eol === 'lf' || afterCR) this.lineEnd();
    }
    if (visibleIn(chunk, from, chunk.length)) this.content = true;
    this.lastWasCR = chunk[chunk.length - 1] === 0x0d;
  }

  private lineEnd(): void {
    if (this.content) this.records++;
    this.content = false;
  }
}

function visibleIn(chunk: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (chunk[i] > 0x20 && chunk[i] < 0x7f) return true;
  return false;
}

/**
 * A CSV body, read within the byte limit and refused as soon as it surely has more rows than
 * allowed (the header is a line too); then split directly when plain, else through csv-parse.
 */
async function rowsOfCsvBody(request: FastifyRequest, limits: BatchLimits): Promise<BatchRowInput[]> {
  const chunks: Buffer[] = [];
  const counter = new CsvRecordCounter();
  for await (const c of requestBody(request, limits.batchBytes)) {
    chunks.push(c);
    if (counter.count(c) > limits.batchRows + 1) throw tooManyRows(limits.batchRows);
  }
  const bytes = Buffer.concat(chunks);
  return (await rowsOfPlainCsvInSlices(bytes.toString('utf8'), limits.batchRows)) ?? rowsOfCsv(Readable.from([bytes]), limits.batchRows);
}

/** About 4,000 rows of a plain CSV, read between two turns of the event loop (a few ms). */
const PLAIN_SLICE_CHARS = 1 << 17;

/**
 * rowsOfPlainCsv a slice of lines at a time, with a turn of the event loop between slices: a batch of
 * 100,000 rows read in one go held every confirmation for a few hundred milliseconds. The same rows
 * (or undefined) as rowsOfPlainCsv of the whole body.
 */
export async function rowsOfPlainCsvInSlices(body: string, maxRows = MAX_BATCH_ROWS, sliceChars = PLAIN_SLICE_CHARS): Promise<BatchRowInput[] | undefined> {
  if (body.charCodeAt(0) === 0xfeff) body = body.slice(1);
  const eol = body.includes('\r') ? '\r\n' : '\n';
  const headerEnd = body.indexOf(eol);
  // A short body, or one whose first line is not its header (rowsOfPlainCsv skips empty lines), in one go.
  if (body.length <= sliceChars || headerEnd <= 0 || headerEnd + eol.length >= body.length) return rowsOfPlainCsv(body, maxRows);
  const header = body.slice(0, headerEnd);
  const rows: BatchRowInput[] = [];
  for (let start = headerEnd + eol.length; start < body.length; ) {
    const next = body.indexOf(eol, Math.min(body.length, start + sliceChars));
    const end = next < 0 ? body.length : next + eol.length;
    const part = rowsOfPlainCsv(header + eol + body.slice(start, end), maxRows);
    if (part === undefined) return undefined;
    for (const row of part) rows.push(row);
    if (rows.length > maxRows) throw tooManyRows(maxRows);
    start = end;
    if (start < body.length) await new Promise<void>((ok) => setImmediate(ok));
  }
  return rows;
}

const SummarySchema = Type.Object({
  receptionNumber: Type.String(),
  status: Type.String({ description: 'queued | running | done' }),
  source: Type.String(),
  asOf: Type.String(),
  totalRows: Type.Integer(),
  processedRows: Type.Integer(),
  validRows: Type.Integer(),
  invalidRows: Type.Integer(),
  errorRows: Type.Integer(),
  createdAt: Type.String(),
  startedAt: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
});

export const batchRoutes: FastifyPluginAsync<{ batch: BatchService; auth: AuthGuard; limits: BatchLimits }> = async (plugin, { batch, auth, limits }) => {
  const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
  // CSV is counted as it arrives (rowsOfCsvBody); JSON is read by Fastify within the route's bodyLimit.
  app.addContentTypeParser('text/csv', passThrough);

  app.post('/v1/batch-inquiries', {
    preHandler: auth('facility'),
    bodyLimit: limits.batchBytes,
    onSend: closeIfBodyUnread,
    schema: {
      tags: ['batch'],
      summary: 'Submit a batch inquiry (一括照会): card-number rows in JSON or CSV',
      description:
        `JSON \`{rows:[{insurerNumber,symbol,number,branch,birthDate,asOf?}]}\` or \`text/csv\` with a header line naming those columns; up to ${limits.batchRows} rows and ${limits.batchBytes} bytes ` +
        '(ONSHI_LIMIT_BATCH_ROWS, ONSHI_LIMIT_BATCH_BYTES; 413 the moment either is passed). ' +
        'Answers 202 with the reception number; the rows are confirmed in the background (not usage events: a batch inquiry before visits is not a reception confirmation).',
      response: { 202: SummarySchema, 400: errorResponses[400], 401: errorResponses[401], 403: errorResponses[403], 413: errorResponses[400] },
    },
    handler: async (request, reply) => {
      const facility = requireKind(principalOf(request), 'facility');
      let rows: BatchRowInput[];
      if (request.body instanceof Readable) rows = await rowsOfCsvBody(request, limits);
      else {
        const list = (request.body as { rows?: unknown } | null)?.rows;
        if (!Array.isArray(list)) throw new OnshiError('ONSHI_REQUEST_INVALID', { errors: [fieldError('rows', 'required')] });
        if (list.length > limits.batchRows) throw new OnshiError('ONSHI_BATCH_TOO_MANY_ROWS', { maxRows: limits.batchRows, rows: list.length });
        rows = list.map(rowOf);
      }
      const summary = await batch.submit(facility.facilityCode, rows, request.body instanceof Readable ? 'csv' : 'json');
      return reply.status(202).send(summary);
    },
  });

  app.get('/v1/batch-inquiries/:receptionNumber', {
    preHandler: auth('facility'),
    schema: {
      tags: ['batch'],
      summary: "A batch inquiry's status and, when done, each row's result (有効/無効/エラー)",
      params: Type.Object({ receptionNumber: Type.String() }),
      querystring: Type.Object({ offset: Type.Optional(Type.Integer({ minimum: 0 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })) }),
      response: { 200: Type.Unknown({ description: 'The summary; when done also offset, nextOffset and rows [{row, input, result, …the confirmation answer}]' }), 401: errorResponses[401], 403: errorResponses[403], 404: errorResponses[404] },
    },
    handler: async (request) => {
      const facility = requireKind(principalOf(request), 'facility');
      const summary = await batch.get(facility.facilityCode, request.params.receptionNumber);
      const { meta: _meta, ...status } = summary;
      if (summary.status !== 'done') return status;
      const offset = request.query.offset ?? 0;
      const limit = request.query.limit ?? 10000;
      const rows = await batch.results(summary.receptionNumber, offset, limit);
      const nextOffset = offset + rows.length < summary.totalRows ? offset + rows.length : null;
      return { ...status, offset, nextOffset, rows: rows.map((r) => ({ row: r.row, input: { ...r.input, search: undefined, limitConsent: undefined }, ...r.answer })) };
    },
  });

  app.get('/v1/batch-inquiries/:receptionNumber/results.csv', {
    preHandler: auth('facility'),
    schema: {
      tags: ['batch'],
      summary: 'The results of a finished batch inquiry as CSV (UTF-8, header line)',
      params: Type.Object({ receptionNumber: Type.String() }),
      response: { 200: Type.Unknown({ description: 'text/csv' }), 401: errorResponses[401], 403: errorResponses[403], 404: errorResponses[404], 409: errorResponses[409] },
    },
    handler: async (request, reply) => {
      const facility = requireKind(principalOf(request), 'facility');
      const summary = await batch.get(facility.facilityCode, request.params.receptionNumber);
      if (summary.status !== 'done') throw new OnshiError('ONSHI_BATCH_PROCESSING', { status: summary.status, processedRows: summary.processedRows, totalRows: summary.totalRows });
      const lines = Readable.from(
        (async function* () {
          yield csvHeader();
          // Rows straight from their stored bytes, in chunks of a few hundred kilobytes.
          // A page of 2,000 rows at a time, with a turn of the event loop after each: the confirmations
          // in flight are answered between pages (the loopback takes the bytes as fast as they come).
          for await (const page of batch.allResultBytes(summary.receptionNumber, 2_000)) {
            yield* csvOfPage(page);
            await new Promise<void>((ok) => setImmediate(ok));
          }
        })(),
        { objectMode: false },
      );
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="batch-${summary.receptionNumber}.csv"`);
      return reply.send(lines);
    },
  });
};
