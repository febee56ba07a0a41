import { describe, expect, it } from 'vitest';
import {
  certificateDue,
  certificateNumber,
  certificateValidOn,
  certificateValidUntil,
  isCertificateNumber,
  paperCardIssueAllowed,
  paperCardOn,
  paperCardUsableUntil,
} from './rules.ts';

const current = { qualifiedFrom: '2020-04-01', lostOn: null };
const card = (paperCardIssuedOn: string | null, paperCardExpiresOn: string | null) => ({ paperCardIssuedOn, paperCardExpiresOn });

describe('paper card issue', () => {
  it('allows an issue on 2024-12-01 and refuses one on 2024-12-02 or later', () => {
    expect(paperCardIssueAllowed('2024-12-01')).toBe(true);
    expect(paperCardIssueAllowed('2024-12-02')).toBe(false);
    expect(paperCardIssueAllowed('2025-01-01')).toBe(false);
  });
});

describe('paperCardUsableUntil', () => {
  it('a card without expiry, valid on 2024-12-01, is usable through 2025-12-01 and not on 2025-12-02', () => {
    expect(paperCardUsableUntil(card('2020-04-01', null), current)).toBe('2025-12-01');
    expect(paperCardOn(card('2020-04-01', null), current, '2025-12-01')).toEqual({ usable: true, usableUntil: '2025-12-01' });
    expect(paperCardOn(card('2020-04-01', null), current, '2025-12-02')).toEqual({ usable: false, why: 'no_longer_usable', usableUntil: '2025-12-01' });
  });

  it('a card issued on 2024-12-01 is usable on 2024-12-01 and 2024-12-02; one dated 2024-12-02 never is', () => {
    const m = { qualifiedFrom: '2024-12-01', lostOn: null };
    expect(paperCardOn(card('2024-12-01', null), m, '2024-12-01').usable).toBe(true);
    expect(paperCardOn(card('2024-12-01', null), m, '2024-12-02').usable).toBe(true);
    expect(paperCardUsableUntil(card('2024-12-02', null), { qualifiedFrom: '2024-12-02', lostOn: null })).toBeNull();
  });

  it('an expiry before 2025-12-01 ends it at the expiry (paper card expired), one after is capped at 2025-12-01', () => {
    expect(paperCardUsableUntil(card('2022-04-01', '2025-03-31'), current)).toBe('2025-03-31');
    expect(paperCardOn(card('2022-04-01', '2025-03-31'), current, '2025-03-31').usable).toBe(true);
    expect(paperCardOn(card('2022-04-01', '2025-03-31'), current, '2025-04-01')).toEqual({ usable: false, why: 'expired', usableUntil: '2025-03-31' });
    expect(paperCardUsableUntil(card('2022-04-01', '2026-03-31'), current)).toBe('2025-12-01');
    expect(paperCardOn(card('2022-04-01', '2026-03-31'), current, '2025-12-02')).toMatchObject({ usable: false, why: 'no_longer_usable' });
    // Expiring exactly on 2025-12-01: usable that day, the transition's end the day after.
    expect(paperCardUsableUntil(card('2022-04-01', '2025-12-01'), current)).toBe('2025-12-01');
    expect(paperCardOn(card('2022-04-01', '2025-12-01'), current, '2025-12-02')).toMatchObject({ usable: false, why: 'no_longer_usable' });
  });

  it('a card that expired before 2024-12-01 stayed expired', () => {
    expect(paperCardUsableUntil(card('2020-04-01', '2024-11-30'), current)).toBe('2024-11-30');
    expect(paperCardOn(card('2020-04-01', '2024-11-30'), current, '2024-12-01')).toMatchObject({ usable: false, why: 'expired' });
  });

  it('an insurer change (membership lost) ends it the day before the loss, whatever the card says', () => {
    const changed = { qualifiedFrom: '2020-04-01', lostOn: '2025-06-01' };
    expect(paperCardUsableUntil(card('2020-04-01', null), changed)).toBe('2025-05-31');
    expect(paperCardOn(card('2020-04-01', null), changed, '2025-05-31').usable).toBe(true);
    expect(paperCardOn(card('2020-04-01', null), changed, '2025-06-01')).toMatchObject({ usable: false, why: 'membership_ended' });
    // A loss after 2025-12-02 changes nothing.
    expect(paperCardUsableUntil(card('2020-04-01', null), { qualifiedFrom: '2020-04-01', lostOn: '2026-01-01' })).toBe('2025-12-01');
  });

  it('no recorded card: one is assumed from qualification before 2024-12-02, none after', () => {
    expect(paperCardUsableUntil(card(null, null), { qualifiedFrom: '2024-12-01', lostOn: null })).toBe('2025-12-01');
    expect(paperCardUsableUntil(card(null, null), { qualifiedFrom: '2024-12-02', lostOn: null })).toBeNull();
    expect(paperCardOn(card(null, null), { qualifiedFrom: '2025-01-01', lostOn: null }, '2025-01-01')).toEqual({ usable: false, why: 'no_longer_usable', usableUntil: null });
  });
});

