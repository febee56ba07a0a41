import { describe, expect, it } from 'vitest';
import { checkupWindow, clinicalRefusal, inWindow, medicationWindow, normaliseName, parseCheckupRow, parseMedicationRow } from './rules.ts';
import { decideConsent, type ConsentRecord } from '../consent/service.ts';
import { decideDisaster, validateDisaster, type Disaster } from '../disaster/service.ts';
import { facilityRoles } from '../platform/auth.ts';
import { facilityTypes, makeFacilityCode, withInsurerCheckDigit } from '../registry/rules.ts';

describe('viewing windows', () => {
  it('medication: 3 years back, both ends inclusive', () => {
    const w = medicationWindow('2024-12-01');
    expect(w).toEqual({ from: '2021-12-01', to: '2024-12-01' });
    expect(inWindow('2021-12-01', w)).toBe(true);
    expect(inWindow('2021-11-30', w)).toBe(false);
    expect(inWindow('2024-12-01', w)).toBe(true);
    expect(inWindow('2024-12-02', w)).toBe(false);
  });

  it('3 years before 2027-02-28 is 2024-02-28, so the leap day 2024-02-29 is inside', () => {
    const w = medicationWindow('2027-02-28');
    expect(w.from).toBe('2024-02-28');
    expect(inWindow('2024-02-29', w)).toBe(true);
    expect(inWindow('2024-02-27', w)).toBe(false);
  });

  it('a view on 29 Feb reaches back to 28 Feb of the common year (clamped, one day more)', () => {
    expect(medicationWindow('2028-02-29').from).toBe('2025-02-28');
    expect(checkupWindow('2028-02-29').from).toBe('2023-02-28');
    // …and to 29 Feb when that year has one.
    expect(checkupWindow('2029-02-28').from).toBe('2024-02-28');
    expect(medicationWindow('2024-03-01').from).toBe('2021-03-01');
  });

  it('check-ups: 5 years back', () => {
    const w = checkupWindow('2024-12-01');
    expect(w.from).toBe('2019-12-01');
    expect(inWindow('2019-11-30', w)).toBe(false);
    expect(inWindow('2019-12-01', w)).toBe(true);
  });
});

describe('who may view what', () => {
  // Expected refusal per kind, role and facility type; undefined = allowed.
  const expected = (kind: string, role: string, type: string): string | undefined => {
    if (kind === 'limit_info') return undefined;
    if (kind === 'medication') return ['doctor', 'dentist', 'pharmacist'].includes(role) ? undefined : 'ONSHI_CLINICAL_ROLE';
    if (type === 'pharmacy') return 'ONSHI_CLINICAL_PHARMACY_CHECKUPS';
    return ['doctor', 'dentist'].includes(role) ? undefined : 'ONSHI_CLINICAL_ROLE';
  };
  const table = (['medication', 'checkups', 'limit_info'] as const).flatMap((kind) => facilityRoles.flatMap((role) => facilityTypes.map((type) => [kind, role, type] as const)));

  it.each(table)('%s by %s at a %s', (kind, role, type) => {
    expect(clinicalRefusal(kind, role, type)).toBe(expected(kind, role, type));
  });

  it('spot checks of the table', () => {
    expect(clinicalRefusal('medication', 'pharmacist', 'pharmacy')).toBeUndefined();
    expect(clinicalRefusal('checkups', 'pharmacist', 'hospital')).toBe('ONSHI_CLINICAL_ROLE');
    expect(clinicalRefusal('checkups', 'doctor', 'pharmacy')).toBe('ONSHI_CLINICAL_PHARMACY_CHECKUPS');
    expect(clinicalRefusal('checkups', 'reception', 'pharmacy')).toBe('ONSHI_CLINICAL_PHARMACY_CHECKUPS');
    expect(clinicalRefusal('medication', 'reception', 'clinic')).toBe('ONSHI_CLINICAL_ROLE');
    expect(clinicalRefusal('medication', 'facility_admin', 'hospital')).toBe('ONSHI_CLINICAL_ROLE');
    expect(clinicalRefusal('checkups', 'dentist', 'dental_clinic')).toBeUndefined();
  });
});

describe('consent decision', () => {
  const now = new Date('2024-12-01T03:00:00Z');
  const answer = (id: string, scopes: ConsentRecord['scopes'], expiresAt: string): ConsentRecord => ({ id, scopes, grantedAt: '2024-11-30T03:00:00Z', expiresAt });
  const future = '2024-12-01T04:00:00.000Z';
  const past = '2024-12-01T02:59:59.999Z';

  it('never asked → REQUIRED', () => {
    expect(decideConsent([], 'medication', now)).toEqual({ ok: false, code: 'ONSHI_CONSENT_REQUIRED' });
  });
  it('in force and covering the scope → allowed with its id', () => {
    expect(decideConsent([answer('c1', ['medication'], future)], 'medication', now)).toEqual({ ok: true, id: 'c1', expiresAt: future });
  });
  it('in force but not covering → SCOPE; an empty answer covers nothing', () => {
    expect(decideConsent([answer('c1', ['medication'], future)], 'checkups', now)).toEqual({ ok: false, code: 'ONSHI_CONSENT_SCOPE' });
    expect(decideConsent([answer('c1', [], future)], 'medication', now)).toEqual({ ok: false, code: 'ONSHI_CONSENT_SCOPE' });
  });
  it('expired and once covering → EXPIRED; the end instant is already out', () => {
    expect(decideConsent([answer('c1', ['medication'], past)], 'medication', now)).toEqual({ ok: false, code: 'ONSHI_CONSENT_EXPIRED' });
    expect(decideConsent([answer('c1', ['medication'], now.toISOString())], 'medication', now)).toEqual({ ok: false, code: 'ONSHI_CONSENT_EXPIRED' });
  });
  it('expired and never covering this scope → REQUIRED', () => {
    expect(decideConsent([answer('c1', ['checkups'], past)], 'medication', now)).toEqual({ ok: false, code: 'ONSHI_CONSENT_REQUIRED' });
  });
  it('the newest answer replaces an earlier yes', () => {
    expect(decideConsent([answer('c2', [], future), answer('c1', ['medication'], future)], 'medication', now)).toEqual({ ok: false, code: 'ONSHI_CONSENT_SCOPE' });
  });
});

