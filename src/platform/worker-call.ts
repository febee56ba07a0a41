// CPU-heavy pure work run in a worker thread, so the server keeps answering confirmations meanwhile.
// A PDF costs a few hundred milliseconds of synchronous CPU (pdfkit parses and subsets the CJK font):
// on the server's thread that time was a pause for every request in flight. One worker, started on
// first use and kept; calls queue in order. A failed worker is replaced at the next call.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { SHARE_ENV, Worker, type TransferListItem } from 'node:worker_threads';
import { OnshiError, type ErrorCode } from './errors.ts';

// The worker imports the module asked for and calls the named export with the input. TypeScript
// sources load through tsx's loader, as bin/onshi.js does (a worker starts without the parent's hooks).
const bootstrap = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  parentPort.on('message', async (m) => {
    try {
      const out = await (await import(m.module))[m.name](m.input);
      parentPort.postMessage({ id: m.id, out });
    } catch (e) {
      parentPort.postMessage({ id: m.id, error: { name: e && e.name, message: String(e && e.message), code: e && e.code, details: e && e.details } });
    }
  });
})().catch((e) => { console.error(e); process.exit(1); });
`;

/** tsx's ESM register API (its CommonJS build of the same entry does not work in a worker). */
function tsxEsmApi(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
}

interface Reply {
  id: number;
  out?: unknown;
  error?: { name?: string; message: string; code?: string; details?: Record<string, unknown> };
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

function start(typescript: boolean): Worker {
  // SHARE_ENV: the worker reads the process's environment as it is now (ONSHI_CJK_FONT may change).
  const w = new Worker(bootstrap, { eval: true, execArgv: [], env: SHARE_ENV, workerData: { tsx: typescript ? tsxEsmApi() : undefined } });
  w.unref();
  w.on('message', (m: Reply) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    if (!p) return;
    if (!m.error) return p.resolve(m.out);
    const e = m.error;
    p.reject(e.name === 'OnshiError' && e.code ? new OnshiError(e.code as ErrorCode, e.details) : Object.assign(new Error(e.message), { code: e.code }));
  });
  const fail = (e: Error) => {
    if (worker === w) worker = undefined;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', () => fail(new Error('the worker thread exited')));
  return w;
}

/**
 * Calls `module`'s export `name` with `input` in the worker thread and answers its result. Input and
 * result must be structured-cloneable; a Buffer comes back as a Buffer. An OnshiError thrown there
 * is thrown here with its code and details.
 */
export async function callInWorker<I, O>(module: string, name: string, input: I): Promise<O> {
  worker ??= start(module.endsWith('.ts'));
  const w = worker;
  const id = nextId++;
  const out = await new Promise<unknown>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.ref(); // a call in flight keeps the process alive (a CLI waits for its PDF)
    w.postMessage({ id, module, name, input });
  });
  return (out instanceof Uint8Array && !Buffer.isBuffer(out) ? Buffer.from(out.buffer, out.byteOffset, out.byteLength) : out) as O;
}

// A worker running one module's own code (it reads workerData and talks through parentPort).
const moduleBootstrap = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.module);
})().catch((e) => { console.error(e); process.exit(1); });
`;

/**
 * Starts a worker thread that runs `module` (a file URL) with `data` as its workerData.data; `transfer`
 * lists what moves to it (a MessagePort). TypeScript sources load through tsx as above.
 */
export function spawnModuleWorker(module: string, data: unknown, transfer: TransferListItem[] = []): Worker {
  return new Worker(moduleBootstrap, {
    eval: true,
    execArgv: [],
    env: SHARE_ENV,
    workerData: { module, tsx: module.endsWith('.ts') ? tsxEsmApi() : undefined, data },
    transferList: transfer,
  });
}

/** Ends the worker (tests and shutdown); a later call starts a new one. */
export async function stopWorker(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (w) await w.terminate();
}
