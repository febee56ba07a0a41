// The main SQLite connection's driver: queries outside a transaction do not queue behind one that is
// open, writes still wait for it, and a long chain of statements lets the event loop turn.

import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type DatabaseHandle } from './db.ts';
import { migrateToLatest } from '../migrations/index.ts';

const insurer = (n: string) => ({ insurer_number: n, name: `保険者${n}`, kind: 'kenpo_kumiai', created_at: '2024-11-01T00:00:00.000Z' });

describe('SplitSqliteDriver', () => {
  let dir: string | undefined;
  let handle: DatabaseHandle | undefined;
  afterEach(async () => {
    await handle?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    handle = undefined;
  });
  const open = async () => {
    dir = mkdtempSync(join(tmpdir(), 'onshi-split-'));
    handle = openDatabase(`sqlite:${join(dir, 'onshi.db')}`);
    await migrateToLatest(handle.db, handle.dialect);
    return handle.db;
  };

  it('answers a Kysely read at once while a transaction is open (the committed state), and makes a write wait for its end', async () => {
    const db = await open();
    await db.insertInto('insurers').values(insurer('06130001')).execute();
    let release!: () => void;
    const held = new Promise<void>((ok) => (release = ok));
    const transaction = db.transaction().execute(async (trx) => {
      await trx.insertInto('insurers').values(insurer('06130002')).execute();
      await held;
    });
    await new Promise((ok) => setImmediate(ok));
    const seen = await db.selectFrom('insurers').select('insurer_number').orderBy('insurer_number').execute();
    expect(seen.map((r) => r.insurer_number)).toEqual(['06130001']);
    let written = false;
    const write = db.insertInto('insurers').values(insurer('06130003')).execute().then(() => (written = true));
    await new Promise((ok) => setTimeout(ok, 50));
    expect(written).toBe(false);
    release();
    await transaction;
    await write;
    expect((await db.selectFrom('insurers').select('insurer_number').execute()).length).toBe(3);
  });

  it('gives the event loop a turn during a long chain of statements, inside a transaction too', async () => {
    const db = await open();
    let turned = false;
    let statements = 0;
    await db.transaction().execute(async (trx) => {
      setImmediate(() => (turned = true));
      // Without turns, every statement resolves as a microtask and the immediate waits for the end.
      while (!turned && statements < 200_000) {
        await trx.selectFrom('insurers').select('insurer_number').limit(1).execute();
        statements++;
      }
    });
    expect(turned).toBe(true);
    expect(statements).toBeLessThan(200_000);
  });
});
