// CLI of the transition: `onshi certificates issue-due` (with a progress bar) and `onshi
// certificates print` (CSV print data to stdout or a file).

import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { AppContext } from '../../app/context.ts';
import { progressBar } from '../../cli/progress.ts';

export function registerTransitionCommands(program: Command, withContext: <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>): void {
  const certificates = program.command('certificates').description('eligibility certificates (資格確認書)');
  const int = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
    return n;
  };
  certificates
    .command('issue-due')
    .description('issue certificates to members without a registered My Number card whose paper card stops being usable within the lead time; restartable')
    .option('--insurer <number>', 'only this insurer (default: all)')
    .option('--as-of <date>', 'the issue date (default: today in JST)')
    .option('--lead-days <n>', 'lead time in days (default 60)', int)
    .option('--validity-years <n>', 'validity in years, 1–5 (default 5)', int)
    .action(async (opts: { insurer?: string; asOf?: string; leadDays?: number; validityYears?: number }) => {
      await withContext(async (ctx) => {
        const bar = progressBar('certificates');
        try {
          const report = await ctx.transition.issueDue(
            { insurerNumber: opts.insurer, asOf: opts.asOf, leadDays: opts.leadDays, validityYears: opts.validityYears, actor: 'cli:certificates' },
            (done, total) => bar.update(done, total),
          );
          bar.stop();
          console.log(JSON.stringify(report));
        } finally {
          bar.stop();
        }
      });
    });
  certificates
    .command('print')
    .description('print data (CSV) of the certificates an insurer issued between two dates')
    .requiredOption('--insurer <number>', 'the insurer number')
    .requiredOption('--from <date>', 'first issue date')
    .requiredOption('--to <date>', 'last issue date')
    .option('--encoding <charset>', 'utf-8 (default) or shift_jis')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (opts: { insurer: string; from: string; to: string; encoding?: string; out?: string }) => {
      await withContext(async (ctx) => {
        const csv = await ctx.transition.printCsv(opts.insurer, { from: opts.from, to: opts.to, charset: opts.encoding });
        if (opts.out) writeFileSync(opts.out, csv);
        else process.stdout.write(csv);
      });
    });
}
