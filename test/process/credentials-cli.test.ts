// `onshi credentials` as the real process: the ONSHI_ADMIN_TOKEN credential is not revocable (unset
// the variable and restart instead, which retires it), and staff roles must fit the facility type.

import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, storeKinds, TEST_ADMIN_TOKEN, type TestStore } from '../support/stores.ts';
import { startServer } from '../support/server-process.ts';
import { makeFacilityCode } from '../../src/registry/rules.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

describe.each(storeKinds)('onshi credentials on %s', (kind) => {
  let store: TestStore;
  const dir = mkdtempSync(join(tmpdir(), 'onshi-cred-cli-'));
  const env = () => ({ ...process.env, ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ONSHI_DEMO_DATA: 'false', ONSHI_LOG_LEVEL: 'warn' });
  const onshi = (...args: string[]) => run(process.execPath, [join(root, 'bin/onshi.js'), ...args], { env: env() });
  /** Runs a verb that must fail; answers its exit code and stderr. */
  const refused = async (...args: string[]) => {
    try {
      await onshi(...args);
    } catch (e) {
      const { code, stderr } = e as { code: number; stderr: string };
      return { code, stderr };
    }
    throw new Error(`onshi ${args.join(' ')} succeeded`);
  };

  beforeAll(async () => {
    store = await createStore(kind);
  });
  afterAll(async () => store?.drop());

  it('refuses to revoke bootstrap-admin, naming the variable', { timeout: 30_000 }, async () => {
    const r = await refused('credentials', 'revoke', 'bootstrap-admin');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ONSHI_CREDENTIAL_FROM_ENVIRONMENT');
    expect(r.stderr).toContain('"variable": "ONSHI_ADMIN_TOKEN"');
    expect((await onshi('credentials', 'list')).stdout).toMatch(/^bootstrap-admin\tadmin\tadmin\t-\t\S+\tactive\tONSHI_ADMIN_TOKEN$/m);
  });

  it('issues a pharmacist at a pharmacy and refuses a doctor there', { timeout: 30_000 }, async () => {
    const pharmacy = makeFacilityCode('13', 'pharmacy', '424242');
    writeFileSync(join(dir, 'facilities.csv'), `code,name,type\n${pharmacy},見本薬局,pharmacy\n`);
    await onshi('import', 'facilities', join(dir, 'facilities.csv'));
    const ok = await onshi('credentials', 'issue', '--facility', pharmacy, '--role', 'pharmacist');
    expect(ok.stdout).toMatch(/^onshi_\S+\n$/);
    const r = await refused('credentials', 'issue', '--facility', pharmacy, '--role', 'doctor');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ONSHI_CREDENTIAL_ROLE_NOT_ALLOWED');
    expect(r.stderr).toContain('"facilityType": "pharmacy"');
    expect((await onshi('credentials', 'list')).stdout).not.toMatch(new RegExp(`${pharmacy}.*doctor|doctor.*${pharmacy}`));
  });

  it('a server started without ONSHI_ADMIN_TOKEN retires the credential the variable defined', { timeout: 60_000 }, async () => {
    const insurers = async (base: string) => (await fetch(`${base}/v1/insurers`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).status;
    const first = await startServer({ ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    try {
      expect(await insurers(first.base)).toBe(200);
    } finally {
      await first.stop();
    }
    const second = await startServer({ ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: '' });
    try {
      expect(await insurers(second.base)).toBe(401);
    } finally {
      await second.stop();
    }
    // Set again, it is an administrator again.
    const third = await startServer({ ONSHI_DATABASE_URL: store.url, ONSHI_ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    try {
      expect(await insurers(third.base)).toBe(200);
    } finally {
      await third.stop();
    }
  });
});
