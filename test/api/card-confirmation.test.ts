import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { addMember, adminHeaders, confirm, createFacility, dumpDatabase, expectError, setup, terminateMember, useApp } from '../support/fixtures.ts';
import { injectTransport, personWithCard, type CardHolder } from '../support/cards.ts';
import { ReaderError, SimulatedCard, SimulatedReader, type ConfirmOptions } from '../../src/reader/simulator.ts';
import { generateKeyPair, privateKeyToPem, publicKeyToDer, signCertificate } from '../../src/cards/certificate.ts';
import { parseCertificate } from '../../src/cards/rules.ts';

// The clock stands at 2024-11-30T15:00Z (2024-12-01 in Japan); tests that need time to pass move it
// and put it back.
const START = new Date('2024-11-30T15:00:00Z');
let now = START;

describe.each(storeKinds)('POST /v1/card-confirmations on %s', (kind) => {
  const h = useApp(kind, { clock: () => now });
  // Every response body of the block, for the My Number leak check at its end.
  const bodies: string[] = [];
  const myNumbers: string[] = [];

  async function scene(overrides: Record<string, unknown> = {}, cardInput: { validYears?: number } = {}) {
    const t = injectTransport(h.app, bodies);
    const { insurer, facility } = await setup(h.app);
    const holder = await personWithCard(h.app, t, insurer, overrides, cardInput);
    myNumbers.push(holder.myNumber);
    const reader = new SimulatedReader(t, facility.token);
    return { insurer, facility, holder, reader, t };
  }

  async function register(reader: SimulatedReader, holder: CardHolder) {
    const r = await reader.confirm(holder.card, { verification: 'face', registerNow: true });
    expect(r.registeredNow).toBe(true);
  }

  async function refused(p: Promise<unknown>, status: number, code: string): Promise<ReaderError> {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ReaderError);
    const err = e as ReaderError;
    expect({ status: err.status, code: err.code }).toEqual({ status, code });
    expect(err.body.messageJa).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/u);
    return err;
  }

  async function usageEvent(confirmationId: string) {
    return h.ctx.database.db.selectFrom('usage_events').selectAll().where('confirmation_id', '=', confirmationId).executeTakeFirst();
  }

  it('answers the eligibility record of the card-number path, records the usage event, consent and audit', async () => {
    const { insurer, facility, holder, reader } = await scene({ limitCategory: 'A03' });
    await register(reader, holder);
    const answer = await reader.confirm(holder.card, { verification: 'face', consent: { medication: true, checkups: true } });
    const byNumbers = await confirm(h.app, facility, { insurerNumber: insurer.insurerNumber, symbol: '12', number: holder.member.number, branch: '00', birthDate: '1980-04-01' });
    expect(byNumbers.statusCode, byNumbers.body).toBe(200);
    expect(answer).toMatchObject({ result: 'valid', asOf: '2024-12-01', member: byNumbers.json().member, registeredNow: false });
    // No limit-info consent: the category is not in the answer at all.
    expect(answer.member).not.toHaveProperty('limitCategory');
    expect(answer.consent).toMatchObject({ scopes: ['medication', 'checkups'], method: 'reader' });

    const event = await usageEvent(answer.confirmationId);
    expect(event).toMatchObject({ method: 'my_number_card', result: 'valid', facility_code: facility.code, insurer_number: insurer.insurerNumber, person_id: holder.member.personId, occurred_on: '2024-12-01' });
    expect(await h.ctx.consent.inForce(holder.member.personId, facility.code, 'medication')).toEqual({ id: answer.consent.id, expiresAt: answer.consent.expiresAt });
    expect(await h.ctx.consent.inForce(holder.member.personId, facility.code, 'limit_info')).toBeUndefined();
    const log = await h.ctx.audit.search({ personId: holder.member.personId });
    expect(log.find((l) => l.basis.id === answer.confirmationId)).toMatchObject({ what: 'eligibility', facilityCode: facility.code, role: 'reception', basis: { kind: 'confirmation' } });
  });

  it('includes the limit category only with the limit-info consent, and audits that view under the consent', async () => {
    const { facility, holder, reader } = await scene({ limitCategory: 'A03' });
    await register(reader, holder);
    const answer = await reader.confirm(holder.card, { verification: 'pin', pin: '1234', consent: { limitInfo: true } });
    expect(answer.member.limitCategory).toBe('A03');
    expect(await h.ctx.consent.inForce(holder.member.personId, facility.code, 'limit_info')).toMatchObject({ id: answer.consent.id });
    const log = await h.ctx.audit.search({ personId: holder.member.personId });
    expect(log.find((l) => l.what === 'limit_category')).toMatchObject({ basis: { kind: 'consent', id: answer.consent.id } });
    // A later "no" at the same facility withdraws it: the next answer has no category.
    const next = await reader.confirm(holder.card, { verification: 'face' });
    expect(next.member).not.toHaveProperty('limitCategory');
    expect(await h.ctx.consent.inForce(holder.member.personId, facility.code, 'limit_info')).toBeUndefined();
  });

  it('records consent from a generic reader (visual check) as written consent attested by the staff credential', async () => {
    const { facility, holder, reader } = await scene();
    await register(reader, holder);
    const answer = await reader.confirm(holder.card, { verification: 'visual', consent: { medication: true } });
    expect(answer.consent.method).toBe('written');
    const row = await h.ctx.database.db.selectFrom('consents').selectAll().where('id', '=', answer.consent.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ method: 'written', attested_by: `facility:${facility.id}`, scopes: 'medication' });
  });

  it('refuses an unregistered card (ONSHI_CARD_UNREGISTERED) and registers it at the reader on request', async () => {
    const { holder, reader } = await scene();
    await refused(reader.confirm(holder.card, { verification: 'face' }), 409, 'ONSHI_CARD_UNREGISTERED');
    const first = await reader.confirm(holder.card, { verification: 'face', registerNow: true });
    expect(first).toMatchObject({ result: 'valid', registeredNow: true });
    const again = await reader.confirm(holder.card, { verification: 'face' });
    expect(again).toMatchObject({ result: 'valid', registeredNow: false });
    const view = await h.app.inject({ method: 'GET', url: `/v1/cards/${holder.card.serial}`, headers: adminHeaders });
    expect(view.json().registeredAt).toBe(START.toISOString());
  });

  it('refuses a suspended card (ONSHI_CARD_SUSPENDED) until it is resumed', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    const s = await h.app.inject({ method: 'POST', url: `/v1/cards/${holder.card.serial}/suspend`, headers: adminHeaders });
    expect(s.json()).toMatchObject({ status: 'suspended' });
    await refused(reader.confirm(holder.card, { verification: 'face' }), 403, 'ONSHI_CARD_SUSPENDED');
    await h.app.inject({ method: 'POST', url: `/v1/cards/${holder.card.serial}/resume`, headers: adminHeaders });
    expect((await reader.confirm(holder.card, { verification: 'face' })).result).toBe('valid');
  });

  it('counts wrong PINs (2 left, 1 left, locked), stays locked for the right PIN, and unlocks at the issuer', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    const wrong: ConfirmOptions = { verification: 'pin', pin: '9999' };
    expect((await refused(reader.confirm(holder.card, wrong), 401, 'ONSHI_CARD_PIN_WRONG')).body.remainingTries).toBe(2);
    expect((await refused(reader.confirm(holder.card, wrong), 401, 'ONSHI_CARD_PIN_WRONG')).body.remainingTries).toBe(1);
    expect((await refused(reader.confirm(holder.card, wrong), 423, 'ONSHI_CARD_PIN_LOCKED')).body.remainingTries).toBe(0);
    await refused(reader.confirm(holder.card, { verification: 'pin', pin: '1234' }), 423, 'ONSHI_CARD_PIN_LOCKED');
    // Face recognition does not use the PIN: still accepted, as at real face-recognition readers.
    expect((await reader.confirm(holder.card, { verification: 'face' })).result).toBe('valid');
    const unlocked = await h.app.inject({ method: 'POST', url: `/v1/cards/${holder.card.serial}/unlock`, headers: adminHeaders });
    expect(unlocked.json()).toMatchObject({ pinLocked: false, pinFailures: 0 });
    expect((await reader.confirm(holder.card, { verification: 'pin', pin: '1234' })).result).toBe('valid');
  });

  it('resets the count after a correct PIN', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    await refused(reader.confirm(holder.card, { verification: 'pin', pin: '0000' }), 401, 'ONSHI_CARD_PIN_WRONG');
    await reader.confirm(holder.card, { verification: 'pin', pin: '1234' });
    const view = await h.app.inject({ method: 'GET', url: `/v1/cards/${holder.card.serial}`, headers: adminHeaders });
    expect(view.json().pinFailures).toBe(0);
    expect((await refused(reader.confirm(holder.card, { verification: 'pin', pin: '0000' }), 401, 'ONSHI_CARD_PIN_WRONG')).body.remainingTries).toBe(2);
  });

  it('refuses a failed face match (ONSHI_CARD_FACE_MISMATCH)', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    await refused(reader.confirm(holder.card, { verification: 'face', face: 'someone else' }), 401, 'ONSHI_CARD_FACE_MISMATCH');
  });

  it('refuses an expired certificate (ONSHI_CARD_CERTIFICATE_EXPIRED) from notAfter on', async () => {
    const { holder, reader } = await scene({}, { validYears: 1 });
    await register(reader, holder);
    try {
      now = new Date(Date.parse(holder.card.data.notAfter) - 1);
      expect((await reader.confirm(holder.card, { verification: 'face' })).result).toBe('valid');
      now = new Date(holder.card.data.notAfter);
      await refused(reader.confirm(holder.card, { verification: 'face' }), 403, 'ONSHI_CARD_CERTIFICATE_EXPIRED');
    } finally {
      now = START;
    }
  });

  it('refuses a replayed challenge (ONSHI_CHALLENGE_REPLAYED), and a used one even after a refusal', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    const body = reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'face' });
    expect((await reader.send(body)).status).toBe(200);
    expectReplayed(await reader.send(body));
    // A refused attempt (wrong PIN) spends its challenge too.
    const pinBody = reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'pin', pin: '1111' });
    expect((await reader.send(pinBody)).body.code).toBe('ONSHI_CARD_PIN_WRONG');
    expectReplayed(await reader.send({ ...pinBody, pin: '1234' }));
  });

  function expectReplayed(r: { status: number; body: any }) {
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('ONSHI_CHALLENGE_REPLAYED');
  }

  it('refuses an unknown challenge and another facility’s challenge (ONSHI_CHALLENGE_UNKNOWN)', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    const other = await createFacility(h.app);
    const otherReader = new SimulatedReader(injectTransport(h.app, bodies), other.token);
    const body = reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'face' });
    const r1 = await otherReader.send(body);
    expect([r1.status, r1.body.code]).toEqual([400, 'ONSHI_CHALLENGE_UNKNOWN']);
    const r2 = await reader.send({ ...body, challengeId: '00000000-0000-7000-8000-000000000000' });
    expect([r2.status, r2.body.code]).toEqual([400, 'ONSHI_CHALLENGE_UNKNOWN']);
    // The other facility's attempt did not spend it.
    expect((await reader.send(body)).status).toBe(200);
  });

  it('refuses an expired challenge (ONSHI_CHALLENGE_EXPIRED) after 120 s', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    const body = reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'face' });
    try {
      now = new Date(START.getTime() + 120_000);
      const r = await reader.send(body);
      expect([r.status, r.body.code]).toEqual([400, 'ONSHI_CHALLENGE_EXPIRED']);
    } finally {
      now = START;
    }
  });

  it('refuses a certificate from another issuer key, a tampered one and one for another serial (ONSHI_CARD_CERTIFICATE_UNKNOWN)', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    const parsed = parseCertificate(holder.card.certificate)!;
    // A rogue issuer makes a certificate for the same serial with its own key pair.
    const rogueIssuer = generateKeyPair();
    const rogueCard = generateKeyPair();
    const rogueCert = signCertificate({ ...parsed.body, subjectPublicKey: publicKeyToDer(rogueCard.publicKey) }, rogueIssuer.privateKey);
    const rogue = new SimulatedCard({ ...holder.card.data, certificate: rogueCert, privateKey: privateKeyToPem(rogueCard.privateKey) });
    await refused(reader.confirm(rogue, { verification: 'face' }), 403, 'ONSHI_CARD_CERTIFICATE_UNKNOWN');
    // The genuine certificate with a longer validity written in, the issuer's signature kept.
    const longer = Buffer.from(JSON.stringify({ ...parsed.body, notAfter: '2099-01-01T00:00:00.000Z' })).toString('base64url');
    const tampered = new SimulatedCard({ ...holder.card.data, certificate: `${longer}.${holder.card.certificate.split('.')[1]}` });
    await refused(reader.confirm(tampered, { verification: 'face' }), 403, 'ONSHI_CARD_CERTIFICATE_UNKNOWN');
    // A genuine certificate presented under another card's serial.
    const second = await personWithCard(h.app, injectTransport(h.app, bodies), (await setup(h.app)).insurer);
    const body = reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'face' });
    const r = await reader.send({ ...body, serial: second.card.serial });
    expect([r.status, r.body.code]).toEqual([403, 'ONSHI_CARD_CERTIFICATE_UNKNOWN']);
  });

  it('refuses a signature that is not the card’s over this challenge (ONSHI_SIGNATURE_INVALID)', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    // A card object with the right certificate but another private key (a cloned certificate).
    const clone = new SimulatedCard({ ...holder.card.data, privateKey: privateKeyToPem(generateKeyPair().privateKey) });
    await refused(reader.confirm(clone, { verification: 'face' }), 401, 'ONSHI_SIGNATURE_INVALID');
    // The right key, but over another nonce.
    const challenge = await reader.challenge();
    const body = reader.confirmationBody(holder.card, { ...challenge, nonce: 'x' + challenge.nonce }, { verification: 'face' });
    const r = await reader.send(body);
    expect([r.status, r.body.code]).toEqual([401, 'ONSHI_SIGNATURE_INVALID']);
    // A wrong PIN with a bad signature costs no try: only the card's holder can spend PIN tries.
    const pinBody = reader.confirmationBody(clone, await reader.challenge(), { verification: 'pin', pin: '0000' });
    expect((await reader.send(pinBody)).body.code).toBe('ONSHI_SIGNATURE_INVALID');
    const view = await h.app.inject({ method: 'GET', url: `/v1/cards/${holder.card.serial}`, headers: adminHeaders });
    expect(view.json().pinFailures).toBe(0);
  });

  it('answers invalid (with its usage event) when the person’s eligibility was lost', async () => {
    const { insurer, holder, reader } = await scene();
    await register(reader, holder);
    const t = await terminateMember(h.app, insurer, holder.member.memberId, { lostOn: '2024-11-01', lossReason: 'other_insurance' });
    expect(t.statusCode, t.body).toBe(200);
    const answer = await reader.confirm(holder.card, { verification: 'face' });
    expect(answer).toMatchObject({ result: 'invalid', reason: 'eligibility_lost', details: { lostOn: '2024-11-01' } });
    expect(answer).not.toHaveProperty('member');
    expect(await usageEvent(answer.confirmationId)).toMatchObject({ method: 'my_number_card', result: 'invalid', reason: 'eligibility_lost' });
  });

  it('answers the membership valid today when the person has an older, lost one', async () => {
    const { insurer, holder, reader } = await scene();
    await register(reader, holder);
    await terminateMember(h.app, insurer, holder.member.memberId, { lostOn: '2024-10-01', lossReason: 'other_insurance' });
    const next = await setup(h.app);
    await addMember(h.app, next.insurer, { number: '777', myNumber: holder.myNumber, qualifiedFrom: '2024-10-01' });
    const answer = await reader.confirm(holder.card, { verification: 'face' });
    expect(answer).toMatchObject({ result: 'valid', member: { insurerNumber: next.insurer.insurerNumber, number: '777' } });
  });

  it('refuses other credential kinds and a PIN verification without a PIN (without spending the challenge)', async () => {
    const { insurer, holder, reader } = await scene();
    await register(reader, holder);
    expectError(await h.app.inject({ method: 'POST', url: '/v1/card-confirmations/challenges', headers: insurer.headers }), 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await h.app.inject({ method: 'POST', url: '/v1/card-confirmations/challenges' }), 401, 'ONSHI_AUTH_MISSING_TOKEN');
    const challenge = await reader.challenge();
    const body = reader.confirmationBody(holder.card, challenge, { verification: 'pin', pin: '1234' });
    const { pin: _pin, ...noPin } = body;
    const r = await reader.send(noPin);
    expect([r.status, r.body.code]).toEqual([400, 'ONSHI_REQUEST_INVALID']);
    expect((await reader.send(body)).status).toBe(200);
  });

  it('never answers or stores a My Number', async () => {
    expect(myNumbers.length).toBeGreaterThan(10);
    expect(bodies.length).toBeGreaterThan(50);
    const all = bodies.join('\n');
    for (const n of myNumbers) expect(all).not.toContain(n);
    const dump = Object.values(await dumpDatabase(h.ctx)).join('\n');
    for (const n of myNumbers) expect(dump).not.toContain(n);
  });
});
