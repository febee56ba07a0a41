// Notices to a household (DOMAIN.md §8, seed 003): an ordinary member's notice goes via the employer,
// and so do those of the dependants (家族) who have no employer data of their own; only 任意継続
// households and members with no employer at all are mailed home.

import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { addMember, createInsurer, memberUrl, useApp, type Harness, type TestInsurer } from '../support/fixtures.ts';

const NOW = new Date('2024-12-20T03:00:00Z');

async function putEmployer(h: Harness, insurer: TestInsurer, memberId: string, officeSymbol: string, officeAddress: string, voluntaryContinuation = false) {
  const r = await h.app.inject({
    method: 'PUT',
    url: `${memberUrl(insurer.insurerNumber, memberId)}/employer`,
    headers: insurer.headers,
    payload: { officeSymbol, officeName: `株式会社${officeSymbol}`, officeAddress, officePostalCode: '100-0001', voluntaryContinuation },
  });
  expect(r.statusCode, r.body).toBe(200);
}

describe.each(storeKinds)('notices to households on %s', (kind) => {
  const h = useApp(kind, { clock: () => NOW });

  it('sends a family of three via the insured person’s employer, in its boxes; a 任意継続 household and one without employer go home', async () => {
    const insurer = await createInsurer(h.app);
    const household = (number: string, homeAddress: string) => ({
      self: () => addMember(h.app, insurer, { number, branch: '00', address: homeAddress }),
      family: (branch: string, name: string) => addMember(h.app, insurer, { number, branch, relationship: 'family', name, birthDate: '2010-05-05', address: homeAddress }),
    });
    // Household 1: the insured person works at office A01 (Tokyo); spouse and child have no employer data.
    const h1 = household('100', '埼玉県さいたま市浦和区1-1');
    const insured = await h1.self();
    const spouse = await h1.family('01', '山田　花子');
    const child = await h1.family('02', '山田　一郎');
    await putEmployer(h, insurer, insured.memberId, 'A01', '東京都港区芝1-1');
    // Household 2: 任意継続 (voluntary continuation): the member and the dependant are mailed home.
    const h2 = household('200', '神奈川県横浜市西区1-1');
    const voluntary = await h2.self();
    const voluntaryChild = await h2.family('01', '鈴木　次郎');
    await putEmployer(h, insurer, voluntary.memberId, 'A01', '東京都港区芝1-1', true);
    // Household 3: no employer data at all.
    const h3 = household('300', '千葉県千葉市中央区1-1');
    const alone = await h3.self();
    const aloneChild = await h3.family('01', '佐藤　三郎');
    // A dependant with employer data of its own keeps it (it works elsewhere).
    const h4 = household('400', '東京都新宿区1-1');
    const worker = await h4.self();
    const workingDependant = await h4.family('01', '高橋　四郎');
    await putEmployer(h, insurer, worker.memberId, 'A01', '東京都港区芝1-1');
    await putEmployer(h, insurer, workingDependant.memberId, 'B02', '大阪府大阪市北区1-1');

    const r = await h.app.inject({ method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/notices/rounds`, headers: insurer.headers, payload: { round: 1, extractedOn: '2024-06-14' } });
    expect(r.statusCode, r.body).toBe(200);
    const { roundId } = r.json();
    const pieces = await h.ctx.database.db.selectFrom('notice_pieces').selectAll().where('round_id', '=', roundId).execute();
    const of = (m: { memberId: string }) => {
      const p = pieces.find((x) => x.membership_id === m.memberId)!;
      return [p.route, p.reason, p.office_symbol, p.prefecture];
    };
    // The family of three: all via A01, delivered in Tokyo (the office's prefecture).
    for (const m of [insured, spouse, child]) expect(of(m)).toEqual(['employer', 'ordinary', 'A01', '13']);
    for (const m of [voluntary, voluntaryChild]) expect(of(m)).toEqual(['home', 'voluntary_continuation', null, '14']);
    for (const m of [alone, aloneChild]) expect(of(m)).toEqual(['home', 'no_employer', null, '12']);
    expect(of(worker)).toEqual(['employer', 'ordinary', 'A01', '13']);
    expect(of(workingDependant)).toEqual(['employer', 'ordinary', 'B02', '27']);

    // A01's box holds the household's three pieces and the worker's: ranks 1..4, one box.
    const boxes = await h.ctx.database.db.selectFrom('notice_boxes').selectAll().where('round_id', '=', roundId).orderBy('office_symbol').execute();
    expect(boxes.map((b) => [b.office_symbol, Number(b.pieces), Number(b.first_seq), Number(b.last_seq)])).toEqual([['A01', 4, 1, 4], ['B02', 1, 1, 1]]);
    const a01 = pieces.filter((x) => x.office_symbol === 'A01');
    expect(a01.map((x) => x.membership_id).sort()).toEqual([insured, spouse, child, worker].map((m) => m.memberId).sort());
    expect(a01.map((x) => Number(x.office_seq)).sort()).toEqual([1, 2, 3, 4]);
    const got = await h.app.inject({ method: 'GET', url: `/v1/insurers/${insurer.insurerNumber}/notices/rounds/${roundId}`, headers: insurer.headers });
    expect(got.json().counts).toMatchObject({ pieces: 9, boxes: 2, byRoute: { employer: 5, home: 4 }, byReason: { ordinary: 5, voluntary_continuation: 2, no_employer: 2 } });
  });
});
