// Functions that the worker-call test runs in the worker thread.
import { threadId } from 'node:worker_threads';
import { OnshiError } from '../../src/platform/errors.ts';

export const whereAmI = (input: { tag: string }): { tag: string; threadId: number } => ({ tag: input.tag, threadId });
export const bytes = (n: number): Buffer => Buffer.alloc(n, 7);
export const refuse = (): never => {
  throw new OnshiError('ONSHI_PDF_FONT_UNAVAILABLE', { font: '/nowhere' });
};
export const exitThread = (): void => process.exit(3);
