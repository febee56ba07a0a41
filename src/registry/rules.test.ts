import { describe, expect, it } from 'vitest';
import type { FieldError } from '../platform/errors.ts';
import {
  ageOn,
  ageReachedOn,
  defaultCopayRate,
  elderlyFrom,
  isPreschool,
  isValidMyNumber,
  withMyNumberCheckDigit,
  makeFacilityCode,
  mod10w21CheckDigit,
  prefectureName,
  validateAttributes,
  validateFacility,
  validateFacilityCode,
  validateInsurerNumber,
  validateNewMember,
  withInsurerCheckDigit,
} from './rules.ts';

/** field:code pairs, sorted, so that a test states every problem expected and no other. */
const problems = (errors: readonly FieldError[]) => errors.map((e) => `${e.field}:${e.code}`).sort();

describe('mod10w21CheckDigit', () => {
  it('gives 5 for 3312001 (the worked example 千葉県警察 33120015)', () => {
    // From the right: 1×2=2, 0×1, 0×2, 2×1=2, 1×2=2, 3×1=3, 3×2=6 → 15 → 10 − 5 = 5.
    expect(mod10w21CheckDigit('3312001')).toBe(5);
  });

  it('adds the digits of a two-digit product (8×2 = 16 counts as 7)', () => {
    // 13810 from the right: 0×2, 1×1=1, 8×2=16→7, 3×1=3, 1×2=2 → 13 → 7.
    expect(mod10w21CheckDigit('13810')).toBe(7);
  });

  it('gives 0 when the sum is a multiple of ten', () => {
    // 5 → 5×2 = 10 → 1+0 = 1 → 9;  55 → 5×2=10→1, 5×1=5 → 6 → 4;  19 → 9×2=18→9, 1 → 10 → 0.
    expect(mod10w21CheckDigit('5')).toBe(9);
    expect(mod10w21CheckDigit('55')).toBe(4);
    expect(mod10w21CheckDigit('19')).toBe(0);
  });
});

describe('validateInsurerNumber', () => {
  it('accepts 33120015', () => {
    expect(validateInsurerNumber('33120015')).toBeUndefined();
  });

  it('accepts 6-digit municipal NHI numbers completed by withInsurerCheckDigit', () => {
    expect(withInsurerCheckDigit('13810')).toBe('138107');
    expect(validateInsurerNumber('138107')).toBeUndefined();
    expect(validateInsurerNumber(withInsurerCheckDigit('27100'))).toBeUndefined();
  });

  it('accepts 8-digit numbers completed by withInsurerCheckDigit', () => {
    expect(withInsurerCheckDigit('0613999')).toBe('06139992');
    expect(validateInsurerNumber('06139992')).toBeUndefined();
  });

  it('reports check_digit for every wrong last digit', () => {
    for (let d = 0; d <= 9; d++) {
      if (d === 5) continue;
      expect(validateInsurerNumber(`3312001${d}`)?.code).toBe('check_digit');
    }
    expect(validateInsurerNumber('138106')?.code).toBe('check_digit');
  });

  it('reports format for 7 digits, 5 digits and 9 digits', () => {
    expect(validateInsurerNumber('3312001')?.code).toBe('format');
    expect(validateInsurerNumber('13810')?.code).toBe('format');
    expect(validateInsurerNumber('331200150')?.code).toBe('format');
  });

  it('reports format for letters, spaces and full-width digits', () => {
    expect(validateInsurerNumber('3312A015')?.code).toBe('format');
    expect(validateInsurerNumber('3312 015')?.code).toBe('format');
    expect(validateInsurerNumber('３３１２００１５')?.code).toBe('format');
  });

  it('reports format for a number that is not a string', () => {
    expect(validateInsurerNumber(33120015)?.code).toBe('format');
  });

  it('reports required for an empty or absent value, naming the field', () => {
    expect(validateInsurerNumber('')).toMatchObject({ field: 'insurerNumber', code: 'required' });
    expect(validateInsurerNumber(undefined)).toMatchObject({ field: 'insurerNumber', code: 'required' });
    expect(validateInsurerNumber(null, 'insurer')).toMatchObject({ field: 'insurer', code: 'required' });
  });

  it('gives messages in both languages', () => {
    const e = validateInsurerNumber('33120016')!;
    expect(e.en).toBe('insurerNumber fails its check digit');
    expect(e.ja).toBe('insurerNumber: 検証番号が一致しません。');
  });
});

