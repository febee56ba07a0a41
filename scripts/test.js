#!/usr/bin/env node
// `npm test`: runs the whole suite with vitest, then prints one plain closing line
// `N passed, N failed[, N skipped]` (what CI reads) and exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'onshi-vitest-'));
const report = join(dir, 'report.json');
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)];
const run = spawnSync('npx', args, { stdio: 'inherit', env: process.env });

let passed = 0;
let failed = 0;
let skipped = 0;
let suitesFailed = 0;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed = r.numFailedTests ?? 0;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A file that fails to load runs no tests but must still fail the run.
  suitesFailed = (r.testResults ?? []).filter((t) => t.status === 'failed' && (t.assertionResults ?? []).every((a) => a.status !== 'failed')).length;
} catch {
  failed = failed || 1;
}
rmSync(dir, { recursive: true, force: true });
if (suitesFailed > 0) console.log(`${suitesFailed} test file(s) failed to run`);
const total = failed + suitesFailed;
console.log(`${passed} passed, ${total} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(total > 0 || run.status !== 0 || passed === 0 ? 1 : 0);
