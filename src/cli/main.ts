// The onshi CLI. Every verb works on the same database as the server (ONSHI_DATABASE_URL) and calls
// the same services as the HTTP API.

import { createReadStream } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../platform/config.ts';
import { OnshiError } from '../platform/errors.ts';
import { createContext, type AppContext } from '../app/context.ts';
import { importFormatOf, readImportRows } from '../registry/import.ts';
import { registerSeedCommand } from './seed-command.ts';
import { registerReaderCommand } from './reader-command.ts';
import { registerGatewayCommand } from '../interface/gateway-command.ts';
import { registerStatisticsCommands } from '../statistics/cli.ts';
import { registerTransitionCommands } from '../programmes/transition/cli.ts';
import { registerNoticeCommands } from '../programmes/notices/cli.ts';
import { registerItFundCommands } from '../itfund/cli.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

export async function withContext<T>(fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  const ctx = await createContext(loadConfig());
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

export function buildCli(): Command {
  const program = new Command('onshi')
    .description('onshi — online eligibility verification (オンライン資格確認)')
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('serve')
    .description('run the HTTP server (API, docs) on PORT; loads demo data into an empty database')
    .action(async () => {
      const { serve } = await import('../app/server.ts');
      await serve(loadConfig());
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      await withContext(async (ctx) => console.log(`migrated ${ctx.database.description}`));
    });

  const credentials = program.command('credentials').description('issue, list and revoke bearer tokens');
  credentials
    .command('issue')
    .description('issue a token (printed once; only its hash is kept)')
    .option('--facility <code>', 'for a facility terminal')
    .option('--role <role>', 'facility staff role: reception | doctor | dentist | pharmacist | facility_admin', 'reception')
    .option('--insurer <number>', 'for an insurer system')
    .option('--admin', 'for an administrator')
    .option('--label <text>', 'a note to recognise it by')
    .action(async (opts: { facility?: string; role: string; insurer?: string; admin?: boolean; label?: string }) => {
      await withContext(async (ctx) => {
        const issued = await ctx.credentials.issue({
          facilityCode: opts.facility,
          role: opts.facility ? opts.role : undefined,
          insurerNumber: opts.insurer,
          admin: opts.admin ? true : undefined,
          label: opts.label,
        });
        console.log(issued.token);
        console.error(`credential ${issued.id} (${issued.kind}${issued.facilityCode ? ` ${issued.facilityCode} ${issued.role}` : ''}${issued.insurerNumber ? ` ${issued.insurerNumber}` : ''}) — the token above is shown only now`);
      });
    });
  credentials
    .command('list')
    .description('list credentials (never their tokens)')
    .option('--all', 'include revoked ones')
    .action(async (opts: { all?: boolean }) => {
      await withContext(async (ctx) => {
        for (const c of await ctx.credentials.list({ includeRevoked: opts.all })) {
          console.log([c.id, c.kind, c.role, c.facilityCode ?? c.insurerNumber ?? '-', c.createdAt, c.revokedAt ? `revoked ${c.revokedAt}` : 'active', c.label ?? ''].join('\t'));
        }
      });
    });
  credentials
    .command('revoke <id>')
    .description('revoke a credential')
    .action(async (id: string) => {
      await withContext(async (ctx) => {
        const c = await ctx.credentials.revoke(id);
        console.log(`revoked ${c.id} at ${c.revokedAt}`);
      });
    });

  const imports = program.command('import').description('bulk imports');
  imports
    .command('members <file>')
    .description('import members for an insurer from CSV (UTF-8 or Shift_JIS) or NDJSON; all or nothing')
    .requiredOption('--insurer <number>', 'the insurer number')
    .option('--format <format>', 'csv or ndjson (default: by file extension)')
    .option('--encoding <charset>', 'utf-8 or shift_jis (default: detected)')
    .action(async (file: string, opts: { insurer: string; format?: string; encoding?: string }) => {
      const format = (opts.format ?? (file.endsWith('.ndjson') || file.endsWith('.jsonl') ? 'ndjson' : 'csv')) as 'csv' | 'ndjson';
      if (!importFormatOf(format === 'csv' ? 'text/csv' : 'application/x-ndjson')) throw new InvalidArgumentError('format must be csv or ndjson');
      const charset = opts.encoding ? (opts.encoding.toLowerCase().replace(/[-_]/g, '') === 'utf8' ? 'utf-8' : 'shift_jis') : undefined;
      await withContext(async (ctx) => {
        const report = await ctx.registry.importMembers(opts.insurer, readImportRows(createReadStream(file), format, charset), 'cli:import');
        console.log(JSON.stringify(report));
      });
    });
  registerStatisticsCommands(program, imports);

  registerSeedCommand(program, positiveInt);
  registerTransitionCommands(program, withContext);
  registerNoticeCommands(program, withContext);
  registerItFundCommands(program, withContext);
  registerReaderCommand(program);
  registerGatewayCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    if (e instanceof OnshiError) {
      console.error(`${e.code}: ${e.message}`);
      if (e.details) console.error(JSON.stringify(e.details, null, 2));
      process.exit(1);
    }
    throw e;
  }
}
