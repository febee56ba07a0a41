import { threadId } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { OnshiError } from './errors.ts';
import { callInWorker, stopWorker } from './worker-call.ts';

const fixture = new URL('../../test/support/worker-fixture.ts', import.meta.url).href;

describe('callInWorker', () => {
  afterAll(stopWorker);

  it('runs the function in another thread and answers its result; a Buffer comes back as a Buffer', async () => {
    const out = await callInWorker<{ tag: string }, { tag: string; threadId: number }>(fixture, 'whereAmI', { tag: '資格確認書' });
    expect(out.tag).toBe('資格確認書');
    expect(out.threadId).not.toBe(threadId);
    const b = await callInWorker<number, Buffer>(fixture, 'bytes', 5);
    expect(Buffer.isBuffer(b)).toBe(true);
    expect([...b]).toEqual([7, 7, 7, 7, 7]);
  });

  it('throws an OnshiError thrown there with its code and details', async () => {
    const e = await callInWorker(fixture, 'refuse', null).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OnshiError);
    expect(e).toMatchObject({ code: 'ONSHI_PDF_FONT_UNAVAILABLE', details: { font: '/nowhere' } });
  });

  it('rejects the calls of a worker that died, and the next call gets a new one', async () => {
    await expect(callInWorker(fixture, 'exitThread', null)).rejects.toThrow(/exited/);
    const out = await callInWorker<{ tag: string }, { threadId: number }>(fixture, 'whereAmI', { tag: 'again' });
    expect(out.threadId).not.toBe(threadId);
  });
});
