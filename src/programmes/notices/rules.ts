// Rules of the notices to all members (資格情報のお知らせ, DOMAIN.md §8): who is in each round, which
// route a piece takes, packing per employer into boxes of at most 4 kg, tracking numbers and the
// prefecture of a destination. Pure: no I/O, no clock.

import { prefectures } from '../../registry/rules.ts';
import { isIsoDate } from '../../platform/time.ts';

/** Round 2 covers members who joined up to and including this day. */
export const ROUND2_LAST_JOIN_DAY = '2024-11-29';
/** A box holds at most 4 kg, in milligrams (weights are integers of mg so that sums never drift). */
export const BOX_LIMIT_MG = 4_000_000;
/** Default weight of one enveloped notice, in grams. */
export const DEFAULT_PIECE_WEIGHT_GRAMS = 25;

export const rounds = [1, 2] as const;
export type Round = (typeof rounds)[number];

export type Route = 'employer' | 'home';
/** Why a piece takes its route: via the employer (ordinary), home for 任意継続, home without employer data. */
export type RouteReason = 'ordinary' | 'voluntary_continuation' | 'no_employer';

/** Grams (up to 3 decimals) to integer milligrams; undefined when not a positive finite weight. */
export function gramsToMg(grams: unknown): number | undefined {
  if (typeof grams !== 'number' || !Number.isFinite(grams) || grams <= 0) return undefined;
  const mg = Math.round(grams * 1000);
  return mg > 0 ? mg : undefined;
}

/**
 * The window of a round (both ends inclusive) in which a member must have joined (or had the
 * employer symbol changed) to be included; round 1 has none (every current member).
 */
export function roundWindow(round: Round, round1ExtractedOn: string | null): { from: string; to: string } | null {
  if (round === 1) return null;
  if (round1ExtractedOn === null) throw new Error('round 2 needs round 1');
  // Joined after the round-1 extraction: the extraction day itself was already in round 1.
  return { from: addOneDay(round1ExtractedOn), to: ROUND2_LAST_JOIN_DAY };
}

function addOneDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** Checks the extraction date of a round; returns a problem code or undefined. */
export function extractionProblem(round: Round, extractedOn: unknown, round1ExtractedOn: string | null): 'invalid_date' | 'round1_missing' | 'before_window' | undefined {
  if (!isIsoDate(extractedOn)) return 'invalid_date';
  if (round === 2) {
    if (round1ExtractedOn === null) return 'round1_missing';
    // Round 2 is extracted after everyone it covers has joined.
    if (extractedOn <= round1ExtractedOn || extractedOn < ROUND2_LAST_JOIN_DAY) return 'before_window';
  }
  return undefined;
}

export interface MemberForRound {
  qualifiedFrom: string;
  lostOn: string | null;
  /** When the employer symbol last changed because the employer moved outside its office's area. */
  symbolChangedOn: string | null;
}

/** Current at the extraction date: joined on or before it and not lost by then. */
export function currentOn(m: { qualifiedFrom: string; lostOn: string | null }, date: string): boolean {
  return m.qualifiedFrom <= date && (m.lostOn === null || m.lostOn > date);
}

/** Whether a member is in a round extracted on `extractedOn` (window from roundWindow). */
export function inRound(m: MemberForRound, extractedOn: string, window: { from: string; to: string } | null): boolean {
  if (!currentOn(m, extractedOn)) return false;
  if (window === null) return true;
  const inWindow = (d: string | null) => d !== null && d >= window.from && d <= window.to;
  return inWindow(m.qualifiedFrom) || inWindow(m.symbolChangedOn);
}

/**
 * The employer data a member's piece goes by: the member's own; for a dependant (family) without
 * any, that of the insured person of the same household (insurer, card symbol and number), whose
 * employer hands out the household's notices; otherwise none.
 */
export function employerOfPiece<E>(own: E | null, relationship: string, insuredPersons: E | undefined): E | null {
  if (own !== null) return own;
  return relationship === 'family' && insuredPersons !== undefined ? insuredPersons : null;
}

/** The route of a member's piece: 任意継続 and members without employer data are mailed home. */
export function routeOf(employer: { officeSymbol: string; voluntaryContinuation: boolean } | null): { route: Route; reason: RouteReason } {
  if (employer === null) return { route: 'home', reason: 'no_employer' };
  if (employer.voluntaryContinuation) return { route: 'home', reason: 'voluntary_continuation' };
  return { route: 'employer', reason: 'ordinary' };
}

export interface Box {
  /** Number of pieces in the box. */
  pieces: number;
  /** Total weight in mg, tare included; never above the limit. */
  weightMg: number;
}

/**
 * Packs `count` pieces of `pieceMg` each into the fewest boxes whose weight (tare included) is at most
 * `limitMg`. With equal pieces no box can hold more than ⌊(limit − tare) / piece⌋, so ⌈count / that⌉
 * boxes is the minimum; pieces are spread evenly (sizes differ by at most one) so no box is a stray
 * single piece. Throws when a single piece does not fit an empty box.
 */
export function packBoxes(count: number, pieceMg: number, options: { tareMg?: number; limitMg?: number } = {}): Box[] {
  const limit = options.limitMg ?? BOX_LIMIT_MG;
  const tare = options.tareMg ?? 0;
  if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be a whole number ≥ 0');
  if (!Number.isInteger(pieceMg) || pieceMg <= 0) throw new RangeError('piece weight must be a whole number of mg > 0');
  if (!Number.isInteger(tare) || tare < 0) throw new RangeError('tare must be a whole number of mg ≥ 0');
  const perBox = Math.floor((limit - tare) / pieceMg);
  if (perBox < 1) throw new RangeError(`a piece of ${pieceMg} mg does not fit a box of ${limit} mg with ${tare} mg tare`);
  if (count === 0) return [];
  const boxes = Math.ceil(count / perBox);
  const base = Math.floor(count / boxes);
  const larger = count % boxes;
  const out: Box[] = [];
  for (let i = 0; i < boxes; i++) {
    const pieces = base + (i < larger ? 1 : 0);
    out.push({ pieces, weightMg: tare + pieces * pieceMg });
  }
  return out;
}

/** Check digit of a tracking number: the 11-digit serial modulo 7. */
export function trackingCheckDigit(serial11: string): number {
  let r = 0;
  for (const ch of serial11) r = (r * 10 + Number(ch)) % 7;
  return r;
}

/** A 12-digit tracking number: 11-digit serial and a mod-7 check digit. */
export function trackingNumber(serial: number): string {
  if (!Number.isInteger(serial) || serial < 1 || serial >= 1e11) throw new RangeError('tracking serial out of range');
  const s = String(serial).padStart(11, '0');
  return `${s}${trackingCheckDigit(s)}`;
}

export function isTrackingNumber(v: unknown): v is string {
  return typeof v === 'string' && /^\d{12}$/.test(v) && trackingCheckDigit(v.slice(0, 11)) === Number(v[11]);
}

/** Prefecture code (01–47) of an address that starts with a prefecture's name; '00' when none does. */
export function prefectureOfAddress(address: string): string {
  const a = address.trimStart();
  for (let i = 0; i < prefectures.length; i++) if (a.startsWith(prefectures[i])) return String(i + 1).padStart(2, '0');
  return '00';
}
