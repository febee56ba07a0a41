// The incentive payment (一時金) of DOMAIN.md §3: October 2023 baseline, the best of May–August
// 2024, the hospital, clinic/pharmacy and small-facility tables read as a staircase, the
// small-facility rules and the three attested conditions. Pure: no I/O.

import { fieldError, type FieldError } from '../../platform/errors.ts';

export const facilityTypes = ['hospital', 'clinic', 'dental_clinic', 'pharmacy'] as const;
export type FacilityType = (typeof facilityTypes)[number];

export const BASELINE_MONTH = '2023-10';
export const INCENTIVE_MONTHS = ['2024-05', '2024-06', '2024-07', '2024-08'] as const;
/** A facility with at most this many claims in October 2023 is small (小規模施設). */
export const SMALL_FACILITY_MAX_CLAIMS = 150;

export type IncentiveTableName = 'hospital' | 'clinic_pharmacy' | 'small';

/** Rate bands, lower bound inclusive, in whole percent. */
export const rateBands = [
  { label: '<3%', fromPercent: 0 },
  { label: '3-5%', fromPercent: 3 },
  { label: '5-10%', fromPercent: 5 },
  { label: '10-20%', fromPercent: 10 },
  { label: '20-30%', fromPercent: 20 },
  { label: '30-40%', fromPercent: 30 },
  { label: '>=40%', fromPercent: 40 },
] as const;
export type RateBand = (typeof rateBands)[number]['label'];

export interface IncentiveTable {
  name: IncentiveTableName;
  /** Increase thresholds of the columns (≥). */
  columns: readonly number[];
  /** The row of the lowest band, in yen; band b's row is this row without its first b values. */
  firstRow: readonly number[];
  /** How many bands have a row (the small table stops at 5–10%). */
  bands: number;
}

const man = (n: number) => Math.round(n * 10_000);

export const incentiveTables: Record<IncentiveTableName, IncentiveTable> = {
  hospital: {
    name: 'hospital',
    columns: [10, 40, 80, 150, 250, 350, 450, 540, 720, 900],
    firstRow: [0, 0, 0, 10, 12, 15, 20, 30, 35, 40].map(man),
    bands: 7,
  },
  clinic_pharmacy: {
    name: 'clinic_pharmacy',
    columns: [1, 10, 20, 30, 50, 70, 80, 100, 160, 240],
    firstRow: [0, 0, 0, 3, 5, 7, 10, 15, 17, 20].map(man),
    bands: 7,
  },
  small: {
    name: 'small',
    columns: [1, 5, 10, 15, 25, 35, 40],
    firstRow: [0, 0, 1, 1.5, 2.5, 3.5, 5].map(man),
    bands: 3,
  },
};

/** The band index of a rate users ÷ claims, compared exactly in integers. No claims reads as 0%. */
export function rateBandIndex(users: number, claims: number): number {
  let index = 0;
  for (let i = 1; i < rateBands.length; i++) {
    if (claims > 0 && users * 100 >= rateBands[i].fromPercent * claims) index = i;
  }
  return index;
}

/** The row of a band under the staircase reading: starts at the first column, holds its maximum after its last value. */
export function tableRow(table: IncentiveTable, band: number): readonly number[] {
  if (band < 0 || band >= table.bands) throw new RangeError(`table ${table.name} has no row for band ${band}`);
  return table.firstRow.slice(band);
}

export interface TableReading {
  table: IncentiveTableName;
  /** The threshold of the column reached (≥), or null below the first column. */
  column: number | null;
  amountYen: number;
}

/** The amount a table pays for a band and an increase; 0 below the first column or for a negative increase. */
export function readTable(table: IncentiveTable, band: number, increase: number): TableReading {
  const row = tableRow(table, band);
  let reached = -1;
  for (let i = 0; i < table.columns.length; i++) if (increase >= table.columns[i]) reached = i;
  if (reached < 0) return { table: table.name, column: null, amountYen: 0 };
  return { table: table.name, column: table.columns[reached], amountYen: row[Math.min(reached, row.length - 1)] };
}

export function regularTableOf(type: FacilityType): IncentiveTable {
  return type === 'hospital' ? incentiveTables.hospital : incentiveTables.clinic_pharmacy;
}

/** The tables a facility may be paid by: the regular one, and for a small facility below 10% also the small one. */
export function applicableTables(type: FacilityType, octClaims: number, band: number): IncentiveTable[] {
  const tables = [regularTableOf(type)];
  if (octClaims <= SMALL_FACILITY_MAX_CLAIMS && band < incentiveTables.small.bands) tables.unshift(incentiveTables.small);
  return tables;
}

/**
 * The paying reading: max(small table, regular table) for a small facility (on a tie the small
 * table, the facility's own), the regular table otherwise.
 */
