// Batch inquiry (一括照会) in JSON and CSV on both stores: acceptance, status, results, CSV download,
// isolation between facilities, no usage events, ≥100,000 rows, and a restart in the middle of a job.

import { describe, expect, it, beforeAll } from 'vitest';
import { parse } from 'csv-parse/sync';
import { createContext } from '../../src/app/context.ts';
import { buildApp } from '../../src/app/build-app.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createStore, storeKinds, TEST_ADMIN_TOKEN } from '../support/stores.ts';
import { addMember, createFacility, createInsurer, expectError, terminateMember, useApp, type TestFacility, type TestInsurer } from '../support/fixtures.ts';
import { answerRows } from '../../src/batch/answer.ts';
import { encodeInput } from '../../src/batch/codec.ts';
import { LookupWorker } from '../../src/batch/lookup-pool.ts';
import { batchMigrations } from '../../src/batch/migrations.ts';
import { typesFor } from '../../src/migrations/types.ts';
import { sql } from 'kysely';

const card = (insurerNumber: string, overrides: Record<string, unknown> = {}) => ({ insurerNumber, symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01', asOf: '2024-11-25', ...overrides });

describe.each(storeKinds)('batch inquiries (%s)', (kind) => {
  const h = useApp(kind);
  let insurer: TestInsurer;
  let facility: TestFacility;
  let other: TestFacility;

  beforeAll(async () => {
    insurer = await createInsurer(h.app);
    facility = await createFacility(h.app);
    other = await createFacility(h.app);
    await addMember(h.app, insurer);
    const lost = await addMember(h.app, insurer, { number: '7777', name: '喪失　次郎', nameKana: 'ソウシツ　ジロウ' });
    expect((await terminateMember(h.app, insurer, lost.memberId, { lostOn: '2024-10-01', lossReason: 'other_insurance' })).statusCode).toBe(200);
  });

  async function submitJson(rows: unknown[], f: TestFacility = facility) {
    return h.app.inject({ method: 'POST', url: '/v1/batch-inquiries', headers: f.headers, payload: { rows } });
  }

  async function waitDone(receptionNumber: string, f: TestFacility = facility) {
    await h.ctx.batch.idle();
    const r = await h.app.inject({ method: 'GET', url: `/v1/batch-inquiries/${receptionNumber}`, headers: f.headers });
    expect(r.statusCode, r.body).toBe(200);
    return r.json();
  }

  async function usageEvents(): Promise<number> {
    const r = await h.ctx.database.db.selectFrom('usage_events').select((eb) => eb.fn.countAll<number>().as('n')).where('facility_code', '=', facility.code).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  it('accepts JSON rows, answers each row 有効/無効/エラー, and records no usage events', async () => {
    const before = await usageEvents();
    const r = await submitJson([
      card(insurer.insurerNumber),
      card(insurer.insurerNumber, { number: '7777' }),
      card(insurer.insurerNumber, { number: '9999' }),
      card(insurer.insurerNumber, { birthDate: '' }),
      { ...card(insurer.insurerNumber), asOf: undefined },
    ]);
    expect(r.statusCode, r.body).toBe(202);
    const accepted = r.json();
    expect(accepted).toMatchObject({ status: 'queued', totalRows: 5, processedRows: 0, source: 'json' });
    const done = await waitDone(accepted.receptionNumber);
    expect(done).toMatchObject({ status: 'done', totalRows: 5, processedRows: 5, validRows: 2, invalidRows: 2, errorRows: 1, nextOffset: null });
    expect(done.rows.map((x: any) => [x.row, x.result, x.reason ?? x.code ?? null])).toEqual([
      [1, 'valid', null],
      [2, 'invalid', 'eligibility_lost'],
      [3, 'invalid', 'no_such_member'],
      [4, 'error', 'ONSHI_CONFIRMATION_INVALID_INPUT'],
      [5, 'valid', null],
    ]);
    expect(done.rows[0].member).toMatchObject({ name: '山田　太郎', insurerNumber: insurer.insurerNumber });
    expect(done.rows[0].input).toEqual(card(insurer.insurerNumber));
    expect(done.rows[1].details).toMatchObject({ lostOn: '2024-10-01' });
    expect(done.rows[3].errors.map((e: any) => `${e.field}:${e.code}`)).toEqual(['birthDate:required']);
    expect(done.rows[0]).not.toHaveProperty('confirmationId');
    expect(await usageEvents()).toBe(before);
    const page = (await h.app.inject({ method: 'GET', url: `/v1/batch-inquiries/${accepted.receptionNumber}?offset=1&limit=2`, headers: facility.headers })).json();
    expect(page.rows.map((x: any) => x.row)).toEqual([2, 3]);
    expect(page.nextOffset).toBe(3);
  });

  it('accepts CSV (leading zeros kept) and downloads the results as CSV', async () => {
    const csv = `insurerNumber,symbol,number,branch,birthDate,asOf\n${insurer.insurerNumber},12,3456,00,1980-04-01,2024-11-25\n${insurer.insurerNumber},12,03456,00,1980-04-01,2024-11-25\n`;
    const r = await h.app.inject({ method: 'POST', url: '/v1/batch-inquiries', headers: { ...facility.headers, 'content-type': 'text/csv' }, payload: csv });
    expect(r.statusCode, r.body).toBe(202);
    const { receptionNumber, source } = r.json();
    expect(source).toBe('csv');
    const done = await waitDone(receptionNumber);
    expect(done.rows.map((x: any) => [x.input.number, x.result])).toEqual([
      ['3456', 'valid'],
      ['03456', 'invalid'],
    ]);
    const file = await h.app.inject({ method: 'GET', url: `/v1/batch-inquiries/${receptionNumber}/results.csv`, headers: facility.headers });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toContain('text/csv');
    const records = parse(file.body, { columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ row: '1', insurerNumber: insurer.insurerNumber, number: '3456', result: 'valid', name: '山田　太郎', birthDate: '1980-04-01' });
    expect(records[1]).toMatchObject({ row: '2', number: '03456', result: 'invalid', reason: 'no_such_member' });
  });

  it('shows a batch only to its facility (others get 404) and refuses empty or malformed submissions', async () => {
    const { receptionNumber } = (await submitJson([card(insurer.insurerNumber)])).json();
    await waitDone(receptionNumber);
    expectError(await h.app.inject({ method: 'GET', url: `/v1/batch-inquiries/${receptionNumber}`, headers: other.headers }), 404, 'ONSHI_BATCH_NOT_FOUND');
    expectError(await h.app.inject({ method: 'GET', url: `/v1/batch-inquiries/${receptionNumber}/results.csv`, headers: other.headers }), 404, 'ONSHI_BATCH_NOT_FOUND');
    expectError(await h.app.inject({ method: 'GET', url: '/v1/batch-inquiries/nope', headers: facility.headers }), 404, 'ONSHI_BATCH_NOT_FOUND');
    expectError(await submitJson([]), 400, 'ONSHI_BATCH_EMPTY');
    expectError(await h.app.inject({ method: 'POST', url: '/v1/batch-inquiries', headers: facility.headers, payload: { nothing: 1 } }), 400, 'ONSHI_REQUEST_INVALID');
    expectError(await h.app.inject({ method: 'POST', url: '/v1/batch-inquiries', headers: { ...facility.headers, 'content-type': 'text/csv' }, payload: 'insurerNumber\n' }), 400, 'ONSHI_BATCH_EMPTY');
    expectError(await h.app.inject({ method: 'POST', url: '/v1/batch-inquiries', headers: insurer.headers, payload: { rows: [card(insurer.insurerNumber)] } }), 403, 'ONSHI_AUTH_FORBIDDEN');
  });

  it('answers 409 for the CSV while the batch is still running', async () => {
    await h.ctx.batch.stop();
    const { receptionNumber } = (await submitJson([card(insurer.insurerNumber)])).json();
    expectError(await h.app.inject({ method: 'GET', url: `/v1/batch-inquiries/${receptionNumber}/results.csv`, headers: facility.headers }), 409, 'ONSHI_BATCH_PROCESSING');
    const status = (await h.app.inject({ method: 'GET', url: `/v1/batch-inquiries/${receptionNumber}`, headers: facility.headers })).json();
    expect(status.status).toBe('queued');
    expect(status).not.toHaveProperty('rows');
    h.ctx.batch.start();
    expect((await waitDone(receptionNumber)).status).toBe('done');
  });

  it('processes 100,000 CSV rows', async () => {
    const lines = ['insurerNumber,symbol,number,branch,birthDate'];
    for (let i = 0; i < 100_000; i++) lines.push(i % 2 === 0 ? `${insurer.insurerNumber},12,3456,00,1980-04-01` : `${insurer.insurerNumber},12,${String(i).padStart(6, '0')},00,1980-04-01`);
    const started = Date.now();
    const r = await h.app.inject({ method: 'POST', url: '/v1/batch-inquiries', headers: { ...facility.headers, 'content-type': 'text/csv' }, payload: lines.join('\n') });
    expect(r.statusCode, r.body).toBe(202);
    const { receptionNumber } = r.json();
    await h.ctx.batch.idle();
    const s = (await h.app.inject({ method: 'GET', url: `/v1/batch-inquiries/${receptionNumber}?limit=1`, headers: facility.headers })).json();
    expect(s).toMatchObject({ status: 'done', totalRows: 100_000, processedRows: 100_000, validRows: 50_000, invalidRows: 50_000, errorRows: 0 });
    process.stdout.write(`[${kind}] 100,000-row batch inquiry: ${((100_000 / (Date.now() - started)) * 1000).toFixed(0)} rows/s end to end\n`);
  }, 180_000);
});

describe.each(storeKinds)('a batch survives a restart in the middle (%s)', (kind) => {
  it('resumes where the last committed chunk ended, answering every row exactly once', async () => {
    const store = await createStore(kind);
    const config = loadConfig({ ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ONSHI_LOG_LEVEL: 'silent', ONSHI_DEMO_DATA: 'false' });
    try {
      const first = await createContext(config, { batch: { chunkSize: 100, pollMs: 0 } });
      const app = await buildApp(first);
      const insurer = await createInsurer(app);
      const facility = await createFacility(app);
      await addMember(app, insurer);
      const rows = Array.from({ length: 20_000 }, (_, i) => card(insurer.insurerNumber, i % 3 === 0 ? {} : { number: String(10_000 + i) }));
      const r = await app.inject({ method: 'POST', url: '/v1/batch-inquiries', headers: facility.headers, payload: { rows } });
      expect(r.statusCode, r.body).toBe(202);
      const { receptionNumber } = r.json();
      // Close as soon as some chunks are committed (200 chunks in all: far from done).
      while (first.batch.stats.chunks < 2) await new Promise((resolve) => setImmediate(resolve));
      await app.close();
      await first.close();

      // The rest with a lookup worker (SQLite file) beside the runner, once it is up.
      const second = await createContext(config, { batch: { chunkSize: 100, pollMs: 0, run: false, workers: 1, minWorkerRows: 0 } });
      const midway = await second.database.db.selectFrom('batch_inquiries').selectAll().where('reception_number', '=', receptionNumber).executeTakeFirstOrThrow();
      expect(midway.status).toBe('running');
      expect(Number(midway.processed_rows)).toBeGreaterThan(0);
      expect(Number(midway.processed_rows)).toBeLessThan(20_000);
      expect(Number(midway.processed_rows) % 100).toBe(0);
      const stored = await second.database.db.selectFrom('batch_inquiry_answer_blocks').select((eb) => eb.fn.sum<number>('row_count').as('n')).where('reception_number', '=', receptionNumber).executeTakeFirstOrThrow();
      expect(Number(stored.n)).toBe(Number(midway.processed_rows));
      second.batch.start();
      await second.batch.idle();
      const app2 = await buildApp(second);
      const done = (await app2.inject({ method: 'GET', url: `/v1/batch-inquiries/${receptionNumber}?limit=10000`, headers: facility.headers })).json();
      expect(done).toMatchObject({ status: 'done', totalRows: 20_000, processedRows: 20_000, validRows: 6667, invalidRows: 13_333, errorRows: 0, nextOffset: 10_000 });
      const rest = (await app2.inject({ method: 'GET', url: `/v1/batch-inquiries/${receptionNumber}?offset=10000&limit=10000`, headers: facility.headers })).json();
      done.rows.push(...rest.rows);
      expect(done.rows.map((x: any) => x.row)).toEqual(Array.from({ length: 20_000 }, (_, i) => i + 1));
      expect(done.rows.every((x: any, i: number) => x.result === (i % 3 === 0 ? 'valid' : 'invalid'))).toBe(true);
      await app2.close();
      await second.close();
    } finally {
      await store.drop();
    }
  }, 60_000);
});

describe('lookup workers started with the runner (warmWorkers, as the server does)', () => {
  it('are ready before any job and answer a job from its first chunk; a stop while they start leaves none behind', async () => {
    const store = await createStore('sqlite');
    const config = loadConfig({ ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ONSHI_LOG_LEVEL: 'silent', ONSHI_DEMO_DATA: 'false' });
    try {
      // A job would never start them itself here (minWorkerRows): only the warm start does.
      const ctx = await createContext(config, { batch: { chunkSize: 100, pollMs: 0, workers: 1, minWorkerRows: 1e9, warmWorkers: true } });
      const app = await buildApp(ctx);
      const insurer = await createInsurer(app);
      const facility = await createFacility(app);
      await addMember(app, insurer);
      const started = Date.now();
      while (ctx.batch.lookupWorkers().ready === 0) {
        expect(Date.now() - started).toBeLessThan(20_000);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const rows = Array.from({ length: 1000 }, (_, i) => card(insurer.insurerNumber, i % 2 === 0 ? {} : { number: String(10_000 + i) }));
      const r = await app.inject({ method: 'POST', url: '/v1/batch-inquiries', headers: facility.headers, payload: { rows } });
      expect(r.statusCode, r.body).toBe(202);
      await ctx.batch.idle();
      const done = (await app.inject({ method: 'GET', url: `/v1/batch-inquiries/${r.json().receptionNumber}?limit=1`, headers: facility.headers })).json();
      expect(done).toMatchObject({ status: 'done', processedRows: 1000, validRows: 500, invalidRows: 500 });
      expect(ctx.batch.stats.workerRows).toBeGreaterThan(0);
      await app.close();
      await ctx.close();
      expect(ctx.batch.lookupWorkers()).toEqual({ started: 0, ready: 0 });

      // Stopped at once: the start in flight gives up.
      const again = await createContext(config, { batch: { pollMs: 0, workers: 1, warmWorkers: true } });
      await again.batch.stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(again.batch.lookupWorkers()).toEqual({ started: 0, ready: 0 });
      await again.close();
    } finally {
      await store.drop();
    }
  }, 60_000);
});

describe('a lookup worker (sqlite)', () => {
  it('answers rows exactly as the runner does on its own thread', async () => {
    const store = await createStore('sqlite');
    const config = loadConfig({ ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ONSHI_LOG_LEVEL: 'silent', ONSHI_DEMO_DATA: 'false' });
    try {
      const ctx = await createContext(config, { batch: { run: false } });
      const app = await buildApp(ctx);
      const insurer = await createInsurer(app);
      await addMember(app, insurer);
      const lost = await addMember(app, insurer, { number: '7777', name: '喪失　次郎', nameKana: 'ソウシツ　ジロウ' });
      expect((await terminateMember(app, insurer, lost.memberId, { lostOn: '2024-10-01', lossReason: 'other_insurance' })).statusCode).toBe(200);
      const rows = [
        card(insurer.insurerNumber),
        { ...card(insurer.insurerNumber), limitConsent: true },
        card(insurer.insurerNumber, { number: '7777' }),
        card(insurer.insurerNumber, { number: '9999' }),
        card(insurer.insurerNumber, { birthDate: '' }),
        { ...card(insurer.insurerNumber), asOf: undefined },
      ].map(encodeInput);
      const worker = new LookupWorker(store.url.slice('sqlite:'.length));
      try {
        while (!worker.ready) {
          expect(worker.broken).toBe(false);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const now = new Date('2024-11-25T03:00:00Z');
        const theirs = await worker.answer(rows, now, '2024-11-24');
        expect(theirs).toStrictEqual(await answerRows(ctx.confirmation, rows, now, '2024-11-24'));
        expect(theirs.counts).toEqual({ valid: 3, invalid: 2, error: 1 });
      } finally {
        await worker.stop();
      }
      await app.close();
      await ctx.close();
    } finally {
      await store.drop();
    }
  }, 60_000);
});

describe.each(storeKinds)('batches stored before the blocks (%s)', (kind) => {
  it('are moved into blocks by 0008b: a half-done job resumes and every row reads as before', async () => {
    const store = await createStore(kind);
    const config = loadConfig({ ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ONSHI_LOG_LEVEL: 'silent', ONSHI_DEMO_DATA: 'false' });
    try {
      const ctx = await createContext(config, { batch: { run: false, pollMs: 0 } });
      const app = await buildApp(ctx);
      const insurer = await createInsurer(app);
      const facility = await createFacility(app);
      await addMember(app, insurer);
      const rows = [card(insurer.insurerNumber), card(insurer.insurerNumber, { number: '9999' }), card(insurer.insurerNumber, { birthDate: '' })];
      const submit = async () => (await app.inject({ method: 'POST', url: '/v1/batch-inquiries', headers: facility.headers, payload: { rows } })).json().receptionNumber as string;
      await ctx.batch.stop(); // a submission wakes a runner that is not stopped
      const fresh = await submit();
      const legacy = await submit();
      // The legacy job as 0005 stored it: a JSON row per input, row 1 answered and committed.
      const db = ctx.database.db as any;
      await sql`drop table batch_inquiry_input_blocks`.execute(db);
      await sql`drop table batch_inquiry_answer_blocks`.execute(db);
      await sql`create table batch_inquiry_rows (reception_number text not null, row_no integer not null, input text not null, primary key (reception_number, row_no))`.execute(db);
      await sql`create table batch_inquiry_results (reception_number text not null, row_no integer not null, result text not null, answer text not null, primary key (reception_number, row_no))`.execute(db);
      for (const rn of [fresh, legacy]) {
        await db.insertInto('batch_inquiry_rows').values(rows.map((r, i) => ({ reception_number: rn, row_no: i + 1, input: JSON.stringify(r) }))).execute();
      }
      const now = new Date();
      const asOf = (await db.selectFrom('batch_inquiries').select('as_of').where('reception_number', '=', legacy).executeTakeFirstOrThrow()).as_of;
      const { answer: first } = await ctx.confirmation.evaluateCardNumbers({ ...rows[0] }, now);
      delete (first as { confirmationId?: string }).confirmationId;
      expect(first.result).toBe('valid');
      await db.insertInto('batch_inquiry_results').values({ reception_number: legacy, row_no: 1, result: 'valid', answer: JSON.stringify(first) }).execute();
      await db.updateTable('batch_inquiries').set({ status: 'running', processed_rows: 1, valid_rows: 1 }).where('reception_number', '=', legacy).execute();
      expect(asOf).toBeTruthy();

      await batchMigrations(typesFor(ctx.database.dialect))['0008b_batch_blocks'].up(db);
      ctx.batch.start();
      await ctx.batch.idle();
      const read = async (rn: string) => (await app.inject({ method: 'GET', url: `/v1/batch-inquiries/${rn}`, headers: facility.headers })).json();
      const [a, b] = [await read(fresh), await read(legacy)];
      expect(b).toMatchObject({ status: 'done', processedRows: 3, validRows: 1, invalidRows: 1, errorRows: 1 });
      expect(b.rows).toEqual(a.rows);
      expect(b.rows[0]).toEqual({ row: 1, input: rows[0], ...first });
      const csv = async (rn: string) => (await app.inject({ method: 'GET', url: `/v1/batch-inquiries/${rn}/results.csv`, headers: facility.headers })).body;
      expect(await csv(legacy)).toBe(await csv(fresh));
      await app.close();
      await ctx.close();
    } finally {
      await store.drop();
    }
  }, 60_000);
});
