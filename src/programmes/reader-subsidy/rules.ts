// The card-reader expansion subsidy of DOMAIN.md §4: eligibility from the peak month of
// October 2023 – August 2024 (≥500 card uses), readers allowed (hospitals by the free readers
// already received), and the subsidy for an actual cost (½, capped). Pure: no I/O.

import { fieldError, type FieldError } from '../../platform/errors.ts';
import { facilityTypes, grouped, type FacilityType } from '../incentive/rules.ts';

export const READER_SUBSIDY_MONTHS = ['2023-10', '2023-11', '2023-12', '2024-01', '2024-02', '2024-03', '2024-04', '2024-05', '2024-06', '2024-07', '2024-08'] as const;
export const MIN_PEAK_USES = 500;
/** Caps by the number of readers subsidised. */
export const readerCapsYen: Record<number, number> = { 0: 0, 1: 275_000, 2: 450_000, 3: 625_000 };

/**
 * Readers a hospital may add, by free readers received (row) and peak monthly uses (column):
 * columns 500–999, 1,000–1,499, 1,500–1,999, 2,000–2,499, ≥2,500.
 */
const hospitalTable: Record<1 | 2 | 3, readonly number[]> = {
  1: [1, 2, 3, 3, 3],
  2: [0, 1, 2, 3, 3],
  3: [0, 0, 1, 2, 3],
};
const hospitalColumns = [500, 1000, 1500, 2000, 2500];

export function readersAllowed(type: FacilityType, freeReaders: number, peakUses: number): number {
  if (peakUses < MIN_PEAK_USES) return 0;
  if (type !== 'hospital') return 1;
  // Decision: a hospital that received no free reader reads the first row (the least equipped).
  const row = hospitalTable[Math.min(3, Math.max(1, freeReaders)) as 1 | 2 | 3];
  let col = 0;
  for (let i = 0; i < hospitalColumns.length; i++) if (peakUses >= hospitalColumns[i]) col = i;
  return row[col];
}

/** The month with most uses in the window (the earliest on a tie); null when the window has no data. */
export function peakMonthOf(monthlyUses: Partial<Record<string, number>>): { month: string | null; uses: number } {
  let month: string | null = null;
  let uses = 0;
  for (const m of READER_SUBSIDY_MONTHS) {
    const n = monthlyUses[m];
    if (n === undefined) continue;
    if (month === null || n > uses) {
      month = m;
      uses = n;
    }
  }
  return { month, uses };
}

export interface ReaderSubsidyInput {
  facilityType: FacilityType;
  freeReaders: number;
  monthlyUses: Partial<Record<string, number>>;
  costYen?: number;
}

export interface ReaderSubsidyResult {
  eligible: boolean;
  peakMonth: string | null;
  peakUses: number;
  readersAllowed: number;
  capYen: number;
  subsidyYen?: number;
  reason?: 'below_500' | 'hospital_table';
  explanation: string;
}

/** ½ of the cost, rounded down to the yen, at most the cap. */
export function subsidyFor(costYen: number, capYen: number): number {
  return Math.min(Math.floor(costYen / 2), capYen);
}

export function computeReaderSubsidy(input: ReaderSubsidyInput): ReaderSubsidyResult {
  const peak = peakMonthOf(input.monthlyUses);
  const readers = readersAllowed(input.facilityType, input.freeReaders, peak.uses);
  const capYen = readerCapsYen[readers];
  const eligible = readers > 0;
  const reason = eligible ? undefined : peak.uses < MIN_PEAK_USES ? ('below_500' as const) : ('hospital_table' as const);
  const subsidyYen = input.costYen === undefined ? undefined : subsidyFor(input.costYen, capYen);
  const parts = [peak.month ? `Peak month ${peak.month}: ${peak.uses} card uses.` : 'No card uses reported for October 2023 – August 2024.'];
  if (reason === 'below_500') parts.push(`Not eligible: no month reached ${MIN_PEAK_USES} uses.`);
  else if (reason === 'hospital_table') parts.push(`Not eligible: a hospital with ${input.freeReaders} free readers needs more uses for an extra reader.`);
  else parts.push(`${readers} extra reader${readers > 1 ? 's' : ''} allowed, cap ¥${grouped(capYen)}.`);
  if (subsidyYen !== undefined) parts.push(`Subsidy: ½ of ¥${grouped(input.costYen!)} capped = ¥${grouped(subsidyYen)}.`);
  return {
    eligible,
    peakMonth: peak.month,
    peakUses: peak.uses,
    readersAllowed: readers,
    capYen,
    ...(subsidyYen !== undefined ? { subsidyYen } : {}),
    ...(reason ? { reason } : {}),
    explanation: parts.join(' '),
  };
}

const isCount = (v: unknown, max = 1_000_000_000): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;

export function validateReaderSubsidyInput(body: Record<string, unknown>): { input: ReaderSubsidyInput } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const { facilityType, freeReaders, monthlyUses, costYen } = body;
  if (facilityType === undefined) errors.push(fieldError('facilityType', 'required'));
  else if (!facilityTypes.includes(facilityType as FacilityType)) errors.push(fieldError('facilityType', 'not_allowed', facilityTypes.join('|')));
  if (freeReaders === undefined) errors.push(fieldError('freeReaders', 'required'));
  else if (!isCount(freeReaders, 3)) errors.push(fieldError('freeReaders', 'out_of_range', '0–3'));
  else if (facilityType !== 'hospital' && facilityType !== undefined && freeReaders > 1) errors.push(fieldError('freeReaders', 'mismatch', 'only hospitals received more than one free reader'));
  const months: Partial<Record<string, number>> = {};
  if (monthlyUses === undefined) errors.push(fieldError('monthlyUses', 'required'));
  else if (monthlyUses === null || typeof monthlyUses !== 'object' || Array.isArray(monthlyUses)) errors.push(fieldError('monthlyUses', 'format', 'an object of month → uses'));
  else {
    const entries = Object.entries(monthlyUses as Record<string, unknown>);
    if (entries.length === 0) errors.push(fieldError('monthlyUses', 'required', 'at least one month of 2023-10..2024-08'));
    for (const [m, v] of entries) {
      if (!(READER_SUBSIDY_MONTHS as readonly string[]).includes(m)) errors.push(fieldError(`monthlyUses.${m}`, 'not_allowed', '2023-10..2024-08'));
      else if (!isCount(v)) errors.push(fieldError(`monthlyUses.${m}`, 'out_of_range', 'a whole number ≥ 0'));
      else months[m] = v;
    }
  }
  if (costYen !== undefined && !isCount(costYen, 100_000_000_000)) errors.push(fieldError('costYen', 'out_of_range', 'whole yen ≥ 0'));
  if (errors.length) return { errors };
  return { input: { facilityType: facilityType as FacilityType, freeReaders: freeReaders as number, monthlyUses: months, ...(costYen !== undefined ? { costYen: costYen as number } : {}) } };
}
