// Test stores: every store test runs on SQLite (a temporary file) and on PostgreSQL (a throwaway
// database created for the test and dropped after), like Kysely's own suite runs on every dialect.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, inject } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/platform/db.ts';
import { migrateToLatest } from '../../src/migrations/index.ts';
import { loadConfig, type Config } from '../../src/platform/config.ts';
import { createContext, type AppContext } from '../../src/app/context.ts';

export type StoreKind = 'sqlite' | 'postgres';

export const postgresAdminUrl = inject('postgresAdminUrl');

/** The dialects to run store tests on: SQLite always, PostgreSQL when reachable. */
export const storeKinds: StoreKind[] = postgresAdminUrl ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestStore {
  kind: StoreKind;
  url: string;
  drop(): Promise<void>;
}

export async function createStore(kind: StoreKind): Promise<TestStore> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'onshi-test-'));
    return { kind, url: `sqlite:${join(dir, 'onshi.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (!postgresAdminUrl) throw new Error('PostgreSQL is not available in this run');
  const name = `onshi_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: postgresAdminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/**
 * For the tests of the calling describe block: `open()` gives a migrated database on a fresh store of
 * this kind, closed and dropped after each test.
 */
export function migratedDatabases(kind: StoreKind): { open(): Promise<DatabaseHandle['db']> } {
  let store: TestStore | undefined;
  let database: DatabaseHandle | undefined;
  afterEach(async () => {
    await database?.close();
    await store?.drop();
    database = undefined;
    store = undefined;
  });
  return {
    async open() {
      store = await createStore(kind);
      database = openDatabase(store.url);
      await migrateToLatest(database.db, database.dialect);
      return database.db;
    },
  };
}

export interface TestContext extends AppContext {
  store: TestStore;
  /** Closes the context and drops the store. */
  dispose(): Promise<void>;
}

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export async function createTestContext(kind: StoreKind, overrides: Partial<Config> = {}, options: { clock?: () => Date } = {}): Promise<TestContext> {
  const store = await createStore(kind);
  const config = loadConfig({ ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ONSHI_LOG_LEVEL: 'silent', ONSHI_DEMO_DATA: 'false' }, overrides);
  const ctx = await createContext(config, options);
  return Object.assign(ctx, {
    store,
    async dispose() {
      await ctx.close();
      await store.drop();
    },
  });
}
