// `onshi itfund import FILE` run as the real process on each store: paper applications entered from
// a Shift_JIS CSV, and a file with a bad row refused as a whole with the row's line.

import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { createStore, storeKinds, TEST_ADMIN_TOKEN, type TestStore } from '../support/stores.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createContext } from '../../src/app/context.ts';
import { buildApp } from '../../src/app/build-app.ts';
import { makeFacilityCode } from '../../src/registry/rules.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

describe.each(storeKinds)('onshi itfund import on %s', (kind) => {
  let store: TestStore;
  const dir = mkdtempSync(join(tmpdir(), 'onshi-itfund-cli-'));
  const env = () => ({ ...process.env, ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ONSHI_DEMO_DATA: 'false', ONSHI_LOG_LEVEL: 'warn' });
  const onshi = (...args: string[]) => run(process.execPath, [join(root, 'bin/onshi.js'), ...args], { env: env() });

  beforeAll(async () => {
    store = await createStore(kind);
  });
  afterAll(async () => store?.drop());

  const code = makeFacilityCode('13', 'clinic', '777001');

  it('enters the applications of a CSV, or none with the rejected lines', { timeout: 60_000 }, async () => {
    // A clinic whose readers were provided and whose work completed, entered on paper (today is past the periods).
    const ctx = await createContext(loadConfig({ ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ONSHI_LOG_LEVEL: 'silent', ONSHI_DEMO_DATA: 'false' }));
    const app = await buildApp(ctx);
    const headers = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
    const paper = { paper: true, reason: '書面申請' };
    try {
      expect((await app.inject({ method: 'POST', url: '/v1/facilities', headers, payload: { code, name: 'CLI見本診療所', type: 'clinic' } })).statusCode).toBe(201);
      const opened = await app.inject({ method: 'POST', url: '/v1/itfund/cases', headers, payload: { facilityCode: code, ...paper } });
      expect(opened.statusCode, opened.body).toBe(201);
      const id = opened.json().id as string;
      for (const [action, body] of [
        ['apply_readers', { ...paper, receivedOn: '2020-08-10' }],
        ['provide_readers', { readers: 1, unitCostYen: 99_000, deliveredOn: '2020-09-01' }],
        ['complete_work', { ...paper, completedOn: '2020-10-01' }],
      ] as const) {
        const r = await app.inject({ method: 'POST', url: `/v1/itfund/cases/${id}/actions/${action}`, headers, payload: body });
        expect(r.statusCode, r.body).toBe(200);
      }
    } finally {
      await app.close();
      await ctx.close();
    }

    const header = 'facility_code,received_on,kind,amount_yen,units,evidence,reason';
    writeFileSync(join(dir, 'bad.csv'), iconv.encode(`${header}\n${code},2020-11-20,terminal,300000,,請求書.pdf,郵送\n${code},2020-11-20,端末,1,,,\n`, 'Shift_JIS'));
    const bad = await onshi('itfund', 'import', join(dir, 'bad.csv')).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad?.code).toBe(1);
    expect(bad?.stderr).toContain('ONSHI_IMPORT_REJECTED');
    expect(bad?.stderr).toMatch(/"line": 3/);

    writeFileSync(join(dir, 'good.csv'), iconv.encode(`${header}\n${code},2020-11-20,terminal,300000,,請求書.pdf,郵送\n${code},2020-11-20,training,50000,,,\n`, 'Shift_JIS'));
    const good = await onshi('itfund', 'import', join(dir, 'good.csv'));
    expect(JSON.parse(good.stdout)).toMatchObject({ rows: 2, applications: 1 });
    const again = await onshi('itfund', 'import', join(dir, 'good.csv')).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    // The case has moved on: a second entry is refused, naming the state.
    expect(again?.stderr).toContain('ONSHI_ITFUND_TRANSITION_REFUSED');
  });
});
