// The real server as a child process (`onshi serve`), for tests that kill it and for the benchmarks
// that load it from another process. PORT=0: the server picks a free port and prints its address.

import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

export interface ServerProcess {
  child: ChildProcess;
  base: string;
  stop(): Promise<void>;
}

/** Starts `onshi serve` with these environment variables (demo data off) and waits until it listens. */
export async function startServer(env: Record<string, string>, options: { nodeArgs?: string[]; stderr?: 'inherit' | 'pipe' } = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), join(root, 'bin/onshi.js'), 'serve'], {
    cwd: root,
    env: { ...process.env, PORT: '0', ONSHI_DEMO_DATA: 'false', ONSHI_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', options.stderr ?? 'pipe'],
  });
  const base = await new Promise<string>((ok, fail) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /onshi is running at (http:\/\/\S+)/.exec(out);
      if (m) ok(m[1]!);
    });
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => fail(new Error(`server exited with ${code}: ${err}`)));
  });
  return {
    child,
    base,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A JSON call that throws on any non-2xx answer (setup steps of tests and benchmarks). */
export async function api(base: string, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const json = await r.json();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}
