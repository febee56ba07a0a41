// The medical IT support fund subsidy (医療情報化支援基金) of DOMAIN.md §5 and the seed notice 001
// (実施要領 第2–第4, 第11, 第12, 別表1-1 to 3): facility categories and free readers, the subsidy
// amount, the large-chain pharmacy determination, the return amount after cancellation and the late
// fee. Pure: no I/O. Money is integer yen; dates are YYYY-MM-DD.

import { fieldError, type FieldError } from '../platform/errors.ts';
import { addDays, addYears, daysBetween, daysInMonth, isIsoDate } from '../platform/time.ts';

// ---------------------------------------------------------------------------------------------
// Categories, 別表 and the subsidy amount (第2, 第3)

export const categories = ['hospital', 'large_chain_pharmacy', 'clinic', 'pharmacy'] as const;
export type Category = (typeof categories)[number];

export const costKinds = ['terminal', 'package_software', 'claims_line', 'line_bandwidth', 'system_modification', 'reader', 'training'] as const;
export type CostKind = (typeof costKinds)[number];

/** A face-recognition reader counts (provided free, or bought under 第2の1(2)) only up to ¥99,000 each, tax included. */
export const READER_UNIT_LIMIT_YEN = 99_000;

export interface Rate {
  numerator: number;
  denominator: number;
}

export interface FundTable {
  /** 別表1-1 … 別表3 */
  name: string;
  category: Category;
  readersProvided: number;
  rate: Rate;
  /** The base cost (210.1万円 …) the rate is applied to for the cap. */
  baseCostCapYen: number;
}

const half: Rate = { numerator: 1, denominator: 2 };
const threeQuarters: Rate = { numerator: 3, denominator: 4 };

/** Every table of 別表, as base caps and rates; the subsidy caps are computed from them. */
export const fundTables: readonly FundTable[] = [
  { name: '別表1-1', category: 'hospital', readersProvided: 1, rate: half, baseCostCapYen: 2_101_000 },
  { name: '別表1-2', category: 'hospital', readersProvided: 2, rate: half, baseCostCapYen: 2_002_000 },
  { name: '別表1-3', category: 'hospital', readersProvided: 3, rate: half, baseCostCapYen: 1_903_000 },
  { name: '別表2', category: 'large_chain_pharmacy', readersProvided: 1, rate: half, baseCostCapYen: 429_000 },
  { name: '別表3', category: 'clinic', readersProvided: 1, rate: threeQuarters, baseCostCapYen: 429_000 },
  { name: '別表3', category: 'pharmacy', readersProvided: 1, rate: threeQuarters, baseCostCapYen: 429_000 },
];

/** Free readers a category may be provided (第2の2, 別表): hospitals 1–3, everyone else 1. */
export function freeReadersAllowed(category: Category): { min: number; max: number } {
  return category === 'hospital' ? { min: 1, max: 3 } : { min: 1, max: 1 };
}

export function tableFor(category: Category, readersProvided: number): FundTable {
  const t = fundTables.find((x) => x.category === category && x.readersProvided === readersProvided);
  if (!t) throw new RangeError(`no table for ${category} with ${readersProvided} reader(s)`);
  return t;
}

export function floorTo1000(yen: number): number {
  return Math.floor(yen / 1000) * 1000;
}

/** amount × rate, rounded down to the yen (integers only). */
export function applyRate(amountYen: number, rate: Rate): number {
  return Math.floor((amountYen * rate.numerator) / rate.denominator);
}

/** The subsidy cap of a table: base cost × rate, rounded down to ¥1,000 (210.1万 × 1/2 = 105.05万 → 105万). */
export function capOf(table: FundTable): number {
  return floorTo1000(applyRate(table.baseCostCapYen, table.rate));
}

export function rateText(rate: Rate): string {
  return `${rate.numerator}/${rate.denominator}`;
}

export interface CostItem {
  kind: CostKind;
  amountYen: number;
  /** Readers in this item (kind reader); the item's readers share one unit price. Default 1. */
  units?: number;
  /** Set by a reviewer when an item is not eligible (e.g. customisation beyond the basic cost). */
  excludedReason?: string;
}

export interface CountedItem {
  kind: CostKind;
  amountYen: number;
  countedYen: number;
  note?: string;
}

