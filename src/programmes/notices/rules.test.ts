import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BOX_LIMIT_MG,
  currentOn,
  employerOfPiece,
  extractionProblem,
  gramsToMg,
  inRound,
  isTrackingNumber,
  packBoxes,
  prefectureOfAddress,
  roundWindow,
  routeOf,
  trackingNumber,
} from './rules.ts';

describe('packBoxes', () => {
  it('fills boxes up to exactly 4 kg and never over', () => {
    expect(packBoxes(160, 25_000)).toEqual([{ pieces: 160, weightMg: 4_000_000 }]);
    expect(packBoxes(161, 25_000).map((b) => b.pieces)).toEqual([81, 80]);
    expect(packBoxes(0, 25_000)).toEqual([]);
    expect(packBoxes(1, 4_000_000)).toEqual([{ pieces: 1, weightMg: 4_000_000 }]);
    expect(() => packBoxes(1, 4_000_001)).toThrow(RangeError);
  });

  it('handles awkward weights: a third of 4 kg, a hair over it, primes, sub-gram pieces and tare', () => {
    // 1333.333 g: three fit (3999.999 g).
    expect(packBoxes(7, gramsToMg(1333.333)!)).toEqual([
      { pieces: 3, weightMg: 3_999_999 },
      { pieces: 2, weightMg: 2_666_666 },
      { pieces: 2, weightMg: 2_666_666 },
    ]);
    // 1333.334 g: only two fit (three would be 4000.002 g).
    expect(packBoxes(7, gramsToMg(1333.334)!).map((b) => b.pieces)).toEqual([2, 2, 2, 1]);
    // 2000.001 g: one per box.
    expect(packBoxes(3, 2_000_001)).toHaveLength(3);
    // 23.7 g: ⌊4000 / 23.7⌋ = 168 per box.
    expect(packBoxes(337, gramsToMg(23.7)!).map((b) => b.pieces)).toEqual([113, 112, 112]);
    // 0.001 g pieces: four million per box.
    expect(packBoxes(4_000_001, 1)).toHaveLength(2);
    // Tare counts: 250 g box, 25 g pieces → 150 per box.
    const tared = packBoxes(300, 25_000, { tareMg: 250_000 });
    expect(tared).toEqual([{ pieces: 150, weightMg: 4_000_000 }, { pieces: 150, weightMg: 4_000_000 }]);
    expect(packBoxes(301, 25_000, { tareMg: 250_000 })).toHaveLength(3);
    expect(() => packBoxes(1, 3_800_000, { tareMg: 250_000 })).toThrow(/does not fit/);
    expect(() => packBoxes(1, 0)).toThrow(RangeError);
    expect(() => packBoxes(1.5, 10)).toThrow(RangeError);
  });

  it('property: every piece packed once, no box over 4 kg, and no fewer boxes possible', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: BOX_LIMIT_MG }), fc.integer({ min: 0, max: 100_000 }), (count, pieceMg, tareMg) => {
        fc.pre(pieceMg + tareMg <= BOX_LIMIT_MG);
        const boxes = packBoxes(count, pieceMg, { tareMg });
        const pieces = boxes.reduce((sum, b) => sum + b.pieces, 0);
        const wrong = boxes.filter((b) => b.pieces < 1 || b.weightMg !== tareMg + b.pieces * pieceMg || b.weightMg > BOX_LIMIT_MG);
        // One box fewer cannot hold them: each box holds at most ⌊(4 kg − tare) / piece⌋.
        const most = Math.floor((BOX_LIMIT_MG - tareMg) / pieceMg);
        const sizes = boxes.map((b) => b.pieces);
        expect({ pieces, wrong: wrong.length, fewest: (boxes.length - 1) * most < Math.max(count, 1), even: boxes.length === 0 || Math.max(...sizes) - Math.min(...sizes) <= 1 }).toEqual({
          pieces: count, wrong: 0, fewest: true, even: true,
        });
      }),
      { numRuns: 500 },
    );
  });

  it('gramsToMg refuses non-positive and non-numbers', () => {
    expect(gramsToMg(25)).toBe(25_000);
    expect(gramsToMg(0.0004)).toBeUndefined();
    expect(gramsToMg(0)).toBeUndefined();
    expect(gramsToMg(-1)).toBeUndefined();
    expect(gramsToMg('25')).toBeUndefined();
    expect(gramsToMg(Number.NaN)).toBeUndefined();
  });
});

