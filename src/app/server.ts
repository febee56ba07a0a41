// The server main: context, demo data on first run, HTTP, and a clean shutdown that commits every
// pending usage event before the process exits.

import type { Config } from '../platform/config.ts';
import { buildApp } from './build-app.ts';
import { createContext } from './context.ts';
import { loadDemoDataIfEmpty } from './demo.ts';

export async function serve(config: Config, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  // The server checkpoints SQLite's log from a worker thread: commits (and so answers) never wait for it.
  // Its batch runner's lookup workers start with it, so the first large batch finds them ready.
  const ctx = await createContext(config, { backgroundCheckpoints: true, batch: { warmWorkers: true }, importWorker: true });
  // Unsetting ONSHI_ADMIN_TOKEN and restarting retires the credential it defined (it cannot be revoked).
  if (!config.adminToken && (await ctx.credentials.retireBootstrapAdmin())) out('ONSHI_ADMIN_TOKEN is not set: its administrator credential (bootstrap-admin) is revoked.');
  const demo = config.demoData ? await loadDemoDataIfEmpty(ctx) : undefined;
  const app = await buildApp(ctx);
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await ctx.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  const address = await app.listen({ host: config.host, port: config.port });
  const base = address.replace('[::1]', 'localhost').replace('127.0.0.1', 'localhost');
  out('');
  out(`onshi is running at ${base}  (store: ${ctx.database.description})`);
  out(`  API docs   ${base}/docs      OpenAPI ${base}/openapi.json      health ${base}/health`);
  if (demo) for (const line of demo) out(line);
  out('');
}
