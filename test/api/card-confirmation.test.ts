import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { addMember, adminHeaders, confirm, createFacility, dumpDatabase, expectError, setup, terminateMember, useApp } from '../support/fixtures.ts';
import { injectTransport, personWithCard, type CardHolder } from '../support/cards.ts';
import { ReaderError, SimulatedCard, SimulatedReader, type ConfirmOptions } from '../../src/reader/simulator.ts';
import { generateKeyPair, privateKeyToPem, publicKeyToDer, signCertificate } from '../../src/cards/certificate.ts';
import { parseCertificate } from '../../src/cards/rules.ts';
import { newId } from '../../src/platform/ids.ts';

const newIdPair = () => ({ event: newId(), consent: newId(), log: newId() });

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

  it('refuses a forged challenge id and one with its expiry extended (ONSHI_CHALLENGE_UNKNOWN), without spending the real one', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    const challenge = await reader.challenge();
    const [v, exp, nonce, tag] = challenge.challengeId.split('.');
    const body = reader.confirmationBody(holder.card, challenge, { verification: 'face' });
    const flipped = `${tag[0] === 'A' ? 'B' : 'A'}${tag.slice(1)}`;
    for (const challengeId of [`${v}.${exp}.${nonce}.${flipped}`, `${v}.${Number(exp) + 3_600_000}.${nonce}.${tag}`]) {
      const r = await reader.send({ ...body, challengeId });
      expect([r.status, r.body.code]).toEqual([400, 'ONSHI_CHALLENGE_UNKNOWN']);
    }
    expect((await reader.send(body)).status).toBe(200);
  });

  it('issues a challenge without writing to the store', async () => {
    const { reader } = await scene();
    const count = async () => Number((await h.ctx.database.db.selectFrom('card_used_challenges').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    await reader.challenge();
    await reader.challenge();
    expect(await count()).toBe(before);
  });

  it('lets exactly one of two concurrent answers to one challenge through; the other is a replay', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    const body = reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'face' });
    const results = await Promise.all([reader.send(body), reader.send(body), reader.send(body)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe('ONSHI_CHALLENGE_REPLAYED');
  });

  describe('the next challenge piggybacked on each answer (nextChallenge)', () => {
    it('comes with a valid answer, is bound to the facility and works exactly once', async () => {
      const { facility, holder, reader } = await scene();
      await register(reader, holder);
      const first = await reader.send(reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'face' }));
      expect(first.status).toBe(200);
      const next = first.body.nextChallenge;
      expect(next).toEqual({ challengeId: expect.stringMatching(/^c1\./), nonce: expect.any(String), audience: facility.code, expiresAt: new Date(START.getTime() + 120_000).toISOString() });
      expect(next.challengeId).not.toBe(reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'face' }).challengeId);
      // Another facility cannot answer it ("unknown" there), and that attempt does not spend it.
      const other = new SimulatedReader(injectTransport(h.app, bodies), (await createFacility(h.app)).token);
      const body = reader.confirmationBody(holder.card, next, { verification: 'face' });
      const elsewhere = await other.send(body);
      expect([elsewhere.status, elsewhere.body.code]).toEqual([400, 'ONSHI_CHALLENGE_UNKNOWN']);
      const second = await reader.send(body);
      expect(second.status, JSON.stringify(second.body)).toBe(200);
      expect(await usageEvent(second.body.confirmationId)).toMatchObject({ method: 'my_number_card', facility_code: facility.code });
      // Once.
      expectReplayed(await reader.send(body));
      // Every answer brings a new one.
      expect(second.body.nextChallenge.nonce).not.toBe(next.nonce);
    });

    it('comes with a refusal too (wrong PIN), and that one works', async () => {
      const { holder, reader } = await scene();
      await register(reader, holder);
      const wrong = await reader.send(reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'pin', pin: '0000' }));
      expect([wrong.status, wrong.body.code, wrong.body.remainingTries]).toEqual([401, 'ONSHI_CARD_PIN_WRONG', 2]);
      const r = await reader.send(reader.confirmationBody(holder.card, wrong.body.nextChallenge, { verification: 'pin', pin: '1234' }));
      expect([r.status, r.body.result]).toEqual([200, 'valid']);
      // A replay is refused, and still gets a fresh challenge for the next card.
      const replay = await reader.send(reader.confirmationBody(holder.card, wrong.body.nextChallenge, { verification: 'face' }));
      expect(replay.body.code).toBe('ONSHI_CHALLENGE_REPLAYED');
      expect(replay.body.nextChallenge.audience).toBe(wrong.body.nextChallenge.audience);
    });

    it('expires after 120 s like any other challenge', async () => {
      const { holder, reader } = await scene();
      await register(reader, holder);
      const r = await reader.send(reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'face' }));
      const body = reader.confirmationBody(holder.card, r.body.nextChallenge, { verification: 'face' });
      try {
        now = new Date(START.getTime() + 120_000);
        const late = await reader.send(body);
        expect([late.status, late.body.code]).toEqual([400, 'ONSHI_CHALLENGE_EXPIRED']);
        now = new Date(START.getTime() + 119_999);
        expect((await reader.send(body)).status).toBe(200);
      } finally {
        now = START;
      }
    });

    it('lets the simulated reader confirm in one request when it holds a fresh one, and ask again otherwise', async () => {
      const { holder } = await scene();
      let readerClock = 0;
      const t = injectTransport(h.app, bodies);
      const { facility } = await setup(h.app);
      const reader = new SimulatedReader(t, facility.token, { reuseWindowMs: 60_000, clock: () => readerClock });
      await reader.confirm(holder.card, { verification: 'face', registerNow: true });
      expect(reader.requests).toEqual({ challenges: 1, confirmations: 1 });
      for (let i = 0; i < 3; i++) expect((await reader.confirm(holder.card, { verification: 'face' })).result).toBe('valid');
      expect(reader.requests).toEqual({ challenges: 1, confirmations: 4 });
      // Two concurrent confirmations: only one takes the held challenge; the other asks for its own.
      const both = await Promise.all([reader.confirm(holder.card, { verification: 'face' }), reader.confirm(holder.card, { verification: 'face' })]);
      expect(both.map((a) => a.result)).toEqual(['valid', 'valid']);
      expect(reader.requests).toEqual({ challenges: 2, confirmations: 6 });
      // Held longer than the reuse window (by the reader's clock): a new one from the challenge route.
      readerClock += 60_000;
      await reader.confirm(holder.card, { verification: 'face' });
      expect(reader.requests).toEqual({ challenges: 3, confirmations: 7 });
      // Expired by the server's clock while the reader thought it fresh: refused, nothing spent, and
      // the reader answers again with the fresh challenge the refusal carried.
      try {
        now = new Date(START.getTime() + 10 * 60_000);
        const a = await reader.confirm(holder.card, { verification: 'face' });
        expect(a.result).toBe('valid');
        expect(reader.requests).toEqual({ challenges: 3, confirmations: 9 });
        expect(await usageEvent(a.confirmationId)).toMatchObject({ occurred_at: now.toISOString() });
      } finally {
        now = START;
      }
    });

    it('is not given for a request refused before the handler (no credential)', async () => {
      const { holder, reader } = await scene();
      const body = reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'face' });
      const r = await h.app.inject({ method: 'POST', url: '/v1/card-confirmations', payload: body });
      expect(r.statusCode).toBe(401);
      expect(r.json()).not.toHaveProperty('nextChallenge');
    });
  });

  it('consumes challenges in group-committed batches: in one batch the first request wins, the rest are replays', async () => {
    const ledger = h.ctx.challenges;
    const expiresAt = new Date(now.getTime() + 120_000);
    const batchesBefore = ledger.stats.batches;
    // Queued in one turn of the event loop: one batch, one statement.
    const [a, b, c] = await Promise.all([ledger.consume('batch-nonce-1', expiresAt), ledger.consume('batch-nonce-1', expiresAt), ledger.consume('batch-nonce-2', expiresAt)]);
    expect([a, b, c]).toEqual([true, false, true]);
    expect(ledger.stats.batches).toBe(batchesBefore + 1);
    // A later batch finds the rows committed.
    expect(await Promise.all([ledger.consume('batch-nonce-1', expiresAt), ledger.consume('batch-nonce-3', expiresAt)])).toEqual([false, true]);
  });

  it('prunes used challenges only once expired (with the margin), and an expired challenge stays refused after it', async () => {
    const { holder, reader } = await scene();
    await register(reader, holder);
    const body = reader.confirmationBody(holder.card, await reader.challenge(), { verification: 'face' });
    expect((await reader.send(body)).status).toBe(200);
    const nonce = String(body.challengeId).split('.')[2];
    const row = () => h.ctx.database.db.selectFrom('card_used_challenges').select('id').where('id', '=', nonce).executeTakeFirst();
    try {
      // Expired, but within the margin: kept.
      now = new Date(START.getTime() + 120_000 + 60_000);
      await h.ctx.challenges.prune();
      expect(await row()).toBeDefined();
      now = new Date(START.getTime() + 120_000 + 11 * 60_000);
      expect(await h.ctx.challenges.prune()).toBeGreaterThanOrEqual(1);
      expect(await row()).toBeUndefined();
      const r = await reader.send(body);
      expect([r.status, r.body.code]).toEqual([400, 'ONSHI_CHALLENGE_EXPIRED']);
    } finally {
      now = START;
    }
  });

  it('commits the consent and the access-log entries with the usage event: all there the moment the answer arrives', async () => {
    const { facility, holder, reader } = await scene({ limitCategory: 'A03' });
    await register(reader, holder);
    const answer = await reader.confirm(holder.card, { verification: 'pin', pin: '1234', consent: { medication: true, limitInfo: true } });
    // No flush, no wait: read right after the answer.
    const db = h.ctx.database.db;
    const [event, consent, log] = await Promise.all([
      usageEvent(answer.confirmationId),
      db.selectFrom('consents').selectAll().where('id', '=', answer.consent.id).executeTakeFirst(),
      db.selectFrom('access_log').selectAll().where('person_id', '=', holder.member.personId).where('occurred_at', '=', START.toISOString()).execute(),
    ]);
    expect(event).toMatchObject({ method: 'my_number_card', result: 'valid' });
    expect(consent).toMatchObject({ person_id: holder.member.personId, facility_code: facility.code, scopes: 'medication,limit_info', method: 'reader' });
    const mine = log.filter((l) => l.basis_id === answer.confirmationId || l.basis_id === answer.consent.id);
    expect(mine.map((l) => [l.what, l.basis_kind]).sort()).toEqual([
      ['eligibility', 'confirmation'],
      ['limit_category', 'consent'],
    ]);
  });

  it('writes an event and its rows together or not at all, and one bad row fails only its own request', async () => {
    const { facility, holder } = await scene();
    const db = h.ctx.database.db;
    const event = (id: string, consentId: string) => ({
      confirmation_id: id,
      occurred_at: now.toISOString(),
      occurred_on: '2024-12-01',
      facility_code: facility.code,
      method: 'my_number_card',
      result: 'valid',
      reason: null,
      insurer_number: null,
      person_id: holder.member.personId,
      consent_id: consentId,
    });
    const consentRow = (id: string, personId: string) => ({ id, person_id: personId, facility_code: facility.code, scopes: 'medication', method: 'reader', attested_by: null, granted_at: now.toISOString(), expires_at: now.toISOString() });
    const logRow = (id: string) => ({ id, occurred_at: now.toISOString(), actor: 'test', role: 'reception', facility_code: facility.code, person_id: holder.member.personId, what: 'eligibility', basis_kind: 'confirmation', basis_id: id, detail: null });
    const good = newIdPair();
    const bad = newIdPair();
    // Same batch: the bad consent repeats the good one's id (a unique key), so it fails on its own.
    const [okResult, badResult] = await Promise.allSettled([
      h.ctx.recorder.record(event(good.event, good.consent), { consents: [consentRow(good.consent, holder.member.personId)], accessLog: [logRow(good.log)] }),
      h.ctx.recorder.record(event(bad.event, bad.consent), { consents: [consentRow(good.consent, holder.member.personId)], accessLog: [logRow(bad.log)] }),
    ]);
    expect(okResult.status).toBe('fulfilled');
    expect(badResult.status).toBe('rejected');
    expect(await usageEvent(good.event)).toBeDefined();
    expect(await db.selectFrom('consents').select('id').where('id', '=', good.consent).executeTakeFirst()).toBeDefined();
    expect(await db.selectFrom('access_log').select('id').where('id', '=', good.log).executeTakeFirst()).toBeDefined();
    expect(await usageEvent(bad.event)).toBeUndefined();
    expect(await db.selectFrom('access_log').select('id').where('id', '=', bad.log).executeTakeFirst()).toBeUndefined();
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