/** What an item counts for: 0 when excluded, a reader item at most ¥99,000 per unit. */
export function countItem(item: CostItem): CountedItem {
  if (item.excludedReason) return { kind: item.kind, amountYen: item.amountYen, countedYen: 0, note: `excluded: ${item.excludedReason}` };
  if (item.kind === 'reader') {
    const limit = READER_UNIT_LIMIT_YEN * (item.units ?? 1);
    if (item.amountYen > limit) return { kind: item.kind, amountYen: item.amountYen, countedYen: limit, note: `reader counted up to ¥99,000 × ${item.units ?? 1}` };
  }
  return { kind: item.kind, amountYen: item.amountYen, countedYen: item.amountYen };
}

export interface SubsidyInput {
  category: Category;
  readersProvided: number;
  /** Whether the facility introduced the face-recognition reader: without it nothing is subsidised. */
  readerIntroduced: boolean;
  costItems: CostItem[];
}

export interface SubsidyResult {
  table: string;
  eligibleCostYen: number;
  rate: number;
  rateText: string;
  baseCostCapYen: number;
  capYen: number;
  subsidyYen: number;
  items: CountedItem[];
  explanation: string;
  explanationJa: string;
}

const yen = (n: number) => `¥${n.toLocaleString('en-US')}`;

/** 第3の4: min(total eligible cost × rate, cap), rounded down to ¥1,000. */
export function computeSubsidy(input: SubsidyInput): SubsidyResult {
  const table = tableFor(input.category, input.readersProvided);
  const capYen = capOf(table);
  const items = input.costItems.map(countItem);
  const common = { table: table.name, rate: table.rate.numerator / table.rate.denominator, rateText: rateText(table.rate), baseCostCapYen: table.baseCostCapYen, capYen };
  if (!input.readerIntroduced) {
    return {
      ...common,
      eligibleCostYen: 0,
      subsidyYen: 0,
      items: items.map((i) => ({ ...i, countedYen: 0, note: 'no face-recognition reader introduced' })),
      explanation: 'Nothing is subsidised: the costs count only when the facility introduced the face-recognition card reader (第2の1(2)).',
      explanationJa: '顔認証付きカードリーダーを導入していないため、補助対象となりません（第2の1(2)）。',
    };
  }
  const eligibleCostYen = items.reduce((s, i) => s + i.countedYen, 0);
  const byRate = applyRate(eligibleCostYen, table.rate);
  const subsidyYen = floorTo1000(Math.min(byRate, capYen));
  const capped = byRate > capYen;
  return {
    ...common,
    eligibleCostYen,
    subsidyYen,
    items,
    explanation: `${table.name}: eligible cost ${yen(eligibleCostYen)} × ${rateText(table.rate)} = ${yen(byRate)}${capped ? `, above the cap ${yen(capYen)}` : ''}; subsidy ${yen(subsidyYen)} (rounded down to ¥1,000).`,
    explanationJa: `${table.name}：補助対象経費${eligibleCostYen.toLocaleString('ja-JP')}円×${rateText(table.rate)}＝${byRate.toLocaleString('ja-JP')}円${capped ? `（補助限度額${capYen.toLocaleString('ja-JP')}円を適用）` : ''}、交付額${subsidyYen.toLocaleString('ja-JP')}円（1,000円未満切り捨て）。`,
  };
}

// ---------------------------------------------------------------------------------------------
// Large chain pharmacy (第4)

export const LARGE_CHAIN_THRESHOLD = 40_000;
/** LCM of 1..12: every per-pharmacy average is an integer multiple of 1/27720. */
const SCALE = 27_720;

export interface PharmacyCounts {
  designatedOn: string;
  monthlyCounts: Record<string, number>;
  /** Re-designated only because the founder changed (遡及指定): the earlier designation date; the record is read as continuous. */
  retroactiveFrom?: string;
}

export interface PharmacyAverage {
  index: number;
  basis: 'continuous' | 'new' | 'not_counted';
  months: number;
  total: number;
  average: number;
}

export interface LargeChainResult {
  /** The end of February the determination is made at. */
  cutOff: string;
  period: { from: string; to: string };
  groupMonthlyAverage: number;
  largeChain: boolean;
  pharmacies: PharmacyAverage[];
}

