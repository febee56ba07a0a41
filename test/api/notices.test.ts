// Notices to all members (資格情報のお知らせ, DOMAIN.md §8): employer data, rounds 1 and 2, boxes of at
// most 4 kg per employer, tracking numbers, a restart mid-run and the resend of returned pieces.

import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { storeKinds } from '../support/stores.ts';
import { addMember, createInsurer, expectError, fieldProblems, memberUrl, terminateMember, useApp, type Harness, type TestInsurer } from '../support/fixtures.ts';
import { trackingNumbersOfCsv } from '../../src/programmes/notices/cli.ts';
import { isTrackingNumber } from '../../src/programmes/notices/rules.ts';

const NOW = new Date('2024-12-20T03:00:00Z');

const employer = (officeSymbol: string, officeAddress: string, extra: Record<string, unknown> = {}) => ({
  officeSymbol, officeName: `株式会社${officeSymbol}`, officeAddress, officePostalCode: '100-0001', voluntaryContinuation: false, ...extra,
});

async function putEmployer(h: Harness, insurer: TestInsurer, memberId: string, body: Record<string, unknown>) {
  return h.app.inject({ method: 'PUT', url: `${memberUrl(insurer.insurerNumber, memberId)}/employer`, headers: insurer.headers, payload: body });
}

