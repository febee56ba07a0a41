import { describe, expect, it } from 'vitest';
import type { FieldError } from '../platform/errors.ts';
import { decideEligibility, parseInquiry, periodCovers, periodForDate, type Candidate, type CardNumberInquiry, type PeriodRecord } from './rules.ts';

const problems = (errors: readonly FieldError[]) => errors.map((e) => `${e.field}:${e.code}`).sort();

function period(overrides: Partial<PeriodRecord> = {}): PeriodRecord {
  return {
    validFrom: '2020-04-01',
    validUntil: null,
    name: '山田　太郎',
    nameKana: 'ヤマダ　タロウ',
    birthDate: '1980-04-01',
    sex: 'male',
    address: '東京都千代田区千代田1-1',
    postalCode: null,
    copayRate: 30,
    limitCategory: null,
    paperCardIssuedOn: null,
    paperCardExpiresOn: null,
    ...overrides,
  };
}

function candidate(overrides: Partial<Omit<Candidate, 'period'>> = {}, periodOverrides: Partial<PeriodRecord> = {}): Candidate {
  return {
    memberId: 'm-1',
    personId: 'p-1',
    insurerNumber: '06139992',
    insurerName: 'テスト健康保険組合',
    symbol: '12',
    number: '3456',
    branch: '00',
    relationship: 'self',
    qualifiedFrom: '2020-04-01',
    lostOn: null,
    lossReason: null,
    latestBirthDate: periodOverrides.birthDate ?? '1980-04-01',
    ...overrides,
    period: period({ validFrom: overrides.qualifiedFrom ?? '2020-04-01', ...periodOverrides }),
  };
}