function ym(year: number, month: number): string {
  return `${year}-${String(month).padStart(2, '0')}`;
}
function nextMonth(m: string): string {
  const y = Number(m.slice(0, 4));
  const mo = Number(m.slice(5, 7));
  return mo === 12 ? ym(y + 1, 1) : ym(y, mo + 1);
}

/** The end of February on or before a date: the determination's cut-off (当年2月末日). */
export function februaryCutOff(asOf: string): string {
  const y = Number(asOf.slice(0, 4));
  const thisYear = `${y}-02-${daysInMonth(y, 2)}`;
  return asOf >= thisYear ? thisYear : `${y - 1}-02-${daysInMonth(y - 1, 2)}`;
}

/**
 * 第4: the group's per-pharmacy monthly averages summed as of the end of February, "exceeding"
 * 40,000 (Decision: > 40,000). (1) designated since the previous end of February: March–February ÷ 12;
 * (2) newly designated 1 March – 31 January: from the month after designation to February ÷ months;
 * (3) retroactive designation: the earlier record as if continuous. Designated later: not counted.
 * Months without a count count 0. Compared exactly (in units of 1/27720).
 */
export function determineLargeChain(asOf: string, pharmacies: readonly PharmacyCounts[]): LargeChainResult {
  const cutOff = februaryCutOff(asOf);
  const y = Number(cutOff.slice(0, 4));
  const previousFebEnd = `${y - 1}-02-${daysInMonth(y - 1, 2)}`;
  const firstMonth = ym(y - 1, 3);
  const lastMonth = ym(y, 2);
  let scaledSum = 0;
  const rows: PharmacyAverage[] = pharmacies.map((p, index) => {
    const designated = p.retroactiveFrom ?? p.designatedOn;
    let from: string;
    let basis: PharmacyAverage['basis'];
    if (designated <= previousFebEnd) {
      from = firstMonth;
      basis = 'continuous';
    } else if (designated <= `${y}-01-31`) {
      from = nextMonth(designated.slice(0, 7));
      basis = 'new';
    } else return { index, basis: 'not_counted', months: 0, total: 0, average: 0 };
    let months = 0;
    let total = 0;
    for (let m = from; m <= lastMonth; m = nextMonth(m)) {
      months++;
      total += p.monthlyCounts[m] ?? 0;
    }
    scaledSum += (total * SCALE) / months; // exact: months divides 27720
    return { index, basis, months, total, average: Math.floor((total / months) * 100) / 100 };
  });
  return {
    cutOff,
    period: { from: `${firstMonth}-01`, to: cutOff },
    groupMonthlyAverage: Math.floor((scaledSum / SCALE) * 100) / 100,
    largeChain: scaledSum > LARGE_CHAIN_THRESHOLD * SCALE,
    pharmacies: rows,
  };
}

// ---------------------------------------------------------------------------------------------
// Return after cancellation (第11) and the late fee (第12)

export const DEPRECIATION_MONTHS = 60;

function monthIndex(date: string): number {
  return Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7)) - 1;
}

/**
 * Decision (counting): the reader's cost less straight-line depreciation over 60 months, counted in
 * whole months from the month of delivery to the month of cancellation, both included; never below 0,
 * rounded down to the yen.
 */
export function readerResidual(readerCostYen: number, deliveredOn: string, cancelledOn: string): { monthsUsed: number; residualYen: number } {
  const monthsUsed = Math.max(0, monthIndex(cancelledOn) - monthIndex(deliveredOn) + 1);
  const remaining = Math.max(0, DEPRECIATION_MONTHS - monthsUsed);
  return { monthsUsed, residualYen: Math.floor((readerCostYen * remaining) / DEPRECIATION_MONTHS) };
}

/** The legal rate (民法404条) by the date it took effect; per mille a year. */
export interface LateFeeRate {
  from: string;
  perMille: number;
}
/** 第12の1: 3.0% a year from April 2020 (令和2年4月以降). A change is added as a new row. */
export const lateFeeRates: readonly LateFeeRate[] = [{ from: '2020-04-01', perMille: 30 }];

