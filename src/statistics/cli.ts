// CLI verbs of the statistics and programmes: `onshi import facilities|aggregates FILE`,
// `onshi stats prefectures --month YYYY-MM [--json]`, `onshi stats rollup [--rebuild]`,
// `onshi incentives --csv FILE` (with a progress bar over facilities).

import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { InvalidArgumentError, type Command } from 'commander';
import { readImportRows } from '../registry/import.ts';
import { progressBar } from '../cli/progress.ts';
import { withContext } from '../cli/main.ts';
import { PAYOUT_COLUMNS, payoutLines } from '../programmes/incentive/service.ts';
import { csvLine } from '../platform/csv.ts';
import { isMonth } from './rules.ts';
import type { PrefectureReport } from './service.ts';

function charsetOption(value: string | undefined): 'utf-8' | 'shift_jis' | undefined {
  if (value === undefined) return undefined;
  const c = value.toLowerCase().replace(/[-_]/g, '');
  if (c === 'utf8') return 'utf-8';
  if (['shiftjis', 'sjis', 'cp932'].includes(c)) return 'shift_jis';
  throw new InvalidArgumentError('encoding must be utf-8 or shift_jis');
}

const pct = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}%`);
const pt = (v: number | null) => (v === null ? '' : `(${v >= 0 ? '+' : ''}${v.toFixed(2)}pt)`);

/** The prefecture table as text: one line per prefecture, the nation last; ▲ top five, ▼ bottom five. */
export function formatPrefectureReport(r: PrefectureReport): string {
  const lines = [`利用率 ${r.month} (change from ${r.previousMonth})`];
  for (const p of r.prefectures) {
    const mark = p.top5 ? '▲' : p.bottom5 ? '▼' : ' ';
    lines.push(`${mark} ${p.prefecture} ${p.name.padEnd(4, '　')}\t${pct(p.ratePercent)}${pt(p.changePoints)}\t${p.rank === null ? '' : `#${p.rank}`}\t${p.cardUses}/${p.confirmations}`);
  }
  lines.push(`  全国\t\t${pct(r.national.ratePercent)}${pt(r.national.changePoints)}\t\t${r.national.cardUses}/${r.national.confirmations}`);
  return lines.join('\n');
}

export function registerStatisticsCommands(program: Command, imports: Command): void {
  imports
    .command('facilities <file>')
    .description('import facilities from CSV (code,name,type; UTF-8 or Shift_JIS); the prefecture is the code\'s; all or nothing')
    .option('--encoding <charset>', 'utf-8 or shift_jis (default: detected)')
    .action(async (file: string, opts: { encoding?: string }) => {
      await withContext(async (ctx) => {
        console.log(JSON.stringify(await ctx.statistics.importFacilities(readImportRows(createReadStream(file), 'csv', charsetOption(opts.encoding)))));
      });
    });

  imports
    .command('aggregates <file>')
    .description('import monthly facility aggregates from CSV (facility_code,month,confirmations,card_uses,card_users,claims); all or nothing')
    .option('--encoding <charset>', 'utf-8 or shift_jis (default: detected)')
    .action(async (file: string, opts: { encoding?: string }) => {
      await withContext(async (ctx) => {
        console.log(JSON.stringify(await ctx.statistics.importAggregates(readImportRows(createReadStream(file), 'csv', charsetOption(opts.encoding)))));
      });
    });

  const stats = program.command('stats').description('usage statistics');
  stats
    .command('prefectures')
    .description('utilization rate per prefecture and nation for a month, with the change and the top and bottom five')
    .requiredOption('--month <YYYY-MM>', 'the month')
    .option('--json', 'print JSON')
    .action(async (opts: { month: string; json?: boolean }) => {
      if (!isMonth(opts.month)) throw new InvalidArgumentError('--month must be YYYY-MM');
      await withContext(async (ctx) => {
        const report = await ctx.statistics.prefectureReport(opts.month);
        console.log(opts.json ? JSON.stringify(report, null, 2) : formatPrefectureReport(report));
      });
    });
  stats
    .command('rollup')
    .description('roll up usage events not yet counted; --rebuild recomputes every month from the events')
    .option('--rebuild', 'recompute from all events')
    .action(async (opts: { rebuild?: boolean }) => {
      await withContext(async (ctx) => console.log(JSON.stringify(await ctx.statistics.rollup({ rebuild: opts.rebuild }))));
    });

  program
    .command('incentives')
    .description('compute the incentive payment and reader subsidy of every facility; write the payout list as CSV and print the totals')
    .requiredOption('--csv <file>', 'the payout CSV to write')
    .option('--json', 'print the totals as JSON')
    .action(async (opts: { csv: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const out = createWriteStream(opts.csv);
        const write = async (text: string) => {
          if (!out.write(text)) await once(out, 'drain');
        };
        await write(csvLine(PAYOUT_COLUMNS));
        const total = await ctx.programmes.facilityCount();
        const bar = progressBar('facilities');
        const totals = await ctx.programmes.run({
          onPage: async (rows, done) => {
            await write(payoutLines(rows));
            bar.update(done, total);
          },
        });
        bar.stop();
        out.end();
        await once(out, 'finish');
        if (opts.json) console.log(JSON.stringify(totals, null, 2));
        else {
          console.log(`facilities ${totals.total.facilities}, paid ${totals.total.paidFacilities}, incentive ¥${totals.total.amountYen.toLocaleString('en')}, reader-subsidy eligible ${totals.total.readerEligible} (caps ¥${totals.total.readerCapYen.toLocaleString('en')})`);
          for (const t of totals.byType) console.log(`  ${t.type}\t${t.facilities}\tpaid ${t.paidFacilities}\t¥${t.amountYen.toLocaleString('en')}`);
          for (const p of totals.byPrefecture) console.log(`  ${p.prefecture} ${p.name}\t${p.facilities}\tpaid ${p.paidFacilities}\t¥${p.amountYen.toLocaleString('en')}`);
        }
        console.error(`payout list written to ${opts.csv}`);
      });
    });
}
