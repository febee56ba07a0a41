// Identity is not a tenant's to assign: an insurer names a personId only for a person it holds or
// held; persons are joined across insurers only through the My Number link key. The forging attempt
// is followed through to the card confirmation, which must still answer the real insurer's record.

import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { addMember, adminHeaders, createInsurer, expectError, memberBody, memberUrl, setup, terminateMember, useApp, type TestInsurer } from '../support/fixtures.ts';
import { injectTransport, personWithCard } from '../support/cards.ts';
import { SimulatedReader } from '../../src/reader/simulator.ts';
import { newId } from '../../src/platform/ids.ts';

const NOW = new Date('2024-11-30T15:00:00Z'); // 2024-12-01 in Japan

describe.each(storeKinds)('personId across insurers on %s', (kind) => {
  const h = useApp(kind, { clock: () => NOW });

  async function scene() {
    const t = injectTransport(h.app);
    const { insurer: a, facility } = await setup(h.app);
    const b = await createInsurer(h.app, { kind: 'koki_korei' });
    const holder = await personWithCard(h.app, t, a);
    const reader = new SimulatedReader(t, facility.token);
    const first = await reader.confirm(holder.card, { verification: 'face', registerNow: true });
    expect(first.member).toMatchObject({ insurerNumber: a.insurerNumber, number: holder.member.number });
    return { a, b, facility, holder, reader };
  }

  const post = (insurer: TestInsurer, body: Record<string, unknown>, headers: Record<string, string> = insurer.headers) =>
    h.app.inject({ method: 'POST', url: memberUrl(insurer.insurerNumber), headers, payload: memberBody(body) });

  const importNdjson = (insurer: TestInsurer, rows: Record<string, unknown>[]) =>
    h.app.inject({
      method: 'POST',
      url: `${memberUrl(insurer.insurerNumber)}/import`,
      headers: { ...insurer.headers, 'content-type': 'application/x-ndjson' },
      payload: rows.map((r) => JSON.stringify(memberBody(r))).join('\n') + '\n',
    });

  it("refuses another insurer's person (404, the same answer as an unknown id), and the card still answers the real record", async () => {
    const { a, b, holder, reader } = await scene();
    // The forging attempt: insurer B names the personId of a person registered only at A.
    const forged = await post(b, { number: '777', qualifiedFrom: '2024-04-01', name: '偽造　太郎', personId: holder.member.personId });
    const forgedBody = expectError(forged, 404, 'ONSHI_PERSON_NOT_FOUND');
    // An id that exists nowhere gets the identical answer: the route tells nothing about which ids exist.
    const unknown = await post(b, { number: '778', qualifiedFrom: '2024-04-01', personId: newId() });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual(forgedBody);
    // The administrator acting for B is held to the same rule.
    expect((await post(b, { number: '779', personId: holder.member.personId }, adminHeaders)).json()).toEqual(forgedBody);
    const listed = await h.app.inject({ method: 'GET', url: memberUrl(b.insurerNumber), headers: b.headers });
    expect(listed.json().members).toEqual([]);

    // The person's card still answers A's record, and only A's.
    const answer = await reader.confirm(holder.card, { verification: 'face' });
    expect(answer).toMatchObject({ result: 'valid' });
    expect(answer.member).toMatchObject({ insurerNumber: a.insurerNumber, number: holder.member.number, name: holder.member.name });
    expect(JSON.stringify(answer)).not.toContain('偽造');
  });

  it('rejects import rows naming a foreign or an unknown personId with the same field error, and writes nothing', async () => {
    const { b, holder } = await scene();
    const r = await importNdjson(b, [{ number: '1' }, { number: '2', personId: holder.member.personId }, { number: '3', personId: newId() }]);
    const body = expectError(r, 422, 'ONSHI_IMPORT_REJECTED');
    const [foreign, unknown] = body.errors as { line: number; errors: unknown[] }[];
    expect([foreign.line, unknown.line]).toEqual([2, 3]);
    expect(foreign.errors).toEqual(unknown.errors);
    expect(foreign.errors).toEqual([expect.objectContaining({ field: 'personId', code: 'not_allowed' })]);
    const listed = await h.app.inject({ method: 'GET', url: memberUrl(b.insurerNumber), headers: b.headers });
    expect(listed.json().members).toEqual([]);
  });

  it("lets an insurer name its own former member's person, by the API and in an import", async () => {
    const { a, holder } = await scene();
    await terminateMember(h.app, a, holder.member.memberId, { lostOn: '2024-06-01', lossReason: 'other' });
    const again = await addMember(h.app, a, { number: '9001', qualifiedFrom: '2024-09-01', personId: holder.member.personId });
    expect(again.personId).toBe(holder.member.personId);
    const imported = await importNdjson(a, [{ number: '9002', relationship: 'family', personId: holder.member.personId }]);
    expect(imported.statusCode, imported.body).toBe(200);
    const r = await h.app.inject({ method: 'GET', url: `${memberUrl(a.insurerNumber)}?number=9002`, headers: a.headers });
    expect(r.json().members[0].personId).toBe(holder.member.personId);
  });

  it('joins a person across insurers through the same My Number (the link key)', async () => {
    const { a, b, holder, reader } = await scene();
    await terminateMember(h.app, a, holder.member.memberId, { lostOn: '2024-10-01', lossReason: 'other_insurance' });
    const atB = await addMember(h.app, b, { number: '4242', qualifiedFrom: '2024-10-01', myNumber: holder.myNumber });
    expect(atB.personId).toBe(holder.member.personId);
    // Now B holds the person, so B may name it too.
    const named = await addMember(h.app, b, { number: '4243', relationship: 'family', qualifiedFrom: '2024-10-01', personId: holder.member.personId });
    expect(named.personId).toBe(holder.member.personId);
    const answer = await reader.confirm(holder.card, { verification: 'face' });
    expect(answer.member).toMatchObject({ insurerNumber: b.insurerNumber });
  });
});