/** The rate at the first accrual (その利息が生じた最初の時点における法定利率); undefined before the table. */
export function rateAt(date: string, table: readonly LateFeeRate[] = lateFeeRates): LateFeeRate | undefined {
  let found: LateFeeRate | undefined;
  for (const r of table) if (r.from <= date && (!found || r.from > found.from)) found = r;
  return found;
}

/** 第12の2: a 365-day year even across 29 February. Each accrual rounded down to the yen. */
export function lateFee(principalYen: number, days: number, perMille: number): number {
  return Math.floor((principalYen * perMille * days) / (1000 * 365));
}

export interface Payment {
  on: string;
  amountYen: number;
}

export type ScheduleEntry =
  | { type: 'accrual'; from: string; to: string; days: number; principalYen: number; ratePercent: number; feeYen: number }
  | { type: 'payment'; on: string; amountYen: number; toLateFeeYen: number; toPrincipalYen: number; principalAfterYen: number; lateFeeUnpaidYen: number };

export interface ReturnInput {
  readerCostYen: number;
  deliveredOn: string;
  cancelledOn: string;
  subsidyYen: number;
  receivedOn: string;
  dueOn: string;
  payments: Payment[];
  /** The day the status is wanted: the late fee accrues up to it (default: the later of the last payment and the due date). */
  asOf?: string;
}

export interface ReturnResult {
  monthsUsed: number;
  readerResidualYen: number;
  principalYen: number;
  late: boolean;
  ratePercent: number;
  lateFeeYen: number;
  lateFeePaidYen: number;
  principalPaidYen: number;
  outstandingYen: number;
  overpaidYen: number;
  lateFeeThrough: string | null;
  settled: boolean;
  schedule: ScheduleEntry[];
}

/**
 * The return amount (第11) and its late fee (第12): no fee when the principal is paid in full by the
 * due date; otherwise the fee runs from the day the subsidy was received, both end days included, on
 * the principal still unpaid, and each payment goes first to the fee accrued so far, then to the principal.
 */
export function computeReturn(input: ReturnInput, rates: readonly LateFeeRate[] = lateFeeRates): ReturnResult {
  const { monthsUsed, residualYen } = readerResidual(input.readerCostYen, input.deliveredOn, input.cancelledOn);
  const principalYen = residualYen + input.subsidyYen;
  const payments = [...input.payments].sort((a, b) => (a.on < b.on ? -1 : a.on > b.on ? 1 : 0));
  const paidByDue = payments.filter((p) => p.on <= input.dueOn).reduce((s, p) => s + p.amountYen, 0);
  const lastPayment = payments.length ? payments[payments.length - 1].on : input.dueOn;
  const end = input.asOf ?? (lastPayment > input.dueOn ? lastPayment : input.dueOn);
  // Late once the due date has passed without the principal paid in full.
  const late = paidByDue < principalYen && (end > input.dueOn || lastPayment > input.dueOn);
  const rate = rateAt(input.receivedOn, rates);
  if (!rate) throw new RangeError(`no late-fee rate for ${input.receivedOn}`);
  const schedule: ScheduleEntry[] = [];
  let principal = principalYen;
  let feeAccrued = 0;
  let feePaid = 0;
  let overpaid = 0;
  let accrueFrom = input.receivedOn;
  let through: string | null = null;
  const accrue = (to: string) => {
    if (!late || principal === 0 || to < accrueFrom) return;
    const days = daysBetween(accrueFrom, to) + 1;
    const fee = lateFee(principal, days, rate.perMille);
    feeAccrued += fee;
    schedule.push({ type: 'accrual', from: accrueFrom, to, days, principalYen: principal, ratePercent: rate.perMille / 10, feeYen: fee });
    accrueFrom = addDays(to, 1);
    through = to;
  };
  for (const p of payments) {
    accrue(p.on);
    const toFee = late ? Math.min(p.amountYen, feeAccrued - feePaid) : 0;
    const toPrincipal = Math.min(p.amountYen - toFee, principal);
    overpaid += p.amountYen - toFee - toPrincipal;
    feePaid += toFee;
    principal -= toPrincipal;
    schedule.push({ type: 'payment', on: p.on, amountYen: p.amountYen, toLateFeeYen: toFee, toPrincipalYen: toPrincipal, principalAfterYen: principal, lateFeeUnpaidYen: feeAccrued - feePaid });
  }
  accrue(end);
  const outstanding = principal + feeAccrued - feePaid;
  return {
    monthsUsed,
    readerResidualYen: residualYen,
    principalYen,
    late,
    ratePercent: rate.perMille / 10,
    lateFeeYen: feeAccrued,
    lateFeePaidYen: feePaid,
    principalPaidYen: principalYen - principal,
    outstandingYen: outstanding,
    overpaidYen: overpaid,
    lateFeeThrough: through,
    settled: outstanding === 0,
    schedule,
  };
}