export function bestReading(type: FacilityType, octClaims: number, band: number, increase: number): TableReading {
  let best: TableReading | undefined;
  for (const table of applicableTables(type, octClaims, band)) {
    const r = readTable(table, band, increase);
    if (!best || r.amountYen > best.amountYen) best = r;
  }
  return best!;
}

export interface Conditions {
  poster: boolean;
  askPatients: boolean;
  flyers: boolean;
}
export const conditionNames = ['poster', 'askPatients', 'flyers'] as const;

export interface IncentiveInput {
  facilityType: FacilityType;
  octClaims: number;
  octUsers: number;
  /** MNC users per month of May–August 2024; an absent month counts as 0 users. */
  monthlyUsers: Partial<Record<string, number>>;
  conditions: Conditions;
}

export interface IncentiveResult {
  amountYen: number;
  table: IncentiveTableName;
  band: RateBand;
  column: number | null;
  bestMonth: string | null;
  bestMonthUsers: number;
  increase: number;
  octRatePercent: number;
  small: boolean;
  conditionsMet: boolean;
  missingConditions: string[];
  /** What the tables give, before the conditions. */
  tableAmountYen: number;
  next?: { moreUsers: number; amountYen: number };
  explanation: string;
  explanationJa: string;
}

const tableLabels: Record<IncentiveTableName, { en: string; ja: string }> = {
  hospital: { en: 'hospital table', ja: '病院の表' },
  clinic_pharmacy: { en: 'clinic/pharmacy table', ja: '診療所・薬局の表' },
  small: { en: 'small-facility table', ja: '小規模施設の表' },
};

/** 200000 → '200,000' (Intl formatting costs too much across 250,000 facilities). */
export function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
const yen = (n: number) => `¥${grouped(n)}`;
const percent2 = (users: number, claims: number) => (claims > 0 ? Math.round((users * 10_000) / claims) / 100 : 0);

/** The best month of May–August 2024 (most users; the earliest on a tie), or null when none has data. */
export function bestMonthOf(monthlyUsers: Partial<Record<string, number>>): { month: string | null; users: number } {
  let month: string | null = null;
  let users = 0;
  for (const m of INCENTIVE_MONTHS) {
    const n = monthlyUsers[m];
    if (n === undefined) continue;
    if (month === null || n > users) {
      month = m;
      users = n;
    }
  }
  return { month, users };
}

/** The smallest further increase that raises the paying amount, and that amount; undefined at the maximum. */
export function nextStep(type: FacilityType, octClaims: number, band: number, increase: number, currentYen: number): { moreUsers: number; amountYen: number } | undefined {
  const thresholds = [...new Set(applicableTables(type, octClaims, band).flatMap((t) => t.columns))].filter((c) => c > increase).sort((a, b) => a - b);
  for (const t of thresholds) {
    const amount = bestReading(type, octClaims, band, t).amountYen;
    if (amount > currentYen) return { moreUsers: t - increase, amountYen: amount };
  }
  return undefined;
}

