// The streaming row count of a batch CSV never finds more records than csv-parse (so a body is never
// refused for rows it does not have), and finds exactly as many in an ordinary body, however the body
// is cut into chunks.

import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvRecordCounter, rowsOfCsv } from './routes.ts';

function counted(body: Buffer, cuts: number[]): number {
  const counter = new CsvRecordCounter();
  let from = 0;
  for (const at of [...cuts.filter((c) => c > 0 && c < body.length).sort((a, b) => a - b), body.length]) {
    counter.count(body.subarray(from, at));
    from = at;
  }
  return counter.records;
}

/** Records csv-parse reads (the header included), or undefined when it refuses the body. */
async function parsed(body: Buffer): Promise<number | undefined> {
  try {
    const rows = await rowsOfCsv(Readable.from([body]), Number.MAX_SAFE_INTEGER);
    return rows.length + 1;
  } catch {
    return undefined;
  }
}

describe('CsvRecordCounter', () => {
  it('counts complete lines of an ordinary body exactly, CRLF or LF, with empty lines between', () => {
    const body = Buffer.from('insurerNumber,number\r\n06139901,1\r\n\r\n06139901,2\r\n,\r\n');
    expect(counted(body, [])).toBe(4);
    expect(counted(body, [1, 5, 20, 21, 22])).toBe(4);
    expect(counted(Buffer.from('a\n"1\n2"\n"x""\ny"\n'), [3, 4, 10])).toBe(3);
  });

  it('never counts more records than csv-parse reads', async () => {
    const cell = fc.oneof(fc.constantFrom('', ' ', '1', '06139901', '山田', '"', '""', '"a\nb"', '"a,b"', '\t', '\r'), fc.string({ maxLength: 4 }));
    const line = fc.array(cell, { minLength: 1, maxLength: 4 }).map((cells) => cells.join(','));
    const body = fc.tuple(fc.array(line, { minLength: 1, maxLength: 12 }), fc.constantFrom('\n', '\r\n')).map(([lines, eol]) => Buffer.from(lines.join(eol) + eol));
    await fc.assert(
      fc.asyncProperty(body, fc.array(fc.nat(200), { maxLength: 6 }), async (bytes, cuts) => {
        const records = await parsed(bytes);
        if (records !== undefined) expect(counted(bytes, cuts)).toBeLessThanOrEqual(records);
      }),
      { numRuns: 2000 },
    );
  });
});
