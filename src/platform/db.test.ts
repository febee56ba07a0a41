// The SQLite fast paths of db.ts: what a hot-path read sees while a transaction is open, the
// synchronous group-commit insert, and the background checkpointer. The same calls on PostgreSQL
// go through Kysely and must answer the same.

import { afterEach, describe, expect, it } from 'vitest';
import SQLite from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKPOINT_INTERVAL_MS, checkpointStats, insertRowsAtOnce, openDatabase, runRead, runReadTuples, runStatement, type DatabaseHandle } from './db.ts';
import { migrateToLatest } from '../migrations/index.ts';
import { migratedDatabases, storeKinds } from '../../test/support/stores.ts';

const insurer = (n: string) => ({ insurer_number: n, name: `保険者${n}`, kind: 'kenpo_kumiai', created_at: '2024-11-01T00:00:00.000Z' });
const byNumber = (db: DatabaseHandle['db'], n: string) =>
  runRead<{ name: string }>(db, 'test.insurerByNumber', (d) => d.selectFrom('insurers').select('name').where('insurer_number', '=', ''), [n]);

describe.each(storeKinds)('hot-path statements (%s)', (kind) => {
  const { open } = migratedDatabases(kind);

  it('reads the committed state, and a write outside a transaction is seen at once', async () => {
    const db = await open();
    await runStatement(db, 'test.insertInsurer', (d) => d.insertInto('insurers').values(insurer('')), ['06130001', '保険者06130001', 'kenpo_kumiai', '2024-11-01T00:00:00.000Z']);
    expect(await byNumber(db, '06130001')).toEqual([{ name: '保険者06130001' }]);
    expect(await byNumber(db, '99999999')).toEqual([]);
  });

  it('does not see, and does not wait for, another transaction still open (an import between batches)', async () => {
    const db = await open();
    await db.insertInto('insurers').values(insurer('06130001')).execute();
    let readDuring: unknown;
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('insurers').values(insurer('06130002')).execute();
      // The transaction yields here, as an import does between its batches.
      readDuring = await Promise.race([
        Promise.all([byNumber(db, '06130001'), byNumber(db, '06130002')]),
        new Promise((ok) => setTimeout(() => ok('waited'), kind === 'sqlite' ? 1000 : 60_000)),
      ]);
      // Inside the transaction, passing it, the caller sees its own row.
      expect(await byNumber(trx, '06130002')).toEqual([{ name: '保険者06130002' }]);
    });
    expect(readDuring).toEqual([[{ name: '保険者06130001' }], []]);
    expect(await byNumber(db, '06130002')).toEqual([{ name: '保険者06130002' }]);
  });

  it('answers rows as arrays in the select order (runReadTuples), also while a transaction is open', async () => {
    const db = await open();
    await db.insertInto('insurers').values([insurer('06130001'), insurer('06130002')]).execute();
    const tuples = (d: typeof db) =>
      runReadTuples(d, 'test.insurerTuples', (x) => x.selectFrom('insurers').select(['name', 'insurer_number', 'kind']).where('insurer_number', '>=', '').orderBy('insurer_number'), ['06130000']);
    const expected = [
      ['保険者06130001', '06130001', 'kenpo_kumiai'],
      ['保険者06130002', '06130002', 'kenpo_kumiai'],
    ];
    expect(await tuples(db)).toEqual(expected);
    let during: unknown;
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('insurers').values(insurer('06130003')).execute();
      during = await Promise.race([tuples(db), new Promise((ok) => setTimeout(() => ok('waited'), kind === 'sqlite' ? 1000 : 60_000))]);
    });
    expect(during).toEqual(expected);
    expect(await tuples(db)).toHaveLength(3);
  });

  it('inserts the rows of several tables in one transaction: all of them, or none when one fails', async () => {
    const db = await open();
    await insertRowsAtOnce(db, { insurers: [insurer('06130001'), insurer('06130002')], facilities: [{ code: '1310000017', name: '試験医院', type: 'clinic', prefecture: '13', created_at: '2024-11-01T00:00:00.000Z' }] });
    expect(await db.selectFrom('insurers').select('insurer_number').orderBy('insurer_number').execute()).toEqual([{ insurer_number: '06130001' }, { insurer_number: '06130002' }]);
    // A duplicate key in the second table rolls back the first table's rows too.
    await expect(insertRowsAtOnce(db, { insurers: [insurer('06130003')], facilities: [{ code: '1310000017', name: '重複', type: 'clinic', prefecture: '13', created_at: '2024-11-01T00:00:00.000Z' }] })).rejects.toThrow();
    expect(await byNumber(db, '06130003')).toEqual([]);
  });
});

describe('background checkpoints (sqlite)', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies the write-ahead log into the database file from a worker thread, and keeps every row', async () => {
    dir = mkdtempSync(join(tmpdir(), 'onshi-ckpt-'));
    const file = join(dir, 'onshi.db');
    const database = openDatabase(`sqlite:${file}`, { backgroundCheckpoints: true });
    await migrateToLatest(database.db, database.dialect);
    for (let batch = 0; batch < 50; batch++) {
      await insertRowsAtOnce(database.db, { insurers: Array.from({ length: 20 }, (_, i) => insurer(String(10_000_000 + batch * 20 + i))) });
    }
    const deadline = Date.now() + 20 * CHECKPOINT_INTERVAL_MS;
    while (Date.now() < deadline && !((checkpointStats(database.db)?.checkpoints ?? 0) > 1 && checkpointStats(database.db)!.lastCopied === checkpointStats(database.db)!.lastFrames)) {
      await new Promise((ok) => setTimeout(ok, CHECKPOINT_INTERVAL_MS));
    }
    const stats = checkpointStats(database.db)!;
    expect(stats.checkpoints).toBeGreaterThan(1);
    expect(stats.failures).toBe(0);
    expect(stats.lastCopied).toBe(stats.lastFrames);
    await database.close();

    // Reopened by another connection, the file holds all 1,000 rows and nothing is left to copy.
    const raw = new SQLite(file);
    expect(raw.prepare('select count(*) as n from insurers').get()).toEqual({ n: 1000 });
    const [left] = raw.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
    expect(left.checkpointed).toBe(left.log);
    raw.close();
  });

  it('is off unless asked for: a database opened without it reports no checkpointer', async () => {
    dir = mkdtempSync(join(tmpdir(), 'onshi-ckpt-'));
    const database = openDatabase(`sqlite:${join(dir, 'onshi.db')}`);
    expect(checkpointStats(database.db)).toBeUndefined();
    await database.close();
  });
});