export function computeIncentive(input: IncentiveInput): IncentiveResult {
  const band = rateBandIndex(input.octUsers, input.octClaims);
  const best = bestMonthOf(input.monthlyUsers);
  const increase = best.users - input.octUsers;
  const reading = bestReading(input.facilityType, input.octClaims, band, increase);
  const missingConditions = conditionNames.filter((c) => !input.conditions[c]);
  const conditionsMet = missingConditions.length === 0;
  const amountYen = conditionsMet ? reading.amountYen : 0;
  const next = conditionsMet ? nextStep(input.facilityType, input.octClaims, band, increase, reading.amountYen) : undefined;
  const rate = percent2(input.octUsers, input.octClaims);
  const label = tableLabels[reading.table];
  const bandLabel = rateBands[band].label;
  const small = input.octClaims <= SMALL_FACILITY_MAX_CLAIMS;

  // The explanation is written when read: a run over every facility does not need it.
  const explain = (): { en: string; ja: string } => {
    const en: string[] = [
      `October 2023: ${input.octUsers} card users of ${input.octClaims} claims = ${rate.toFixed(2)}% (band ${bandLabel})${small ? ', a small facility (≤150 claims)' : ''}.`,
      best.month ? `Best month of May–August 2024: ${best.month} with ${best.users} users, an increase of ${increase >= 0 ? '+' : ''}${increase}.` : 'No card users reported for May–August 2024.',
      reading.column === null
        ? `The increase is below the first column of the ${label.en}: the table pays ${yen(0)}.`
        : `The ${label.en}, band ${bandLabel}, column ≥${reading.column} pays ${yen(reading.amountYen)}.`,
    ];
    const ja: string[] = [
      `2023年10月: レセプト${input.octClaims}件、マイナ保険証利用人数${input.octUsers}人、利用率${rate.toFixed(2)}%（${bandLabel}）${small ? '、小規模施設（150件以下）' : ''}。`,
      best.month ? `2024年5月〜8月で最も多い月: ${best.month}（${best.users}人、${increase >= 0 ? '+' : ''}${increase}人）。` : '2024年5月〜8月の利用人数がありません。',
      reading.column === null ? `増加人数が${label.ja}の最初の列に達していないため0円です。` : `${label.ja}の${bandLabel}の行、${reading.column}人以上の列: ${grouped(reading.amountYen)}円。`,
    ];
    if (!conditionsMet) {
      en.push(`Not paid: the conditions ${missingConditions.join(', ')} are not attested (amount ${yen(0)}).`);
      ja.push(`支払要件（${missingConditions.join('、')}）を満たしていないため0円です。`);
    } else {
      en.push(`Amount: ${yen(amountYen)}.`);
      ja.push(`給付額: ${grouped(amountYen)}円。`);
      if (next) {
        en.push(`Next step: ${next.moreUsers} more users in the best month would raise it to ${yen(next.amountYen)}.`);
        ja.push(`あと${next.moreUsers}人増えると${grouped(next.amountYen)}円になります。`);
      } else {
        en.push('This is the maximum for this table and band.');
        ja.push('この区分の上限額です。');
      }
    }
    return { en: en.join(' '), ja: ja.join('') };
  };
  const result = {
    amountYen,
    table: reading.table,
    band: bandLabel,
    column: reading.column,
    bestMonth: best.month,
    bestMonthUsers: best.users,
    increase,
    octRatePercent: rate,
    small,
    conditionsMet,
    missingConditions,
    tableAmountYen: reading.amountYen,
    ...(next ? { next } : {}),
  };
  let text: { en: string; ja: string } | undefined;
  Object.defineProperties(result, {
    explanation: { enumerable: true, get: () => (text ??= explain()).en },
    explanationJa: { enumerable: true, get: () => (text ??= explain()).ja },
  });
  return result as IncentiveResult;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 100_000_000;

/** Validates the calculator's body; every problem reported at once. */
export function validateIncentiveInput(body: Record<string, unknown>): { input: IncentiveInput } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const { facilityType, octClaims, octUsers, monthlyUsers, conditions } = body;
  if (facilityType === undefined) errors.push(fieldError('facilityType', 'required'));
  else if (!facilityTypes.includes(facilityType as FacilityType)) errors.push(fieldError('facilityType', 'not_allowed', facilityTypes.join('|')));
  for (const [name, v] of [['octClaims', octClaims], ['octUsers', octUsers]] as const) {
    if (v === undefined) errors.push(fieldError(name, 'required'));
    else if (!isCount(v)) errors.push(fieldError(name, 'out_of_range', 'a whole number ≥ 0'));
  }
  if (isCount(octClaims) && isCount(octUsers) && octUsers > octClaims) errors.push(fieldError('octUsers', 'mismatch', 'more card users than claims'));
  const months: Partial<Record<string, number>> = {};
  if (monthlyUsers === undefined) errors.push(fieldError('monthlyUsers', 'required'));
  else if (monthlyUsers === null || typeof monthlyUsers !== 'object' || Array.isArray(monthlyUsers)) errors.push(fieldError('monthlyUsers', 'format', 'an object of month → users'));
  else {
    const entries = Object.entries(monthlyUsers as Record<string, unknown>);
    if (entries.length === 0) errors.push(fieldError('monthlyUsers', 'required', 'at least one month of 2024-05..2024-08'));
    for (const [m, v] of entries) {
      if (!(INCENTIVE_MONTHS as readonly string[]).includes(m)) errors.push(fieldError(`monthlyUsers.${m}`, 'not_allowed', '2024-05..2024-08'));
      else if (!isCount(v)) errors.push(fieldError(`monthlyUsers.${m}`, 'out_of_range', 'a whole number ≥ 0'));
      else months[m] = v;
    }
  }
  let parsed: Conditions = { poster: true, askPatients: true, flyers: true };
  if (conditions !== undefined) {
    if (conditions === null || typeof conditions !== 'object' || Array.isArray(conditions)) errors.push(fieldError('conditions', 'format', '{poster, askPatients, flyers}'));
    else {
      const c = conditions as Record<string, unknown>;
      for (const name of conditionNames) {
        if (c[name] === undefined) errors.push(fieldError(`conditions.${name}`, 'required'));
        else if (typeof c[name] !== 'boolean') errors.push(fieldError(`conditions.${name}`, 'format', 'true or false'));
      }
      for (const k of Object.keys(c)) if (!(conditionNames as readonly string[]).includes(k)) errors.push(fieldError(`conditions.${k}`, 'unknown'));
      parsed = { poster: c.poster === true, askPatients: c.askPatients === true, flyers: c.flyers === true };
    }
  }
  if (errors.length) return { errors };
  return { input: { facilityType: facilityType as FacilityType, octClaims: octClaims as number, octUsers: octUsers as number, monthlyUsers: months, conditions: parsed } };
}
