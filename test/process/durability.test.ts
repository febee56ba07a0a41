// Usage events are what incentive payments are computed from, so none may be lost: the answer to a
// confirmation leaves only after its event is committed (group commit). This test runs the real
// server as a child process, fires concurrent confirmations, kills the process with SIGKILL the
// moment the last answer arrives (no shutdown hook runs), and then finds every answered
// confirmation in the store — on SQLite and on PostgreSQL.

import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db.ts';
import { makeFacilityCode, withInsurerCheckDigit } from '../../src/registry/rules.ts';
import { createStore, storeKinds, TEST_ADMIN_TOKEN, type TestStore } from '../support/stores.ts';
import { api, startServer } from '../support/server-process.ts';

const call = (base: string, token: string, path: string, body: unknown) => api(base, token, 'POST', path, body);

describe.each(storeKinds)('durability of usage events (%s)', (kind) => {
  let store: TestStore | undefined;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await store?.drop();
  });

  it('finds every answered confirmation recorded after the server is killed with SIGKILL', async () => {
    store = await createStore(kind);
    const server = await startServer({ ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    child = server.child;
    const { base } = server;
    const insurerNumber = withInsurerCheckDigit('0613901');
    const facilityCode = makeFacilityCode('13', 'clinic', '900001');
    await call(base, TEST_ADMIN_TOKEN, '/v1/insurers', { insurerNumber, name: '耐久健康保険組合', kind: 'kenpo_kumiai' });
    await call(base, TEST_ADMIN_TOKEN, '/v1/facilities', { code: facilityCode, name: '耐久クリニック', type: 'clinic', prefecture: '13' });
    const insurer = await call(base, TEST_ADMIN_TOKEN, '/v1/credentials', { insurerNumber });
    const facility = await call(base, TEST_ADMIN_TOKEN, '/v1/credentials', { facilityCode });
    const members = 20;
    for (let i = 0; i < members; i++) {
      await call(base, insurer.token, `/v1/insurers/${insurerNumber}/members`, {
        symbol: '7',
        number: String(1000 + i),
        branch: '00',
        name: `耐久　${i}`,
        nameKana: 'タイキュウ　タロウ',
        birthDate: '1985-06-15',
        sex: i % 2 ? 'male' : 'female',
        address: '東京都千代田区霞が関1-2-2',
        relationship: 'self',
        qualifiedFrom: '2024-04-01',
      });
    }

    // 400 confirmations, 40 in flight at a time, valid and invalid ones mixed (both are events).
    const total = 400;
    const answered: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const body = await call(base, facility.token, '/v1/confirmations', {
          insurerNumber,
          symbol: '7',
          number: String(1000 + (i % members)),
          branch: '00',
          birthDate: i % 5 === 0 ? '1985-06-16' : '1985-06-15',
          asOf: '2024-11-25',
        });
        expect(body.result).toBe(i % 5 === 0 ? 'invalid' : 'valid');
        answered.push(body.confirmationId);
      }
    };
    await Promise.all(Array.from({ length: 40 }, worker));
    // Hard kill the moment the last answer is in: no SIGTERM handler, no flush.
    child.kill('SIGKILL');
    await new Promise((ok) => child!.once('exit', ok));
    expect(child.signalCode).toBe('SIGKILL');

    expect(new Set(answered).size).toBe(total);
    const database = openDatabase(store.url);
    try {
      const recorded = new Set<string>();
      for (let i = 0; i < answered.length; i += 200) {
        const rows = await database.db
          .selectFrom('usage_events')
          .select(['confirmation_id', 'facility_code', 'method', 'result'])
          .where('confirmation_id', 'in', answered.slice(i, i + 200))
          .execute();
        for (const r of rows) {
          expect(r.facility_code).toBe(facilityCode);
          expect(r.method).toBe('insurance_card');
          recorded.add(r.confirmation_id);
        }
      }
      const missing = answered.filter((id) => !recorded.has(id));
      expect(missing).toEqual([]);
    } finally {
      await database.close();
    }
  });
});
