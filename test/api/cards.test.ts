import { describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { storeKinds } from '../support/stores.ts';
import { addMember, adminHeaders, bearer, expectError, fieldProblems, setup, useApp } from '../support/fixtures.ts';
import { injectTransport, newMyNumber, personWithCard } from '../support/cards.ts';
import { ReaderError, SimulatedPatient, SimulatedReader } from '../../src/reader/simulator.ts';
import { verifyCertificate } from '../../src/cards/certificate.ts';

const NOW = new Date('2024-11-30T15:00:00Z');

describe.each(storeKinds)('cards: issuer and patient sign-in on %s', (kind) => {
  const h = useApp(kind, { clock: () => NOW });

  const issue = (body: Record<string, unknown>, headers = adminHeaders) => h.app.inject({ method: 'POST', url: '/v1/cards', headers, payload: body });

  async function refusal(p: Promise<unknown>): Promise<ReaderError> {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ReaderError);
    return e as ReaderError;
  }

  describe('POST /v1/cards', () => {
    it('issues a card with a certificate signed by the issuer key; keeps no private key, PIN or My Number', async () => {
      const { insurer } = await setup(h.app);
      const myNumber = newMyNumber();
      await addMember(h.app, insurer, { myNumber });
      const r = await issue({ myNumber, name: '山田　太郎', birthDate: '1980-04-01', pin: '4321', validYears: 5 });
      expect(r.statusCode, r.body).toBe(201);
      const card = r.json();
      expect(card).toMatchObject({ serial: expect.stringMatching(/^[0-9A-F]{16}$/), pin: '4321', notBefore: NOW.toISOString(), notAfter: '2029-11-30T15:00:00.000Z' });
      expect(card.privateKey).toContain('BEGIN PRIVATE KEY');
      expect(r.body).not.toContain(myNumber);
      // As a JPKI user certificate: an RSA-2048 key (exponent 65537), the issuer's key too.
      const cardKey = createPrivateKey(card.privateKey);
      expect([cardKey.asymmetricKeyType, cardKey.asymmetricKeyDetails]).toEqual(['rsa', { modulusLength: 2048, publicExponent: 65537n }]);

      const issuer = (await h.app.inject({ method: 'GET', url: '/v1/cards/issuer' })).json();
      const issuerKey = createPublicKey({ key: Buffer.from(issuer.publicKey, 'base64url'), format: 'der', type: 'spki' });
      expect([issuerKey.asymmetricKeyType, issuerKey.asymmetricKeyDetails?.modulusLength]).toEqual(['rsa', 2048]);
      expect(verifyCertificate(card.certificate, issuerKey, issuer.keyId)).toMatchObject({ serial: card.serial });

      const row = await h.ctx.database.db.selectFrom('cards').selectAll().where('serial', '=', card.serial).executeTakeFirstOrThrow();
      expect(row.pin_hash).toMatch(/^scrypt\$/);
      const stored = JSON.stringify(row);
      expect(stored).not.toContain('4321');
      expect(stored).not.toContain(myNumber);
      expect(stored).not.toContain(card.privateKey.split('\n')[1]);

      const view = await h.app.inject({ method: 'GET', url: `/v1/cards/${card.serial}`, headers: adminHeaders });
      expect(view.json()).toEqual({ serial: card.serial, status: 'active', pinLocked: false, pinFailures: 0, registeredAt: null, issuedAt: NOW.toISOString(), notAfter: card.notAfter });
    });

    it('refuses a My Number no person is linked to (ONSHI_PATIENT_NOT_FOUND)', async () => {
      expectError(await issue({ myNumber: newMyNumber(), name: '未登録　花子', birthDate: '1990-01-01', pin: '1234' }), 404, 'ONSHI_PATIENT_NOT_FOUND');
    });

    it('reports malformed fields, including a wrong check digit', async () => {
      const good = newMyNumber();
      const bad = `${good.slice(0, 11)}${(Number(good[11]) + 1) % 10}`;
      const body = expectError(await issue({ myNumber: bad, name: '山田　太郎', birthDate: '1980-02-30', pin: '12' }), 400, 'ONSHI_REGISTRY_INVALID_FIELDS');
      expect(fieldProblems(body.errors)).toEqual(['birthDate:invalid_date', 'myNumber:check_digit', 'pin:format']);
    });

    it('is for administrators only', async () => {
      const { insurer, facility } = await setup(h.app);
      expectError(await issue({ myNumber: newMyNumber(), name: 'x', birthDate: '1980-01-01', pin: '1234' }, facility.headers), 403, 'ONSHI_AUTH_FORBIDDEN');
      expectError(await issue({ myNumber: newMyNumber(), name: 'x', birthDate: '1980-01-01', pin: '1234' }, insurer.headers), 403, 'ONSHI_AUTH_FORBIDDEN');
      expectError(await h.app.inject({ method: 'POST', url: '/v1/cards/0000000000000000/suspend', headers: facility.headers }), 403, 'ONSHI_AUTH_FORBIDDEN');
    });

    it('answers ONSHI_CARD_NOT_FOUND for an unknown serial', async () => {
      for (const action of ['suspend', 'resume', 'unlock']) {
        expectError(await h.app.inject({ method: 'POST', url: `/v1/cards/FFFFFFFFFFFFFFFF/${action}`, headers: adminHeaders }), 404, 'ONSHI_CARD_NOT_FOUND');
      }
    });
  });

  describe('patient sign-in, portal registration and GET /v1/me', () => {
    it('signs in with the card and PIN, registers the card, and shows the own eligibility without a My Number', async () => {
      const t = injectTransport(h.app);
      const { insurer, facility } = await setup(h.app);
      const holder = await personWithCard(h.app, t, insurer, { limitCategory: 'B02' });
      const patient = new SimulatedPatient(t);
      const session = await patient.signIn(holder.card, '1234');
      expect(session.expiresAt).toBe('2024-11-30T16:00:00.000Z');

      const reader = new SimulatedReader(t, facility.token);
      expect((await refusal(reader.confirm(holder.card, { verification: 'face' }))).code).toBe('ONSHI_CARD_UNREGISTERED');
      const registered = await patient.register(session.token, holder.card.serial);
      expect(registered.registeredAt).toBe(NOW.toISOString());
      expect((await reader.confirm(holder.card, { verification: 'face' })).result).toBe('valid');
      const again = await h.app.inject({ method: 'POST', url: '/v1/cards/register', headers: bearer(session.token), payload: { serial: holder.card.serial } });
      expectError(again, 409, 'ONSHI_CARD_ALREADY_REGISTERED');

      const me = await patient.me(session.token);
      expect(me).toMatchObject({ asOf: '2024-12-01', result: 'valid', member: { insurerNumber: insurer.insurerNumber, limitCategory: 'B02' }, cards: [{ serial: holder.card.serial, status: 'active' }] });
      const log = await h.ctx.audit.search({ personId: holder.member.personId });
      expect(log.some((l) => l.basis.kind === 'self' && l.role === 'patient')).toBe(true);
      for (const body of t.bodies) expect(body).not.toContain(holder.myNumber);
    });

    it('refuses to register another person’s card (ONSHI_CARD_NOT_FOUND)', async () => {
      const t = injectTransport(h.app);
      const { insurer } = await setup(h.app);
      const a = await personWithCard(h.app, t, insurer);
      const b = await personWithCard(h.app, t, insurer);
      const session = await new SimulatedPatient(t).signIn(a.card, '1234');
      expectError(await h.app.inject({ method: 'POST', url: '/v1/cards/register', headers: bearer(session.token), payload: { serial: b.card.serial } }), 404, 'ONSHI_CARD_NOT_FOUND');
    });

    it('refuses a wrong PIN with the tries left, and a locked card', async () => {
      const t = injectTransport(h.app);
      const { insurer } = await setup(h.app);
      const holder = await personWithCard(h.app, t, insurer);
      const patient = new SimulatedPatient(t);
      const first = await refusal(patient.signIn(holder.card, '0000'));
      expect([first.status, first.code, first.body.remainingTries]).toEqual([401, 'ONSHI_CARD_PIN_WRONG', 2]);
      await refusal(patient.signIn(holder.card, '0000'));
      const third = await refusal(patient.signIn(holder.card, '0000'));
      expect([third.status, third.code]).toEqual([423, 'ONSHI_CARD_PIN_LOCKED']);
      expect((await refusal(patient.signIn(holder.card, '1234'))).code).toBe('ONSHI_CARD_PIN_LOCKED');
      await h.app.inject({ method: 'POST', url: `/v1/cards/${holder.card.serial}/unlock`, headers: adminHeaders });
      expect((await patient.signIn(holder.card, '1234')).token).toMatch(/^onshi_/);
    });

    it('refuses a suspended card at sign-in', async () => {
      const t = injectTransport(h.app);
      const { insurer } = await setup(h.app);
      const holder = await personWithCard(h.app, t, insurer);
      await h.app.inject({ method: 'POST', url: `/v1/cards/${holder.card.serial}/suspend`, headers: adminHeaders });
      const e = await refusal(new SimulatedPatient(t).signIn(holder.card, '1234'));
      expect([e.status, e.code]).toEqual([403, 'ONSHI_CARD_SUSPENDED']);
    });

    it('refuses a reader challenge used for a sign-in (ONSHI_CHALLENGE_UNKNOWN)', async () => {
      const t = injectTransport(h.app);
      const { insurer, facility } = await setup(h.app);
      const holder = await personWithCard(h.app, t, insurer);
      const challenge = await new SimulatedReader(t, facility.token).challenge();
      const r = await h.app.inject({
        method: 'POST',
        url: '/v1/patient-sessions',
        payload: { challengeId: challenge.challengeId, serial: holder.card.serial, certificate: holder.card.certificate, signature: holder.card.sign('patient', challenge.nonce, 'patient'), pin: '1234' },
      });
      expectError(r, 400, 'ONSHI_CHALLENGE_UNKNOWN');
    });

    it('lets only a patient read /v1/me and register, and a patient nothing of the reader protocol', async () => {
      const t = injectTransport(h.app);
      const { insurer, facility } = await setup(h.app);
      const holder = await personWithCard(h.app, t, insurer);
      const session = await new SimulatedPatient(t).signIn(holder.card, '1234');
      expectError(await h.app.inject({ method: 'GET', url: '/v1/me', headers: facility.headers }), 403, 'ONSHI_AUTH_FORBIDDEN');
      expectError(await h.app.inject({ method: 'GET', url: '/v1/me', headers: adminHeaders }), 403, 'ONSHI_AUTH_FORBIDDEN');
      expectError(await h.app.inject({ method: 'POST', url: '/v1/cards/register', headers: facility.headers, payload: { serial: holder.card.serial } }), 403, 'ONSHI_AUTH_FORBIDDEN');
      expectError(await h.app.inject({ method: 'POST', url: '/v1/card-confirmations/challenges', headers: bearer(session.token) }), 403, 'ONSHI_AUTH_FORBIDDEN');
      expectError(await h.app.inject({ method: 'POST', url: '/v1/cards', headers: bearer(session.token), payload: {} }), 403, 'ONSHI_AUTH_FORBIDDEN');
    });
  });
});