describe('certificates', () => {
  it('validity ends the day before the anniversary, at most 5 years, never past the membership', () => {
    expect(certificateValidUntil('2024-12-02', 5)).toBe('2029-12-01');
    expect(certificateValidUntil('2024-02-29', 1)).toBe('2025-02-27');
    expect(certificateValidUntil('2025-12-02', 5, '2027-04-01')).toBe('2027-03-31');
    expect(() => certificateValidUntil('2024-12-02', 6)).toThrow(RangeError);
    expect(() => certificateValidUntil('2024-12-02', 0)).toThrow(RangeError);
  });

  it('is valid from its issue date through its last day, and not from its revocation', () => {
    const c = { issuedOn: '2025-11-01', validUntil: '2030-10-31', revokedOn: null };
    expect(certificateValidOn(c, '2025-10-31')).toBe(false);
    expect(certificateValidOn(c, '2025-11-01')).toBe(true);
    expect(certificateValidOn(c, '2030-10-31')).toBe(true);
    expect(certificateValidOn(c, '2030-11-01')).toBe(false);
    expect(certificateValidOn({ ...c, revokedOn: '2026-01-01' }, '2025-12-31')).toBe(true);
    expect(certificateValidOn({ ...c, revokedOn: '2026-01-01' }, '2026-01-01')).toBe(false);
  });

  it('numbers carry a check digit', () => {
    const n = certificateNumber('06139992', 12);
    expect(n).toMatch(/^06139992-0000000012-\d$/);
    expect(isCertificateNumber(n)).toBe(true);
    expect(isCertificateNumber(n.slice(0, -1) + String((Number(n.at(-1)) + 1) % 10))).toBe(false);
  });
});

describe('certificateDue', () => {
  const base = { today: '2025-10-01', leadDays: 60, membership: current, card: card('2020-04-01', null), hasRegisteredMyNumberCard: false, certificates: [] };
  it('is due once the day the card stops working is within the lead time', () => {
    expect(certificateDue(base)).toEqual({ due: false }); // 2025-12-02 is 62 days away
    expect(certificateDue({ ...base, today: '2025-10-03' })).toEqual({ due: true, neededFrom: '2025-12-02' });
    expect(certificateDue({ ...base, today: '2026-01-10' })).toEqual({ due: true, neededFrom: '2025-12-02' });
  });
  it('is not due with a registered My Number card, after the membership ended, or with a certificate in force', () => {
    const today = '2025-11-01';
    expect(certificateDue({ ...base, today, hasRegisteredMyNumberCard: true })).toEqual({ due: false });
    expect(certificateDue({ ...base, today, membership: { qualifiedFrom: '2020-04-01', lostOn: '2025-11-01' } })).toEqual({ due: false });
    expect(certificateDue({ ...base, today, membership: { qualifiedFrom: '2020-04-01', lostOn: '2025-12-02' } })).toEqual({ due: false });
    expect(certificateDue({ ...base, today, certificates: [{ issuedOn: '2025-11-01', validUntil: '2030-10-31', revokedOn: null }] })).toEqual({ due: false });
    expect(certificateDue({ ...base, today, certificates: [{ issuedOn: '2025-11-01', validUntil: '2030-10-31', revokedOn: '2025-11-15' }] }).due).toBe(true);
  });
  it('a member who joined after 2024-12-02 without a card needs one at once', () => {
    expect(certificateDue({ ...base, today: '2025-02-01', membership: { qualifiedFrom: '2025-01-15', lostOn: null }, card: card(null, null) })).toEqual({ due: true, neededFrom: '2025-02-01' });
  });
});
