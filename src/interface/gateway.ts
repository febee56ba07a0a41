// The folder gateway: the terminal-side program (the 連携アプリ's role). It watches DIR/req, sends
// each request file to an onshi server (POST /v1/interface/{fileName}), writes the result into
// DIR/res under the real naming rule (req → res), and removes the request.
//
// - A file it cannot process (not a request name onshi serves, not well-formed XML, another root)
//   is moved into DIR/res with a `.err` file beside it (INTERFACE.md §1.3; the .err format is ours:
//   UTF-8 `key=value` lines ErrorCode, ErrorMessage, File, Time), and is never sent.
// - Server unreachable or answering 5xx/429/401/403: the request stays in req and is retried with
//   exponential back-off; nothing is lost.
// - Results are written to a temporary name and renamed, so a result file is never half-written. A
//   request whose result already exists (killed after the rename, before the removal) is removed
//   without being sent again. Stale temporary files are removed at start.
// - Files still being written by the client are left alone until they have not changed for `settleMs`.
// - Every request carries `Idempotency-Key: sha256(file name, bytes)`: a request resent after a lost
//   answer or a kill in flight is answered from the server's store, never processed twice.
// - Face: the facility's card confirmations are fetched after a cursor (GET /v1/interface/face-results)
//   and written into DIR/face (temporary name, then rename). The cursor is kept in DIR/onshi-gateway-state.json,
//   written (also by rename) after each file: a kill in between re-writes that one file under its
//   deterministic name (no duplicate, nothing lost).

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorCatalogue, type ErrorCode } from '../platform/errors.ts';
import { interfaceErrorCodes } from './codes.ts';
import { requestFileName } from './codec.ts';
import { parseXmlBytes, XmlFormatError, type CharacterCode } from './xml.ts';

export interface GatewayOptions {
  dir: string;
  server: string;
  token: string;
  fetch?: typeof fetch;
  log?: (line: string) => void;
  /** Scan interval (ms). */
  pollMs?: number;
  /** A request must be unchanged this long before it is taken (ms). */
  settleMs?: number;
  /** First and longest wait after a failed send (ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
  clock?: () => number;
  /** Fetch face results into DIR/face (default true). */
  face?: boolean;
  /** Character code of the face files: 0 UTF-8 (default), 1 Shift_JIS. */
  faceCharacterCode?: CharacterCode;
  facePageSize?: number;
}

export interface FaceReport {
  written: number;
  failed: boolean;
}

/** The gateway's state in DIR (only the face cursor so far). */
export const STATE_FILE = 'onshi-gateway-state.json';

/** The idempotency key of a request file: its name and bytes, so a resend is recognised. */
export function idempotencyKeyOf(name: string, bytes: Uint8Array): string {
  return createHash('sha256').update(name).update('\n').update(bytes).digest('hex');
}

export interface ScanReport {
  sent: number;
  rejected: number;
  deferred: number;
  alreadyAnswered: number;
}

const TMP_SUFFIX = '.onshi-tmp';

export class FolderGateway {
  readonly reqDir: string;
  readonly resDir: string;
  readonly faceDir: string;
  private faceFailures = 0;
  private faceNextAt = 0;
  private facing: Promise<FaceReport> | null = null;
  private readonly fetchFn: typeof fetch;
  private readonly log: (line: string) => void;
  private readonly clock: () => number;
  private failures = 0;
  /** Earliest time of the next send attempt after a failure (back-off). */
  nextAttemptAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private faceTimer: NodeJS.Timeout | null = null;
  private scanning: Promise<ScanReport> | null = null;
  private stopped = false;
  readonly totals = { sent: 0, rejected: 0, failures: 0, face: 0 };

  constructor(private readonly options: GatewayOptions) {
    this.reqDir = join(options.dir, 'req');
    this.resDir = join(options.dir, 'res');
    this.faceDir = join(options.dir, 'face');
    this.fetchFn = options.fetch ?? fetch;
    this.log = options.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
    this.clock = options.clock ?? Date.now;
  }

  /** Creates req/res/face and removes temporary files a killed run left behind. */
  async prepare(): Promise<void> {
    for (const d of ['req', 'res', 'face']) await mkdir(join(this.options.dir, d), { recursive: true });
    for (const dir of [this.resDir, this.faceDir, this.options.dir]) {
      for (const f of await readdir(dir)) {
        if (f.endsWith(TMP_SUFFIX)) {
          await rm(join(dir, f), { force: true });
          this.log(`removed unfinished ${f}`);
        }
      }
    }
  }

