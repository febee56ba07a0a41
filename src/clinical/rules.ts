// Clinical information rules (DOMAIN §1): viewing windows, who may view what, and the fields of the
// claims (薬剤情報) and insurers' check-up (特定健診) feeds. Pure: no I/O.

import { fieldError, type ErrorCode, type FieldError } from '../platform/errors.ts';
import type { FacilityRole } from '../platform/auth.ts';
import { addYears, isIsoDate } from '../platform/time.ts';
import { validateCardNumbers, validateFacilityCode, validateInsurerNumber, type FacilityType } from '../registry/rules.ts';
import { checkText } from '../platform/text.ts';

export type ClinicalKind = 'medication' | 'checkups' | 'limit_info';

export const MEDICATION_YEARS = 3;
export const CHECKUP_YEARS = 5;

/**
 * First day (inclusive) of the viewing window that ends on the view date (inclusive), `years` back.
 * A view on 29 Feb reaches back to 28 Feb of a common year: addYears clamps the missing day, and the
 * window then holds one day more rather than one less (民法143条 reckons a missing 応当日 as the
 * month's end; backwards that is the 28th). 3 years before 2027-02-28 is 2024-02-28, so 2024-02-29
 * falls inside that window.
 */
export function windowStart(viewDate: string, years: number): string {
  return addYears(viewDate, -years);
}

export function medicationWindow(viewDate: string): { from: string; to: string } {
  return { from: windowStart(viewDate, MEDICATION_YEARS), to: viewDate };
}

export function checkupWindow(viewDate: string): { from: string; to: string } {
  return { from: windowStart(viewDate, CHECKUP_YEARS), to: viewDate };
}

export function inWindow(date: string, w: { from: string; to: string }): boolean {
  return date >= w.from && date <= w.to;
}

const medicationRoles: readonly FacilityRole[] = ['doctor', 'dentist', 'pharmacist'];
const checkupRoles: readonly FacilityRole[] = ['doctor', 'dentist'];

/**
 * Who may view what: medication — doctors, dentists, pharmacists (有資格者); check-ups — doctors and
 * dentists, never at a pharmacy (checked first: no role makes a pharmacy eligible); the high-cost
 * limit category is an eligibility item taken at reception, so every facility role may read it
 * (consent still required). Returns the refusal, or undefined when allowed.
 */
export function clinicalRefusal(kind: ClinicalKind, role: FacilityRole, facilityType: FacilityType | string): ErrorCode | undefined {
  switch (kind) {
    case 'medication':
      return medicationRoles.includes(role) ? undefined : 'ONSHI_CLINICAL_ROLE';
    case 'checkups':
      if (facilityType === 'pharmacy') return 'ONSHI_CLINICAL_PHARMACY_CHECKUPS';
      return checkupRoles.includes(role) ? undefined : 'ONSHI_CLINICAL_ROLE';
    case 'limit_info':
      return undefined;
  }
}

/** The consent scope that covers a kind of information. */
export function consentScopeOf(kind: ClinicalKind): 'medication' | 'checkups' | 'limit_info' {
  return kind;
}

// --- Feeds -------------------------------------------------------------------------------------

export interface MedicationInput {
  insurerNumber: string;
  symbol: string;
  number: string;
  branch: string;
  dispensedOn: string;
  facilityCode: string;
  drugCode: string;
  drugName: string;
  quantity: number;
  unit: string;
  days: number | null;
  claimRef: string | null;
}

/** 薬価基準収載医薬品コード (YJ, 12 characters) or レセプト電算処理システム用コード (9 digits). */
const DRUG_CODE_RE = /^(?:[0-9]{4}[0-9A-Z]{8}|[0-9]{9})$/;

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function parseMedicationRow(row: Record<string, unknown>, today: string): { value: MedicationInput } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const insurerError = validateInsurerNumber(row.insurerNumber);
  if (insurerError) errors.push(insurerError);
  errors.push(...validateCardNumbers(row, true));
  if (row.dispensedOn === undefined) errors.push(fieldError('dispensedOn', 'required'));
  else if (!isIsoDate(row.dispensedOn)) errors.push(fieldError('dispensedOn', 'invalid_date'));
  else if (row.dispensedOn > today) errors.push(fieldError('dispensedOn', 'out_of_range', 'in the future'));
  const facilityError = validateFacilityCode(row.facilityCode, 'facilityCode');
  if (facilityError) errors.push(facilityError);
  if (row.drugCode === undefined) errors.push(fieldError('drugCode', 'required'));
  else if (typeof row.drugCode !== 'string' || !DRUG_CODE_RE.test(row.drugCode)) errors.push(fieldError('drugCode', 'format', 'YJ code (12) or receipt code (9 digits)'));
  checkText(errors, 'drugName', row.drugName, { max: 200, required: true });
  if (row.quantity === undefined) errors.push(fieldError('quantity', 'required'));
  else if (!isNumber(row.quantity) || row.quantity <= 0 || row.quantity > 100_000) errors.push(fieldError('quantity', 'out_of_range', '> 0'));
  checkText(errors, 'unit', row.unit, { max: 20, required: true });
  if (row.days !== undefined && row.days !== null && (!Number.isInteger(row.days) || (row.days as number) < 1 || (row.days as number) > 365)) {
    errors.push(fieldError('days', 'out_of_range', '1–365'));
  }
  checkText(errors, 'claimRef', row.claimRef, { max: 64 });
  if (errors.length > 0) return { errors };
  return {
    value: {
      insurerNumber: row.insurerNumber as string,
      symbol: (row.symbol as string | undefined) ?? '',
      number: row.number as string,
      branch: row.branch as string,
      dispensedOn: row.dispensedOn as string,
      facilityCode: row.facilityCode as string,
      drugCode: row.drugCode as string,
      drugName: (row.drugName as string).trim(),
      quantity: row.quantity as number,
      unit: (row.unit as string).trim(),
      days: (row.days as number | undefined) ?? null,
      claimRef: (row.claimRef as string | undefined) ?? null,
    },
  };
}

