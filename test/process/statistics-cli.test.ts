// The CLI verbs of statistics and programmes, run as the real `onshi` process on each store.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { parse } from 'csv-parse/sync';
import { createStore, storeKinds, TEST_ADMIN_TOKEN, type TestStore } from '../support/stores.ts';
import { makeFacilityCode } from '../../src/registry/rules.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

describe.each(storeKinds)('onshi import / stats / incentives on %s', (kind) => {
  let store: TestStore;
  const dir = mkdtempSync(join(tmpdir(), 'onshi-cli-'));
  const onshi = (...args: string[]) =>
    run(process.execPath, [join(root, 'bin/onshi.js'), ...args], { env: { ...process.env, ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ONSHI_DEMO_DATA: 'false', ONSHI_LOG_LEVEL: 'warn' } });

  beforeAll(async () => {
    store = await createStore(kind);
  });
  afterAll(async () => store?.drop());

  const tokyo = makeFacilityCode('13', 'clinic', '123456');
  const osaka = makeFacilityCode('27', 'hospital', '654321');

  it('imports facilities (Shift_JIS) and aggregates, prints the prefecture table, writes the payout list', { timeout: 60_000 }, async () => {
    writeFileSync(join(dir, 'facilities.csv'), iconv.encode(`code,name,type\n${tokyo},東京見本診療所,clinic\n${osaka},大阪見本病院,hospital\n`, 'Shift_JIS'));
    const f = await onshi('import', 'facilities', join(dir, 'facilities.csv'));
    expect(JSON.parse(f.stdout)).toMatchObject({ rows: 2, written: 2 });

    writeFileSync(
      join(dir, 'aggregates.csv'),
      ['facility_code,month,confirmations,card_uses,card_users,claims', `${tokyo},2023-10,1000,50,40,1000`, `${tokyo},2024-06,1000,100,90,1000`, `${tokyo},2024-07,1000,250,200,1000`, `${osaka},2024-06,2000,100,100,`, `${osaka},2024-07,2000,300,280,`].join('\n') + '\n',
    );
    const a = await onshi('import', 'aggregates', join(dir, 'aggregates.csv'));
    expect(JSON.parse(a.stdout)).toMatchObject({ rows: 5, written: 5 });

    const json = JSON.parse((await onshi('stats', 'prefectures', '--month', '2024-07', '--json')).stdout);
    // Nation: 550 of 3,000 = 18.33%; June 200 of 3,000 = 6.67% → +11.67 pt.
    expect(json.national).toEqual({ confirmations: 3000, cardUses: 550, ratePercent: 18.33, changePoints: 11.67 });
    expect(json.prefectures.find((p: { prefecture: string }) => p.prefecture === '13')).toMatchObject({ ratePercent: 25, changePoints: 15, rank: 1 });
    const text = (await onshi('stats', 'prefectures', '--month', '2024-07')).stdout;
    expect(text).toMatch(/▲ 13 東京都\s+25\.00%\(\+15\.00pt\)\s+#1/);
    expect(text).toMatch(/全国\s+18\.33%\(\+11\.67pt\)/);

    const out = join(dir, 'payout.csv');
    const inc = await onshi('incentives', '--csv', out, '--json');
    const totals = JSON.parse(inc.stdout);
    // Neither facility attested the conditions: nothing is paid, and each row says why.
    expect(totals.total).toMatchObject({ facilities: 2, paidFacilities: 0, amountYen: 0 });
    const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.facility_code, r.increase, r.column, r.missing_conditions])).toEqual([
      [tokyo, '160', '160', 'poster askPatients flyers'],
      [osaka, '280', '250', 'poster askPatients flyers'],
    ]);

    await expect(onshi('stats', 'prefectures', '--month', '2024-7')).rejects.toMatchObject({ stderr: expect.stringMatching(/YYYY-MM/) });
  });

  it('writes no spreadsheet formula into the payout list (onshi incentives --csv)', { timeout: 60_000 }, async () => {
    const hostile = makeFacilityCode('13', 'clinic', '777777');
    writeFileSync(join(dir, 'hostile.csv'), `code,name,type\n${hostile},"=HYPERLINK(""http://evil.example"",""x"")",clinic\n`);
    expect(JSON.parse((await onshi('import', 'facilities', join(dir, 'hostile.csv'))).stdout)).toMatchObject({ rows: 1, written: 1 });
    const out = join(dir, 'payout-hostile.csv');
    await onshi('incentives', '--csv', out, '--json');
    const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.find((r) => r.facility_code === hostile)!.name).toBe('\'=HYPERLINK("http://evil.example","x")');
    for (const r of rows) for (const [k, v] of Object.entries(r)) expect(v, k).not.toMatch(/^[=+@\t\r]/);
  });
});
