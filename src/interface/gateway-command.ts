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
    .action(async (opts: { dir: string; server: string; token?: string; interval: string }) => {
      const token = opts.token ?? process.env.ONSHI_TOKEN;
      if (!token) throw new Error('gateway: give --token or set ONSHI_TOKEN');
      const gateway = new FolderGateway({ dir: opts.dir, server: opts.server, token, pollMs: Number(opts.interval) });
      const stop = () => void gateway.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await gateway.start();
      process.stderr.write(`${new Date().toISOString()} gateway watching ${gateway.reqDir} → ${opts.server}\n`);
      await new Promise(() => {});
    });
}
