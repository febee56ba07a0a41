import { describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { storeKinds } from '../support/stores.ts';
import {
  addMember,
  changeMember,
  confirm,
  createFacility,
  createInsurer,
  expectMessages,
  fieldProblems,
  setup,
  terminateMember,
  useApp,
  type Harness,
  type TestFacility,
} from '../support/fixtures.ts';

// The clock stands at 2024-11-30T15:00Z: already 2024-12-01 in Japan, still 30 November in UTC.
const NOW = new Date('2024-11-30T15:00:00Z');
const TODAY_JST = '2024-12-01';

/** The inquiry for the default member of fixtures' memberBody. */
const card = (insurerNumber: string, overrides: Record<string, unknown> = {}) => ({
  insurerNumber,
  symbol: '12',
  number: '3456',
  branch: '00',
  birthDate: '1980-04-01',
  asOf: '2024-11-25',
  ...overrides,
});

async function usageEventOf(h: Harness, confirmationId: string) {
  const rows = await h.ctx.database.db.selectFrom('usage_events').selectAll().where('confirmation_id', '=', confirmationId).execute();
  expect(rows).toHaveLength(1);
  return rows[0];
}

async function usageEventCount(h: Harness, facility: TestFacility): Promise<number> {
  const r = await h.ctx.database.db
    .selectFrom('usage_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('facility_code', '=', facility.code)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

function expectInvalid(r: LightMyRequestResponse, reason: string): Record<string, any> {
  expect(r.statusCode, r.body).toBe(200);
  const body = r.json();
  expect(body.result).toBe('invalid');
  expect(body.reason).toBe(reason);
  expect(body).not.toHaveProperty('member');
  expectMessages(body);
  return body;
}

function expectInputError(r: LightMyRequestResponse, problems: string[]): Record<string, any> {
  expect(r.statusCode, r.body).toBe(400);
  const body = r.json();
  expect(body).toMatchObject({ result: 'error', code: 'ONSHI_CONFIRMATION_INVALID_INPUT', confirmationId: expect.any(String) });
  expectMessages(body);
  expect(fieldProblems(body.errors)).toEqual(problems);
  return body;
}

describe.each(storeKinds)('POST /v1/confirmations on %s', (kind) => {
  const h = useApp(kind, { clock: () => NOW });

  describe('valid (有効)', () => {
    it('answers the full eligibility record of the member', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer, { postalCode: '100-0001', paperCardIssuedOn: '2020-04-01', paperCardExpiresOn: '2025-12-01' });
      const r = await confirm(h.app, facility, card(insurer.insurerNumber));
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({
        result: 'valid',
        confirmationId: expect.any(String),
        asOf: '2024-11-25',
        member: {
          insurerNumber: insurer.insurerNumber,
          insurerName: insurer.name,
          symbol: '12',
          number: '3456',
          branch: '00',
          relationship: 'self',
          name: '山田　太郎',
          nameKana: 'ヤマダ　タロウ',
          birthDate: '1980-04-01',
          sex: 'male',
          address: '東京都千代田区千代田1-1',
          postalCode: '100-0001',
          qualifiedFrom: '2020-04-01',
          lostOn: null,
          copayRate: 30,
          paperCardIssuedOn: '2020-04-01',
          paperCardExpiresOn: '2025-12-01',
          validFrom: '2020-04-01',
        },
      });
    });

    it("defaults asOf to today's date in Japan (JST), not in UTC", async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer, { number: '1', qualifiedFrom: TODAY_JST });
      await addMember(h.app, insurer, { number: '2', qualifiedFrom: '2024-12-02' });
      const startsToday = await confirm(h.app, facility, card(insurer.insurerNumber, { number: '1', asOf: undefined }));
      expect(startsToday.json()).toMatchObject({ result: 'valid', asOf: TODAY_JST });
      const startsTomorrow = await confirm(h.app, facility, card(insurer.insurerNumber, { number: '2', asOf: undefined }));
      expect(expectInvalid(startsTomorrow, 'not_yet_started').asOf).toBe(TODAY_JST);
    });

    it('finds the member when the branch is omitted and only one matches', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer);
      const r = await confirm(h.app, facility, card(insurer.insurerNumber, { branch: undefined }));
      expect(r.json()).toMatchObject({ result: 'valid', member: { branch: '00' } });
    });

    it('confirms at a 6-digit municipal NHI insurer', async () => {
      const insurer = await createInsurer(h.app, { kind: 'kokuho', name: '八王子市' });
      const facility = await createFacility(h.app);
      await addMember(h.app, insurer, { symbol: '八王子', number: '4321' });
      const r = await confirm(h.app, facility, card(insurer.insurerNumber, { symbol: '八王子', number: '4321' }));
      expect(r.json()).toMatchObject({ result: 'valid', member: { insurerNumber: insurer.insurerNumber, insurerName: '八王子市', symbol: '八王子' } });
      expect(insurer.insurerNumber).toHaveLength(6);
    });

    it('tells a family member (branch 01) from the insured person (branch 00) by branch and birth date', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer);
      await addMember(h.app, insurer, { branch: '01', name: '山田　花子', nameKana: 'ヤマダ　ハナコ', birthDate: '1982-08-15', sex: 'female', relationship: 'family' });
      const spouse = await confirm(h.app, facility, card(insurer.insurerNumber, { branch: '01', birthDate: '1982-08-15' }));
      expect(spouse.json()).toMatchObject({ result: 'valid', member: { branch: '01', relationship: 'family', name: '山田　花子', sex: 'female' } });
      const self = await confirm(h.app, facility, card(insurer.insurerNumber, { branch: '00' }));
      expect(self.json()).toMatchObject({ result: 'valid', member: { branch: '00', relationship: 'self', name: '山田　太郎' } });
      expectInvalid(await confirm(h.app, facility, card(insurer.insurerNumber, { branch: '00', birthDate: '1982-08-15' })), 'birth_date_mismatch');
      const noBranch = await confirm(h.app, facility, card(insurer.insurerNumber, { branch: undefined, birthDate: '1982-08-15' }));
      expect(noBranch.json()).toMatchObject({ result: 'valid', member: { branch: '01' } });
    });

    it('answers the attributes of the period in force on asOf after a change', async () => {
      const { insurer, facility } = await setup(h.app);
      const m = await addMember(h.app, insurer);
      const changed = await changeMember(h.app, insurer, m.memberId, { effectiveFrom: '2024-07-01', name: '佐藤　太郎', nameKana: 'サトウ　タロウ', address: '大阪府大阪市北区1-1', copayRate: 20 });
      expect(changed.statusCode, changed.body).toBe(200);
      const before = await confirm(h.app, facility, card(insurer.insurerNumber, { asOf: '2024-06-30' }));
      expect(before.json().member).toMatchObject({ name: '山田　太郎', nameKana: 'ヤマダ　タロウ', address: '東京都千代田区千代田1-1', copayRate: 30, validFrom: '2020-04-01', qualifiedFrom: '2020-04-01' });
      const after = await confirm(h.app, facility, card(insurer.insurerNumber, { asOf: '2024-07-01' }));
      expect(after.json().member).toMatchObject({ name: '佐藤　太郎', nameKana: 'サトウ　タロウ', address: '大阪府大阪市北区1-1', copayRate: 20, validFrom: '2024-07-01', qualifiedFrom: '2020-04-01' });
    });

    it('never returns the limit category (限度額適用区分 needs the patient’s consent)', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer, { limitCategory: 'A03' });
      const r = await confirm(h.app, facility, card(insurer.insurerNumber));
      expect(r.json().result).toBe('valid');
      expect(r.json().member).not.toHaveProperty('limitCategory');
      expect(r.body).not.toContain('limitCategory');
      expect(r.body).not.toContain('A03');
    });
  });

  describe('invalid (無効)', () => {
    it('answers no_such_member for card numbers nobody holds', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer);
      const body = expectInvalid(await confirm(h.app, facility, card(insurer.insurerNumber, { number: '9999' })), 'no_such_member');
      expect(body).not.toHaveProperty('details');
      expectInvalid(await confirm(h.app, facility, card(insurer.insurerNumber, { branch: '02' })), 'no_such_member');
    });

    it('answers birth_date_mismatch without revealing anything about the member', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer);
      const body = expectInvalid(await confirm(h.app, facility, card(insurer.insurerNumber, { birthDate: '1980-04-02' })), 'birth_date_mismatch');
      expect(Object.keys(body).sort()).toEqual(['asOf', 'confirmationId', 'message', 'messageJa', 'reason', 'result']);
    });

    it('answers not_yet_started the day before qualification and valid on the day', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer, { qualifiedFrom: '2024-04-01' });
      const body = expectInvalid(await confirm(h.app, facility, card(insurer.insurerNumber, { asOf: '2024-03-31' })), 'not_yet_started');
      expect(body.details).toEqual({ qualifiedFrom: '2024-04-01' });
      expect((await confirm(h.app, facility, card(insurer.insurerNumber, { asOf: '2024-04-01' }))).json().result).toBe('valid');
    });

    it('answers eligibility_lost from 資格喪失日 on, with details.lostOn, and valid the day before', async () => {
      const { insurer, facility } = await setup(h.app);
      const m = await addMember(h.app, insurer);
      expect((await terminateMember(h.app, insurer, m.memberId, { lostOn: '2024-10-01', lossReason: 'death' })).statusCode).toBe(200);
      const r = await confirm(h.app, facility, card(insurer.insurerNumber, { asOf: '2024-10-01' }));
      const body = expectInvalid(r, 'eligibility_lost');
      expect(body.details).toEqual({ lostOn: '2024-10-01', lossReason: 'death' });
      expect(body.newEligibilityExists).toBe(false);
      const dayBefore = await confirm(h.app, facility, card(insurer.insurerNumber, { asOf: '2024-09-30' }));
      expect(dayBefore.json()).toMatchObject({ result: 'valid', member: { lostOn: '2024-10-01' } });
    });

    it('answers paper_card_expired the day after the card expires, valid on the expiry date', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer, { paperCardIssuedOn: '2022-04-01', paperCardExpiresOn: '2024-11-30' });
      expect((await confirm(h.app, facility, card(insurer.insurerNumber, { asOf: '2024-11-30' }))).json().result).toBe('valid');
      const body = expectInvalid(await confirm(h.app, facility, card(insurer.insurerNumber, { asOf: '2024-12-01' })), 'paper_card_expired');
      expect(body.details).toEqual({ paperCardExpiresOn: '2024-11-30' });
    });

    it('answers several_match for twins sharing symbol and number when no branch is given, valid with the branch', async () => {
      const { insurer, facility } = await setup(h.app);
      const twin = { birthDate: '2015-06-01', qualifiedFrom: '2015-06-01', relationship: 'family', sex: 'female', nameKana: 'ヤマダ　サクラ' };
      await addMember(h.app, insurer, { ...twin, branch: '02', name: '山田　さくら' });
      await addMember(h.app, insurer, { ...twin, branch: '03', name: '山田　もも', nameKana: 'ヤマダ　モモ' });
      const body = expectInvalid(await confirm(h.app, facility, card(insurer.insurerNumber, { branch: undefined, birthDate: '2015-06-01' })), 'several_match');
      expect(body.messageJa).toBe('複数の資格が該当します。枝番を指定してください。');
      const r = await confirm(h.app, facility, card(insurer.insurerNumber, { branch: '03', birthDate: '2015-06-01' }));
      expect(r.json()).toMatchObject({ result: 'valid', member: { branch: '03', name: '山田　もも' } });
    });
  });

  describe('error (エラー)', () => {
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['a missing insurerNumber', { insurerNumber: undefined }, ['insurerNumber:required']],
      ['an insurerNumber with a wrong check digit', { insurerNumber: '33120016' }, ['insurerNumber:check_digit']],
      ['a missing number', { number: '' }, ['number:required']],
      ['a malformed branch', { branch: '1' }, ['branch:format']],
      ['an impossible birthDate (2023-02-29)', { birthDate: '2023-02-29' }, ['birthDate:invalid_date']],
      ['a missing birthDate', { birthDate: undefined }, ['birthDate:required']],
      ['an invalid asOf', { asOf: '2024-11-31' }, ['asOf:invalid_date']],
    ];
    it.each(cases)('answers 400 naming the field for %s', async (_what, overrides, problems) => {
      const { facility } = await setup(h.app);
      const insurer = await createInsurer(h.app);
      expectInputError(await confirm(h.app, facility, card(insurer.insurerNumber, overrides)), problems);
    });

    it('reports every bad field at once', async () => {
      const { facility } = await setup(h.app);
      const r = await confirm(h.app, facility, { insurerNumber: '33120016', branch: 'x1', birthDate: '2023-02-29', asOf: '2024-4-1' });
      expectInputError(r, ['asOf:invalid_date', 'birthDate:invalid_date', 'branch:format', 'insurerNumber:check_digit', 'number:required']);
    });

    it.each([
      ['a JSON array', '[{"insurerNumber":"33120015"}]'],
      ['a JSON string', '"33120015"'],
      ['a JSON number', '42'],
      ['JSON null', 'null'],
    ])('answers an error (not a crash) for %s as body', async (_what, payload) => {
      const { facility } = await setup(h.app);
      const r = await confirm(h.app, facility, payload, { headers: { ...facility.headers, 'content-type': 'application/json' } });
      expectInputError(r, ['birthDate:required', 'insurerNumber:required', 'number:required']);
    });
  });

  describe('every answer is one usage event', () => {
    it('records valid, invalid and error answers, each once, under the confirmationId it returned', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer);
      const valid = (await confirm(h.app, facility, card(insurer.insurerNumber))).json();
      const invalid = (await confirm(h.app, facility, card(insurer.insurerNumber, { birthDate: '1990-01-01' }))).json();
      const badBirth = (await confirm(h.app, facility, card(insurer.insurerNumber, { birthDate: '2023-02-29' }))).json();
      const badInsurer = (await confirm(h.app, facility, card('33120016'))).json();
      expect([valid.result, invalid.result, badBirth.result, badInsurer.result]).toEqual(['valid', 'invalid', 'error', 'error']);

      const common = { facility_code: facility.code, method: 'insurance_card', occurred_at: NOW.toISOString(), occurred_on: TODAY_JST };
      expect(await usageEventOf(h, valid.confirmationId)).toMatchObject({ ...common, result: 'valid', reason: null, insurer_number: insurer.insurerNumber, person_id: expect.any(String) });
      expect(await usageEventOf(h, invalid.confirmationId)).toMatchObject({ ...common, result: 'invalid', reason: 'birth_date_mismatch', insurer_number: insurer.insurerNumber, person_id: null });
      expect(await usageEventOf(h, badBirth.confirmationId)).toMatchObject({ ...common, result: 'error', reason: 'input', insurer_number: insurer.insurerNumber, person_id: null });
      expect(await usageEventOf(h, badInsurer.confirmationId)).toMatchObject({ ...common, result: 'error', reason: 'input', insurer_number: null });
      expect(await usageEventCount(h, facility)).toBe(4);
    });

    it('records an answer to a non-object body too', async () => {
      const { facility } = await setup(h.app);
      const r = await confirm(h.app, facility, '[]', { headers: { ...facility.headers, 'content-type': 'application/json' } });
      expect(await usageEventOf(h, r.json().confirmationId)).toMatchObject({ facility_code: facility.code, result: 'error', insurer_number: null });
      expect(await usageEventCount(h, facility)).toBe(1);
    });

    it('records nothing for a refused (unauthenticated) request', async () => {
      const { insurer, facility } = await setup(h.app);
      const r = await h.app.inject({ method: 'POST', url: '/v1/confirmations', payload: card(insurer.insurerNumber) });
      expect(r.statusCode).toBe(401);
      expect(await usageEventCount(h, facility)).toBe(0);
    });

    it('gives every answer its own confirmationId', async () => {
      const { insurer, facility } = await setup(h.app);
      await addMember(h.app, insurer);
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++) ids.add((await confirm(h.app, facility, card(insurer.insurerNumber))).json().confirmationId);
      expect(ids.size).toBe(5);
      expect(await usageEventCount(h, facility)).toBe(5);
    });
  });
});