describe('validateFacilityCode and makeFacilityCode', () => {
  it('builds prefecture + table digit + six digits + check digit over the six digits', () => {
    // 123456 from the right: 6×2=12→3, 5, 4×2=8, 3, 2×2=4, 1 → 24 → 6.
    expect(makeFacilityCode('13', 'clinic', '123456')).toBe('1311234566');
    expect(makeFacilityCode('13', 'hospital', '123456')).toBe('1311234566');
    expect(makeFacilityCode('01', 'dental_clinic', '123456')).toBe('0131234566');
    expect(makeFacilityCode('47', 'pharmacy', '000001')).toBe('4740000018');
  });

  it('accepts codes made by makeFacilityCode for every table and the first and last prefecture', () => {
    expect(validateFacilityCode('1311234566')).toBeUndefined();
    expect(validateFacilityCode(makeFacilityCode('01', 'dental_clinic', '987654'))).toBeUndefined();
    expect(validateFacilityCode(makeFacilityCode('47', 'pharmacy', '000000'))).toBeUndefined();
  });

  it('computes the check digit over the six digits only, not over prefecture and table', () => {
    // Same six digits, different prefecture and table: same check digit.
    expect(makeFacilityCode('01', 'clinic', '123456').at(-1)).toBe('6');
    expect(makeFacilityCode('47', 'pharmacy', '123456').at(-1)).toBe('6');
  });

  it('rejects prefecture 00 and 48', () => {
    expect(validateFacilityCode('0011234566')?.code).toBe('format');
    expect(validateFacilityCode('4811234566')?.code).toBe('format');
  });

  it('rejects table digit 2 (and any other than 1, 3, 4)', () => {
    expect(validateFacilityCode('1321234566')?.code).toBe('format');
    expect(validateFacilityCode('1351234566')?.code).toBe('format');
  });

  it('reports check_digit for a wrong last digit', () => {
    expect(validateFacilityCode('1311234567')?.code).toBe('check_digit');
  });

  it('reports format for 9 or 11 digits and letters, required when empty', () => {
    expect(validateFacilityCode('131123456')?.code).toBe('format');
    expect(validateFacilityCode('13112345660')?.code).toBe('format');
    expect(validateFacilityCode('13112345A6')?.code).toBe('format');
    expect(validateFacilityCode('')?.code).toBe('required');
    expect(validateFacilityCode(undefined)?.code).toBe('required');
  });
});

describe('validateFacility', () => {
  const clinic = makeFacilityCode('13', 'clinic', '123456');
  const dental = makeFacilityCode('13', 'dental_clinic', '123456');
  const pharmacy = makeFacilityCode('13', 'pharmacy', '123456');

  it('accepts each type with the table digit it belongs to', () => {
    expect(validateFacility({ code: clinic, name: 'A', type: 'clinic' })).toEqual([]);
    expect(problems(validateFacility({ code: clinic, name: 'A\u202e', type: 'clinic' }))).toEqual(['name:forbidden_character']);
    expect(problems(validateFacility({ code: clinic, name: 'あ'.repeat(101), type: 'clinic' }))).toEqual(['name:too_long']);
    expect(validateFacility({ code: clinic, name: 'A', type: 'hospital' })).toEqual([]);
    expect(validateFacility({ code: dental, name: 'A', type: 'dental_clinic' })).toEqual([]);
    expect(validateFacility({ code: pharmacy, name: 'A', type: 'pharmacy' })).toEqual([]);
  });

  it('reports type mismatch when the type disagrees with the table digit', () => {
    expect(problems(validateFacility({ code: clinic, name: 'A', type: 'pharmacy' }))).toEqual(['type:mismatch']);
    expect(problems(validateFacility({ code: pharmacy, name: 'A', type: 'clinic' }))).toEqual(['type:mismatch']);
    expect(problems(validateFacility({ code: dental, name: 'A', type: 'hospital' }))).toEqual(['type:mismatch']);
  });

  it('accepts a prefecture that agrees with the code and reports one that does not', () => {
    expect(validateFacility({ code: clinic, name: 'A', type: 'clinic', prefecture: '13' })).toEqual([]);
    expect(problems(validateFacility({ code: clinic, name: 'A', type: 'clinic', prefecture: '14' }))).toEqual(['prefecture:mismatch']);
    expect(problems(validateFacility({ code: clinic, name: 'A', type: 'clinic', prefecture: '48' }))).toEqual(['prefecture:format']);
  });

  it('reports every missing field at once', () => {
    expect(problems(validateFacility({}))).toEqual(['code:required', 'name:required', 'type:required']);
  });

  it('reports an unknown type as not_allowed', () => {
    expect(problems(validateFacility({ code: clinic, name: 'A', type: 'laboratory' }))).toEqual(['type:not_allowed']);
  });
});

