import { describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { makeFacilityCode, withInsurerCheckDigit } from '../../src/registry/rules.ts';
import { storeKinds } from '../support/stores.ts';
import {
  addMember,
  adminHeaders,
  changeMember,
  confirm,
  createFacility,
  createInsurer,
  dumpDatabase,
  expectError,
  fieldProblems,
  memberBody,
  memberUrl,
  myNumberFor,
  newFacilityCode,
  newInsurerNumber,
  setup,
  terminateMember,
  useApp,
} from '../support/fixtures.ts';

describe.each(storeKinds)('registry API on %s', (kind) => {
  const h = useApp(kind);

  describe('POST /v1/insurers', () => {
    it('registers an insurer (201) and answers it back', async () => {
      const insurerNumber = newInsurerNumber('kyosai');
      const r = await h.app.inject({ method: 'POST', url: '/v1/insurers', headers: adminHeaders, payload: { insurerNumber, name: '  テスト共済組合 ', kind: 'kyosai' } });
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json()).toEqual({ insurerNumber, name: 'テスト共済組合', kind: 'kyosai', createdAt: expect.any(String) });
      const got = await h.app.inject({ method: 'GET', url: `/v1/insurers/${insurerNumber}`, headers: adminHeaders });
      expect(got.json()).toEqual(r.json());
    });

    it('registers the worked example 33120015', async () => {
      const r = await h.app.inject({ method: 'POST', url: '/v1/insurers', headers: adminHeaders, payload: { insurerNumber: '33120015', name: '千葉県警察共済組合', kind: 'kyosai' } });
      expect(r.statusCode, r.body).toBe(201);
    });

    it('answers 400 with one field error per bad field, including a wrong check digit', async () => {
      const r = await h.app.inject({ method: 'POST', url: '/v1/insurers', headers: adminHeaders, payload: { insurerNumber: '33120016', name: '', kind: 'mutual' } });
      const body = expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS');
      expect(fieldProblems(body.errors)).toEqual(['insurerNumber:check_digit', 'kind:not_allowed', 'name:required']);
      for (const e of body.errors) {
        expect(e.en).toMatch(new RegExp(`^${e.field} `));
        expect(e.ja).toMatch(new RegExp(`^${e.field}: `));
      }
    });

    it('answers 400 naming every missing field for an empty body', async () => {
      const r = await h.app.inject({ method: 'POST', url: '/v1/insurers', headers: adminHeaders, payload: {} });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['insurerNumber:required', 'kind:required', 'name:required']);
    });

    it('answers 409 for an insurer number already registered', async () => {
      const insurer = await createInsurer(h.app);
      const r = await h.app.inject({ method: 'POST', url: '/v1/insurers', headers: adminHeaders, payload: { insurerNumber: insurer.insurerNumber, name: '別名', kind: 'kenpo_kumiai' } });
      expect(expectError(r, 409, 'ONSHI_REGISTRY_INSURER_EXISTS').insurerNumber).toBe(insurer.insurerNumber);
    });

    it('refuses a 6-digit number for any kind but kokuho (400 mismatch) and accepts it for kokuho', async () => {
      const six = newInsurerNumber('kokuho');
      expect(six).toHaveLength(6);
      for (const other of ['kyokai_kenpo', 'kenpo_kumiai', 'kyosai', 'koki_korei']) {
        const r = await h.app.inject({ method: 'POST', url: '/v1/insurers', headers: adminHeaders, payload: { insurerNumber: six, name: '八王子市', kind: other } });
        expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['insurerNumber:mismatch']);
      }
      const r = await h.app.inject({ method: 'POST', url: '/v1/insurers', headers: adminHeaders, payload: { insurerNumber: six, name: '八王子市', kind: 'kokuho' } });
      expect(r.statusCode, r.body).toBe(201);
    });

    it('accepts an 8-digit kokuho number (国保組合)', async () => {
      const r = await h.app.inject({ method: 'POST', url: '/v1/insurers', headers: adminHeaders, payload: { insurerNumber: withInsurerCheckDigit('0313801'), name: '東京都医師国民健康保険組合', kind: 'kokuho' } });
      expect(r.statusCode, r.body).toBe(201);
    });
  });

  describe('POST /v1/facilities', () => {
    it('registers a facility (201) taking its prefecture from the code', async () => {
      const code = makeFacilityCode('27', 'pharmacy', '400123');
      const r = await h.app.inject({ method: 'POST', url: '/v1/facilities', headers: adminHeaders, payload: { code, name: 'なにわ薬局', type: 'pharmacy' } });
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json()).toEqual({ code, name: 'なにわ薬局', type: 'pharmacy', prefecture: '27', prefectureName: '大阪府', createdAt: expect.any(String) });
    });

    it('accepts a prefecture that agrees with the code and refuses one that does not', async () => {
      const code = newFacilityCode('hospital', '01');
      let r = await h.app.inject({ method: 'POST', url: '/v1/facilities', headers: adminHeaders, payload: { code, name: '札幌病院', type: 'hospital', prefecture: '13' } });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['prefecture:mismatch']);
      r = await h.app.inject({ method: 'POST', url: '/v1/facilities', headers: adminHeaders, payload: { code, name: '札幌病院', type: 'hospital', prefecture: '01' } });
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json().prefectureName).toBe('北海道');
    });

    it('answers 400 mismatch when the type disagrees with the table digit', async () => {
      const r = await h.app.inject({ method: 'POST', url: '/v1/facilities', headers: adminHeaders, payload: { code: newFacilityCode('clinic'), name: 'A', type: 'dental_clinic' } });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['type:mismatch']);
    });

    it('answers 400 for a wrong check digit and a missing name', async () => {
      const good = newFacilityCode('clinic');
      const bad = good.slice(0, 9) + String((Number(good[9]) + 1) % 10);
      const r = await h.app.inject({ method: 'POST', url: '/v1/facilities', headers: adminHeaders, payload: { code: bad, type: 'clinic' } });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['code:check_digit', 'name:required']);
    });

    it('answers 409 for a code already registered', async () => {
      const f = await createFacility(h.app);
      const r = await h.app.inject({ method: 'POST', url: '/v1/facilities', headers: adminHeaders, payload: { code: f.code, name: '二重登録', type: 'clinic' } });
      expectError(r, 409, 'ONSHI_REGISTRY_FACILITY_EXISTS');
      const got = await h.app.inject({ method: 'GET', url: `/v1/facilities/${f.code}`, headers: adminHeaders });
      expect(got.json().name).toBe(`テスト診療所${f.code}`);
    });
  });

  describe('PUT /v1/facilities/:code/claims', () => {
    const put = (code: string, payload: unknown) => h.app.inject({ method: 'PUT', url: `/v1/facilities/${code}/claims`, headers: adminHeaders, payload: payload as object });

    it('records monthly claims counts, answering them in month order', async () => {
      const f = await createFacility(h.app);
      const r = await put(f.code, [
        { month: '2024-05', claims: 900 },
        { month: '2023-10', claims: 1000 },
      ]);
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json().code).toBe(f.code);
      expect(r.json().monthlyClaims).toEqual([
        { month: '2023-10', claims: 1000 },
        { month: '2024-05', claims: 900 },
      ]);
    });

    it('replaces the count of a month given again', async () => {
      const f = await createFacility(h.app);
      await put(f.code, [{ month: '2023-10', claims: 1000 }]);
      const r = await put(f.code, [{ month: '2023-10', claims: 150 }]);
      expect(r.json().monthlyClaims).toEqual([{ month: '2023-10', claims: 150 }]);
    });

    it('answers 400 for a malformed month and a negative count, writing nothing', async () => {
      const f = await createFacility(h.app);
      const r = await put(f.code, [
        { month: '2023-13', claims: 10 },
        { month: '2023-11', claims: -1 },
      ]);
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['[0].month:format', '[1].claims:out_of_range']);
      const got = await h.app.inject({ method: 'GET', url: `/v1/facilities/${f.code}`, headers: adminHeaders });
      expect(got.json().monthlyClaims).toEqual([]);
    });

    it('answers 400 duplicate for a month given twice in one request (the same on every store)', async () => {
      const f = await createFacility(h.app);
      const r = await put(f.code, [
        { month: '2023-10', claims: 1 },
        { month: '2023-10', claims: 2 },
      ]);
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['[1].month:duplicate']);
    });

    it('answers 404 for an unknown facility', async () => {
      expectError(await put(newFacilityCode(), [{ month: '2023-10', claims: 1 }]), 404, 'ONSHI_REGISTRY_FACILITY_NOT_FOUND');
    });
  });

  describe('POST /v1/insurers/:n/members', () => {
    it('adds a member (201) with its first eligibility period', async () => {
      const { insurer } = await setup(h.app);
      const r = await h.app.inject({
        method: 'POST',
        url: memberUrl(insurer.insurerNumber),
        headers: insurer.headers,
        payload: memberBody({ postalCode: '100-0001', limitCategory: 'A03', paperCardIssuedOn: '2020-04-01', paperCardExpiresOn: '2025-12-01' }),
      });
      expect(r.statusCode, r.body).toBe(201);
      const m = r.json();
      expect(m).toEqual({
        memberId: expect.any(String),
        personId: expect.any(String),
        insurerNumber: insurer.insurerNumber,
        symbol: '12',
        number: '3456',
        branch: '00',
        relationship: 'self',
        qualifiedFrom: '2020-04-01',
        lostOn: null,
        lossReason: null,
        validFrom: '2020-04-01',
        validUntil: null,
        name: '山田　太郎',
        nameKana: 'ヤマダ　タロウ',
        birthDate: '1980-04-01',
        sex: 'male',
        address: '東京都千代田区千代田1-1',
        postalCode: '100-0001',
        copayRate: 30,
        limitCategory: 'A03',
        paperCardIssuedOn: '2020-04-01',
        paperCardExpiresOn: '2025-12-01',
        history: [expect.objectContaining({ validFrom: '2020-04-01', validUntil: null, address: '東京都千代田区千代田1-1', recordedBy: `insurer:${insurer.id}` })],
      });
    });

    it('answers 409 for the same symbol, number and branch, and accepts another branch', async () => {
      const { insurer } = await setup(h.app);
      await addMember(h.app, insurer);
      const dup = await h.app.inject({ method: 'POST', url: memberUrl(insurer.insurerNumber), headers: insurer.headers, payload: memberBody({ name: '別人　花子' }) });
      expect(expectError(dup, 409, 'ONSHI_REGISTRY_MEMBER_EXISTS')).toMatchObject({ symbol: '12', number: '3456', branch: '00' });
      const family = await h.app.inject({
        method: 'POST',
        url: memberUrl(insurer.insurerNumber),
        headers: insurer.headers,
        payload: memberBody({ branch: '01', name: '山田　花子', nameKana: 'ヤマダ　ハナコ', birthDate: '1982-08-15', sex: 'female', relationship: 'family' }),
      });
      expect(family.statusCode, family.body).toBe(201);
    });

    it('answers 400 listing every field error at once', async () => {
      const { insurer } = await setup(h.app);
      const r = await h.app.inject({
        method: 'POST',
        url: memberUrl(insurer.insurerNumber),
        headers: insurer.headers,
        payload: { symbol: '12', branch: '1', nameKana: 'やまだ', birthDate: '2023-02-29', sex: 'x', copayRate: 25, limitCategory: 'C01', nickname: 'タロ' },
      });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual([
        'address:required',
        'birthDate:invalid_date',
        'branch:format',
        'copayRate:not_allowed',
        'limitCategory:not_allowed',
        'name:required',
        'nameKana:format',
        'nickname:unknown',
        'number:required',
        'qualifiedFrom:required',
        'relationship:required',
        'sex:not_allowed',
      ]);
    });

    it('answers 400 myNumber:check_digit for a My Number with a wrong check digit', async () => {
      const { insurer } = await setup(h.app);
      const r = await h.app.inject({ method: 'POST', url: memberUrl(insurer.insurerNumber), headers: insurer.headers, payload: memberBody({ myNumber: '123456789010' }) });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['myNumber:check_digit']);
    });

    it('answers 404 for an insurer that is not registered', async () => {
      const r = await h.app.inject({ method: 'POST', url: memberUrl(newInsurerNumber()), headers: adminHeaders, payload: memberBody() });
      expectError(r, 404, 'ONSHI_REGISTRY_INSURER_NOT_FOUND');
    });

    describe('copayRate defaults from the age on qualifiedFrom', () => {
      const cases: [string, string, string, number][] = [
        ['an adult', '1980-04-01', '2020-04-01', 30],
        ['a newborn', '2024-05-10', '2024-05-10', 20],
        ['a child of 5', '2014-04-02', '2020-04-01', 20],
        ['a child on its 6th birthday', '2014-04-01', '2020-04-01', 30],
        ['a person of 69', '1954-04-02', '2024-04-01', 30],
        ['a person on the 70th birthday', '1954-04-01', '2024-04-01', 20],
        ['a person of 74', '1949-04-02', '2024-04-01', 20],
      ];
      it.each(cases)('gives %s (born %s, qualified %s) %i%%', async (_who, birthDate, qualifiedFrom, expected) => {
        const { insurer } = await setup(h.app);
        expect((await addMember(h.app, insurer, { birthDate, qualifiedFrom })).copayRate).toBe(expected);
      });

      it('gives 10% at a koki_korei insurer', async () => {
        const insurer = await createInsurer(h.app, { kind: 'koki_korei' });
        expect((await addMember(h.app, insurer, { symbol: '', birthDate: '1945-01-01', qualifiedFrom: '2020-01-01' })).copayRate).toBe(10);
      });

      it('keeps a copayRate the insurer gives', async () => {
        const { insurer } = await setup(h.app);
        expect((await addMember(h.app, insurer, { birthDate: '2020-01-01', qualifiedFrom: '2020-01-01', copayRate: 0 })).copayRate).toBe(0);
      });
    });
  });

  describe('GET /v1/insurers/:n/members', () => {
    it('finds members by card numbers and branch', async () => {
      const { insurer } = await setup(h.app);
      const self = await addMember(h.app, insurer, { number: '777' });
      const spouse = await addMember(h.app, insurer, { number: '777', branch: '01', name: '山田　花子', nameKana: 'ヤマダ　ハナコ', birthDate: '1982-08-15', sex: 'female', relationship: 'family' });
      await addMember(h.app, insurer, { number: '778' });
      const list = async (query: string) => {
        const r = await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber)}?${query}`, headers: insurer.headers });
        expect(r.statusCode, r.body).toBe(200);
        return (r.json().members as { memberId: string }[]).map((m) => m.memberId).sort();
      };
      expect(await list('symbol=12&number=777')).toEqual([self.memberId, spouse.memberId].sort());
      expect(await list('symbol=12&number=777&branch=01')).toEqual([spouse.memberId]);
      expect(await list('number=999')).toEqual([]);
    });
  });

  describe('GET, PATCH and terminate a member', () => {
    const get = (insurerNumber: string, headers: object, memberId: string, query = '') =>
      h.app.inject({ method: 'GET', url: `${memberUrl(insurerNumber, memberId)}${query}`, headers: headers as Record<string, string> });

    it('answers the member with its history; 404 for an unknown memberId; 400 for an impossible asOf', async () => {
      const { insurer } = await setup(h.app);
      const m = await addMember(h.app, insurer);
      const r = await get(insurer.insurerNumber, insurer.headers, m.memberId);
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual(m);
      expectError(await get(insurer.insurerNumber, insurer.headers, '00000000-0000-0000-0000-000000000000'), 404, 'ONSHI_REGISTRY_MEMBER_NOT_FOUND');
      const bad = expectError(await get(insurer.insurerNumber, insurer.headers, m.memberId, '?asOf=2024-02-30'), 400, 'ONSHI_REGISTRY_INVALID_FIELDS');
      expect(fieldProblems(bad.errors)).toEqual(['asOf:invalid_date']);
    });

    it('closes the current period and opens a new one on a change; asOf chooses the period', async () => {
      const { insurer } = await setup(h.app);
      const m = await addMember(h.app, insurer, { postalCode: '100-0001' });
      const r = await changeMember(h.app, insurer, m.memberId, { effectiveFrom: '2023-07-01', address: '東京都渋谷区神宮前1-1', postalCode: '150-0001' });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ validFrom: '2023-07-01', validUntil: null, address: '東京都渋谷区神宮前1-1', postalCode: '150-0001', name: '山田　太郎' });
      const history = r.json().history;
      expect(history).toHaveLength(2);
      expect(history[0]).toMatchObject({ validFrom: '2020-04-01', validUntil: '2023-07-01', address: '東京都千代田区千代田1-1', postalCode: '100-0001' });
      expect(history[1]).toMatchObject({ validFrom: '2023-07-01', validUntil: null, address: '東京都渋谷区神宮前1-1', postalCode: '150-0001', recordedBy: `insurer:${insurer.id}` });

      const before = await get(insurer.insurerNumber, insurer.headers, m.memberId, '?asOf=2023-06-30');
      expect(before.json()).toMatchObject({ address: '東京都千代田区千代田1-1', validFrom: '2020-04-01', validUntil: '2023-07-01' });
      const on = await get(insurer.insurerNumber, insurer.headers, m.memberId, '?asOf=2023-07-01');
      expect(on.json()).toMatchObject({ address: '東京都渋谷区神宮前1-1', validFrom: '2023-07-01' });
      const latest = await get(insurer.insurerNumber, insurer.headers, m.memberId);
      expect(latest.json().address).toBe('東京都渋谷区神宮前1-1');
    });

    it('refuses a change dated before the current period start (409) and leaves history alone', async () => {
      const { insurer } = await setup(h.app);
      const m = await addMember(h.app, insurer);
      expect((await changeMember(h.app, insurer, m.memberId, { effectiveFrom: '2023-07-01', address: '新住所' })).statusCode).toBe(200);
      const r = await changeMember(h.app, insurer, m.memberId, { effectiveFrom: '2023-06-30', address: '過去の住所' });
      expect(expectError(r, 409, 'ONSHI_REGISTRY_CHANGE_BEFORE_CURRENT').currentFrom).toBe('2023-07-01');
      const beforeQualification = await changeMember(h.app, insurer, m.memberId, { effectiveFrom: '2019-01-01', address: '過去の住所' });
      expectError(beforeQualification, 409, 'ONSHI_REGISTRY_CHANGE_BEFORE_CURRENT');
      const got = await get(insurer.insurerNumber, insurer.headers, m.memberId);
      expect(got.json().history.map((p: { address: string }) => p.address)).toEqual(['東京都千代田区千代田1-1', '新住所']);
    });

    it('refuses an unknown field, an empty change and a bad value with 400', async () => {
      const { insurer } = await setup(h.app);
      const m = await addMember(h.app, insurer);
      let r = await changeMember(h.app, insurer, m.memberId, { effectiveFrom: '2024-01-01', nickname: 'タロ' });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['nickname:unknown']);
      r = await changeMember(h.app, insurer, m.memberId, { effectiveFrom: '2024-01-01' });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['changes:required']);
      r = await changeMember(h.app, insurer, m.memberId, { effectiveFrom: '2024-02-30', nameKana: 'やまだ', name: '' });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['effectiveFrom:invalid_date', 'name:required', 'nameKana:format']);
      r = await changeMember(h.app, insurer, m.memberId, { effectiveFrom: '2024-01-01', paperCardExpiresOn: '2019-12-31', paperCardIssuedOn: '2020-04-01' });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['paperCardExpiresOn:mismatch']);
      const got = await get(insurer.insurerNumber, insurer.headers, m.memberId);
      expect(got.json().history).toHaveLength(1);
    });

    it('terminates with lostOn and lossReason; a second termination and a later change are 409', async () => {
      const { insurer } = await setup(h.app);
      const m = await addMember(h.app, insurer);
      const r = await terminateMember(h.app, insurer, m.memberId, { lostOn: '2024-10-01', lossReason: 'other_insurance' });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ lostOn: '2024-10-01', lossReason: 'other_insurance' });
      expect(r.json().history).toEqual([expect.objectContaining({ validFrom: '2020-04-01', validUntil: '2024-10-01' })]);

      const again = await terminateMember(h.app, insurer, m.memberId, { lostOn: '2024-11-01', lossReason: 'death' });
      expect(expectError(again, 409, 'ONSHI_REGISTRY_MEMBER_TERMINATED').lostOn).toBe('2024-10-01');
      const change = await changeMember(h.app, insurer, m.memberId, { effectiveFrom: '2024-10-01', address: '喪失後の住所' });
      expectError(change, 409, 'ONSHI_REGISTRY_MEMBER_TERMINATED');
      const got = await get(insurer.insurerNumber, insurer.headers, m.memberId);
      expect(got.json()).toMatchObject({ lostOn: '2024-10-01', lossReason: 'other_insurance', address: '東京都千代田区千代田1-1' });
    });

    it('refuses a termination without lostOn or with an unknown reason, or before qualification (400)', async () => {
      const { insurer } = await setup(h.app);
      const m = await addMember(h.app, insurer);
      let r = await terminateMember(h.app, insurer, m.memberId, { lossReason: 'moved' });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['lossReason:not_allowed', 'lostOn:required']);
      r = await terminateMember(h.app, insurer, m.memberId, { lostOn: '2020-03-31', lossReason: 'other' });
      expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['lostOn:mismatch']);
      const got = await get(insurer.insurerNumber, insurer.headers, m.memberId);
      expect(got.json().lostOn).toBeNull();
    });
  });

  describe('job change: one person across insurers, linked by My Number', () => {
    it('links both memberships to one person, marks the old card as having a new eligibility, and never keeps or shows the My Number', async () => {
      const myNumber = myNumberFor('73915286401');
      const bodies: string[] = [];
      const inject = async (opts: InjectOptions) => {
        const r = await h.app.inject(opts);
        bodies.push(r.body);
        return r;
      };

      const { insurer: a, facility } = await setup(h.app);
      const b = await createInsurer(h.app, { kind: 'kyokai_kenpo' });
      const atA = await inject({ method: 'POST', url: memberUrl(a.insurerNumber), headers: a.headers, payload: memberBody({ symbol: '5', number: '100', myNumber, qualifiedFrom: '2015-04-01' }) });
      expect(atA.statusCode, atA.body).toBe(201);
      const memberA = atA.json();
      const ended = await inject({ method: 'POST', url: `${memberUrl(a.insurerNumber, memberA.memberId)}/terminate`, headers: a.headers, payload: { lostOn: '2024-10-01', lossReason: 'other_insurance' } });
      expect(ended.statusCode, ended.body).toBe(200);
      const atB = await inject({ method: 'POST', url: memberUrl(b.insurerNumber), headers: b.headers, payload: memberBody({ symbol: '9', number: '200', myNumber, qualifiedFrom: '2024-10-01' }) });
      expect(atB.statusCode, atB.body).toBe(201);
      expect(atB.json().personId).toBe(memberA.personId);
      expect(atB.json().memberId).not.toBe(memberA.memberId);

      const oldCard = await inject({
        method: 'POST',
        url: '/v1/confirmations',
        headers: facility.headers,
        payload: { insurerNumber: a.insurerNumber, symbol: '5', number: '100', branch: '00', birthDate: '1980-04-01', asOf: '2024-10-15' },
      });
      expect(oldCard.json()).toMatchObject({
        result: 'invalid',
        reason: 'eligibility_lost',
        details: { lostOn: '2024-10-01', lossReason: 'other_insurance' },
        newEligibilityExists: true,
      });
      const newCard = await inject({
        method: 'POST',
        url: '/v1/confirmations',
        headers: facility.headers,
        payload: { insurerNumber: b.insurerNumber, symbol: '9', number: '200', branch: '00', birthDate: '1980-04-01', asOf: '2024-10-15' },
      });
      expect(newCard.json().result).toBe('valid');
      await inject({ method: 'GET', url: memberUrl(a.insurerNumber, memberA.memberId), headers: a.headers });
      await inject({ method: 'GET', url: `${memberUrl(b.insurerNumber)}?number=200`, headers: b.headers });

      expect(bodies).toHaveLength(7);
      for (const body of bodies) {
        expect(body).not.toContain(myNumber);
        expect(body).not.toContain('myNumber');
      }
      const dump = await dumpDatabase(h.ctx);
      expect(dump.memberships).toContain(memberA.memberId); // the scan sees the data
      for (const [table, text] of Object.entries(dump)) expect(text.includes(myNumber), `My Number found in table ${table}`).toBe(false);
      const person = await h.ctx.database.db.selectFrom('persons').selectAll().where('id', '=', memberA.personId).executeTakeFirstOrThrow();
      expect(person.link_key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('does not claim a new eligibility when the person has none', async () => {
      const { insurer, facility } = await setup(h.app);
      const m = await addMember(h.app, insurer, { myNumber: myNumberFor('48201937562') });
      await terminateMember(h.app, insurer, m.memberId, { lostOn: '2024-10-01', lossReason: 'other' });
      const r = await confirm(h.app, facility, { insurerNumber: insurer.insurerNumber, symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01', asOf: '2024-10-15' });
      expect(r.json()).toMatchObject({ result: 'invalid', reason: 'eligibility_lost', newEligibilityExists: false });
    });

    it('keeps members without a My Number as separate persons', async () => {
      const { insurer } = await setup(h.app);
      const first = await addMember(h.app, insurer, { number: '1' });
      const second = await addMember(h.app, insurer, { number: '2' });
      expect(first.personId).not.toBe(second.personId);
    });
  });
});