function inquiry(overrides: Partial<CardNumberInquiry> = {}): CardNumberInquiry {
  return { insurerNumber: '06139992', symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01', asOf: '2024-11-25', ...overrides };
}

describe('parseInquiry', () => {
  const raw = { insurerNumber: '06139992', symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01', asOf: '2024-06-01' };

  it('returns the normalised inquiry for valid input', () => {
    expect(parseInquiry(raw, '2024-11-25')).toEqual({ inquiry: raw });
  });

  it('defaults asOf to the given today when absent, null or empty', () => {
    const { asOf: _a, ...noAsOf } = raw;
    for (const asOf of [undefined, null, '']) {
      expect(parseInquiry({ ...noAsOf, asOf }, '2024-11-25')).toEqual({ inquiry: { ...noAsOf, asOf: '2024-11-25' } });
    }
  });

  it('treats an absent branch and symbol as empty (the card has none)', () => {
    const { branch: _b, symbol: _s, ...rest } = raw;
    expect(parseInquiry(rest, '2024-11-25')).toEqual({ inquiry: { ...rest, symbol: '', branch: '' } });
  });

  it('accepts a 6-digit municipal NHI insurer number', () => {
    const r = parseInquiry({ ...raw, insurerNumber: '138107' }, '2024-11-25');
    expect(r).toEqual({ inquiry: { ...raw, insurerNumber: '138107' } });
  });

  it('reports every missing required field at once', () => {
    const r = parseInquiry({}, '2024-11-25');
    expect('errors' in r && problems(r.errors)).toEqual(['birthDate:required', 'insurerNumber:required', 'number:required']);
  });

  it('reports every malformed field at once', () => {
    const r = parseInquiry({ insurerNumber: '06139993', symbol: '12', number: '3456', branch: '0', birthDate: '2023-02-29', asOf: '2024-4-1' }, '2024-11-25');
    expect('errors' in r && problems(r.errors)).toEqual(['asOf:invalid_date', 'birthDate:invalid_date', 'branch:format', 'insurerNumber:check_digit']);
  });

  it('reports a 7-digit insurer number and a number with spaces as format errors', () => {
    const r = parseInquiry({ ...raw, insurerNumber: '0613999', number: '34 56' }, '2024-11-25');
    expect('errors' in r && problems(r.errors)).toEqual(['insurerNumber:format', 'number:format']);
  });
});

describe('periodCovers', () => {
  it('includes validFrom and excludes validUntil', () => {
    const p = { validFrom: '2024-04-01', validUntil: '2024-10-01' };
    expect(periodCovers(p, '2024-03-31')).toBe(false);
    expect(periodCovers(p, '2024-04-01')).toBe(true);
    expect(periodCovers(p, '2024-09-30')).toBe(true);
    expect(periodCovers(p, '2024-10-01')).toBe(false);
  });

  it('covers every later date while open (validUntil null)', () => {
    expect(periodCovers({ validFrom: '2024-04-01', validUntil: null }, '2099-12-31')).toBe(true);
  });

  it('never covers anything when zero-length [E, E)', () => {
    const p = { validFrom: '2024-04-01', validUntil: '2024-04-01' };
    expect(periodCovers(p, '2024-03-31')).toBe(false);
    expect(periodCovers(p, '2024-04-01')).toBe(false);
    expect(periodCovers(p, '2024-04-02')).toBe(false);
  });
});

describe('periodForDate', () => {
  const first = { id: 'first', validFrom: '2020-04-01', validUntil: '2023-07-01' };
  const second = { id: 'second', validFrom: '2023-07-01', validUntil: null };

  it('chooses the period covering the date, switching on the change date', () => {
    expect(periodForDate([first, second], '2023-06-30')?.id).toBe('first');
    expect(periodForDate([first, second], '2023-07-01')?.id).toBe('second');
  });

  it('chooses the first period for a date before every period', () => {
    expect(periodForDate([first, second], '2019-01-01')?.id).toBe('first');
  });

  it('chooses the latest period started by then for a date after a closed last period', () => {
    const closed = { ...second, validUntil: '2024-10-01' };
    expect(periodForDate([first, closed], '2024-10-01')?.id).toBe('second');
    expect(periodForDate([first, closed], '2030-01-01')?.id).toBe('second');
  });

  it('skips a zero-length period for the period that opened on the same day', () => {
    const empty = { id: 'empty', validFrom: '2023-07-01', validUntil: '2023-07-01' };
    expect(periodForDate([first, empty, second], '2023-07-01')?.id).toBe('second');
  });

  it('returns undefined when there is no period', () => {
    expect(periodForDate([], '2024-01-01')).toBeUndefined();
  });
});

describe('decideEligibility', () => {
  it('answers no_such_member when nothing matched the card numbers', () => {
    expect(decideEligibility(inquiry(), [])).toEqual({ result: 'invalid', reason: 'no_such_member' });
  });

  it('answers valid for a current member with the matching birth date', () => {
    const c = candidate();
    expect(decideEligibility(inquiry(), [c])).toEqual({ result: 'valid', candidate: c });
  });

  it('answers valid on the qualification date itself', () => {
    expect(decideEligibility(inquiry({ asOf: '2020-04-01' }), [candidate()]).result).toBe('valid');
  });

  it('answers not_yet_started the day before the qualification date', () => {
    expect(decideEligibility(inquiry({ asOf: '2020-03-31' }), [candidate()])).toMatchObject({
      result: 'invalid',
      reason: 'not_yet_started',
      details: { qualifiedFrom: '2020-04-01' },
    });
  });

  it('answers valid the day before 資格喪失日', () => {
    const c = candidate({ lostOn: '2024-10-01', lossReason: 'other_insurance' }, { validUntil: '2024-10-01' });
    expect(decideEligibility(inquiry({ asOf: '2024-09-30' }), [c]).result).toBe('valid');
  });

  it('answers eligibility_lost on 資格喪失日 (the first day without eligibility) with lostOn and the reason', () => {
    const c = candidate({ lostOn: '2024-10-01', lossReason: 'other_insurance' }, { validUntil: '2024-10-01' });
    expect(decideEligibility(inquiry({ asOf: '2024-10-01' }), [c])).toEqual({
      result: 'invalid',
      reason: 'eligibility_lost',
      candidate: c,
      details: { lostOn: '2024-10-01', lossReason: 'other_insurance' },
    });
  });

  it('omits lossReason from details when none was recorded', () => {
    const c = candidate({ lostOn: '2024-10-01' });
    expect(decideEligibility(inquiry({ asOf: '2025-01-01' }), [c])).toMatchObject({ reason: 'eligibility_lost', details: { lostOn: '2024-10-01' } });
    expect((decideEligibility(inquiry({ asOf: '2025-01-01' }), [c]) as { details: object }).details).not.toHaveProperty('lossReason');
  });

  it('checks the birth date before anything else: a lost or not-yet-started member with another birth date is birth_date_mismatch', () => {
    const lost = candidate({ lostOn: '2021-01-01' });
    expect(decideEligibility(inquiry({ birthDate: '1980-04-02', asOf: '2024-01-01' }), [lost])).toEqual({ result: 'invalid', reason: 'birth_date_mismatch' });
    expect(decideEligibility(inquiry({ birthDate: '1980-04-02', asOf: '2019-01-01' }), [candidate()])).toEqual({ result: 'invalid', reason: 'birth_date_mismatch' });
  });

  it('reveals no candidate on a birth-date mismatch', () => {
    expect(decideEligibility(inquiry({ birthDate: '1990-01-01' }), [candidate()])).not.toHaveProperty('candidate');
  });

  it('answers several_match for two candidates with the same birth date (twins, no branch given)', () => {
    const twin1 = candidate({ memberId: 'm-1', branch: '01', relationship: 'family' }, { birthDate: '2015-06-01' });
    const twin2 = candidate({ memberId: 'm-2', branch: '02', relationship: 'family' }, { birthDate: '2015-06-01' });
    expect(decideEligibility(inquiry({ branch: '', birthDate: '2015-06-01' }), [twin1, twin2])).toEqual({ result: 'invalid', reason: 'several_match' });
  });

  it('picks the one candidate whose birth date matches among candidates with different birth dates', () => {
    const self = candidate({ memberId: 'm-self', branch: '00' }, { birthDate: '1980-04-01' });
    const spouse = candidate({ memberId: 'm-spouse', branch: '01', relationship: 'family' }, { birthDate: '1982-08-15' });
    const d = decideEligibility(inquiry({ branch: '', birthDate: '1982-08-15' }), [self, spouse]);
    expect(d.result).toBe('valid');
    expect(d.candidate?.memberId).toBe('m-spouse');
  });

  it('answers valid on the paper card expiry date itself and paper_card_expired the day after', () => {
    const c = candidate({}, { paperCardIssuedOn: '2020-04-01', paperCardExpiresOn: '2025-12-01' });
    expect(decideEligibility(inquiry({ asOf: '2025-12-01' }), [c]).result).toBe('valid');
    expect(decideEligibility(inquiry({ asOf: '2025-12-02' }), [c])).toEqual({
      result: 'invalid',
      reason: 'paper_card_expired',
      candidate: c,
      details: { paperCardExpiresOn: '2025-12-01' },
    });
  });

  it('never expires a membership whose paper card has no expiry date', () => {
    expect(decideEligibility(inquiry({ asOf: '2099-12-31' }), [candidate()]).result).toBe('valid');
  });

  it('reports eligibility_lost rather than paper_card_expired when both apply', () => {
    const c = candidate({ lostOn: '2024-10-01' }, { paperCardExpiresOn: '2024-06-30', validUntil: '2024-10-01' });
    expect(decideEligibility(inquiry({ asOf: '2024-11-01' }), [c])).toMatchObject({ reason: 'eligibility_lost' });
  });

  it('decides a 6-digit municipal NHI inquiry like any other', () => {
    const c = candidate({ insurerNumber: '138107', insurerName: '八王子市', symbol: '八王子', number: '12345' });
    expect(decideEligibility(inquiry({ insurerNumber: '138107', symbol: '八王子', number: '12345' }), [c])).toEqual({ result: 'valid', candidate: c });
  });

  it('matches a leap-day birth date exactly', () => {
    const c = candidate({ qualifiedFrom: '2000-02-29' }, { birthDate: '2000-02-29' });
    expect(decideEligibility(inquiry({ birthDate: '2000-02-29' }), [c]).result).toBe('valid');
    expect(decideEligibility(inquiry({ birthDate: '2000-02-28' }), [c])).toEqual({ result: 'invalid', reason: 'birth_date_mismatch' });
    expect(decideEligibility(inquiry({ birthDate: '2000-03-01' }), [c])).toEqual({ result: 'invalid', reason: 'birth_date_mismatch' });
  });
});

describe('birth-date corrections', () => {
  it('matches the corrected birth date even for a date before the correction, and the old one for dates it covered', () => {
    const c = candidate({ latestBirthDate: '1980-04-02' }, { birthDate: '1980-04-01' });
    expect(decideEligibility(inquiry({ birthDate: '1980-04-02', asOf: '2021-01-01' }), [c]).result).toBe('valid');
    expect(decideEligibility(inquiry({ birthDate: '1980-04-01', asOf: '2021-01-01' }), [c]).result).toBe('valid');
    expect(decideEligibility(inquiry({ birthDate: '1980-04-03', asOf: '2021-01-01' }), [c])).toEqual({ result: 'invalid', reason: 'birth_date_mismatch' });
  });
});