describe('isValidMyNumber', () => {
  // 第5条: check = 11 − (Σ Pn×Qn mod 11), 0 when the remainder is 0 or 1; Pn is the n-th digit from
  // the right (check digit excluded), Qn = n+1 for n ≤ 6 and n−5 for n ≥ 7.
  // 12345678901?: P1..P11 = 1,0,9,8,7,6,5,4,3,2,1; Q = 2,3,4,5,6,7,2,3,4,5,6
  //   → 2+0+36+40+42+42+10+12+12+10+6 = 212; 212 mod 11 = 3; check = 11 − 3 = 8.
  it('accepts 123456789018, whose check digit computes to 8', () => {
    expect(isValidMyNumber('123456789018')).toBe(true);
  });

  it('completes 11 digits with the same check digit (withMyNumberCheckDigit)', () => {
    expect(withMyNumberCheckDigit('12345678901')).toBe('123456789018');
    expect(withMyNumberCheckDigit('00000000006')).toBe('000000000060');
    expect(() => withMyNumberCheckDigit('1234567890')).toThrow('11 digits');
  });

  it('uses 0 as check digit when the remainder is 1', () => {
    // 00000000006?: P1 = 6, Q1 = 2 → 12; 12 mod 11 = 1 → check 0.
    expect(isValidMyNumber('000000000060')).toBe(true);
    expect(isValidMyNumber('000000000069')).toBe(false);
  });

  it('rejects the number when any one digit is wrong', () => {
    expect(isValidMyNumber('123456789017')).toBe(false);
    expect(isValidMyNumber('123456789019')).toBe(false);
    expect(isValidMyNumber('223456789018')).toBe(false);
    expect(isValidMyNumber('123456788018')).toBe(false);
  });

  it('rejects anything but a string of 12 digits', () => {
    expect(isValidMyNumber('12345678901')).toBe(false);
    expect(isValidMyNumber('1234567890180')).toBe(false);
    expect(isValidMyNumber('12345678901a')).toBe(false);
    expect(isValidMyNumber(123456789018)).toBe(false);
    expect(isValidMyNumber(undefined)).toBe(false);
  });
});