// ---------------------------------------------------------------------------------------------
// Validation of the calculators' bodies: every problem at once, each with its own code.

type Checked<T> = { input: T } | { errors: FieldError[] };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function date(errors: FieldError[], name: string, v: unknown, required = true): string | undefined {
  if (v === undefined) {
    if (required) errors.push(fieldError(name, 'required'));
    return undefined;
  }
  if (!isIsoDate(v)) {
    errors.push(fieldError(name, 'invalid_date'));
    return undefined;
  }
  return v;
}

function count(errors: FieldError[], name: string, v: unknown): number | undefined {
  if (v === undefined) errors.push(fieldError(name, 'required'));
  else if (!isCount(v)) errors.push(fieldError(name, 'out_of_range', 'a whole number ≥ 0'));
  else return v;
  return undefined;
}

export function validateCostItems(errors: FieldError[], value: unknown, field = 'costItems'): CostItem[] {
  const items: CostItem[] = [];
  if (value === undefined) errors.push(fieldError(field, 'required'));
  else if (!Array.isArray(value)) errors.push(fieldError(field, 'format', 'an array of {kind, amountYen, units?}'));
  else
    value.forEach((raw, i) => {
      const f = `${field}.${i}`;
      if (!isObject(raw)) return void errors.push(fieldError(f, 'format', '{kind, amountYen, units?}'));
      const before = errors.length;
      if (raw.kind === undefined) errors.push(fieldError(`${f}.kind`, 'required'));
      else if (!costKinds.includes(raw.kind as CostKind)) errors.push(fieldError(`${f}.kind`, 'not_allowed', costKinds.join('|')));
      count(errors, `${f}.amountYen`, raw.amountYen);
      if (raw.units !== undefined && !(isCount(raw.units) && raw.units >= 1)) errors.push(fieldError(`${f}.units`, 'out_of_range', 'a whole number ≥ 1'));
      for (const k of Object.keys(raw)) if (!['kind', 'amountYen', 'units'].includes(k)) errors.push(fieldError(`${f}.${k}`, 'unknown'));
      if (errors.length === before) items.push({ kind: raw.kind as CostKind, amountYen: raw.amountYen as number, ...(raw.units !== undefined ? { units: raw.units as number } : {}) });
    });
  return items;
}

export function validateSubsidyInput(body: Record<string, unknown>): Checked<SubsidyInput> {
  const errors: FieldError[] = [];
  const { category, readersProvided, readerIntroduced, costItems } = body;
  let cat: Category | undefined;
  if (category === undefined) errors.push(fieldError('category', 'required'));
  else if (!categories.includes(category as Category)) errors.push(fieldError('category', 'not_allowed', categories.join('|')));
  else cat = category as Category;
  const readers = count(errors, 'readersProvided', readersProvided);
  if (readers !== undefined && cat) {
    const { min, max } = freeReadersAllowed(cat);
    if (readers < min || readers > max) errors.push(fieldError('readersProvided', 'out_of_range', min === max ? `${min} for ${cat}` : `${min}..${max} for ${cat}`));
  }
  if (readerIntroduced === undefined) errors.push(fieldError('readerIntroduced', 'required'));
  else if (typeof readerIntroduced !== 'boolean') errors.push(fieldError('readerIntroduced', 'format', 'true or false'));
  const items = validateCostItems(errors, costItems);
  if (errors.length) return { errors };
  return { input: { category: cat!, readersProvided: readers!, readerIntroduced: readerIntroduced as boolean, costItems: items } };
}