describe('rounds', () => {
  const w = roundWindow(2, '2024-06-14')!;

  it('round 2 window runs from the day after round 1 extraction to 2024-11-29', () => {
    expect(roundWindow(1, null)).toBeNull();
    expect(w).toEqual({ from: '2024-06-15', to: '2024-11-29' });
    expect(() => roundWindow(2, null)).toThrow();
  });

  it('round 1: every member current at the extraction date', () => {
    expect(inRound({ qualifiedFrom: '2024-06-14', lostOn: null, symbolChangedOn: null }, '2024-06-14', null)).toBe(true);
    expect(inRound({ qualifiedFrom: '2024-06-15', lostOn: null, symbolChangedOn: null }, '2024-06-14', null)).toBe(false);
    expect(inRound({ qualifiedFrom: '2020-01-01', lostOn: '2024-06-14', symbolChangedOn: null }, '2024-06-14', null)).toBe(false);
    expect(inRound({ qualifiedFrom: '2020-01-01', lostOn: '2024-06-15', symbolChangedOn: null }, '2024-06-14', null)).toBe(true);
    expect(currentOn({ qualifiedFrom: '2020-01-01', lostOn: null }, '2024-06-14')).toBe(true);
  });

  it('round 2: joined or symbol changed in the window, and current at round 2 extraction', () => {
    const on = '2024-12-13';
    const m = (qualifiedFrom: string, symbolChangedOn: string | null = null, lostOn: string | null = null) => inRound({ qualifiedFrom, lostOn, symbolChangedOn }, on, w);
    expect(m('2024-06-14')).toBe(false); // in round 1 already
    expect(m('2024-06-15')).toBe(true);
    expect(m('2024-11-29')).toBe(true);
    expect(m('2024-11-30')).toBe(false); // after the last join day
    expect(m('2024-06-15', null, '2024-12-13')).toBe(false); // lost by round 2 extraction
    expect(m('2024-06-15', null, '2024-12-14')).toBe(true);
    expect(m('2019-04-01', '2024-06-15')).toBe(true); // symbol changed (employer moved) in the window
    expect(m('2019-04-01', '2024-06-14')).toBe(false);
    expect(m('2019-04-01', '2024-11-30')).toBe(false);
  });

  it('checks the extraction dates', () => {
    expect(extractionProblem(1, '2024-06-31', null)).toBe('invalid_date');
    expect(extractionProblem(1, '2024-06-14', null)).toBeUndefined();
    expect(extractionProblem(2, '2024-12-13', null)).toBe('round1_missing');
    expect(extractionProblem(2, '2024-11-28', '2024-06-14')).toBe('before_window');
    expect(extractionProblem(2, '2024-11-29', '2024-06-14')).toBeUndefined();
  });

  it('routes: employer for ordinary members, home for 任意継続 and without employer data', () => {
    expect(routeOf({ officeSymbol: 'A1', voluntaryContinuation: false })).toEqual({ route: 'employer', reason: 'ordinary' });
    expect(routeOf({ officeSymbol: 'A1', voluntaryContinuation: true })).toEqual({ route: 'home', reason: 'voluntary_continuation' });
    expect(routeOf(null)).toEqual({ route: 'home', reason: 'no_employer' });
  });

  it("a dependant without employer data goes by the insured person's; nobody else borrows it", () => {
    const own = { officeSymbol: 'B2', voluntaryContinuation: false };
    const insured = { officeSymbol: 'A1', voluntaryContinuation: false };
    expect(employerOfPiece(null, 'family', insured)).toBe(insured);
    expect(employerOfPiece(own, 'family', insured)).toBe(own);
    expect(employerOfPiece(null, 'family', undefined)).toBeNull();
    expect(employerOfPiece(null, 'self', insured)).toBeNull();
    // The household of a 任意継続 member is mailed home, the dependants with it.
    expect(routeOf(employerOfPiece(null, 'family', { officeSymbol: 'A1', voluntaryContinuation: true }))).toEqual({ route: 'home', reason: 'voluntary_continuation' });
  });
});

describe('tracking numbers and prefectures', () => {
  it('12 digits with a mod-7 check digit', () => {
    expect(trackingNumber(1)).toBe('000000000011');
    expect(trackingNumber(7)).toBe('000000000070');
    expect(trackingNumber(99_999_999_999)).toBe(`99999999999${99_999_999_999 % 7}`);
    expect(isTrackingNumber(trackingNumber(123_456))).toBe(true);
    expect(isTrackingNumber('000000000012')).toBe(false);
    expect(isTrackingNumber('00000000001')).toBe(false);
    expect(() => trackingNumber(0)).toThrow(RangeError);
    expect(() => trackingNumber(1e11)).toThrow(RangeError);
    fc.assert(fc.property(fc.integer({ min: 1, max: 99_999_999_999 }), (n) => isTrackingNumber(trackingNumber(n))));
  });

  it('prefecture of an address', () => {
    expect(prefectureOfAddress('東京都千代田区千代田1-1')).toBe('13');
    expect(prefectureOfAddress('北海道札幌市')).toBe('01');
    expect(prefectureOfAddress(' 沖縄県那覇市')).toBe('47');
    expect(prefectureOfAddress('京都府京都市')).toBe('26');
    expect(prefectureOfAddress('千代田区')).toBe('00');
  });
});
