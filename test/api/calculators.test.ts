import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { expectError, fieldProblems, useApp } from '../support/fixtures.ts';

describe.each(storeKinds)('public calculators on %s', (kind) => {
  const h = useApp(kind);
  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => h.app.inject({ method: 'POST', url, payload: payload as object, headers });

  describe('POST /v1/calculators/incentive', () => {
    it('answers the seed example without a credential: ¥200,000 with its explanation', async () => {
      const r = await post('/v1/calculators/incentive', { facilityType: 'clinic', octClaims: 1000, octUsers: 40, monthlyUsers: { '2024-05': 120, '2024-06': 150, '2024-07': 200, '2024-08': 180 } });
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json();
      expect(body).toMatchObject({ amountYen: 200_000, table: 'clinic_pharmacy', band: '3-5%', column: 160, bestMonth: '2024-07', increase: 160, conditionsMet: true });
      expect(body).not.toHaveProperty('next');
      expect(body.explanation).toMatch(/¥200,000/);
    });

    it('gives the next step, and 0 with the reason when a condition is not met', async () => {
      const r = await post('/v1/calculators/incentive', { facilityType: 'hospital', octClaims: 5000, octUsers: 100, monthlyUsers: { '2024-06': 260 } });
      expect(r.json()).toMatchObject({ amountYen: 100_000, table: 'hospital', band: '<3%', column: 150, next: { moreUsers: 90, amountYen: 120_000 } });
      const no = await post('/v1/calculators/incentive', { facilityType: 'hospital', octClaims: 5000, octUsers: 100, monthlyUsers: { '2024-06': 260 }, conditions: { poster: true, askPatients: false, flyers: true } });
      expect(no.json()).toMatchObject({ amountYen: 0, conditionsMet: false, missingConditions: ['askPatients'], tableAmountYen: 100_000 });
    });

    it('a small pharmacy is paid by the small table', async () => {
      const r = await post('/v1/calculators/incentive', { facilityType: 'pharmacy', octClaims: 120, octUsers: 2, monthlyUsers: { '2024-08': 14 } });
      expect(r.json()).toMatchObject({ amountYen: 10_000, table: 'small', band: '<3%', column: 10, small: true, next: { moreUsers: 3, amountYen: 15_000 } });
    });

    it('400 with every field error', async () => {
      const r = await post('/v1/calculators/incentive', { facilityType: 'clinik', octClaims: -1, monthlyUsers: { '2024-09': 5 } });
      const body = expectError(r, 400, 'ONSHI_REQUEST_INVALID');
      expect(fieldProblems(body.errors)).toEqual(['facilityType:not_allowed', 'monthlyUsers.2024-09:not_allowed', 'octClaims:out_of_range', 'octUsers:required']);
    });

    it('400 for a body that is not an object', async () => {
      const r = await h.app.inject({ method: 'POST', url: '/v1/calculators/incentive', payload: '[1]', headers: { 'content-type': 'application/json' } });
      const body = expectError(r, 400, 'ONSHI_REQUEST_INVALID');
      expect(fieldProblems(body.errors)).toEqual(['facilityType:required', 'monthlyUsers:required', 'octClaims:required', 'octUsers:required']);
    });
  });

  describe('POST /v1/calculators/reader-subsidy', () => {
    it('a hospital with one free reader at 1,200 peak uses: 2 readers, cap ¥450,000, ½ of the cost', async () => {
      const r = await post('/v1/calculators/reader-subsidy', { facilityType: 'hospital', freeReaders: 1, monthlyUses: { '2023-10': 400, '2024-02': 1200, '2024-08': 900 }, costYen: 700_001 });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ eligible: true, peakMonth: '2024-02', peakUses: 1200, readersAllowed: 2, capYen: 450_000, subsidyYen: 350_000 });
    });

    it('not eligible below 500; no subsidyYen without a cost', async () => {
      const r = await post('/v1/calculators/reader-subsidy', { facilityType: 'clinic', freeReaders: 1, monthlyUses: { '2024-05': 499 } });
      expect(r.json()).toMatchObject({ eligible: false, readersAllowed: 0, capYen: 0, reason: 'below_500' });
      expect(r.json()).not.toHaveProperty('subsidyYen');
    });

    it('400 with every field error', async () => {
      const r = await post('/v1/calculators/reader-subsidy', { facilityType: 'hospital', freeReaders: 9, monthlyUses: { '2024-10': 1 }, costYen: 'a lot' });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['costYen:out_of_range', 'freeReaders:out_of_range', 'monthlyUses.2024-10:not_allowed']);
    });
  });

  describe('POST /v1/calculators/reception-fee', () => {
    it('first visit with the card in 2023 at 30%: ¥20, share ¥6, saved ¥12', async () => {
      const r = await post('/v1/calculators/reception-fee', { date: '2023-10-02', visit: 'first', cardUsed: true, copayRate: 30 });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({ feeYen: 20, patientShareYen: 6, savedYen: 12, couldSaveYen: 0, period: 'apr_dec_2023' });
    });

    it('dispensing without the card from 2024 at 10%: ¥30, share ¥3', async () => {
      const r = await post('/v1/calculators/reception-fee', { date: '2024-12-02', visit: 'dispensing', cardUsed: false, copayRate: 10 });
      expect(r.json()).toEqual({ feeYen: 30, patientShareYen: 3, savedYen: 0, couldSaveYen: 2, period: 'from_jan_2024' });
    });

    it('400 with every field error', async () => {
      const r = await post('/v1/calculators/reception-fee', { date: '2024-13-01', visit: 'emergency', copayRate: 15 });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['cardUsed:required', 'copayRate:not_allowed', 'date:invalid_date', 'visit:not_allowed']);
    });
  });

  it('a bad token is not even looked at: the calculators need no credential', async () => {
    const r = await post('/v1/calculators/reception-fee', { date: '2024-06-01', visit: 'revisit', cardUsed: false, copayRate: 30 }, { authorization: 'Bearer nonsense' });
    expect(r.statusCode).toBe(200);
  });
});
