// Pure rules of the usage statistics (DOMAIN.md §2): utilization rate = card uses ÷ all online
// confirmations, change in percentage points from the previous month, rankings with the top and
// bottom five marked. No I/O.

import { fieldError, type FieldError } from '../platform/errors.ts';

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isMonth(v: unknown): v is string {
  return typeof v === 'string' && MONTH_RE.test(v) && v >= '2000-01' && v <= '2099-12';
}

export function validateMonth(v: unknown, field = 'month'): FieldError | undefined {
  if (v === undefined || v === '') return fieldError(field, 'required');
  if (!isMonth(v)) return fieldError(field, 'format', 'YYYY-MM');
  return undefined;
}

export function addMonths(month: string, n: number): string {
  const y = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7)) - 1 + n;
  const yy = y + Math.floor(m / 12);
  const mm = ((m % 12) + 12) % 12;
  return `${String(yy).padStart(4, '0')}-${String(mm + 1).padStart(2, '0')}`;
}

export const previousMonth = (month: string) => addMonths(month, -1);
export const firstDayOf = (month: string) => `${month}-01`;

/** Rounds half away from zero to `digits` decimals, steady against binary fractions (0.145 → 0.15). */
export function roundTo(x: number, digits = 2): number {
  const f = 10 ** digits;
  const r = Math.round(Math.abs(x) * f + 1e-7) / f;
  return x < 0 ? -r : r;
}

/** Utilization rate in percent (2 decimals), or null without confirmations. */
export function ratePercent(cardUses: number, confirmations: number): number | null {
  if (confirmations <= 0) return null;
  return roundTo((cardUses * 100) / confirmations);
}

/** Change in percentage points (2 decimals) between unrounded rates; null when either month has no confirmations. */
export function changePoints(current: { cardUses: number; confirmations: number }, previous: { cardUses: number; confirmations: number } | undefined): number | null {
  if (!previous || current.confirmations <= 0 || previous.confirmations <= 0) return null;
  return roundTo((current.cardUses * 100) / current.confirmations - (previous.cardUses * 100) / previous.confirmations);
}

export interface Counts {
  confirmations: number;
  cardUses: number;
}

export interface RankedRow {
  key: string;
  confirmations: number;
  cardUses: number;
  ratePercent: number | null;
  changePoints: number | null;
  /** 1 = highest rate; null without confirmations. */
  rank: number | null;
  top5: boolean;
  bottom5: boolean;
}

/**
 * Rows with their rates, changes and ranks: by unrounded rate, highest first; equal rates share
 * the order of their keys. Rows without confirmations are not ranked. The top and bottom five are
 * marked (with fewer than ten ranked rows a row can be both).
 */
export function rankRows(current: ReadonlyMap<string, Counts>, previous: ReadonlyMap<string, Counts>, keys?: readonly string[]): RankedRow[] {
  const all = keys ?? [...current.keys()].sort();
  const rows: RankedRow[] = all.map((key) => {
    const c = current.get(key) ?? { confirmations: 0, cardUses: 0 };
    return { key, confirmations: c.confirmations, cardUses: c.cardUses, ratePercent: ratePercent(c.cardUses, c.confirmations), changePoints: changePoints(c, previous.get(key)), rank: null, top5: false, bottom5: false };
  });
  const ranked = rows.filter((r) => r.confirmations > 0);
  ranked.sort((a, b) => b.cardUses * a.confirmations - a.cardUses * b.confirmations || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  ranked.forEach((r, i) => {
    r.rank = i + 1;
    r.top5 = i < 5;
    r.bottom5 = i >= ranked.length - 5;
  });
  return rows;
}

export function sumCounts(rows: Iterable<Counts>): Counts {
  let confirmations = 0;
  let cardUses = 0;
  for (const r of rows) {
    confirmations += r.confirmations;
    cardUses += r.cardUses;
  }
  return { confirmations, cardUses };
}