describe('validateNewMember', () => {
  const valid = {
    symbol: '12',
    number: '3456',
    branch: '00',
    name: '山田　太郎',
    nameKana: 'ヤマダ　タロウ',
    birthDate: '1980-04-01',
    sex: 'male',
    address: '東京都千代田区千代田1-1',
    relationship: 'self',
    qualifiedFrom: '2020-04-01',
    copayRate: 30,
  };
  const check = (overrides: Record<string, unknown>) => problems(validateNewMember({ ...valid, ...overrides }));

  it('accepts a complete member', () => {
    expect(validateNewMember(valid)).toEqual([]);
  });

  it('reports every required field missing at once', () => {
    expect(problems(validateNewMember({}))).toEqual([
      'address:required',
      'birthDate:required',
      'branch:required',
      'name:required',
      'nameKana:required',
      'number:required',
      'qualifiedFrom:required',
      'relationship:required',
      'sex:required',
    ]);
  });

  it('allows an empty symbol (後期高齢者医療 cards have none)', () => {
    expect(check({ symbol: '' })).toEqual([]);
  });

  it('reports an unknown field', () => {
    expect(check({ nickname: 'タロ' })).toEqual(['nickname:unknown']);
  });

  it('accepts full-width and half-width katakana in nameKana', () => {
    expect(check({ nameKana: 'ヤマダ タロウ' })).toEqual([]);
    expect(check({ nameKana: 'ﾔﾏﾀﾞ ﾀﾛｳ' })).toEqual([]);
    expect(check({ nameKana: 'ヤマダ・ジョーン' })).toEqual([]);
  });

  it('rejects hiragana, latin letters and kanji in nameKana', () => {
    expect(check({ nameKana: 'やまだ　たろう' })).toEqual(['nameKana:format']);
    expect(check({ nameKana: 'Yamada Taro' })).toEqual(['nameKana:format']);
    expect(check({ nameKana: '山田　太郎' })).toEqual(['nameKana:format']);
  });

  it('requires the branch to be exactly 2 digits', () => {
    expect(check({ branch: '1' })).toEqual(['branch:format']);
    expect(check({ branch: '001' })).toEqual(['branch:format']);
    expect(check({ branch: 'ab' })).toEqual(['branch:format']);
    expect(check({ branch: '01' })).toEqual([]);
  });

  it('allows copayRate 0, 10, 20 and 30 only', () => {
    for (const copayRate of [0, 10, 20, 30]) expect(check({ copayRate })).toEqual([]);
    expect(check({ copayRate: 15 })).toEqual(['copayRate:not_allowed']);
    expect(check({ copayRate: 100 })).toEqual(['copayRate:not_allowed']);
    expect(check({ copayRate: '30' })).toEqual(['copayRate:not_allowed']);
  });

  it('allows limitCategory A01–A06 and B01–B10 only', () => {
    for (const limitCategory of ['A01', 'A06', 'B01', 'B10']) expect(check({ limitCategory })).toEqual([]);
    for (const limitCategory of ['A00', 'A07', 'B11', 'C01', 'a01']) expect(check({ limitCategory })).toEqual(['limitCategory:not_allowed']);
  });

  it('reports paperCardExpiresOn before paperCardIssuedOn, allowing the same day', () => {
    expect(check({ paperCardIssuedOn: '2024-04-01', paperCardExpiresOn: '2024-03-31' })).toEqual(['paperCardExpiresOn:mismatch']);
    expect(check({ paperCardIssuedOn: '2024-04-01', paperCardExpiresOn: '2024-04-01' })).toEqual([]);
  });

  it('reports qualifiedFrom before birthDate, allowing qualification on the birth date', () => {
    expect(check({ birthDate: '2024-05-10', qualifiedFrom: '2024-05-09' })).toEqual(['qualifiedFrom:mismatch']);
    expect(check({ birthDate: '2024-05-10', qualifiedFrom: '2024-05-10' })).toEqual([]);
  });

  it('reports impossible dates as invalid_date', () => {
    expect(check({ birthDate: '2023-02-29' })).toEqual(['birthDate:invalid_date']);
    expect(check({ qualifiedFrom: '2024-04-31' })).toEqual(['qualifiedFrom:invalid_date']);
    expect(check({ paperCardIssuedOn: '2024-13-01' })).toEqual(['paperCardIssuedOn:invalid_date']);
  });

  it('accepts a leap-day birth date', () => {
    expect(check({ birthDate: '2000-02-29' })).toEqual([]);
  });

  it('reports sex and relationship outside their enumerations', () => {
    expect(check({ sex: 'unknown', relationship: 'spouse' })).toEqual(['relationship:not_allowed', 'sex:not_allowed']);
  });

  it('reports a postal code that is not 123-4567 or 1234567', () => {
    expect(check({ postalCode: '100-0001' })).toEqual([]);
    expect(check({ postalCode: '1000001' })).toEqual([]);
    expect(check({ postalCode: '100-001' })).toEqual(['postalCode:format']);
  });

  it('reports a myNumber whose check digit is wrong and accepts a correct one', () => {
    expect(check({ myNumber: '123456789018' })).toEqual([]);
    expect(check({ myNumber: '123456789010' })).toEqual(['myNumber:check_digit']);
  });

  it('refuses controls, bidi controls and lone surrogates in names, kana, address and symbol (the text rule)', () => {
    expect(check({ name: '山田\u0000DROP' })).toEqual(['name:forbidden_character']);
    expect(check({ name: '山田\u0007太郎' })).toEqual(['name:forbidden_character']);
    expect(check({ name: '山田\t太郎' })).toEqual(['name:forbidden_character']);
    expect(check({ name: '山田\u0085太郎' })).toEqual(['name:forbidden_character']);
    expect(check({ name: '山田\ud842' })).toEqual(['name:forbidden_character']);
    expect(check({ address: '東京都\u202e千代田区' })).toEqual(['address:forbidden_character']);
    expect(check({ address: '東京都\u2066千代田区' })).toEqual(['address:forbidden_character']);
    expect(check({ nameKana: 'ヤマダ\u0000' })).toEqual(['nameKana:forbidden_character']);
    expect(check({ symbol: '12\u202e' })).toEqual(['symbol:forbidden_character']);
    // Characters outside the BMP are text like any other (𠮷 is a real family name's character).
    expect(check({ name: '𠮷田　太郎' })).toEqual([]);
  });

  it('bounds names (100), kana (100) and addresses (200) in code points', () => {
    expect(check({ name: '𠮷'.repeat(100) })).toEqual([]);
    expect(check({ name: '𠮷'.repeat(101) })).toEqual(['name:too_long']);
    expect(check({ nameKana: 'ア'.repeat(101) })).toEqual(['nameKana:too_long']);
    expect(check({ address: 'あ'.repeat(200) })).toEqual([]);
    expect(check({ address: 'あ'.repeat(201) })).toEqual(['address:too_long']);
  });

  it('applies the same rule to a change (validateAttributes)', () => {
    expect(problems(validateAttributes({ name: '山田\u0000DROP', address: '\u202e' }, []))).toEqual(['address:forbidden_character', 'name:forbidden_character']);
  });
});

