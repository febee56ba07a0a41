// Bounded bodies on a real listening server: a client streams past each route's limit (small limits
// through the configuration) and keeps writing; the refusal must arrive within a second of the limit
// being crossed, the connection be closed rather than drained, the server's memory stay bounded,
// nothing be written, and /health answer right after.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app/build-app.ts';
import { MAX_LINE_CHARS } from '../../src/registry/import.ts';
import { createTestContext, storeKinds, type TestContext } from '../support/stores.ts';
import { adminHeaders, countMemberships, createFacility, createInsurer, expectMessages, memberBody, medicationRow, type TestFacility, type TestInsurer } from '../support/fixtures.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Limits of the app where bytes run out first (rows are plentiful) … */
const BYTES = 256 * KiB;
/** … and of the app where rows run out first (bytes are plentiful). */
const ROWS = 1000;

const MEMBER_COLUMNS = ['symbol', 'number', 'branch', 'name', 'nameKana', 'birthDate', 'sex', 'address', 'relationship', 'qualifiedFrom'];

interface Streamed {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** From the moment the client had written past `limitAt` bytes to the answer. */
  msAfterLimit: number;
  sent: number;
  /** Most the test process's RSS grew while the body was streaming. */
  rssGrowth: number;
}

/**
 * POSTs `first` and then `filler` again and again (chunked, as a streamed upload is), respecting
 * back-pressure, until the answer arrives, `maxBytes` are written or `maxMs` have passed.
 */
function streamPast(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: { first?: Buffer; filler: Buffer; limitAt: number; maxBytes?: number; maxMs?: number },
): Promise<Streamed> {
  const maxBytes = body.maxBytes ?? 512 * MiB;
  const maxMs = body.maxMs ?? 6000;
  const rssBefore = process.memoryUsage().rss;
  let rssMax = rssBefore;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 10);
  return new Promise<Streamed>((resolve, reject) => {
    const started = performance.now();
    let sent = 0;
    let crossedAt: number | undefined;
    let answered = false;
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { ...headers, 'transfer-encoding': 'chunked' } });
    req.on('response', (res) => {
      answered = true;
      const at = performance.now();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const done = () => {
        clearInterval(sampler);
        rssMax = Math.max(rssMax, process.memoryUsage().rss);
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), msAfterLimit: crossedAt === undefined ? Number.NaN : at - crossedAt, sent, rssGrowth: rssMax - rssBefore });
      };
      res.on('end', done);
      res.on('error', done);
    });
    // Writing into a connection the server closed after answering fails (EPIPE, ECONNRESET): expected.
    req.on('error', (e) => {
      if (!answered) {
        clearInterval(sampler);
        reject(e);
      }
    });
    const write = (chunk: Buffer): boolean => {
      sent += chunk.length;
      if (crossedAt === undefined && sent > body.limitAt) crossedAt = performance.now();
      return req.write(chunk);
    };
    const pump = () => {
      while (!answered && !req.destroyed) {
        if (sent >= maxBytes || performance.now() - started > maxMs) {
          req.end();
          return;
        }
        if (!write(body.filler)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    if (body.first && !write(body.first)) req.once('drain', pump);
    else pump();
  });
}

/** A buffer of `size` bytes made of `unit` repeated. */
function repeated(unit: string, size = 64 * KiB): Buffer {
  return Buffer.from(unit.repeat(Math.max(1, Math.floor(size / Buffer.byteLength(unit)))));
}

function csvOf(rows: Record<string, unknown>[]): string {
  return rows.map((r) => MEMBER_COLUMNS.map((c) => String(r[c] ?? '')).join(',')).join('\n') + '\n';
}

/** `n` valid new members with distinct numbers. */
function members(n: number, from = 1): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => memberBody({ number: String(100000 + from + i) }));
}