describe('disaster decision', () => {
  const d = (over: Partial<Disaster>): Disaster => ({
    id: 'd1',
    name: 'x',
    prefectures: [],
    facilityCodes: [],
    startsAt: '2024-01-01T00:00:00.000Z',
    endsAt: '2024-02-01T00:00:00.000Z',
    declaredBy: 'admin',
    declaredAt: '2024-01-01T00:00:00.000Z',
    ...over,
  });
  const facility = { code: '1710000018', prefecture: '17' };

  it('scope by prefecture or by facility code, then the period [start, end)', () => {
    expect(decideDisaster([d({ prefectures: ['17'] })], facility, new Date('2024-01-15T00:00:00Z'))).toMatchObject({ ok: true });
    expect(decideDisaster([d({ facilityCodes: ['1710000018'] })], facility, new Date('2024-01-01T00:00:00Z'))).toMatchObject({ ok: true });
    expect(decideDisaster([d({ prefectures: ['17'] })], facility, new Date('2024-02-01T00:00:00Z'))).toEqual({ ok: false, code: 'ONSHI_DISASTER_OUT_OF_PERIOD' });
    expect(decideDisaster([d({ prefectures: ['17'] })], facility, new Date('2023-12-31T23:59:59Z'))).toEqual({ ok: false, code: 'ONSHI_DISASTER_OUT_OF_PERIOD' });
    expect(decideDisaster([d({ prefectures: ['16'] })], facility, new Date('2024-01-15T00:00:00Z'))).toEqual({ ok: false, code: 'ONSHI_DISASTER_OUT_OF_SCOPE' });
    expect(decideDisaster([], facility, new Date('2024-01-15T00:00:00Z'))).toEqual({ ok: false, code: 'ONSHI_DISASTER_OUT_OF_SCOPE' });
  });

  it('validates declarations', () => {
    expect(validateDisaster({ name: 'x', prefectures: ['17'], startsAt: '2024-01-01T00:00:00Z', endsAt: '2024-01-02T00:00:00+09:00' })).toEqual([]);
    const codes = validateDisaster({ name: '', prefectures: ['48'], startsAt: '2024-01-01', endsAt: '2024-01-02T00:00:00Z' }).map((e) => `${e.field}:${e.code}`);
    expect(codes.sort()).toEqual(['name:required', 'prefectures.0:format', 'startsAt:format']);
    expect(validateDisaster({ name: '能登\u202e半島', prefectures: ['17'], startsAt: '2024-01-01T00:00:00Z', endsAt: '2024-01-02T00:00:00Z' }).map((e) => `${e.field}:${e.code}`)).toEqual(['name:forbidden_character']);
    expect(validateDisaster({ name: 'x', startsAt: '2024-01-02T00:00:00Z', endsAt: '2024-01-01T00:00:00Z' }).map((e) => `${e.field}:${e.code}`).sort()).toEqual(['endsAt:out_of_range', 'prefectures:required']);
  });
});

describe('feed rows', () => {
  const med = { insurerNumber: withInsurerCheckDigit('0613999'), symbol: '12', number: '3456', branch: '00', dispensedOn: '2024-11-01', facilityCode: makeFacilityCode('13', 'pharmacy', '000001'), drugCode: '2149039F1030', drugName: 'アムロジピン錠5mg', quantity: 28, unit: '錠', days: 28 };

  it('accepts a full medication row and reports each bad field', () => {
    expect('value' in parseMedicationRow(med, '2024-12-01')).toBe(true);
    const r = parseMedicationRow({ ...med, dispensedOn: '2024-12-02', drugCode: 'X', quantity: 0, days: 0, unit: undefined }, '2024-12-01');
    expect('errors' in r && r.errors.map((e) => `${e.field}:${e.code}`).sort()).toEqual(['days:out_of_range', 'dispensedOn:out_of_range', 'drugCode:format', 'quantity:out_of_range', 'unit:required']);
  });

  it('check-up items are bounded and named', () => {
    const ok = parseCheckupRow({ symbol: '12', number: '3456', branch: '00', examDate: '2024-06-01', items: { height: 170.2, weight: 65, urineProtein: '±' }, judgement: 'information' }, '2024-12-01');
    expect(ok).toEqual({ value: { symbol: '12', number: '3456', branch: '00', examDate: '2024-06-01', items: { height: 170.2, weight: 65, urineProtein: '±' }, judgement: 'information' } });
    const bad = parseCheckupRow({ number: '3456', branch: '00', examDate: '2024-02-30', items: { height: 1000, colour: 'x', urineProtein: '4+' }, judgement: 'A' }, '2024-12-01');
    expect('errors' in bad && bad.errors.map((e) => `${e.field}:${e.code}`).sort()).toEqual(['examDate:invalid_date', 'items.colour:unknown', 'items.height:out_of_range', 'items.urineProtein:not_allowed', 'judgement:not_allowed']);
  });

  it('names compare without spaces of either width', () => {
    expect(normaliseName('山田　太郎')).toBe(normaliseName('山田 太郎'));
    expect(normaliseName('山田太郎')).toBe(normaliseName('山田　太郎'));
  });
});
