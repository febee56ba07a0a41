// Paper-card transition (DOMAIN.md §7): the registry refuses new paper cards, confirmation knows
// the presented document, and 資格確認書 are issued by a restartable job or on request.

import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { storeKinds } from '../support/stores.ts';
import { addMember, changeMember, confirm, expectError, fieldProblems, memberBody, memberUrl, setup, terminateMember, useApp, type Harness, type TestInsurer } from '../support/fixtures.ts';

const NOW = new Date('2025-10-15T03:00:00Z'); // 2025-10-15 in Japan

const numbers = (insurer: TestInsurer, number: string, overrides: Record<string, unknown> = {}) => ({
  insurerNumber: insurer.insurerNumber, symbol: '12', number, branch: '00', birthDate: '1980-04-01', ...overrides,
});

async function giveRegisteredCard(h: Harness, personId: string, status: 'active' | 'suspended' = 'active') {
  await h.ctx.database.db
    .insertInto('cards')
    .values({
      serial: `T${personId}`, person_id: personId, certificate: 'test', not_after: '2030-01-01T00:00:00.000Z', status, pin_hash: 'x', pin_failures: 0, pin_locked_at: null,
      registered_at: '2024-01-01T00:00:00.000Z', issued_at: '2023-01-01T00:00:00.000Z', issued_by: 'test', status_changed_at: null,
    })
    .execute();
}

