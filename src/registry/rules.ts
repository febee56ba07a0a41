// Pure rules of the registry: number formats and check digits (検証番号), the enumerations, and the
// validation of a member's fields. No I/O here.

import { fieldError, type FieldError } from '../platform/errors.ts';
import { codePointLength, hasForbiddenCharacter, textError, TEXT_MAX } from '../platform/text.ts';
import { addDays, isIsoDate, isLeapYear } from '../platform/time.ts';
import { PAPER_CARD_ABOLISHED_ON, paperCardIssueAllowed } from '../programmes/transition/rules.ts';

export const insurerKinds = ['kyokai_kenpo', 'kenpo_kumiai', 'kyosai', 'kokuho', 'koki_korei'] as const;
export type InsurerKind = (typeof insurerKinds)[number];

export const facilityTypes = ['hospital', 'clinic', 'dental_clinic', 'pharmacy'] as const;
export type FacilityType = (typeof facilityTypes)[number];

export const sexes = ['male', 'female'] as const;
export type Sex = (typeof sexes)[number];

export const relationships = ['self', 'family'] as const;
export type Relationship = (typeof relationships)[number];

/** 資格喪失事由, with the real interface's ReasonOfLoss codes (01 死亡, 02 生活保護, 03 他の医療保険, 99 その他). */
export const lossReasons = ['death', 'public_assistance', 'other_insurance', 'other'] as const;
export type LossReason = (typeof lossReasons)[number];

/** 一部負担割合 (percent). */
export const copayRates = [0, 10, 20, 30] as const;

/** 限度額適用認定証 区分 (OQSCD012): A01–A06, B01–B10. */
export const limitCategories = [
  'A01', 'A02', 'A03', 'A04', 'A05', 'A06',
  'B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B09', 'B10',
] as const;

/** Prefecture codes 01 (北海道) … 47 (沖縄県), with their names. */
export const prefectures = [
  '北海道', '青森県', '岩手県', '宮城県', '秋田県', '山形県', '福島県', '茨城県', '栃木県', '群馬県',
  '埼玉県', '千葉県', '東京都', '神奈川県', '新潟県', '富山県', '石川県', '福井県', '山梨県', '長野県',
  '岐阜県', '静岡県', '愛知県', '三重県', '滋賀県', '京都府', '大阪府', '兵庫県', '奈良県', '和歌山県',
  '鳥取県', '島根県', '岡山県', '広島県', '山口県', '徳島県', '香川県', '愛媛県', '高知県', '福岡県',
  '佐賀県', '長崎県', '熊本県', '大分県', '宮崎県', '鹿児島県', '沖縄県',
] as const;

export function prefectureName(code: string): string | undefined {
  const n = Number(code);
  return /^\d{2}$/.test(code) && n >= 1 && n <= 47 ? prefectures[n - 1] : undefined;
}

export function isPrefectureCode(code: unknown): code is string {
  return typeof code === 'string' && prefectureName(code) !== undefined;
}

/**
 * Modulus-10 check digit with weights 2,1 (保険者番号設定要領): from the last digit leftwards multiply
 * by 2, 1, 2, …; add the digits of each product; the check digit is 10 minus the last digit of the
 * sum (0 when that last digit is 0). Example: 3312001 → 5 (千葉県警察 33120015).
 */