describe('prefectureName', () => {
  it('names prefectures 01 to 47', () => {
    expect(prefectureName('01')).toBe('北海道');
    expect(prefectureName('13')).toBe('東京都');
    expect(prefectureName('26')).toBe('京都府');
    expect(prefectureName('27')).toBe('大阪府');
    expect(prefectureName('47')).toBe('沖縄県');
  });

  it('knows no prefecture 00 or 48 and needs two digits', () => {
    expect(prefectureName('00')).toBeUndefined();
    expect(prefectureName('48')).toBeUndefined();
    expect(prefectureName('1')).toBeUndefined();
    expect(prefectureName('013')).toBeUndefined();
    expect(prefectureName('ab')).toBeUndefined();
  });
});

describe('age and the default copay rate (一部負担割合)', () => {
  it('reaches an age the day before the birthday anniversary (年齢計算ニ関スル法律)', () => {
    expect(ageReachedOn('2018-07-15', 6)).toBe('2024-07-14');
    expect(ageReachedOn('2018-04-01', 6)).toBe('2024-03-31');
    expect(ageReachedOn('2018-01-01', 6)).toBe('2023-12-31');
    // A 29 February birth reaches its age on 28 February of a common year, on 28 February of a leap year too.
    expect(ageReachedOn('2016-02-29', 6)).toBe('2022-02-28');
    expect(ageReachedOn('2016-02-29', 8)).toBe('2024-02-28');
  });

  it('counts calendar age with the birthday itself', () => {
    expect(ageOn('1950-11-25', '2025-11-24')).toBe(74);
    expect(ageOn('1950-11-25', '2025-11-25')).toBe(75);
    expect(ageOn('2000-02-29', '2021-02-28')).toBe(21);
    expect(ageOn('2000-02-29', '2024-02-28')).toBe(23);
    expect(ageOn('2000-02-29', '2024-02-29')).toBe(24);
  });

  it('keeps a child preschool (未就学) until the first 31 March after reaching 6', () => {
    expect(isPreschool('2018-07-15', '2025-03-31')).toBe(true);
    expect(isPreschool('2018-07-15', '2025-04-01')).toBe(false);
    // Born 1 April: reaches 6 on 31 March, so school (and 30%) starts the next day.
    expect(isPreschool('2018-04-01', '2024-03-31')).toBe(true);
    expect(isPreschool('2018-04-01', '2024-04-01')).toBe(false);
    // Born 2 April: reaches 6 on 1 April, a year later in school.
    expect(isPreschool('2018-04-02', '2025-03-31')).toBe(true);
    expect(isPreschool('2018-04-02', '2025-04-01')).toBe(false);
  });

  it('starts the 70–74 rate on the first of the month after reaching 70', () => {
    expect(elderlyFrom('1954-07-15')).toBe('2024-08-01');
    // Born on the 1st: reaches 70 on the last day of the previous month, so the birthday month counts.
    expect(elderlyFrom('1954-07-01')).toBe('2024-07-01');
    expect(elderlyFrom('1954-12-20')).toBe('2025-01-01');
    expect(elderlyFrom('1955-01-01')).toBe('2025-01-01');
  });

  it.each([
    ['preschool child', '2018-07-15', '2025-03-31', undefined, 20],
    ['first-grader', '2018-07-15', '2025-04-01', undefined, 30],
    ['adult', '1980-05-05', '2024-11-25', undefined, 30],
    ['70 this month, not yet the month after', '1954-07-15', '2024-07-31', undefined, 30],
    ['70, from the month after', '1954-07-15', '2024-08-01', undefined, 20],
    ['74', '1950-11-26', '2025-11-25', undefined, 20],
    ['75 at a non-koki insurer (data error upstream): 30', '1949-11-25', '2025-11-25', undefined, 30],
    ['koki_korei member', '1940-01-01', '2024-11-25', 'koki_korei', 10],
  ] as const)('gives a %s %i%%', (_who, birthDate, date, kind, expected) => {
    expect(defaultCopayRate(birthDate, date, kind)).toBe(expected);
  });
});