export function validateLargeChainInput(body: Record<string, unknown>): Checked<{ asOf: string; pharmacies: PharmacyCounts[] }> {
  const errors: FieldError[] = [];
  const asOf = date(errors, 'asOf', body.asOf);
  const pharmacies: PharmacyCounts[] = [];
  if (body.pharmacies === undefined) errors.push(fieldError('pharmacies', 'required'));
  else if (!Array.isArray(body.pharmacies)) errors.push(fieldError('pharmacies', 'format', 'an array of {designatedOn, monthlyCounts, retroactiveFrom?}'));
  else
    body.pharmacies.forEach((raw, i) => {
      const f = `pharmacies.${i}`;
      if (!isObject(raw)) return void errors.push(fieldError(f, 'format'));
      const designatedOn = date(errors, `${f}.designatedOn`, raw.designatedOn);
      const retroactiveFrom = date(errors, `${f}.retroactiveFrom`, raw.retroactiveFrom, false);
      if (designatedOn && retroactiveFrom && retroactiveFrom > designatedOn) errors.push(fieldError(`${f}.retroactiveFrom`, 'mismatch', 'after designatedOn'));
      const counts: Record<string, number> = {};
      if (raw.monthlyCounts === undefined) errors.push(fieldError(`${f}.monthlyCounts`, 'required'));
      else if (!isObject(raw.monthlyCounts)) errors.push(fieldError(`${f}.monthlyCounts`, 'format', 'an object of YYYY-MM → count'));
      else
        for (const [m, v] of Object.entries(raw.monthlyCounts)) {
          if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(m)) errors.push(fieldError(`${f}.monthlyCounts.${m}`, 'format', 'YYYY-MM'));
          else if (!isCount(v)) errors.push(fieldError(`${f}.monthlyCounts.${m}`, 'out_of_range', 'a whole number ≥ 0'));
          else counts[m] = v;
        }
      if (designatedOn) pharmacies.push({ designatedOn, monthlyCounts: counts, ...(retroactiveFrom ? { retroactiveFrom } : {}) });
    });
  if (errors.length) return { errors };
  return { input: { asOf: asOf!, pharmacies } };
}

export function validateReturnInput(body: Record<string, unknown>): Checked<ReturnInput> {
  const errors: FieldError[] = [];
  const readerCostYen = count(errors, 'readerCostYen', body.readerCostYen);
  const subsidyYen = count(errors, 'subsidyYen', body.subsidyYen);
  const deliveredOn = date(errors, 'deliveredOn', body.deliveredOn);
  const cancelledOn = date(errors, 'cancelledOn', body.cancelledOn);
  const receivedOn = date(errors, 'receivedOn', body.receivedOn);
  const dueOn = date(errors, 'dueOn', body.dueOn);
  const asOf = date(errors, 'asOf', body.asOf, false);
  if (deliveredOn && cancelledOn && cancelledOn < deliveredOn) errors.push(fieldError('cancelledOn', 'mismatch', 'before deliveredOn'));
  if (receivedOn && dueOn && dueOn < receivedOn) errors.push(fieldError('dueOn', 'mismatch', 'before receivedOn'));
  if (receivedOn && !rateAt(receivedOn)) errors.push(fieldError('receivedOn', 'out_of_range', `no late-fee rate before ${lateFeeRates[0].from}`));
  if (receivedOn && asOf && asOf < receivedOn) errors.push(fieldError('asOf', 'mismatch', 'before receivedOn'));
  const payments: Payment[] = [];
  if (body.payments === undefined) errors.push(fieldError('payments', 'required'));
  else if (!Array.isArray(body.payments)) errors.push(fieldError('payments', 'format', 'an array of {on, amountYen}'));
  else
    body.payments.forEach((raw, i) => {
      const f = `payments.${i}`;
      if (!isObject(raw)) return void errors.push(fieldError(f, 'format', '{on, amountYen}'));
      const on = date(errors, `${f}.on`, raw.on);
      const amountYen = count(errors, `${f}.amountYen`, raw.amountYen);
      if (on && receivedOn && on < receivedOn) errors.push(fieldError(`${f}.on`, 'mismatch', 'before receivedOn'));
      if (on && asOf && on > asOf) errors.push(fieldError(`${f}.on`, 'mismatch', 'after asOf'));
      if (on && amountYen !== undefined) payments.push({ on, amountYen });
    });
  if (errors.length) return { errors };
  return { input: { readerCostYen: readerCostYen!, deliveredOn: deliveredOn!, cancelledOn: cancelledOn!, subsidyYen: subsidyYen!, receivedOn: receivedOn!, dueOn: dueOn!, payments, ...(asOf ? { asOf } : {}) } };
}

