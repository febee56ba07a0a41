// The byte limit on its own: exactly the limit passes, one byte more throws the catalogue's 413 and
// stops the source.

import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { limitBytes } from './body-limit.ts';
import { OnshiError } from './errors.ts';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('limitBytes', () => {
  it('passes a body of exactly the limit, in any chunking', async () => {
    const body = Buffer.from('x'.repeat(1000));
    for (const size of [1, 7, 999, 1000]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < body.length; i += size) chunks.push(body.subarray(i, i + size));
      expect(await collect(limitBytes(chunks, 1000))).toEqual(body);
    }
  });

  it('throws ONSHI_BODY_TOO_LARGE at the chunk that passes the limit, reading no further', async () => {
    let pulled = 0;
    const source = Readable.from(
      (function* () {
        for (;;) {
          pulled++;
          yield Buffer.alloc(100);
        }
      })(),
    );
    const seen: number[] = [];
    const error = await (async () => {
      try {
        for await (const c of limitBytes(source, 250)) seen.push(c.length);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(OnshiError);
    expect(error).toMatchObject({ code: 'ONSHI_BODY_TOO_LARGE', status: 413, details: { limitBytes: 250 } });
    expect(seen).toEqual([100, 100]);
    expect(source.destroyed).toBe(true);
    expect(pulled).toBeLessThan(100); // a stream's read-ahead, not the endless body
  });

  it('counts bytes, not characters', async () => {
    await expect(collect(limitBytes(['山田'], 5))).rejects.toMatchObject({ code: 'ONSHI_BODY_TOO_LARGE' });
    expect((await collect(limitBytes(['山田'], 6))).toString()).toBe('山田');
  });
});
