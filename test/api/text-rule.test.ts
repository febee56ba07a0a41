// The text rule (src/platform/text.ts) through the API on both stores: controls, bidi controls and
// lone surrogates are refused with `forbidden_character`, over-long values with `too_long`, in every
// door free text comes through — members (JSON and import), insurers, facilities, credential labels
// (refused, no longer cut) and disasters; nothing is written.

import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { adminHeaders, createInsurer, expectError, memberBody, memberUrl, newFacilityCode, newInsurerNumber, useApp } from '../support/fixtures.ts';

const problems = (errors: { field: string; code: string }[]) => errors.map((e) => `${e.field}:${e.code}`).sort();

describe.each(storeKinds)('the text rule at every door (%s)', (kind) => {
  const h = useApp(kind);

  it('a member import refuses rows with a control, bidi control or over-long value, all or nothing', async () => {
    const insurer = await createInsurer(h.app);
    const header = 'symbol,number,branch,name,nameKana,birthDate,sex,address,relationship,qualifiedFrom';
    const row = (number: string, name: string, address = '東京都千代田区1-1') => `12,${number},00,${name},ヤマダ　タロウ,1980-04-01,male,${address},self,2020-04-01`;
    const csv = [header, row('1', '山田　太郎'), row('2', '山田\u0007太郎'), row('3', '山田　次郎', '東京都\u202e区'), row('4', 'あ'.repeat(101)), ''].join('\n');
    const r = await h.app.inject({ method: 'POST', url: `${memberUrl(insurer.insurerNumber)}/import`, headers: { ...insurer.headers, 'content-type': 'text/csv' }, payload: csv });
    const body = expectError(r, 422, 'ONSHI_IMPORT_REJECTED');
    expect(body.errors.map((e: { line: number; errors: { field: string; code: string }[] }) => [e.line, problems(e.errors)])).toEqual([
      [3, ['name:forbidden_character']],
      [4, ['address:forbidden_character']],
      [5, ['name:too_long']],
    ]);
    const list = await h.app.inject({ method: 'GET', url: memberUrl(insurer.insurerNumber), headers: insurer.headers });
    expect(list.json().members).toEqual([]);
  });

  it('a member (JSON) with U+202E, a lone surrogate or a 201-character address is refused', async () => {
    const insurer = await createInsurer(h.app);
    const add = (overrides: Record<string, unknown>) => h.app.inject({ method: 'POST', url: memberUrl(insurer.insurerNumber), headers: insurer.headers, payload: memberBody(overrides) });
    expect(problems(expectError(await add({ name: '\u202e郎太田山' }), 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['name:forbidden_character']);
    expect(problems(expectError(await add({ name: '山田\ud83d' }), 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['name:forbidden_character']);
    expect(problems(expectError(await add({ address: 'あ'.repeat(201) }), 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['address:too_long']);
    // 𠮷 counts once: 100 of them are a name of 100 characters.
    expect((await add({ name: '𠮷'.repeat(100) })).statusCode).toBe(201);
  });

  it('insurers, facilities, credential labels and disasters refuse them too', async () => {
    const insurer = await h.app.inject({ method: 'POST', url: '/v1/insurers', headers: adminHeaders, payload: { insurerNumber: newInsurerNumber(), name: '健保\u0000組合', kind: 'kenpo_kumiai' } });
    expect(problems(insurer.json().errors)).toEqual(['name:forbidden_character']);
    expect(insurer.statusCode).toBe(400);
    const facility = await h.app.inject({ method: 'POST', url: '/v1/facilities', headers: adminHeaders, payload: { code: newFacilityCode(), name: 'あ'.repeat(101), type: 'clinic' } });
    expect(facility.statusCode).toBe(400);
    expect(problems(facility.json().errors)).toEqual(['name:too_long']);
    // A label used to be cut at 200 characters without a word.
    const label = await h.app.inject({ method: 'POST', url: '/v1/credentials', headers: adminHeaders, payload: { admin: true, label: 'x'.repeat(201) } });
    expect(label.statusCode).toBe(400);
    expect(problems(label.json().errors)).toEqual(['label:too_long']);
    const bell = await h.app.inject({ method: 'POST', url: '/v1/credentials', headers: adminHeaders, payload: { admin: true, label: 'ops\u0007' } });
    expect(problems(bell.json().errors)).toEqual(['label:forbidden_character']);
    const disaster = await h.app.inject({ method: 'POST', url: '/v1/disasters', headers: adminHeaders, payload: { name: '地震\u2066', prefectures: ['17'], startsAt: '2024-01-01T00:00:00Z', endsAt: '2024-02-01T00:00:00Z' } });
    expect(disaster.statusCode, disaster.body).toBe(400);
    expect(problems(disaster.json().errors)).toEqual(['name:forbidden_character']);
  });
});
