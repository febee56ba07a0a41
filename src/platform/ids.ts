// Identifiers: UUID version 7 (RFC 9562), time-ordered, so that rows inserted together sit together
// in every B-tree index (SQLite and PostgreSQL insert at the right edge instead of at random).

import { randomBytes, randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let offset = pool.length;
let lastMs = 0;
let sequence = 0;

function randomBytes10(): Buffer {
  if (offset + 10 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const b = pool.subarray(offset, offset + 10);
  offset += 10;
  return b;
}

/** Formats 48 bits of time and 74 bits of randomness as a version-7 UUID. */
export function formatUuidV7(ms: number, rand: Uint8Array): string {
  const hex = ms.toString(16).padStart(12, '0');
  const r = Buffer.from(rand).toString('hex'); // 20 hex digits
  const variant = ((parseInt(r[3], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${r.slice(0, 3)}-${variant}${r.slice(4, 7)}-${r.slice(7, 19)}`;
}

/** A new time-ordered id. Within one millisecond, a counter in the random bits keeps the order. */
export function newId(now = Date.now()): string {
  const rand = randomBytes10();
  if (now === lastMs) {
    sequence = (sequence + 1) & 0xfff;
  } else {
    lastMs = now;
    sequence = rand[0] & 0x7ff;
  }
  const bytes = Buffer.from(rand);
  // The 12 bits after the version carry the sequence, so ids from one process sort in creation order.
  bytes[0] = sequence >> 4;
  bytes[1] = ((sequence & 0xf) << 4) | (bytes[1] & 0x0f);
  return formatUuidV7(now, bytes);
}

/**
 * Version-7 UUIDs for bulk writers, laid out as newId makes them (48-bit milliseconds, version, a
 * 12-bit sequence, variant, random bits) but made a batch at a time: one random fill and one hex
 * encoding per batch instead of a buffer and an encoding per id (newId took a tenth of a member import,
 * with three ids per row). The sequence counts up across batches and carries into the milliseconds,
 * so the ids sort in the order they were made, as newId's do.
 */
class IdBatches {
  private ms = 0;
  private sequence = 0;
  private static readonly variants = '89ab89ab89ab89ab';
  private static readonly sequenceHex = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, '0'));

  take(count: number): string[] {
    const hex = randomBytes(count * 8 + 2).toString('hex'); // 16 random hex digits per id, 4 to spare
    const now = Date.now();
    if (now > this.ms) {
      this.ms = now;
      this.sequence = parseInt(hex.slice(-3), 16) & 0x7ff; // a random start, as newId
    }
    let time = this.timeHex();
    const ids = new Array<string>(count);
    for (let i = 0, o = 0; i < count; i++, o += 16) {
      if (++this.sequence > 0xfff) {
        this.sequence = 0;
        this.ms++;
        time = this.timeHex();
      }
      ids[i] = `${time}-7${IdBatches.sequenceHex[this.sequence]}-${IdBatches.variants[parseInt(hex[o], 16)]}${hex.slice(o + 1, o + 4)}-${hex.slice(o + 4, o + 16)}`;
    }
    return ids;
  }

  /** The first two groups: 8 and 4 hex digits of the milliseconds. */
  private timeHex(): string {
    const h = this.ms.toString(16).padStart(12, '0');
    return `${h.slice(0, 8)}-${h.slice(8)}`;
  }
}

const batches = new IdBatches();

/** `count` new time-ordered ids at once (bulk imports): the layout and order of newId, made cheaply. */
export function newIds(count: number): string[] {
  return batches.take(count);
}
