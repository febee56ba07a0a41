// onshi gateway --dir DIR --server URL --token TOKEN: the folder gateway (see gateway.ts).

import type { Command } from 'commander';
import { FolderGateway } from './gateway.ts';

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('watch DIR/req, send each request file to an onshi server, write results to DIR/res (the 連携アプリ role)')
    .requiredOption('--dir <dir>', 'the shared folder holding req, res and face')
    .requiredOption('--server <url>', 'onshi server base URL, e.g. http://127.0.0.1:3000')
    .option('--token <token>', 'facility credential (or ONSHI_TOKEN)')
    .option('--interval <ms>', 'scan interval in ms', '500')
    .option('--face-character-code <code>', 'character code of the face files: 0 UTF-8, 1 Shift_JIS', '0')
    .option('--no-face', 'do not fetch card-confirmation results into DIR/face')
    .action(async (opts: { dir: string; server: string; token?: string; interval: string; faceCharacterCode: string; face: boolean }) => {
      const token = opts.token ?? process.env.ONSHI_TOKEN;
      if (!token) throw new Error('gateway: give --token or set ONSHI_TOKEN');
      if (opts.faceCharacterCode !== '0' && opts.faceCharacterCode !== '1') throw new Error(`gateway: --face-character-code must be 0 or 1, not ${opts.faceCharacterCode}`);
      const interval = Number(opts.interval);
      if (!Number.isInteger(interval) || interval < 10) throw new Error(`gateway: --interval must be an integer of 10 ms or more, not ${opts.interval}`);
      const gateway = new FolderGateway({ dir: opts.dir, server: opts.server, token, pollMs: interval, face: opts.face, faceCharacterCode: opts.faceCharacterCode });
      const stop = () => void gateway.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await gateway.start();
      process.stderr.write(`${new Date().toISOString()} gateway watching ${gateway.reqDir} → ${opts.server}\n`);
      await new Promise(() => {});
    });
}
