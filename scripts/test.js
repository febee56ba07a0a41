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
// Vitest also fails a run for errors outside any test (an unhandled rejection, an 'error' event
// nobody listened to): count that as a failure so the closing line agrees with the exit status.
const outsideTests = run.status !== 0 && failed + suitesFailed === 0 ? 1 : 0;
if (outsideTests) console.log('vitest reported errors outside the tests (see "Unhandled Errors" above)');
const total = failed + suitesFailed + outsideTests;
console.log(`${passed} passed, ${total} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(total > 0 || run.status !== 0 || passed === 0 ? 1 : 0);
