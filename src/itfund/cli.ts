// `onshi itfund import FILE`: paper subsidy applications with their cost items from CSV (UTF-8 or
// Shift_JIS, detected), entered by staff; a progress bar over the facilities; all or nothing, with
// every rejected row reported by line.

import { createReadStream } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { AppContext } from '../app/context.ts';
import { progressBar } from '../cli/progress.ts';
import type { Principal } from '../platform/auth.ts';
import { readImportRows } from '../registry/import.ts';

/** The CLI acts as staff (an administrator); events record it as admin:cli. */
export const CLI_PRINCIPAL: Principal = { kind: 'admin', credentialId: 'cli', role: 'admin' };

function charset(value: string | undefined): 'utf-8' | 'shift_jis' | undefined {
  if (value === undefined) return undefined;
  const c = value.toLowerCase().replace(/[-_]/g, '');
  if (c === 'utf8') return 'utf-8';
  if (['shiftjis', 'sjis', 'cp932'].includes(c)) return 'shift_jis';
  throw new InvalidArgumentError('encoding must be utf-8 or shift_jis');
}

export function registerItFundCommands(program: Command, withContext: <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>): void {
  const itfund = program.command('itfund').description('medical IT support fund (医療情報化支援基金)');
  itfund
    .command('import <file>')
    .description('enter paper subsidy applications from CSV (facility_code,received_on,kind,amount_yen,units,evidence,reason; one row per cost item); all or nothing')
    .option('--encoding <charset>', 'utf-8 or shift_jis (default: detected)')
    .action(async (file: string, opts: { encoding?: string }) => {
      const enc = charset(opts.encoding);
      await withContext(async (ctx) => {
        const bar = progressBar('itfund');
        let report;
        try {
          report = await ctx.itfund.imports.importApplications(readImportRows(createReadStream(file), 'csv', enc), CLI_PRINCIPAL, (done, total) => bar.update(done, total));
        } finally {
          bar.stop();
        }
        console.log(JSON.stringify(report));
      });
    });
}