describe.each(storeKinds)('bounded bodies on a listening server (%s)', (kind) => {
  let ctx: TestContext;
  const apps: FastifyInstance[] = [];
  /** Port of the app with small byte limits, and of the app with small row limits. */
  let bytesPort: number;
  let rowsPort: number;
  let insurer: TestInsurer;
  let facility: TestFacility;

  async function listen(overrides: Partial<TestContext['config']>): Promise<number> {
    const app = await buildApp({ ...ctx, config: { ...ctx.config, ...overrides } });
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    return (app.server.address() as AddressInfo).port;
  }

  beforeAll(async () => {
    ctx = await createTestContext(kind);
    bytesPort = await listen({
      limitJsonBytes: 64 * KiB,
      limitImportBytes: BYTES,
      limitBatchBytes: BYTES,
      limitInterfaceBytes: BYTES,
      limitFeedBytes: BYTES,
      limitImportRows: 1_000_000,
      limitBatchRows: 200_000,
    });
    rowsPort = await listen({ limitImportBytes: 64 * MiB, limitBatchBytes: 64 * MiB, limitImportRows: ROWS, limitBatchRows: ROWS });
    insurer = await createInsurer(apps[0]);
    facility = await createFacility(apps[0]);
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await ctx?.dispose();
  });

  async function expectHealthy(port: number): Promise<void> {
    const started = performance.now();
    const r = await fetch(`http://127.0.0.1:${port}/health`);
    expect(r.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
  }

  /** A prompt 413 in the catalogue shape, the connection closed, memory bounded. */
  function expectRefused(r: Streamed, code: string, details: Record<string, unknown>): void {
    expect(r.status, r.body).toBe(413);
    const body = JSON.parse(r.body) as Record<string, unknown>;
    expect(body).toMatchObject({ code, ...details });
    expectMessages(body);
    expect(r.headers.connection).toBe('close');
    expect(r.msAfterLimit).toBeLessThan(1000);
    expect(r.rssGrowth).toBeLessThan(64 * MiB);
  }

  const csv = { 'content-type': 'text/csv' };
  const ndjson = { 'content-type': 'application/x-ndjson' };
  const importPath = () => `/v1/insurers/${insurer.insurerNumber}/members/import`;

  async function batchCount(): Promise<number> {
    const r = await ctx.database.db
      .selectFrom('batch_inquiries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('facility_code', '=', facility.code)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  it('refuses a JSON body past the global limit (Fastify-read) with ONSHI_BODY_TOO_LARGE', async () => {
    const r = await streamPast(bytesPort, '/v1/confirmations', { ...facility.headers, 'content-type': 'application/json' }, {
      first: Buffer.from('{"insurerNumber":"'),
      filler: repeated('1'),
      limitAt: 64 * KiB,
    });
    expectRefused(r, 'ONSHI_BODY_TOO_LARGE', {});
    await expectHealthy(bytesPort);
  });

  it('refuses a member import (CSV) past its byte limit, importing nothing', async () => {
    // Valid rows well past the first insert batch, then a cell that never ends.
    const first = Buffer.from(MEMBER_COLUMNS.join(',') + '\n' + csvOf(members(900)) + '12,');
    const r = await streamPast(bytesPort, importPath(), { ...insurer.headers, ...csv }, { first, filler: repeated('7'), limitAt: BYTES });
    expectRefused(r, 'ONSHI_BODY_TOO_LARGE', { limitBytes: BYTES });
    expect(await countMemberships(ctx, insurer.insurerNumber)).toBe(0);
    await expectHealthy(bytesPort);
  });

  it('refuses a member import (NDJSON) past its byte limit, importing nothing', async () => {
    const lines = (rows: Record<string, unknown>[]) => rows.map((m) => JSON.stringify(m)).join('\n') + '\n';
    const first = Buffer.from(lines(members(700)) + '{"name":"');
    const r = await streamPast(bytesPort, importPath(), { ...insurer.headers, ...ndjson }, { first, filler: repeated('山'), limitAt: BYTES });
    expectRefused(r, 'ONSHI_BODY_TOO_LARGE', { limitBytes: BYTES });
    expect(await countMemberships(ctx, insurer.insurerNumber)).toBe(0);
    await expectHealthy(bytesPort);
  });

  it('refuses a member import (CSV and NDJSON) at the first row past the row limit, importing nothing', async () => {
    const header = MEMBER_COLUMNS.join(',') + '\n';
    const rowLength = Buffer.byteLength(csvOf(members(1)));
    const csvRun = await streamPast(rowsPort, importPath(), { ...insurer.headers, ...csv }, {
      first: Buffer.from(header + csvOf(members(ROWS + 200))),
      filler: Buffer.from(csvOf(members(500, 5000))),
      limitAt: header.length + ROWS * rowLength,
    });
    expectRefused(csvRun, 'ONSHI_IMPORT_TOO_MANY_ROWS', { maxRows: ROWS });
    expect(csvRun.sent).toBeLessThan(64 * MiB);

    const lines = (rows: Record<string, unknown>[]) => rows.map((m) => JSON.stringify(m)).join('\n') + '\n';
    const ndjsonRun = await streamPast(rowsPort, importPath(), { ...insurer.headers, ...ndjson }, {
      first: Buffer.from(lines(members(ROWS + 200))),
      filler: Buffer.from(lines(members(500, 5000))),
      limitAt: Buffer.byteLength(lines(members(ROWS))),
    });
    expectRefused(ndjsonRun, 'ONSHI_IMPORT_TOO_MANY_ROWS', { maxRows: ROWS });
    expect(await countMemberships(ctx, insurer.insurerNumber)).toBe(0);
    await expectHealthy(rowsPort);
  });

  it('rejects a CSV or NDJSON line that never ends at the line bound, without holding more of it', async () => {
    const lineBytes = MAX_LINE_CHARS; // ASCII: a character is a byte
    for (const [type, first, field] of [
      [csv, MEMBER_COLUMNS.join(',') + '\n' + csvOf(members(10)) + '12,', 'csv'],
      [ndjson, '{"name":"', 'line'],
    ] as const) {
      const r = await streamPast(rowsPort, importPath(), { ...insurer.headers, ...type }, { first: Buffer.from(first), filler: repeated('7'), limitAt: lineBytes });
      expect(r.status, r.body).toBe(422);
      const body = JSON.parse(r.body) as { code: string; errors: { line: number; errors: { field: string; code: string }[] }[] };
      expect(body.code).toBe('ONSHI_IMPORT_REJECTED');
      expect(body.errors.at(-1)?.errors).toEqual([expect.objectContaining({ field, code: 'too_long' })]);
      expect(r.headers.connection).toBe('close');
      expect(r.msAfterLimit).toBeLessThan(1000);
      expect(r.sent).toBeLessThan(64 * MiB);
    }
    expect(await countMemberships(ctx, insurer.insurerNumber)).toBe(0);
  });

  it('refuses a statistics CSV import past the import byte limit, importing nothing', async () => {
    const before = await ctx.database.db.selectFrom('facilities').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const r = await streamPast(bytesPort, '/v1/facilities/import', { ...adminHeaders, ...csv }, { first: Buffer.from('code,name,type\n1310000001,'), filler: repeated('名'), limitAt: BYTES });
    expectRefused(r, 'ONSHI_BODY_TOO_LARGE', { limitBytes: BYTES });
    const after = await ctx.database.db.selectFrom('facilities').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    await expectHealthy(bytesPort);
  });

  it('refuses a declared Content-Length over the limit before reading the body', async () => {
    const r = await new Promise<{ status: number; body: string; connection?: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: bytesPort, path: importPath(), method: 'POST', agent: false, headers: { ...insurer.headers, ...csv, 'content-length': String(BYTES + 1) } });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), connection: res.headers.connection }));
      });
      req.on('error', reject);
      req.flushHeaders(); // headers only: the body is never sent
    });
    expect(r.status, r.body).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'ONSHI_BODY_TOO_LARGE', limitBytes: BYTES });
    expect(r.connection).toBe('close');
  });

  it('answers a streamed upload without a credential at once and closes the connection instead of draining it', async () => {
    const r = await streamPast(bytesPort, importPath(), csv, { first: Buffer.from(MEMBER_COLUMNS.join(',') + '\n'), filler: repeated('1,'), limitAt: 0 });
    expect(r.status, r.body).toBe(401);
    expect(r.headers.connection).toBe('close');
    expect(r.msAfterLimit).toBeLessThan(1000);
  });

  it('refuses a batch inquiry (CSV) past its byte limit, submitting nothing', async () => {
    const header = 'insurerNumber,symbol,number,branch,birthDate\n';
    const r = await streamPast(bytesPort, '/v1/batch-inquiries', { ...facility.headers, ...csv }, {
      first: Buffer.from(header),
      filler: repeated(`${insurer.insurerNumber},12,3456,00,1980-04-01\n`),
      limitAt: BYTES,
    });
    expectRefused(r, 'ONSHI_BODY_TOO_LARGE', { limitBytes: BYTES });
    expect(await batchCount()).toBe(0);
    await expectHealthy(bytesPort);
  });

  it('refuses a batch inquiry (CSV) as soon as it has more rows than allowed, submitting nothing', async () => {
    const header = 'insurerNumber,symbol,number,branch,birthDate\n';
    const row = `${insurer.insurerNumber},12,3456,00,1980-04-01\n`;
    const r = await streamPast(rowsPort, '/v1/batch-inquiries', { ...facility.headers, ...csv }, {
      first: Buffer.from(header + row.repeat(ROWS - 1) + `"${insurer.insurerNumber}","1\n2",3456,00,1980-04-01\n`),
      filler: repeated(row),
      limitAt: header.length + ROWS * row.length,
    });
    expectRefused(r, 'ONSHI_BATCH_TOO_MANY_ROWS', { maxRows: ROWS });
    expect(await batchCount()).toBe(0);
    await expectHealthy(rowsPort);
  });

  it('refuses a batch inquiry (JSON) past its byte limit, and one with too many rows', async () => {
    const row = JSON.stringify({ insurerNumber: insurer.insurerNumber, symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01' });
    const r = await streamPast(bytesPort, '/v1/batch-inquiries', { ...facility.headers, 'content-type': 'application/json' }, {
      first: Buffer.from(`{"rows":[${row}`),
      filler: repeated(`,${row}`),
      limitAt: BYTES,
    });
    expectRefused(r, 'ONSHI_BODY_TOO_LARGE', {});

    const many = await fetch(`http://127.0.0.1:${rowsPort}/v1/batch-inquiries`, {
      method: 'POST',
      headers: { ...facility.headers, 'content-type': 'application/json' },
      body: `{"rows":[${Array.from({ length: ROWS + 1 }, () => row).join(',')}]}`,
    });
    expect(many.status).toBe(413);
    expect(await many.json()).toMatchObject({ code: 'ONSHI_BATCH_TOO_MANY_ROWS', maxRows: ROWS, rows: ROWS + 1 });
    expect(await batchCount()).toBe(0);
    await expectHealthy(bytesPort);
  });

  it('answers an interface request file past its limit with the interface error result, processing nothing', async () => {
    const r = await streamPast(bytesPort, '/v1/interface/OQSmuquc01req_big.xml', { ...facility.headers, 'content-type': 'application/xml' }, {
      first: Buffer.from('<?xml version="1.0" encoding="UTF-8"?><XmlMsg><MessageHeader><ArbitraryFileIdentifier>'),
      filler: repeated('A'),
      limitAt: BYTES,
    });
    // The interface answers refusals with a result file (SegmentOfResult 9), as it does any request it cannot process.
    expect(r.status, r.body).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/xml/);
    expect(r.headers['x-onshi-segment-of-result']).toBe('9');
    expect(r.body).toContain('<SegmentOfResult>9</SegmentOfResult>');
    expect(r.body).toContain('<ErrorCode>ONSI1010E</ErrorCode>');
    expect(r.body).toContain('リクエストの本文が上限を超えています');
    expect(r.headers['content-disposition']).toContain('OQSmuquc01res_big.xml');
    expect(r.headers.connection).toBe('close');
    expect(r.msAfterLimit).toBeLessThan(1000);
    expect(r.rssGrowth).toBeLessThan(64 * MiB);
    expect(await batchCount()).toBe(0);
    await expectHealthy(bytesPort);
  });

  it('refuses a claims feed (NDJSON) past its byte limit, loading nothing', async () => {
    const line = JSON.stringify(medicationRow(insurer.insurerNumber)) + '\n';
    const r = await streamPast(bytesPort, '/v1/claims/medications', { ...adminHeaders, ...ndjson }, { first: Buffer.from(line), filler: repeated(line), limitAt: BYTES });
    expectRefused(r, 'ONSHI_BODY_TOO_LARGE', { limitBytes: BYTES });
    const loaded = await ctx.database.db.selectFrom('medications').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(loaded.n)).toBe(0);
    await expectHealthy(bytesPort);
  });
});
