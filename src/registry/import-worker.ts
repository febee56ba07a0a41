// A member import run in a worker thread on its own connection (see RegistryService.importMembers):
// the import's long transaction, and above all its commit — one synchronous step of a few hundred
// milliseconds for a million rows — then never pause the server's thread. The worker is started
// ahead (its modules load in about a second) and waits for its one import: the first message names
// it and brings a MessagePort; its bytes arrive through that port as they come, and the answer (the report,
// or the refusal) goes back through it.

import { parentPort, type MessagePort } from 'node:worker_threads';
import { openDatabase } from '../platform/db.ts';
import { RegistryService } from './service.ts';
import { readImportRows, type ImportFormat } from './import.ts';

export interface ImportWorkerData {
  port: MessagePort;
  databaseUrl: string;
  linkSecret: string;
  insurerNumber: string;
  actor: string;
  format: ImportFormat;
  charset: 'utf-8' | 'shift_jis' | undefined;
  maxRows?: number;
}

/** From the server's thread: a chunk of the file's bytes, the end, or a failure of the stream (the import is abandoned). */
export type ToImportWorker = { chunk: Uint8Array } | { end: true } | { abort: string };
/** To the server's thread: a chunk taken (send more), then the result. */
export type FromImportWorker = { taken: true } | { report: unknown } | { error: { name?: string; message: string; code?: string; details?: Record<string, unknown> } };

async function* bytesFrom(port: MessagePort): AsyncGenerator<Buffer> {
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
    yield Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength);
  }
}

async function run(data: ImportWorkerData): Promise<void> {
  const { port } = data;
  const database = openDatabase(data.databaseUrl);
  try {
    const registry = new RegistryService(database.db, data.linkSecret);
    const rows = readImportRows(bytesFrom(port), data.format, data.charset, { maxRows: data.maxRows });
    const report = await registry.importMembers(data.insurerNumber, rows, data.actor);
    port.postMessage({ report } satisfies FromImportWorker);
  } catch (e) {
    const x = e as { name?: string; message?: string; code?: string; details?: Record<string, unknown> };
    port.postMessage({ error: { name: x?.name, message: String(x?.message), code: x?.code, details: x?.details } } satisfies FromImportWorker);
  } finally {
    await database.close();
    port.close();
  }
}

parentPort!.once('message', (data: ImportWorkerData) => void run(data).finally(() => parentPort!.close()));