export function mod10w21CheckDigit(digits: string): number {
  let sum = 0;
  for (let i = digits.length - 1, w = 2; i >= 0; i--, w = 3 - w) {
    const p = (digits.charCodeAt(i) - 48) * w;
    sum += p >= 10 ? p - 9 : p;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * 保険者番号: 8 digits (法別番号 2 + 都道府県番号 2 + 保険者別番号 3 + 検証番号) or, for municipal
 * national health insurance (市町村国保), 6 digits (都道府県番号 2 + 保険者別番号 3 + 検証番号).
 * The check digit covers every digit before it.
 */
export function validateInsurerNumber(value: unknown, field = 'insurerNumber'): FieldError | undefined {
  if (value === undefined || value === null || value === '') return fieldError(field, 'required');
  if (typeof value !== 'string' || !/^(\d{6}|\d{8})$/.test(value)) return fieldError(field, 'format', '6 or 8 digits');
  if (mod10w21CheckDigit(value.slice(0, -1)) !== Number(value.at(-1))) return fieldError(field, 'check_digit');
  return undefined;
}

/** Completes a 5- or 7-digit insurer number with its check digit (used by the seeder and tests). */
export function withInsurerCheckDigit(body: string): string {
  return body + String(mod10w21CheckDigit(body));
}

/** 6-digit insurer numbers belong to municipal NHI (国保); kokuho unions (国保組合) have 8 digits. */
export function insurerKindAgreesWithNumber(kind: InsurerKind, insurerNumber: string): boolean {
  return insurerNumber.length === 8 || kind === 'kokuho';
}

/** 点数表番号 of the facility code: 1 医科, 3 歯科, 4 調剤. */
export const facilityTableOfType: Record<FacilityType, string> = {
  hospital: '1',
  clinic: '1',
  dental_clinic: '3',
  pharmacy: '4',
};

/**
 * 医療機関コード, 10 digits: 都道府県番号 2 + 点数表番号 1 + 郡市区番号 2 + 医療機関等番号 4 + 検証番号 1.
 * The check digit covers the six digits of 郡市区番号 and 医療機関等番号 (modulus 10, weights 2,1).
 */
export function validateFacilityCode(value: unknown, field = 'code'): FieldError | undefined {
  if (value === undefined || value === null || value === '') return fieldError(field, 'required');
  if (typeof value !== 'string' || !/^\d{10}$/.test(value)) return fieldError(field, 'format', '10 digits');
  if (!isPrefectureCode(value.slice(0, 2))) return fieldError(field, 'format', 'prefecture 01–47');
  if (!['1', '3', '4'].includes(value[2])) return fieldError(field, 'format', 'table 1, 3 or 4');
  if (mod10w21CheckDigit(value.slice(3, 9)) !== Number(value[9])) return fieldError(field, 'check_digit');
  return undefined;
}

/** Builds a valid facility code from its parts (seeder, tests, demo data). */
export function makeFacilityCode(prefecture: string, type: FacilityType, sixDigits: string): string {
  return `${prefecture}${facilityTableOfType[type]}${sixDigits}${mod10w21CheckDigit(sixDigits)}`;
}

/** Facility type must agree with the code's table digit and prefecture with its first two digits. */
export function validateFacility(input: { code?: unknown; name?: unknown; type?: unknown; prefecture?: unknown }): FieldError[] {
  const errors: FieldError[] = [];
  const codeError = validateFacilityCode(input.code);
  if (codeError) errors.push(codeError);
  const nameError = organisationNameError(input.name);
  if (nameError) errors.push(nameError);
  if (!facilityTypes.includes(input.type as FacilityType)) {
    errors.push(fieldError('type', input.type ? 'not_allowed' : 'required', facilityTypes.join('|')));
  } else if (!codeError && facilityTableOfType[input.type as FacilityType] !== (input.code as string)[2]) {
    errors.push(fieldError('type', 'mismatch', `code table digit ${(input.code as string)[2]}`));
  }
  if (input.prefecture !== undefined) {
    if (!isPrefectureCode(input.prefecture)) errors.push(fieldError('prefecture', 'format', '01–47'));
    else if (!codeError && (input.code as string).slice(0, 2) !== input.prefecture) errors.push(fieldError('prefecture', 'mismatch', 'code prefecture'));
  }
  return errors;
}

/**
 * A one-line free text of at most `max` code points that passes the text rule (platform/text.ts).
 * Validators that report the reason use textError; this is for the yes/no checks.
 */
export function isNonEmptyText(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.trim().length > 0 && (v.length <= max || codePointLength(v) <= max) && !hasForbiddenCharacter(v);
}

/** The name of an insurer, a facility or another organisation: required, TEXT_MAX.organisationName. */
export function organisationNameError(value: unknown, field = 'name'): FieldError | undefined {
  return textError(field, value, { max: TEXT_MAX.organisationName, required: true });
}

// Card numbers. 記号 may be empty (後期高齢者医療 cards have none) and may hold kanji or kana on
// some cards; 番号 is required; 枝番 is two digits.
const SYMBOL_RE = /^[^\s\u0000-\u001f]{0,38}$/u;
const NUMBER_RE = /^[0-9A-Za-z\-\u3000-\u30ff\u4e00-\u9fff\uff01-\uff5e]{1,38}$/u;
const BRANCH_RE = /^\d{2}$/;
/** Half- or full-width katakana with spaces (フリガナ). */
const KANA_RE = /^[\u30a0-\u30ff\uff66-\uff9f\u3000 ー･・]+$/u;

export function validateCardNumbers(input: { symbol?: unknown; number?: unknown; branch?: unknown }, branchRequired: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const symbolText = textError('symbol', input.symbol, { max: 38 });
  if (symbolText) errors.push(symbolText);
  else if (input.symbol !== undefined && input.symbol !== null && (typeof input.symbol !== 'string' || !SYMBOL_RE.test(input.symbol))) {
    errors.push(fieldError('symbol', 'format'));
  }
  if (input.number === undefined || input.number === null || input.number === '') errors.push(fieldError('number', 'required'));
  else if (typeof input.number !== 'string' || !NUMBER_RE.test(input.number)) errors.push(fieldError('number', 'format'));
  if (input.branch === undefined || input.branch === null || input.branch === '') {
    if (branchRequired) errors.push(fieldError('branch', 'required'));
  } else if (typeof input.branch !== 'string' || !BRANCH_RE.test(input.branch)) {
    errors.push(fieldError('branch', 'format', '2 digits'));
  }
  return errors;
}

/** The attributes that hold over one eligibility period (what a change replaces). */
export interface MemberAttributes {
  name: string;
  nameKana: string;
  birthDate: string;
  sex: Sex;
  address: string;
  postalCode: string | null;
  copayRate: number;
  limitCategory: string | null;
  paperCardIssuedOn: string | null;
  paperCardExpiresOn: string | null;
}

export const attributeFields = [
  'name', 'nameKana', 'birthDate', 'sex', 'address', 'postalCode', 'copayRate', 'limitCategory', 'paperCardIssuedOn', 'paperCardExpiresOn',
] as const satisfies readonly (keyof MemberAttributes)[];

/** A field counts as given unless undefined, null or empty. */
function isGiven(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

const POSTAL_CODE_RE = /^\d{3}-?\d{4}$/;

// The validators below run once per imported row: they avoid closures and sets made per call (tsx
// names every closure it creates, which cost more than the checks) and test each date once.

/** Validates whichever attribute fields are present; `required` lists those that must be. */
export function validateAttributes(input: Record<string, unknown>, required: readonly string[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const f of required) if (!isGiven(input[f])) errors.push(fieldError(f, 'required'));
  const { name, nameKana, birthDate, sex, address, postalCode, copayRate, limitCategory, paperCardIssuedOn, paperCardExpiresOn } = input;
  // Free text by the one rule (platform/text.ts): controls, lone surrogates and bidi controls are
  // refused, lengths counted in code points.
  const nameError = isGiven(name) ? textError('name', name, { max: TEXT_MAX.name }) : undefined;
  if (nameError) errors.push(nameError);
  const kanaError = isGiven(nameKana) ? textError('nameKana', nameKana, { max: TEXT_MAX.kana }) : undefined;
  if (kanaError) errors.push(kanaError);
  else if (isGiven(nameKana) && !KANA_RE.test(nameKana as string)) errors.push(fieldError('nameKana', 'format', 'katakana'));
  const birthDateValid = isIsoDate(birthDate);
  if (isGiven(birthDate) && !birthDateValid) errors.push(fieldError('birthDate', 'invalid_date'));
  if (isGiven(sex) && !sexes.includes(sex as Sex)) errors.push(fieldError('sex', 'not_allowed', sexes.join('|')));
  const addressError = isGiven(address) ? textError('address', address, { max: TEXT_MAX.address }) : undefined;
  if (addressError) errors.push(addressError);
  if (isGiven(postalCode) && !(typeof postalCode === 'string' && POSTAL_CODE_RE.test(postalCode))) {
    errors.push(fieldError('postalCode', 'format', '123-4567'));
  }
  if (isGiven(copayRate) && !copayRates.includes(copayRate as 0)) errors.push(fieldError('copayRate', 'not_allowed', copayRates.join('|')));
  if (isGiven(limitCategory) && !limitCategories.includes(limitCategory as 'A01')) {
    errors.push(fieldError('limitCategory', 'not_allowed', 'A01–A06, B01–B10'));
  }
  const issuedValid = isIsoDate(paperCardIssuedOn);
  const expiresValid = isIsoDate(paperCardExpiresOn);
  if (isGiven(paperCardIssuedOn) && !issuedValid) errors.push(fieldError('paperCardIssuedOn', 'invalid_date'));
  if (isGiven(paperCardExpiresOn) && !expiresValid) errors.push(fieldError('paperCardExpiresOn', 'invalid_date'));
  // Paper insurance cards are no longer issued from 2024-12-02 (DOMAIN.md §7).
  if (issuedValid && !paperCardIssueAllowed(paperCardIssuedOn)) {
    errors.push(fieldError('paperCardIssuedOn', 'not_allowed', `no paper card is issued on or after ${PAPER_CARD_ABOLISHED_ON}`));
  }
  if (issuedValid && expiresValid && paperCardExpiresOn < paperCardIssuedOn) {
    errors.push(fieldError('paperCardExpiresOn', 'mismatch', 'before paperCardIssuedOn'));
  }
  if (birthDateValid && isIsoDate(input.qualifiedFrom) && input.qualifiedFrom < birthDate) {
    errors.push(fieldError('qualifiedFrom', 'mismatch', 'before birthDate'));
  }
  return errors;
}

/** Calendar age on a date (the birthday itself counts; 29 Feb birthdays count on 28 Feb in common years). */
export function ageOn(birthDate: string, date: string): number {
  let age = Number(date.slice(0, 4)) - Number(birthDate.slice(0, 4));
  if (date.slice(5) < birthDate.slice(5) && !(birthDate.slice(5) === '02-29' && date.slice(5) === '02-28' && !isLeapYear(Number(date.slice(0, 4))))) age--;
  return age;
}

/**
 * 年齢到達日: by 年齢計算ニ関スル法律 a person reaches an age at the end of the day before the
 * birthday anniversary (for 29 Feb births in a common year: 28 Feb, the day before 1 Mar).
 */
export function ageReachedOn(birthDate: string, age: number): string {
  const y = Number(birthDate.slice(0, 4)) + age;
  if (birthDate.slice(5) === '02-29' && !isLeapYear(y)) return `${String(y).padStart(4, '0')}-02-28`;
  return addDays(`${String(y).padStart(4, '0')}${birthDate.slice(4)}`, -1);
}

/** 義務教育就学前: up to the first 31 March on or after the day the child reaches 6. */
export function isPreschool(birthDate: string, date: string): boolean {
  const reached = ageReachedOn(birthDate, 6);
  const year = Number(reached.slice(0, 4)) + (reached.slice(5) <= '03-31' ? 0 : 1);
  return date <= `${year}-03-31`;
}

/** 高齢受給者 (70–74): from the first day of the month after the month the person reaches 70. */
export function elderlyFrom(birthDate: string): string {
  const reached = ageReachedOn(birthDate, 70);
  const y = Number(reached.slice(0, 4));
  const m = Number(reached.slice(5, 7));
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
}

/**
 * Default 一部負担割合 when the insurer gives none: 後期高齢者医療 10%; preschool children 20%;
 * 70–74 (from the month after reaching 70) 20%; otherwise 30%. Income-based rates (現役並み 30%,
 * 一定以上所得 20% at 75+) need income data only the insurer has: it sends copayRate explicitly then.
 */
export function defaultCopayRate(birthDate: string, date: string, insurerKind?: string): number {
  if (insurerKind === 'koki_korei') return 10;
  if (isPreschool(birthDate, date)) return 20;
  if (date >= elderlyFrom(birthDate) && ageOn(birthDate, date) < 75) return 20;
  return 30;
}

/** Input to add a member (insurer side). */
export interface NewMember extends MemberAttributes {
  symbol: string;
  number: string;
  branch: string;
  relationship: Relationship;
  qualifiedFrom: string;
  /** Links memberships of one person across insurers; never stored (see registry service). */
  myNumber?: string;
  personId?: string;
}

/** The individual (My Number) number's check digit over its first 11 digits (総務省令第85号 第5条). */
function myNumberCheckDigit(first11: string): number {
  let sum = 0;
  for (let n = 1; n <= 11; n++) {
    const p = first11.charCodeAt(11 - n) - 48;
    const q = n <= 6 ? n + 1 : n - 5;
    sum += p * q;
  }
  const r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

export function isValidMyNumber(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{12}$/.test(value)) return false;
  return myNumberCheckDigit(value) === value.charCodeAt(11) - 48;
}

/** A valid 12-digit My Number from 11 digits (test data, the seeder and benchmarks). */
export function withMyNumberCheckDigit(first11: string): string {
  if (!/^\d{11}$/.test(first11)) throw new Error(`withMyNumberCheckDigit: 11 digits expected, got ${JSON.stringify(first11)}`);
  return `${first11}${myNumberCheckDigit(first11)}`;
}

const NEW_MEMBER_FIELDS = new Set<string>([...attributeFields, 'symbol', 'number', 'branch', 'relationship', 'qualifiedFrom', 'myNumber', 'personId']);
const NEW_MEMBER_REQUIRED = ['name', 'nameKana', 'birthDate', 'sex', 'address', 'relationship', 'qualifiedFrom'] as const;

/** Validates a new member's whole body; returns every problem, not just the first. */
export function validateNewMember(input: Record<string, unknown>): FieldError[] {
  const errors = validateCardNumbers(input, true);
  for (const e of validateAttributes(input, NEW_MEMBER_REQUIRED)) errors.push(e);
  if (isGiven(input.relationship) && !relationships.includes(input.relationship as Relationship)) {
    errors.push(fieldError('relationship', 'not_allowed', relationships.join('|')));
  }
  if (isGiven(input.qualifiedFrom) && !isIsoDate(input.qualifiedFrom)) {
    errors.push(fieldError('qualifiedFrom', 'invalid_date'));
  }
  if (isGiven(input.myNumber) && !isValidMyNumber(input.myNumber)) {
    errors.push(fieldError('myNumber', 'check_digit'));
  }
  for (const k of Object.keys(input)) if (!NEW_MEMBER_FIELDS.has(k)) errors.push(fieldError(k, 'unknown'));
  return errors;
}