describe.each(storeKinds)('paper-card transition on %s', (kind) => {
  const h = useApp(kind, { clock: () => NOW });

  it('refuses a paper card issued on or after 2024-12-02, on add and on change', async () => {
    const { insurer } = await setup(h.app);
    const r = await h.app.inject({ method: 'POST', url: memberUrl(insurer.insurerNumber), headers: insurer.headers, payload: memberBody({ paperCardIssuedOn: '2024-12-02' }) });
    expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['paperCardIssuedOn:not_allowed']);
    const m = await addMember(h.app, insurer, { paperCardIssuedOn: '2024-12-01' });
    const change = await changeMember(h.app, insurer, m.memberId, { effectiveFrom: '2025-01-01', paperCardIssuedOn: '2025-01-01' });
    expect(fieldProblems(expectError(change, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['paperCardIssuedOn:not_allowed']);
  });

  it('a paper card is valid through 2025-12-01 and 無効 (paper_card_no_longer_usable) from 2025-12-02; a certificate then makes the same numbers 有効', async () => {
    const { insurer, facility } = await setup(h.app);
    const m = await addMember(h.app, insurer, { number: '100', paperCardIssuedOn: '2020-04-01', paperCardExpiresOn: '2026-03-31' });
    let r = await confirm(h.app, facility, numbers(insurer, '100', { asOf: '2025-12-01' }));
    expect(r.json()).toMatchObject({ result: 'valid', member: { number: '100' } });
    r = await confirm(h.app, facility, numbers(insurer, '100', { asOf: '2025-12-02', document: 'paper_card' }));
    expect(r.json()).toMatchObject({ result: 'invalid', reason: 'paper_card_no_longer_usable', details: { paperCardUsableUntil: '2025-12-01' } });
    expect(r.json().messageJa).toMatch(/被保険者証/);
    // Default document is the paper card.
    expect((await confirm(h.app, facility, numbers(insurer, '100', { asOf: '2025-12-02' }))).json().reason).toBe('paper_card_no_longer_usable');
    // No certificate yet.
    r = await confirm(h.app, facility, numbers(insurer, '100', { asOf: '2025-12-02', document: 'certificate' }));
    expect(r.json()).toMatchObject({ result: 'invalid', reason: 'no_valid_certificate' });
    // Issued on request (card lost), valid 5 years from its issue date.
    const issued = await h.app.inject({ method: 'POST', url: `${memberUrl(insurer.insurerNumber, m.memberId)}/certificates`, headers: insurer.headers, payload: { reason: 'card_lost', issuedOn: '2025-11-20' } });
    expect(issued.statusCode, issued.body).toBe(201);
    expect(issued.json()).toMatchObject({ issuedOn: '2025-11-20', validUntil: '2030-11-19', origin: 'request', requestReason: 'card_lost' });
    r = await confirm(h.app, facility, numbers(insurer, '100', { asOf: '2025-12-02', document: 'certificate' }));
    expect(r.json()).toMatchObject({ result: 'valid', member: { number: '100' }, certificate: { number: issued.json().number, validUntil: '2030-11-19' } });
    expect((await confirm(h.app, facility, numbers(insurer, '100', { asOf: '2025-11-19', document: 'certificate' }))).json().reason).toBe('no_valid_certificate');
    expect((await confirm(h.app, facility, numbers(insurer, '100', { asOf: '2030-11-20', document: 'certificate' }))).json().reason).toBe('no_valid_certificate');
    // The paper card is still refused while the certificate is valid.
    expect((await confirm(h.app, facility, numbers(insurer, '100', { asOf: '2025-12-02' }))).json().reason).toBe('paper_card_no_longer_usable');
    // In the member's record.
    const rec = await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber, m.memberId)}/transition?asOf=2025-12-02`, headers: insurer.headers });
    expect(rec.statusCode, rec.body).toBe(200);
    expect(rec.json()).toMatchObject({ paperCard: { usableUntil: '2025-12-01' }, certificates: [{ number: issued.json().number, validOnAsOf: true }] });
  });

  it('an expiry before 2025-12-01 stays paper_card_expired; an insurer change ends the card (eligibility_lost); an unknown document is an error', async () => {
    const { insurer, facility } = await setup(h.app);
    await addMember(h.app, insurer, { number: '200', paperCardIssuedOn: '2022-04-01', paperCardExpiresOn: '2025-03-31' });
    expect((await confirm(h.app, facility, numbers(insurer, '200', { asOf: '2025-03-31' }))).json().result).toBe('valid');
    expect((await confirm(h.app, facility, numbers(insurer, '200', { asOf: '2025-04-01' }))).json()).toMatchObject({ result: 'invalid', reason: 'paper_card_expired' });
    const moved = await addMember(h.app, insurer, { number: '201', paperCardIssuedOn: '2022-04-01' });
    expect((await terminateMember(h.app, insurer, moved.memberId, { lostOn: '2025-06-01', lossReason: 'other_insurance' })).statusCode).toBe(200);
    expect((await confirm(h.app, facility, numbers(insurer, '201', { asOf: '2025-05-31' }))).json().result).toBe('valid');
    expect((await confirm(h.app, facility, numbers(insurer, '201', { asOf: '2025-06-01' }))).json()).toMatchObject({ result: 'invalid', reason: 'eligibility_lost' });
    const bad = await confirm(h.app, facility, numbers(insurer, '200', { asOf: '2025-01-01', document: 'passport' }));
    expect(bad.statusCode).toBe(400);
    expect(fieldProblems(bad.json().errors)).toEqual(['document:not_allowed']);
    // A member who joined after 2024-12-02 holds no paper card.
    await addMember(h.app, insurer, { number: '202', qualifiedFrom: '2025-01-15' });
    expect((await confirm(h.app, facility, numbers(insurer, '202', { asOf: '2025-02-01' }))).json()).toMatchObject({ result: 'invalid', reason: 'paper_card_no_longer_usable' });
  });

  it('the issue-due job issues once to exactly the members due, resumes after a crash mid-run, and its certificates confirm', async () => {
    const { insurer, facility } = await setup(h.app);
    const due1 = await addMember(h.app, insurer, { number: '301', paperCardIssuedOn: '2020-04-01' }); // stops 2025-12-02: 48 days
    const withCard = await addMember(h.app, insurer, { number: '302', paperCardIssuedOn: '2020-04-01', myNumber: undefined });
    await giveRegisteredCard(h, withCard.personId);
    const suspended = await addMember(h.app, insurer, { number: '303', paperCardIssuedOn: '2020-04-01' });
    await giveRegisteredCard(h, suspended.personId, 'suspended');
    const expired = await addMember(h.app, insurer, { number: '304', paperCardIssuedOn: '2020-04-01', paperCardExpiresOn: '2025-03-31' }); // already stopped
    const lost = await addMember(h.app, insurer, { number: '305', paperCardIssuedOn: '2020-04-01' });
    await terminateMember(h.app, insurer, lost.memberId, { lostOn: '2025-10-01', lossReason: 'other_insurance' });
    const leaving = await addMember(h.app, insurer, { number: '306', paperCardIssuedOn: '2020-04-01' });
    await terminateMember(h.app, insurer, leaving.memberId, { lostOn: '2025-12-02', lossReason: 'other_insurance' }); // leaves the day it would need one

    // A lead time of 30 days: 2025-12-02 is 48 days away, so only the already-expired card is due.
    const short = await h.ctx.transition.issueDue({ insurerNumber: insurer.insurerNumber, leadDays: 30 });
    expect(short).toMatchObject({ examined: 5, issued: 1 });

    // 60 days, one member per chunk, crashing after the second chunk has committed.
    let chunks = 0;
    await expect(
      h.ctx.transition.issueDue({ insurerNumber: insurer.insurerNumber, leadDays: 60, chunkSize: 1 }, () => {
        if (++chunks === 2) throw new Error('crash');
      }),
    ).rejects.toThrow('crash');
    const resumed = await h.ctx.transition.issueDue({ insurerNumber: insurer.insurerNumber, leadDays: 60, chunkSize: 1 });
    expect(resumed).toMatchObject({ resumed: true, examined: 5 });
    const again = await h.ctx.transition.issueDue({ insurerNumber: insurer.insurerNumber, leadDays: 60, chunkSize: 1 });
    expect(again).toMatchObject({ alreadyDone: true, issued: resumed.issued });
    // A fresh run on the same day with other chunking issues nothing new either.
    expect((await h.ctx.transition.issueDue({ insurerNumber: insurer.insurerNumber, leadDays: 61 })).issued).toBe(0);

    const certs = await h.ctx.database.db.selectFrom('eligibility_certificates').selectAll().where('insurer_number', '=', insurer.insurerNumber).execute();
    const byMember = new Map<string, number>();
    for (const c of certs) byMember.set(c.membership_id, (byMember.get(c.membership_id) ?? 0) + 1);
    expect([...byMember.keys()].sort()).toEqual([due1.memberId, suspended.memberId, expired.memberId].sort());
    expect([...byMember.values()]).toEqual([1, 1, 1]);
    expect(new Set(certs.map((c) => c.number)).size).toBe(3);
    expect(certs.every((c) => c.issued_on === '2025-10-15' && c.valid_until === '2030-10-14' && c.origin === 'automatic')).toBe(true);

    const r = await confirm(h.app, facility, numbers(insurer, '301', { asOf: '2025-12-02', document: 'certificate' }));
    expect(r.json()).toMatchObject({ result: 'valid', certificate: { issuedOn: '2025-10-15' } });

    // Print data, Shift_JIS.
    const csv = await h.app.inject({ method: 'GET', url: `/v1/insurers/${insurer.insurerNumber}/certificates/print.csv?from=2025-10-01&to=2025-10-31&charset=shift_jis`, headers: insurer.headers });
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.headers['content-type']).toMatch(/Shift_JIS/);
    const lines = iconv.decode(csv.rawPayload, 'cp932').trim().split('\r\n');
    expect(lines[0]).toMatch(/^資格確認書番号,保険者番号/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain('山田　太郎');
  });

  it('the job over HTTP is the insurer’s own', async () => {
    const { insurer } = await setup(h.app);
    const other = await setup(h.app);
    const r = await h.app.inject({ method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/certificates/issue-due`, headers: other.insurer.headers, payload: {} });
    expectError(r, 403, 'ONSHI_AUTH_FORBIDDEN');
    const ok = await h.app.inject({ method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/certificates/issue-due`, headers: insurer.headers, payload: { validityYears: 6 } });
    expect(fieldProblems(expectError(ok, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['validityYears:out_of_range']);
  });
});