  /** Processes every request now in req (oldest name first); one at a time, like the terminal. */
  async scan(): Promise<ScanReport> {
    if (this.scanning) return this.scanning;
    this.scanning = this.scanOnce().finally(() => (this.scanning = null));
    return this.scanning;
  }

  private async scanOnce(): Promise<ScanReport> {
    const report: ScanReport = { sent: 0, rejected: 0, deferred: 0, alreadyAnswered: 0 };
    const names = (await readdir(this.reqDir)).filter((n) => !n.startsWith('.') && !n.endsWith(TMP_SUFFIX)).sort();
    for (const name of names) {
      if (this.stopped) break;
      const path = join(this.reqDir, name);
      let info;
      try {
        info = await stat(path);
      } catch {
        continue; // taken away meanwhile
      }
      if (!info.isFile()) continue;
      const settle = this.options.settleMs ?? 300;
      if (settle > 0 && this.clock() - info.mtimeMs < settle) {
        report.deferred++;
        continue;
      }
      const named = requestFileName(name);
      if (!named) {
        await this.reject(name, 'ONSHI_INTERFACE_UNKNOWN_MESSAGE', name);
        report.rejected++;
        continue;
      }
      if (await exists(join(this.resDir, named.resultFileName))) {
        // Answered before a kill: the result is complete (it was renamed into place), so only remove.
        await rm(path, { force: true });
        this.log(`${name}: result ${named.resultFileName} already written; request removed`);
        report.alreadyAnswered++;
        continue;
      }
      const bytes = await readFile(path);
      const problem = checkRequest(bytes);
      if (problem) {
        await this.reject(name, 'ONSHI_INTERFACE_MALFORMED', problem);
        report.rejected++;
        continue;
      }
      if (this.clock() < this.nextAttemptAt) {
        report.deferred++;
        continue;
      }
      const outcome = await this.send(name, bytes);
      if (outcome === 'retry') {
        report.deferred++;
        break; // keep order: later files wait for the server too
      }
      await this.writeResult(outcome.fileName, outcome.bytes);
      await rm(path, { force: true });
      this.log(`${name} → ${outcome.fileName} (${outcome.bytes.length} bytes)`);
      report.sent++;
      this.totals.sent++;
    }
    return report;
  }

