// A PostgreSQL server that drops idle connections (restart, failover, a dropped test database) must
// not crash onshi: the pool forgets the dead client and the next query opens a fresh one.

import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db.ts';
import { createStore, postgresAdminUrl, storeKinds } from '../support/stores.ts';

describe.skipIf(!storeKinds.includes('postgres'))('PostgreSQL pool (postgres)', () => {
  it('survives the server terminating its idle connections', async () => {
    const store = await createStore('postgres');
    const database = openDatabase(store.url);
    const admin = new pg.Client({ connectionString: postgresAdminUrl ?? undefined });
    await admin.connect();
    try {
      await database.db.selectNoFrom((eb) => eb.val(1).as('one')).execute(); // leaves an idle client
      const name = new URL(store.url).pathname.slice(1);
      const killed = await admin.query('select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
      expect(killed.rowCount).toBeGreaterThan(0);
      await new Promise((ok) => setTimeout(ok, 200)); // the 57P01 reaches the idle client
      const [row] = await database.db.selectNoFrom((eb) => eb.val(2).as('two')).execute();
      expect(Number(row.two)).toBe(2);
    } finally {
      await admin.end();
      await database.close();
      await store.drop();
    }
  });
});
