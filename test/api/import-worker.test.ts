// A server on a SQLite file imports a large or streamed member file in a worker thread on its own
// connection (its commit would otherwise pause every request). Same answers as in-process: the
// report, the 422 listing rejected rows, the 413 of a row limit; all or nothing; and while it runs,
// reads are answered and writes wait their turn.

import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app/build-app.ts';
import { createTestContext, type TestContext } from '../support/stores.ts';
import { countMemberships, expectError, fieldProblems, memberBody, memberUrl, setup } from '../support/fixtures.ts';
import type { FastifyInstance } from 'fastify';
import { afterAll } from 'vitest';

const COLUMNS = ['symbol', 'number', 'branch', 'name', 'nameKana', 'birthDate', 'sex', 'address', 'relationship', 'qualifiedFrom'];
const csvLine = (r: Record<string, unknown>) => COLUMNS.map((c) => String(r[c] ?? '')).join(',');

/** A CSV stream with no declared length (as an insurer's system streams a file), in pieces, slowly if asked. */
function csvStream(rows: Record<string, unknown>[], pauseMs = 0): Readable {
  const lines = [COLUMNS.join(','), ...rows.map(csvLine)];
  return Readable.from(
    (async function* () {
      for (let i = 0; i < lines.length; i += 500) {
        if (pauseMs) await new Promise((ok) => setTimeout(ok, pauseMs));
        yield Buffer.from(`${lines.slice(i, i + 500).join('\n')}\n`);
      }
    })(),
  );
}

const rows = (n: number, from = 1) => Array.from({ length: n }, (_, i) => memberBody({ number: String(from + i), name: `取込　${from + i}` }));

describe('member import in a worker thread (sqlite)', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  beforeAll(async () => {
    ctx = await createTestContext('sqlite', { limitImportRows: 3_000 });
    ctx.registry.runImportsInWorker(ctx.config.databaseUrl);
    app = await buildApp(ctx);
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.dispose();
  });
  const post = (insurer: { insurerNumber: string; headers: Record<string, string> }, payload: Readable | string) =>
    app.inject({ method: 'POST', url: `${memberUrl(insurer.insurerNumber)}/import`, headers: { ...insurer.headers, 'content-type': 'text/csv' }, payload });

  it('imports a streamed file there, answers its report, and the members are confirmable', async () => {
    const { insurer } = await setup(app);
    const before = ctx.registry.importStats.inWorker;
    const r = await post(insurer, csvStream(rows(2_500)));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ rows: 2_500, added: 2_500, changed: 0, terminated: 0 });
    expect(ctx.registry.importStats.inWorker).toBe(before + 1);
    expect(await countMemberships(ctx, insurer.insurerNumber)).toBe(2_500);
  });

  it('answers 422 with the rejected rows (their lines and field errors) and writes nothing', async () => {
    const { insurer } = await setup(app);
    const list = rows(1_200);
    list[700] = { ...list[700], birthDate: '1990-02-30' };
    list[1100] = { ...list[1100], address: '' };
    const body = expectError(await post(insurer, csvStream(list)), 422, 'ONSHI_IMPORT_REJECTED');
    expect(body).toMatchObject({ rows: 1_200, rejectedRows: 2 });
    expect(body.errors.map((e: { line: number; errors: { field: string; code: string }[] }) => [e.line, fieldProblems(e.errors)])).toEqual([
      [702, ['birthDate:invalid_date']],
      [1102, ['address:required']],
    ]);
    expect(await countMemberships(ctx, insurer.insurerNumber)).toBe(0);
  });

  it('answers 413 at the row limit while the file streams, writes nothing, and takes the next import', async () => {
    const { insurer } = await setup(app);
    expectError(await post(insurer, csvStream(rows(3_500))), 413, 'ONSHI_IMPORT_TOO_MANY_ROWS');
    expect(await countMemberships(ctx, insurer.insurerNumber)).toBe(0);
    const r = await post(insurer, csvStream(rows(10)));
    expect(r.statusCode, r.body).toBe(200);
    expect(await countMemberships(ctx, insurer.insurerNumber)).toBe(10);
  });

  it('answers reads while it runs, and a write made meanwhile waits for its end', async () => {
    const { insurer } = await setup(app);
    const importing = post(insurer, csvStream(rows(2_000), 40));
    await new Promise((ok) => setTimeout(ok, 150));
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    let added = false;
    const single = app.inject({ method: 'POST', url: memberUrl(insurer.insurerNumber), headers: insurer.headers, payload: memberBody({ number: '999999' }) }).then((r) => {
      added = true;
      return r;
    });
    const imported = await importing;
    expect(imported.statusCode, imported.body).toBe(200);
    const r = await single;
    expect(added).toBe(true);
    expect(r.statusCode, r.body).toBe(201);
    expect(await countMemberships(ctx, insurer.insurerNumber)).toBe(2_001);
  });
});
