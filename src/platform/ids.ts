// Identifiers: UUID version 7 (RFC 9562), time-ordered, so that rows inserted together sit together
// in every B-tree index (SQLite and PostgreSQL insert at the right edge instead of at random).

import { randomFillSync } from 'node:crypto';

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