  private async send(name: string, bytes: Buffer): Promise<'retry' | { fileName: string; bytes: Buffer }> {
    const url = `${this.options.server.replace(/\/+$/, '')}/v1/interface/${encodeURIComponent(name)}`;
    try {
      const r = await this.fetchFn(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/xml', 'idempotency-key': idempotencyKeyOf(name, bytes) },
        body: bytes,
      });
      if (r.status !== 200) {
        await r.arrayBuffer().catch(() => undefined);
        return this.failed(name, `HTTP ${r.status}`);
      }
      const body = Buffer.from(await r.arrayBuffer());
      const fileName = fileNameOf(r.headers.get('content-disposition')) ?? requestFileName(name)!.resultFileName;
      this.failures = 0;
      this.nextAttemptAt = 0;
      return { fileName: basename(fileName), bytes: body };
    } catch (e) {
      return this.failed(name, e instanceof Error ? `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e));
    }
  }

  private failed(name: string, why: string): 'retry' {
    this.failures++;
    this.totals.failures++;
    const wait = this.backoff(this.failures);
    this.nextAttemptAt = this.clock() + wait;
    this.log(`${name}: server not reached (${why}); retry in ${wait} ms`);
    return 'retry';
  }

  /** The wait after the n-th failure in a row: doubling from retryMinMs, at most retryMaxMs. */
  private backoff(failures: number): number {
    return Math.min(this.options.retryMaxMs ?? 30_000, (this.options.retryMinMs ?? 500) * 2 ** (failures - 1));
  }

  private async writeResult(fileName: string, bytes: Buffer): Promise<void> {
    await writeAtomically(this.resDir, fileName, bytes);
  }

  /** The face cursor kept in DIR (0 when there is none yet). */
  async faceCursor(): Promise<string> {
    try {
      const state = JSON.parse(await readFile(join(this.options.dir, STATE_FILE), 'utf8')) as { faceAfter?: unknown };
      return typeof state.faceAfter === 'string' && /^\d+$/.test(state.faceAfter) ? state.faceAfter : '0';
    } catch {
      return '0';
    }
  }

  /** Fetches every face result after the cursor into DIR/face; one fetch at a time. */
  async pollFace(): Promise<FaceReport> {
    if (this.facing) return this.facing;
    this.facing = this.pollFaceOnce().finally(() => (this.facing = null));
    return this.facing;
  }

  private async pollFaceOnce(): Promise<FaceReport> {
    const report: FaceReport = { written: 0, failed: false };
    if (this.clock() < this.faceNextAt) return report;
    let after = await this.faceCursor();
    const base = this.options.server.replace(/\/+$/, '');
    const limit = this.options.facePageSize ?? 100;
    for (;;) {
      if (this.stopped) break;
      let page: { results: { id: string; fileName: string; content: string }[]; next: string; more: boolean };
      try {
        const r = await this.fetchFn(`${base}/v1/interface/face-results?after=${after}&limit=${limit}&characterCode=${this.options.faceCharacterCode ?? '0'}`, {
          headers: { authorization: `Bearer ${this.options.token}` },
        });
        if (r.status !== 200) {
          await r.arrayBuffer().catch(() => undefined);
          throw new Error(`HTTP ${r.status}`);
        }
        page = (await r.json()) as typeof page;
      } catch (e) {
        this.faceFailures++;
        const wait = this.backoff(this.faceFailures);
        this.faceNextAt = this.clock() + wait;
        this.log(`face results not fetched (${e instanceof Error ? e.message : String(e)}); retry in ${wait} ms`);
        report.failed = true;
        return report;
      }
      this.faceFailures = 0;
      for (const r of page.results) {
        // Only a plain face file name is written (never a path).
        const name = basename(r.fileName);
        if (!/^OQSsiquc01res_face_.+_\d{14}\.xml$/.test(name) || !/^\d+$/.test(r.id)) throw new Error(`face result with an unexpected name ${JSON.stringify(r.fileName)}`);
        await writeAtomically(this.faceDir, name, Buffer.from(r.content, 'base64'));
        // The cursor moves only after its file is in place.
        await writeAtomically(this.options.dir, STATE_FILE, Buffer.from(`${JSON.stringify({ faceAfter: r.id })}\n`));
        after = r.id;
        report.written++;
        this.totals.face++;
        this.log(`face ${name}`);
      }
      if (!page.more || page.results.length === 0) break;
    }
    return report;
  }

  /** Moves a request it cannot process into res with a .err file beside it. */
  private async reject(name: string, code: ErrorCode, detail: string): Promise<void> {
    const base = name.replace(/\.[^.]*$/, '');
    const err = [`ErrorCode=${interfaceErrorCodes[code]}`, `ErrorMessage=${errorCatalogue[code].ja}（${detail.replace(/[\r\n]+/g, ' ')}）`, `File=${name}`, `Time=${new Date(this.clock()).toISOString()}`, ''].join('\n');
    const tmp = join(this.resDir, `${base}.err${TMP_SUFFIX}`);
    await writeFile(tmp, err, 'utf8');
    await rename(tmp, join(this.resDir, `${base}.err`));
    await rename(join(this.reqDir, name), join(this.resDir, name));
    this.totals.rejected++;
    this.log(`${name}: cannot be processed (${detail}); moved to res with ${base}.err`);
  }

  /** Scans every pollMs until stop(). */
  async start(): Promise<void> {
    await this.prepare();
    this.stopped = false;
    // Requests and face results run as two loops: a long backlog in req does not delay face files.
    const loop = (name: string, work: () => Promise<unknown>, set: (t: NodeJS.Timeout) => void) => {
      const tick = async () => {
        try {
          await work();
        } catch (e) {
          this.log(`${name} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
        if (!this.stopped) set(setTimeout(tick, this.options.pollMs ?? 500));
      };
      return tick();
    };
    await Promise.all([
      loop('scan', () => this.scan(), (t) => (this.timer = t)),
      this.options.face !== false ? loop('face', () => this.pollFace(), (t) => (this.faceTimer = t)) : undefined,
    ]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.timer, this.faceTimer]) if (t) clearTimeout(t);
    this.timer = null;
    this.faceTimer = null;
    if (this.scanning) await this.scanning;
    if (this.facing) await this.facing;
  }
}

/** Why a request file cannot be sent, or undefined when it can. */
export function checkRequest(bytes: Buffer): string | undefined {
  try {
    const { root } = parseXmlBytes(bytes);
    return root === 'XmlMsg' ? undefined : `root element <${root}>`;
  } catch (e) {
    return e instanceof XmlFormatError ? e.message : 'unreadable';
  }
}

function fileNameOf(header: string | null): string | undefined {
  if (!header) return undefined;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) return decodeURIComponent(star[1]);
  return /filename="([^"]+)"/i.exec(header)?.[1];
}

/** Writes a file under a temporary name and renames it: a reader never sees it half-written. */
async function writeAtomically(dir: string, name: string, bytes: Buffer): Promise<void> {
  const tmp = join(dir, `${name}${TMP_SUFFIX}`);
  await writeFile(tmp, bytes);
  await rename(tmp, join(dir, name));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
