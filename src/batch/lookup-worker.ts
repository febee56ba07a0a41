// A lookup worker of the batch runner (SQLite): answers encoded rows on its own connection, so a
// chunk's lookups use a second core. It only reads; the runner commits the answers it sends back.

import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../platform/db.ts';
import { ConfirmationService } from '../confirmation/service.ts';
import { UsageRecorder } from '../confirmation/usage-recorder.ts';
import { RegistryService } from '../registry/service.ts';
import { answerRows } from './answer.ts';

export interface LookupRequest {
  id: number;
  now: number;
  asOf: string;
  rows: string[];
}

const port = parentPort!;
const handle = openDatabase(`sqlite:${(workerData as { path: string }).path}`);
// Nothing is recorded here and no link key is computed: the recorder and the secret stay unused.
const confirmation = new ConfirmationService(handle.db, new UsageRecorder(handle.db), new RegistryService(handle.db, ''));

let queue: Promise<void> = Promise.resolve();
port.on('message', (m: LookupRequest | 'stop') => {
  if (m === 'stop') {
    queue = queue.then(async () => {
      await handle.close();
      port.postMessage('stopped');
      port.close();
    });
    return;
  }
  queue = queue.then(async () => {
    try {
      port.postMessage({ id: m.id, ...(await answerRows(confirmation, m.rows, new Date(m.now), m.asOf)) });
    } catch (e) {
      port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
    }
  });
});
port.postMessage('ready');
