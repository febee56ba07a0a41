// CLI of the notices to all members: `onshi notices plan` (restartable, with progress bars),
// `onshi notices returned FILE` (CSV of tracking numbers; re-sends to the member's own address) and
// `onshi notices export` (CSV of a round's pieces or boxes).

import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { InvalidArgumentError, type Command } from 'commander';
import type { AppContext } from '../../app/context.ts';
import { progressBar } from '../../cli/progress.ts';

/** Tracking numbers of a CSV file: the first column of each row; a first row that is not digits is a header. */
export function trackingNumbersOfCsv(text: string): string[] {
  const rows = parse(text.replace(/^\uFEFF/, ''), { relax_column_count: true, skip_empty_lines: true, trim: true }) as string[][];
  const out = rows.map((r) => r[0] ?? '').filter((x) => x !== '');
  if (out.length && !/^\d+$/.test(out[0])) out.shift();
  return out;
}

export function registerNoticeCommands(program: Command, withContext: <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>): void {
  const notices = program.command('notices').description('notices to all members (資格情報のお知らせ)');
  const int = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
    return n;
  };
  const grams = (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a weight in grams ≥ 0');
    return n;
  };
  notices
    .command('plan')
    .description('plan a round: pieces with tracking numbers, boxes of at most 4 kg per employer; restartable')
    .requiredOption('--insurer <number>', 'the insurer number')
    .requiredOption('--round <n>', '1 or 2', int)
    .requiredOption('--extracted-on <date>', 'the extraction date (YYYY-MM-DD)')
    .option('--piece-weight <grams>', 'weight of one enveloped notice (default 25 g)', grams)
    .option('--box-tare <grams>', 'weight of an empty box, counted in the 4 kg (default 0)', grams)
    .action(async (opts: { insurer: string; round: number; extractedOn: string; pieceWeight?: number; boxTare?: number }) => {
      await withContext(async (ctx) => {
        const bars = { pieces: progressBar('pieces'), boxes: progressBar('boxes') };
        try {
          const report = await ctx.notices.planRound(
            { insurerNumber: opts.insurer, round: opts.round, extractedOn: opts.extractedOn, pieceWeightGrams: opts.pieceWeight, boxTareGrams: opts.boxTare, actor: 'cli:notices' },
            (phase, done, total) => {
              if (phase === 'boxes') bars.pieces.stop();
              bars[phase].update(done, total);
            },
          );
          bars.pieces.stop();
          bars.boxes.stop();
          console.log(JSON.stringify(report));
        } finally {
          bars.pieces.stop();
          bars.boxes.stop();
        }
      });
    });
  notices
    .command('returned <file>')
    .description('record pieces returned undelivered (CSV, tracking number in the first column) and re-send those sent via an employer to the member')
    .option('--insurer <number>', "only this insurer's pieces")
    .action(async (file: string, opts: { insurer?: string }) => {
      const numbers = trackingNumbersOfCsv(readFileSync(file, 'utf8'));
      await withContext(async (ctx) => {
        const bar = progressBar('returned');
        try {
          const report = await ctx.notices.recordReturned({ trackingNumbers: numbers, insurerNumber: opts.insurer, actor: 'cli:notices' }, (done, total) => bar.update(done, total));
          bar.stop();
          console.log(JSON.stringify(report));
        } finally {
          bar.stop();
        }
      });
    });
  notices
    .command('export')
    .description("CSV of a round's pieces or boxes")
    .requiredOption('--insurer <number>', 'the insurer number')
    .requiredOption('--round-id <id>', 'the round id (from plan)')
    .option('--kind <kind>', 'pieces (default) or boxes', 'pieces')
    .option('--encoding <charset>', 'utf-8 (default) or shift_jis')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (opts: { insurer: string; roundId: string; kind: string; encoding?: string; out?: string }) => {
      if (opts.kind !== 'pieces' && opts.kind !== 'boxes') throw new InvalidArgumentError('kind must be pieces or boxes');
      await withContext(async (ctx) => {
        const csv = opts.kind === 'pieces' ? await ctx.notices.piecesCsv(opts.insurer, opts.roundId, opts.encoding) : await ctx.notices.boxesCsv(opts.insurer, opts.roundId, opts.encoding);
        if (opts.out) writeFileSync(opts.out, csv);
        else process.stdout.write(csv);
      });
    });
}