/** A population: office A01 (Tokyo) 3 members, B02 (Osaka) 1, a 任意継続 member, one without employer data, one lost, one joining later. */
async function population(h: Harness) {
  const insurer = await createInsurer(h.app);
  const a = [];
  for (const n of ['11', '12', '13']) a.push(await addMember(h.app, insurer, { number: n }));
  const b = await addMember(h.app, insurer, { number: '21' });
  const voluntary = await addMember(h.app, insurer, { number: '31', address: '神奈川県横浜市西区1-1' });
  const none = await addMember(h.app, insurer, { number: '41' });
  const lost = await addMember(h.app, insurer, { number: '51' });
  await terminateMember(h.app, insurer, lost.memberId, { lostOn: '2024-06-01', lossReason: 'other_insurance' });
  const later = await addMember(h.app, insurer, { number: '61', qualifiedFrom: '2024-07-01' });
  const bulk = await h.app.inject({
    method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/employers/bulk`, headers: insurer.headers,
    payload: {
      items: [
        ...a.map((m) => ({ memberId: m.memberId, ...employer('A01', '東京都港区芝1-1') })),
        { memberId: b.memberId, ...employer('B02', '大阪府大阪市北区1-1') },
        { memberId: voluntary.memberId, ...employer('A01', '東京都港区芝1-1', { voluntaryContinuation: true }) },
        { memberId: lost.memberId, ...employer('A01', '東京都港区芝1-1') },
        { memberId: later.memberId, ...employer('B02', '大阪府大阪市北区1-1') },
      ],
    },
  });
  expect(bulk.statusCode, bulk.body).toBe(200);
  expect(bulk.json()).toEqual({ updated: 7 });
  return { insurer, a, b, voluntary, none, lost, later };
}

async function piecesOf(h: Harness, roundId: string) {
  return h.ctx.database.db.selectFrom('notice_pieces').selectAll().where('round_id', '=', roundId).execute();
}

describe.each(storeKinds)('notices to all members on %s', (kind) => {
  const h = useApp(kind, { clock: () => NOW });

  it('sets employer data singly and in bulk, all or nothing, only for the insurer’s own members', async () => {
    const insurer = await createInsurer(h.app);
    const other = await createInsurer(h.app);
    const m = await addMember(h.app, insurer);
    const foreign = await addMember(h.app, other);
    let r = await putEmployer(h, insurer, m.memberId, employer('X1', '東京都千代田区1-1'));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ memberId: m.memberId, officeSymbol: 'X1', voluntaryContinuation: false, previousOfficeSymbol: null, symbolChangedOn: null });
    r = await putEmployer(h, insurer, m.memberId, { ...employer('X1', '東京都千代田区1-1'), symbolChangedOn: '2024-08-01' });
    expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['symbolChangedOn:mismatch']);
    r = await putEmployer(h, insurer, m.memberId, { ...employer('Y2', '埼玉県さいたま市1-1'), symbolChangedOn: '2024-08-01' });
    expect(r.json()).toMatchObject({ officeSymbol: 'Y2', previousOfficeSymbol: 'X1', symbolChangedOn: '2024-08-01' });
    r = await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber, m.memberId)}/employer`, headers: insurer.headers });
    expect(r.json()).toMatchObject({ officeSymbol: 'Y2', officeAddress: '埼玉県さいたま市1-1' });
    r = await putEmployer(h, insurer, m.memberId, { officeSymbol: 'Z', voluntaryContinuation: 'yes', officePostalCode: '1' });
    expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['officeAddress:required', 'officeName:required', 'officePostalCode:format', 'voluntaryContinuation:format']);
    const forbidden = await h.app.inject({ method: 'PUT', url: `${memberUrl(insurer.insurerNumber, m.memberId)}/employer`, headers: other.headers, payload: employer('X1', '東京都') });
    expectError(forbidden, 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await putEmployer(h, other, m.memberId, employer('X1', '東京都')), 404, 'ONSHI_REGISTRY_MEMBER_NOT_FOUND');

    const bulk = await h.app.inject({
      method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/employers/bulk`, headers: insurer.headers,
      payload: { items: [{ memberId: m.memberId, ...employer('W3', '東京都港区1-1') }, { memberId: foreign.memberId, ...employer('W3', '東京都港区1-1') }, { memberId: m.memberId, ...employer('W3', '東京都港区1-1') }] },
    });
    expect(fieldProblems(expectError(bulk, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['items[1].memberId:unknown', 'items[2].memberId:duplicate']);
    // Nothing was written.
    expect((await h.ctx.notices.getEmployer(insurer.insurerNumber, m.memberId)).officeSymbol).toBe('Y2');
  });

  it('plans round 1 with a crash in each phase, resumes without duplicates, packs boxes of at most 4 kg and counts by route and prefecture', async () => {
    const p = await population(h);
    const base = { insurerNumber: p.insurer.insurerNumber, round: 1, extractedOn: '2024-06-14', pieceWeightGrams: 1500, chunkSize: 2 };
    let calls = 0;
    await expect(h.ctx.notices.planRound(base, (phase) => { if (phase === 'pieces' && ++calls === 2) throw new Error('crash in pieces'); })).rejects.toThrow('crash in pieces');
    const round = await h.ctx.database.db.selectFrom('notice_rounds').selectAll().where('insurer_number', '=', p.insurer.insurerNumber).executeTakeFirstOrThrow();
    expect(await piecesOf(h, round.id)).toHaveLength(4); // two chunks of two committed
    await expect(h.ctx.notices.planRound(base, (phase) => { if (phase === 'boxes') throw new Error('crash in boxes'); })).rejects.toThrow('crash in boxes');
    // Chunks of one office: A01's two boxes committed with the cursor, B02 not yet boxed.
    expect((await h.ctx.database.db.selectFrom('notice_boxes').selectAll().where('round_id', '=', round.id).execute()).map((b) => b.office_symbol)).toEqual(['A01', 'A01']);
    const done = await h.ctx.notices.planRound(base);
    expect(done).toMatchObject({ roundId: round.id, resumed: true, alreadyDone: false, pieces: 6, boxes: 3 });
    expect(await h.ctx.notices.planRound(base)).toMatchObject({ alreadyDone: true, pieces: 6, boxes: 3 });

    const pieces = await piecesOf(h, round.id);
    expect(pieces).toHaveLength(6);
    expect(new Set(pieces.map((x) => x.membership_id)).size).toBe(6);
    expect(pieces.map((x) => x.membership_id)).not.toContain(p.lost.memberId);
    expect(pieces.map((x) => x.membership_id)).not.toContain(p.later.memberId);
    const all = [...pieces.map((x) => x.tracking_number)];
    expect(pieces.every((x) => isTrackingNumber(x.tracking_number))).toBe(true);
    const byMember = new Map(pieces.map((x) => [x.membership_id, x]));
    expect(byMember.get(p.voluntary.memberId)).toMatchObject({ route: 'home', reason: 'voluntary_continuation', office_symbol: null, box_id: null, prefecture: '14' });
    expect(byMember.get(p.none.memberId)).toMatchObject({ route: 'home', reason: 'no_employer', box_id: null, prefecture: '13' });
    expect(byMember.get(p.b.memberId)).toMatchObject({ route: 'employer', office_symbol: 'B02', prefecture: '27' });

    const boxes = await h.ctx.database.db.selectFrom('notice_boxes').selectAll().where('round_id', '=', round.id).orderBy('office_symbol').orderBy('seq').execute();
    all.push(...boxes.map((b) => b.tracking_number));
    expect(new Set(all).size).toBe(9);
    expect(boxes.map((b) => [b.office_symbol, b.seq, b.of_boxes, Number(b.pieces), Number(b.weight_mg)])).toEqual([
      ['A01', 1, 2, 2, 3_000_000],
      ['A01', 2, 2, 1, 1_500_000],
      ['B02', 1, 1, 1, 1_500_000],
    ]);
    // A box holds a range of its office's ranks: every employer piece has a distinct rank 1..n in its
    // office, and exactly one box holds it.
    const inBox = (x: (typeof pieces)[number], b: (typeof boxes)[number]) => x.office_symbol === b.office_symbol && Number(x.office_seq) >= Number(b.first_seq) && Number(x.office_seq) <= Number(b.last_seq);
    for (const b of boxes) expect(pieces.filter((x) => inBox(x, b))).toHaveLength(Number(b.pieces));
    const employer = pieces.filter((x) => x.route === 'employer');
    expect(employer.every((x) => boxes.filter((b) => inBox(x, b)).length === 1)).toBe(true);
    expect(employer.filter((x) => x.office_symbol === 'A01').map((x) => Number(x.office_seq)).sort()).toEqual([1, 2, 3]);
    expect(pieces.every((x) => x.box_id === null)).toBe(true);

    const got = await h.app.inject({ method: 'GET', url: `/v1/insurers/${p.insurer.insurerNumber}/notices/rounds/${round.id}`, headers: p.insurer.headers });
    expect(got.statusCode, got.body).toBe(200);
    expect(got.json()).toMatchObject({
      round: 1, extractedOn: '2024-06-14', window: null, status: 'done', pieceWeightGrams: 1500,
      counts: {
        pieces: 6, boxes: 3, resends: 0, byRoute: { employer: 4, home: 2 }, byReason: { ordinary: 4, voluntary_continuation: 1, no_employer: 1 },
        byPrefecture: [
          { prefecture: '13', name: '東京都', employer: 3, home: 1, boxes: 2 },
          { prefecture: '14', name: '神奈川県', employer: 0, home: 1, boxes: 0 },
          { prefecture: '27', name: '大阪府', employer: 1, home: 0, boxes: 1 },
        ],
      },
    });
    const csv = await h.app.inject({ method: 'GET', url: `/v1/insurers/${p.insurer.insurerNumber}/notices/rounds/${round.id}/boxes.csv?charset=shift_jis`, headers: p.insurer.headers });
    const lines = iconv.decode(csv.rawPayload, 'cp932').trim().split('\r\n');
    expect(lines[0]).toMatch(/^箱追跡番号,事業所記号,事業所名称/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain('株式会社A01');
    const pcsv = await h.app.inject({ method: 'GET', url: `/v1/insurers/${p.insurer.insurerNumber}/notices/rounds/${round.id}/pieces.csv`, headers: p.insurer.headers });
    expect(pcsv.body.trim().split('\r\n')).toHaveLength(7);
    // Another insurer cannot see the round.
    const other = await createInsurer(h.app);
    expectError(await h.app.inject({ method: 'GET', url: `/v1/insurers/${other.insurerNumber}/notices/rounds/${round.id}`, headers: other.headers }), 404, 'ONSHI_NOT_FOUND');
  });

  it('round 2 takes those who joined or changed employer symbol between the extractions, over HTTP; needs round 1 first', async () => {
    const p = await population(h);
    const url = `/v1/insurers/${p.insurer.insurerNumber}/notices/rounds`;
    let r = await h.app.inject({ method: 'POST', url, headers: p.insurer.headers, payload: { round: 2, extractedOn: '2024-12-13' } });
    expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['round:mismatch']);
    r = await h.app.inject({ method: 'POST', url, headers: p.insurer.headers, payload: { round: 1, extractedOn: '2024-06-14' } });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ pieces: 6, boxes: 2 }); // 25 g pieces: one box per office
    r = await h.app.inject({ method: 'POST', url, headers: p.insurer.headers, payload: { round: 1, extractedOn: '2024-06-15' } });
    expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['extractedOn:mismatch']);
    // Employer of a[0] moved outside its office's area: new symbol in the window.
    expect((await putEmployer(h, p.insurer, p.a[0].memberId, { ...employer('C03', '千葉県千葉市1-1'), symbolChangedOn: '2024-08-01' })).statusCode).toBe(200);
    // Joined in the window but lost before round 2's extraction: not included.
    const gone = await addMember(h.app, p.insurer, { number: '71', qualifiedFrom: '2024-09-01' });
    await terminateMember(h.app, p.insurer, gone.memberId, { lostOn: '2024-12-01', lossReason: 'other_insurance' });
    // Joined after 2024-11-29: not included.
    await addMember(h.app, p.insurer, { number: '81', qualifiedFrom: '2024-11-30' });
    r = await h.app.inject({ method: 'POST', url, headers: p.insurer.headers, payload: { round: 2, extractedOn: '2024-11-28' } });
    expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['extractedOn:out_of_range']);
    r = await h.app.inject({ method: 'POST', url, headers: p.insurer.headers, payload: { round: 2, extractedOn: '2024-12-13' } });
    expect(r.statusCode, r.body).toBe(200);
    const round2 = r.json();
    expect(round2).toMatchObject({ round: 2, pieces: 2, boxes: 2 });
    const pieces = await piecesOf(h, round2.roundId);
    expect(pieces.map((x) => x.membership_id).sort()).toEqual([p.a[0].memberId, p.later.memberId].sort());
    expect(pieces.find((x) => x.membership_id === p.a[0].memberId)).toMatchObject({ office_symbol: 'C03', prefecture: '12' });
    const got = await h.app.inject({ method: 'GET', url: `${url}/${round2.roundId}`, headers: p.insurer.headers });
    expect(got.json()).toMatchObject({ window: { from: '2024-06-15', to: '2024-11-29' }, counts: { pieces: 2, byRoute: { employer: 2, home: 0 } } });
  });

  it('re-sends a piece returned from an employer to the member’s own address, once; home pieces and unknown numbers are reported', async () => {
    const p = await population(h);
    const report = await h.ctx.notices.planRound({ insurerNumber: p.insurer.insurerNumber, round: 1, extractedOn: '2024-06-14' });
    const pieces = await piecesOf(h, report.roundId);
    const viaEmployer = pieces.find((x) => x.membership_id === p.b.memberId)!;
    const home = pieces.find((x) => x.membership_id === p.voluntary.memberId)!;
    // The member moved after the extraction: the resend goes to the address recorded today.
    expect((await h.app.inject({ method: 'PATCH', url: memberUrl(p.insurer.insurerNumber, p.b.memberId), headers: p.insurer.headers, payload: { effectiveFrom: '2024-10-01', address: '北海道札幌市中央区1-1' } })).statusCode).toBe(200);
    const csv = `追跡番号\r\n${viaEmployer.tracking_number}\r\n${home.tracking_number}\r\n000000000012\r\n`;
    const numbers = trackingNumbersOfCsv(csv);
    expect(numbers).toEqual([viaEmployer.tracking_number, home.tracking_number, '000000000012']);
    const progress: number[] = [];
    const first = await h.ctx.notices.recordReturned({ trackingNumbers: numbers, insurerNumber: p.insurer.insurerNumber }, (done) => { progress.push(done); });
    expect(first).toMatchObject({ received: 3, resent: 1, alreadyResent: 0, notViaEmployer: 1, unknown: ['000000000012'] });
    expect(progress).toEqual([3]);
    const resend = await h.ctx.database.db.selectFrom('notice_resends').selectAll().where('piece_id', '=', viaEmployer.id).executeTakeFirstOrThrow();
    expect(resend).toMatchObject({ address: '北海道札幌市中央区1-1', prefecture: '01', tracking_number: first.resends[0].resendTrackingNumber });
    expect(isTrackingNumber(resend.tracking_number)).toBe(true);
    // Again over HTTP: nothing new.
    const again = await h.app.inject({ method: 'POST', url: `/v1/insurers/${p.insurer.insurerNumber}/notices/returned`, headers: p.insurer.headers, payload: { trackingNumbers: [viaEmployer.tracking_number] } });
    expect(again.json()).toMatchObject({ resent: 0, alreadyResent: 1, unknown: [] });
    // Another insurer cannot return this insurer's pieces.
    const other = await createInsurer(h.app);
    const foreign = await h.app.inject({ method: 'POST', url: `/v1/insurers/${other.insurerNumber}/notices/returned`, headers: other.headers, payload: { trackingNumbers: [viaEmployer.tracking_number] } });
    expect(foreign.json()).toMatchObject({ resent: 0, unknown: [viaEmployer.tracking_number] });
    const got = await h.app.inject({ method: 'GET', url: `/v1/insurers/${p.insurer.insurerNumber}/notices/rounds/${report.roundId}`, headers: p.insurer.headers });
    expect(got.json().counts).toMatchObject({ resends: 1 });
    expect(got.json().counts.byPrefecture.find((x: { prefecture: string }) => x.prefecture === '01')).toMatchObject({ resends: 1 });
    const pcsv = await h.app.inject({ method: 'GET', url: `/v1/insurers/${p.insurer.insurerNumber}/notices/rounds/${report.roundId}/pieces.csv`, headers: p.insurer.headers });
    expect(pcsv.body).toContain(resend.tracking_number);
  });

  it('validates the planning request', async () => {
    const insurer = await createInsurer(h.app);
    const r = await h.app.inject({ method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/notices/rounds`, headers: insurer.headers, payload: { round: 3, extractedOn: '2024-02-30', pieceWeightGrams: 4001 } });
    expect(fieldProblems(expectError(r, 400, 'ONSHI_REGISTRY_INVALID_FIELDS').errors)).toEqual(['pieceWeightGrams:out_of_range', 'round:not_allowed']);
  });
});