/** 特定健診 items with plausible bounds (units: cm, kg, mmHg, %, mg/dL, U/L). */
export const checkupNumericItems = {
  height: [80, 250],
  weight: [20, 300],
  bmi: [10, 80],
  waist: [40, 200],
  systolicBp: [60, 300],
  diastolicBp: [30, 200],
  hba1c: [3, 20],
  ldl: [10, 600],
  hdl: [5, 200],
  tg: [10, 5000],
  ast: [1, 5000],
  alt: [1, 5000],
  ggt: [1, 5000],
} as const satisfies Record<string, readonly [number, number]>;

export const urineProteinValues = ['-', '±', '+', '2+', '3+'] as const;
/** 階層化 (stratification) of 特定保健指導: 情報提供, 動機付け支援, 積極的支援. */
export const checkupJudgements = ['information', 'motivational_support', 'active_support'] as const;

export type CheckupItems = Partial<Record<keyof typeof checkupNumericItems, number>> & { urineProtein?: (typeof urineProteinValues)[number] };

export interface CheckupInput {
  symbol: string;
  number: string;
  branch: string;
  examDate: string;
  items: CheckupItems;
  judgement: (typeof checkupJudgements)[number];
}

export function parseCheckupRow(row: Record<string, unknown>, today: string): { value: CheckupInput } | { errors: FieldError[] } {
  const errors: FieldError[] = [...validateCardNumbers(row, true)];
  if (row.examDate === undefined) errors.push(fieldError('examDate', 'required'));
  else if (!isIsoDate(row.examDate)) errors.push(fieldError('examDate', 'invalid_date'));
  else if (row.examDate > today) errors.push(fieldError('examDate', 'out_of_range', 'in the future'));
  const items: CheckupItems = {};
  const rawItems = row.items;
  if (rawItems === null || typeof rawItems !== 'object' || Array.isArray(rawItems)) {
    errors.push(fieldError('items', rawItems === undefined ? 'required' : 'format', 'an object of measured items'));
  } else {
    const given = rawItems as Record<string, unknown>;
    for (const [key, value] of Object.entries(given)) {
      if (key === 'urineProtein') {
        if (urineProteinValues.includes(value as never)) items.urineProtein = value as CheckupItems['urineProtein'];
        else errors.push(fieldError('items.urineProtein', 'not_allowed', urineProteinValues.join(' ')));
      } else if (Object.hasOwn(checkupNumericItems, key)) {
        const [min, max] = checkupNumericItems[key as keyof typeof checkupNumericItems];
        if (isNumber(value) && value >= min && value <= max) items[key as keyof typeof checkupNumericItems] = value;
        else errors.push(fieldError(`items.${key}`, 'out_of_range', `${min}–${max}`));
      } else {
        errors.push(fieldError(`items.${key}`, 'unknown'));
      }
    }
    if (Object.keys(given).length === 0) errors.push(fieldError('items', 'required', 'at least one item'));
  }
  if (row.judgement === undefined) errors.push(fieldError('judgement', 'required'));
  else if (!checkupJudgements.includes(row.judgement as never)) errors.push(fieldError('judgement', 'not_allowed', checkupJudgements.join('|')));
  if (errors.length > 0) return { errors };
  return {
    value: {
      symbol: (row.symbol as string | undefined) ?? '',
      number: row.number as string,
      branch: row.branch as string,
      examDate: row.examDate as string,
      items,
      judgement: row.judgement as CheckupInput['judgement'],
    },
  };
}

/** Names compare without spaces of either width (山田　太郎 = 山田 太郎 = 山田太郎). */
export function normaliseName(name: string): string {
  return name.normalize('NFKC').replace(/\s+/gu, '');
}
