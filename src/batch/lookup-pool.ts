// Lookup workers for the batch runner on SQLite (see lookup-worker.ts). A worker is a helper only:
// if it fails, the runner answers its rows itself, and nothing it did is committed by it.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Answered } from './answer.ts';
import type { LookupRequest } from './lookup-worker.ts';

// The worker loads the TypeScript sources through tsx's loader, as bin/onshi.js does (a worker
// starts without the parent's loader hooks).
const bootstrap = `
const { workerData } = require('node:worker_threads');
(async () => {
  const { register } = await import(workerData.tsx);
  register();
  await import(workerData.entry);
})().catch((e) => { console.error(e); process.exit(1); });
`;

/** tsx's ESM register API (its CommonJS build of the same entry does not work in a worker). */
function tsxEsmApi(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
}

export class LookupWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (a: Answered) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  /** Answering requests (its modules loaded and the database open). */
  ready = false;
  /** Failed or stopped: no more requests. */
  broken = false;

  constructor(path: string) {
    const tsx = tsxEsmApi();
    const entry = new URL('./lookup-worker.ts', import.meta.url).href;
    this.worker = new Worker(bootstrap, { eval: true, execArgv: [], workerData: { path, tsx, entry } });
    this.worker.unref();
    this.worker.on('message', (m: 'ready' | 'stopped' | { id: number; error?: string } & Partial<Answered>) => {
      if (m === 'ready') this.ready = true;
      else if (m !== 'stopped') {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (!p) return;
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve({ answers: m.answers!, counts: m.counts! });
      }
    });
    const fail = (e: Error) => {
      this.broken = true;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => fail(new Error('the lookup worker exited')));
  }

  answer(rows: string[], now: Date, asOf: string): Promise<Answered> {
    if (this.broken) return Promise.reject(new Error('the lookup worker is gone'));
    const id = this.nextId++;
    return new Promise<Answered>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, now: now.getTime(), asOf, rows } satisfies LookupRequest);
    });
  }

  async stop(): Promise<void> {
    if (this.broken) return;
    const exited = new Promise((ok) => this.worker.once('exit', ok));
    this.worker.postMessage('stop');
    await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5000).unref())]);
    this.broken = true;
    await this.worker.terminate();
  }
}
