// Insurer targets (DOMAIN.md §2): an insurer sets target utilization rates for months; the report
// compares the actual rate of its insured persons with each target, and flags municipal NHI
// insurers above 50% in November 2024 (rewarded in the insurer effort support system). Pure.

import { fieldError, type FieldError } from '../../platform/errors.ts';
import { isMonth } from '../../statistics/rules.ts';

export const REWARD_MONTH = '2024-11';
/** Above this rate (strictly), in hundredths of a percent. */
export const REWARD_ABOVE_BASIS_POINTS = 5000;
/** The months the seed names for municipal targets. */
export const MUNICIPAL_TARGET_MONTHS = ['2024-05', '2024-08', '2024-11'] as const;

export interface Target {
  month: string;
  /** Hundredths of a percent (1234 = 12.34%). */
  basisPoints: number;
}

/** A list of {month, targetPercent} (percent with at most 2 decimals, 0–100), each month once. */
export function validateTargets(body: unknown): { targets: Target[] } | { errors: FieldError[] } {
  if (!Array.isArray(body)) return { errors: [fieldError('body', 'format', 'an array of {month, targetPercent}')] };
  if (body.length === 0) return { errors: [fieldError('body', 'required', 'at least one target')] };
  const errors: FieldError[] = [];
  const targets: Target[] = [];
  const seen = new Set<string>();
  body.forEach((item, i) => {
    const o = item !== null && typeof item === 'object' ? (item as Record<string, unknown>) : {};
    if (o.month === undefined) errors.push(fieldError(`${i}.month`, 'required'));
    else if (!isMonth(o.month)) errors.push(fieldError(`${i}.month`, 'format', 'YYYY-MM'));
    else if (seen.has(o.month)) errors.push(fieldError(`${i}.month`, 'duplicate'));
    const p = o.targetPercent;
    const bp = typeof p === 'number' ? Math.round(p * 100) : NaN;
    if (p === undefined) errors.push(fieldError(`${i}.targetPercent`, 'required'));
    else if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100 || Math.abs(bp - p * 100) > 1e-6) errors.push(fieldError(`${i}.targetPercent`, 'out_of_range', '0–100, at most 2 decimals'));
    if (isMonth(o.month)) seen.add(o.month);
    if (isMonth(o.month) && Number.isFinite(bp)) targets.push({ month: o.month, basisPoints: bp });
  });
  return errors.length ? { errors } : { targets };
}

/** Whether the actual rate (card uses ÷ confirmations) reaches the target, compared exactly. */
export function meetsTarget(cardUses: number, confirmations: number, basisPoints: number): boolean {
  return confirmations > 0 && cardUses * 10_000 >= basisPoints * confirmations;
}

/** A municipal (kokuho) insurer whose November 2024 rate is above 50%. */
export function rewardedAbove50(kind: string, month: string, cardUses: number, confirmations: number): boolean {
  return kind === 'kokuho' && month === REWARD_MONTH && confirmations > 0 && cardUses * 10_000 > REWARD_ABOVE_BASIS_POINTS * confirmations;
}
