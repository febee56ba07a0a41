// The reception fee (医療情報・システム基盤整備体制充実加算) of DOMAIN.md §6: the fee for a visit with
// and without the My Number card, the patient's share at the copay rate, and what the card saved.
// Pure: no I/O.

import { fieldError, type FieldError } from '../../platform/errors.ts';
import { isIsoDate } from '../../platform/time.ts';

export const visitKinds = ['first', 'revisit', 'dispensing'] as const;
export type VisitKind = (typeof visitKinds)[number];
export const copayRates = [10, 20, 30] as const;

/** The first day of the addition in this form, and the day the second schedule starts. */
export const FEE_FROM = '2023-04-01';
export const SECOND_PERIOD_FROM = '2024-01-01';

/** Fees in yen: [card used, card not used]. */
const schedules: Record<'2023' | '2024', Record<VisitKind, readonly [number, number]>> = {
  '2023': { first: [20, 60], revisit: [0, 20], dispensing: [10, 40] },
  '2024': { first: [20, 40], revisit: [0, 0], dispensing: [10, 30] },
};

export interface ReceptionFeeInput {
  date: string;
  visit: VisitKind;
  cardUsed: boolean;
  copayRate: number;
}

export interface ReceptionFeeResult {
  feeYen: number;
  patientShareYen: number;
  /** With the card: the patient's share without it less the share paid. Without: 0. */
  savedYen: number;
  /** Without the card: what using it would have saved. */
  couldSaveYen: number;
  period: 'apr_dec_2023' | 'from_jan_2024';
}

export function feeFor(date: string, visit: VisitKind, cardUsed: boolean): number {
  const schedule = date >= SECOND_PERIOD_FROM ? schedules['2024'] : schedules['2023'];
  return schedule[visit][cardUsed ? 0 : 1];
}

/** The patient's share in yen (the fees are multiples of ¥10, so every share is whole; rounded if not). */
export function shareOf(feeYen: number, copayRate: number): number {
  return Math.round((feeYen * copayRate) / 100);
}

export function computeReceptionFee(input: ReceptionFeeInput): ReceptionFeeResult {
  const fee = feeFor(input.date, input.visit, input.cardUsed);
  const share = shareOf(fee, input.copayRate);
  const withCard = shareOf(feeFor(input.date, input.visit, true), input.copayRate);
  const without = shareOf(feeFor(input.date, input.visit, false), input.copayRate);
  return {
    feeYen: fee,
    patientShareYen: share,
    savedYen: input.cardUsed ? without - withCard : 0,
    couldSaveYen: input.cardUsed ? 0 : without - withCard,
    period: input.date >= SECOND_PERIOD_FROM ? 'from_jan_2024' : 'apr_dec_2023',
  };
}

export function validateReceptionFeeInput(body: Record<string, unknown>): { input: ReceptionFeeInput } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const { date, visit, cardUsed, copayRate } = body;
  if (date === undefined) errors.push(fieldError('date', 'required'));
  else if (typeof date !== 'string' || !isIsoDate(date)) errors.push(fieldError('date', 'invalid_date'));
  else if (date < FEE_FROM) errors.push(fieldError('date', 'out_of_range', `from ${FEE_FROM}`));
  if (visit === undefined) errors.push(fieldError('visit', 'required'));
  else if (!visitKinds.includes(visit as VisitKind)) errors.push(fieldError('visit', 'not_allowed', visitKinds.join('|')));
  if (cardUsed === undefined) errors.push(fieldError('cardUsed', 'required'));
  else if (typeof cardUsed !== 'boolean') errors.push(fieldError('cardUsed', 'format', 'true or false'));
  if (copayRate === undefined) errors.push(fieldError('copayRate', 'required'));
  else if (!copayRates.includes(copayRate as 10)) errors.push(fieldError('copayRate', 'not_allowed', '10|20|30'));
  if (errors.length) return { errors };
  return { input: { date: date as string, visit: visit as VisitKind, cardUsed: cardUsed as boolean, copayRate: copayRate as number } };
}
