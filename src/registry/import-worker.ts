// A member import run in a worker thread on its own connection (see RegistryService.importMembers):
// the import's long transaction, and above all its commit — one synchronous step of a few hundred
// milliseconds for a million rows — then never pause the server's thread. Rows arrive in batches
// through a MessagePort; the answer (the report, or the refusal) goes back through it.

import { workerData, type MessagePort } from 'node:worker_threads';
import { openDatabase } from '../platform/db.ts';
import { RegistryService } from './service.ts';
import type { ImportRow } from './import.ts';

export interface ImportWorkerData {
  port: MessagePort;
  databaseUrl: string;
  linkSecret: string;
  insurerNumber: string;
  actor: string;
  options: { maxReported?: number; batchSize?: number };
}

/** From the server's thread: a batch of rows, the end, or a failure of the stream (the import is abandoned). */
export type ToImportWorker = { rows: ImportRow[] } | { end: true } | { abort: string };
/** To the server's thread: a batch taken (send more), then the result. */
export type FromImportWorker = { taken: true } | { report: unknown } | { error: { name?: string; message: string; code?: string; details?: Record<string, unknown> } };

async function* rowsFrom(port: MessagePort): AsyncGenerator<ImportRow> {
  const queue: ToImportWorker[] = [];
  let wake: (() => void) | undefined;
  port.on('message', (m: ToImportWorker) => {
    queue.push(m);
    wake?.();
  });
  for (;;) {
    while (queue.length === 0) await new Promise<void>((ok) => (wake = ok));
    const m = queue.shift()!;
    if ('end' in m) return;
    if ('abort' in m) throw new Error(`import abandoned: ${m.abort}`);
    port.postMessage({ taken: true } satisfies FromImportWorker);
    yield* m.rows;
  }
}

async function run(data: ImportWorkerData): Promise<void> {
  const { port } = data;
  const database = openDatabase(data.databaseUrl);
  try {
    const registry = new RegistryService(database.db, data.linkSecret);
    const report = await registry.importMembers(data.insurerNumber, rowsFrom(port), data.actor, { ...data.options, inThisThread: true });
    port.postMessage({ report } satisfies FromImportWorker);
  } catch (e) {
    const x = e as { name?: string; message?: string; code?: string; details?: Record<string, unknown> };
    port.postMessage({ error: { name: x?.name, message: String(x?.message), code: x?.code, details: x?.details } } satisfies FromImportWorker);
  } finally {
    await database.close();
    port.close();
  }
}

await run((workerData as { data: ImportWorkerData }).data);