// ---------------------------------------------------------------------------------------------
// The ledger (第13), record retention (別記 1(5)) and the consumption-tax deduction report (別記 4)

/** The Japanese fiscal year (April–March) a date falls in: 2021-03-31 → 2020, 2021-04-01 → 2021. */
export function fiscalYearOf(date: string): number {
  const y = Number(date.slice(0, 4));
  return Number(date.slice(5, 7)) >= 4 ? y : y - 1;
}

/** First and last day of a fiscal year: 2020 → 2020-04-01 .. 2021-03-31. */
export function fiscalYearRange(fiscalYear: number): { from: string; to: string } {
  return { from: `${String(fiscalYear).padStart(4, '0')}-04-01`, to: `${String(fiscalYear + 1).padStart(4, '0')}-03-31` };
}

/** Records are kept until the end of the fifth fiscal year after the one in which the project completed. */
export const RETENTION_YEARS = 5;

/**
 * Useful life of the subsidised property, in years. Decision: the notice itself depreciates the
 * face-recognition reader over 5 years (別記 1(6), 第11), which is also the period of 耐用年数省令
 * for "その他の事務機器" and for software (別表第三 ソフトウエア その他); so 5 years is the default,
 * counted from the day the property was acquired (the later of the readers' delivery and the
 * completion of the work). An administrator records a longer statutory life for a facility's
 * property when it applies (e.g. 通信機器 10年); the retention date follows.
 */
export const DEFAULT_USEFUL_LIFE_YEARS = 5;

export interface RetentionInput {
  /** 事業完了の日 (or the day the discontinuation was approved). */
  completedOn: string;
  /** Whether the project acquired or improved property (readers, terminals, software). */
  hasProperty: boolean;
  /** The day the property was acquired; defaults to completedOn. */
  acquiredOn?: string;
  usefulLifeYears?: number;
  /** 財産処分が完了する日, when recorded. */
  disposedOn?: string | null;
}

export interface Retention {
  fiscalYearOfCompletion: number;
  /** The 31 March ending the fifth fiscal year after the fiscal year of completion. */
  basicUntil: string;
  usefulLifeYears: number | null;
  /** The day the useful life elapses: the same date `usefulLifeYears` later (the first day not counted). */
  usefulLifeEndsOn: string | null;
  disposedOn: string | null;
  /** The later of basicUntil and, with property, the later of the useful life's end and the disposal. */
  keepUntil: string;
  basis: 'fiscal_year' | 'useful_life' | 'disposal';
}

export function retentionOf(input: RetentionInput): Retention {
  const fy = fiscalYearOf(input.completedOn);
  const basicUntil = fiscalYearRange(fy + RETENTION_YEARS).to;
  if (!input.hasProperty) return { fiscalYearOfCompletion: fy, basicUntil, usefulLifeYears: null, usefulLifeEndsOn: null, disposedOn: null, keepUntil: basicUntil, basis: 'fiscal_year' };
  const years = input.usefulLifeYears ?? DEFAULT_USEFUL_LIFE_YEARS;
  const lifeEnds = addYears(input.acquiredOn ?? input.completedOn, years);
  const disposedOn = input.disposedOn ?? null;
  let keepUntil = basicUntil;
  let basis: Retention['basis'] = 'fiscal_year';
  if (lifeEnds > keepUntil) [keepUntil, basis] = [lifeEnds, 'useful_life'];
  if (disposedOn && disposedOn > keepUntil) [keepUntil, basis] = [disposedOn, 'disposal'];
  return { fiscalYearOfCompletion: fy, basicUntil, usefulLifeYears: years, usefulLifeEndsOn: lifeEnds, disposedOn, keepUntil, basis };
}

/** 別記 4: the purchase-deduction report is due by 30 June of the fiscal year after next (翌々年度) from the completion. */
export function taxReportDueOn(completedOn: string): string {
  return `${String(fiscalYearOf(completedOn) + 2).padStart(4, '0')}-06-30`;
}
