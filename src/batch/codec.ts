// The compact stored form of batch rows and answers (一括照会). A batch of 100,000 rows used to be
// 200,000 table rows of JSON; it is now a few hundred blocks, each the rows of a range joined by RS,
// each row its values joined by US. JSON.stringify/parse and a B-tree entry per row were most of a
// row's cost. Any value that holds one of the reserved characters, and any shape not foreseen here,
// is stored as JSON instead (prefix SOH for an input row, 'J' for an answer), so nothing is lost;
// migration 0008b_batch_blocks wrote the legacy rows in exactly that JSON form.

import type { BatchRowInput, RowAnswer } from './service.ts';

/** Between the rows of a block. */
export const RS = '\u001e';
/** Between the values of a row. */
export const US = '\u001f';
/** An absent value (undefined or null). */
export const NIL = '\u0002';
/** An input row stored as JSON. */
export const JSON_ROW = '\u0001';
const RESERVED = /[\u0001\u0002\u001e\u001f]/;

const str = (v: string | undefined): string => (v === undefined ? NIL : v);
const orNull = (v: string): string | null => (v === NIL ? null : v);

// ------------------------------------------------------------ input rows

export function encodeInput(r: BatchRowInput): string {
  const { insurerNumber, symbol, number, branch, birthDate, asOf, limitConsent, search } = r;
  const plain = [insurerNumber, symbol, number, branch, birthDate, asOf];
  for (const v of plain) {
    if (v !== undefined && (typeof v !== 'string' || RESERVED.test(v))) return JSON_ROW + JSON.stringify(r);
  }
  if (limitConsent !== undefined && typeof limitConsent !== 'boolean') return JSON_ROW + JSON.stringify(r);
  return (
    str(insurerNumber) + US + str(symbol) + US + str(number) + US + str(branch) + US + str(birthDate) + US + str(asOf) + US +
    (limitConsent === undefined ? NIL : limitConsent ? '1' : '0') + US +
    // JSON escapes every control character, so the search block never holds a reserved one.
    (search === undefined ? NIL : JSON.stringify(search))
  );
}

/**
 * The row as the JSON form used to give it back: absent members left out, the same key order.
 * Without `withSearch` an XML row's search block is left unread (the runner does not need it).
 */
export function decodeInput(s: string, withSearch = true): BatchRowInput {
  if (s.charCodeAt(0) === 1) return JSON.parse(s.slice(1)) as BatchRowInput;
  const v = s.split(US);
  const r: BatchRowInput = {};
  if (v[0] !== NIL) r.insurerNumber = v[0];
  if (v[1] !== NIL) r.symbol = v[1];
  if (v[2] !== NIL) r.number = v[2];
  if (v[3] !== NIL) r.branch = v[3];
  if (v[4] !== NIL) r.birthDate = v[4];
  if (v[5] !== NIL) r.asOf = v[5];
  if (v[6] !== NIL) r.limitConsent = v[6] === '1';
  if (withSearch && v[7] !== NIL) r.search = JSON.parse(v[7]) as Record<string, unknown>;
  return r;
}

// ------------------------------------------------------------ answers

/** The member record's keys, in the order toEligibilityRecord makes them. */
const MEMBER_KEYS = [
  'insurerNumber', 'insurerName', 'symbol', 'number', 'branch', 'relationship', 'name', 'nameKana', 'birthDate', 'sex', 'address',
  'postalCode', 'qualifiedFrom', 'lostOn', 'copayRate', 'paperCardIssuedOn', 'paperCardExpiresOn', 'validFrom',
] as const;
const NULLABLE = new Set<string>(['postalCode', 'lostOn', 'paperCardIssuedOn', 'paperCardExpiresOn']);

/**
 * Where the values of an encoded valid answer ('V') are, once split at US: its asOf, each member
 * value in MEMBER_KEYS order, then limitCategory. An invalid answer ('I') is asOf, reason, message,
 * messageJa, details (JSON), newEligibilityExists.
 */
export const VALID_AT = {
  asOf: 1,
  ...(Object.fromEntries(MEMBER_KEYS.map((k, i) => [k, i + 2])) as Record<(typeof MEMBER_KEYS)[number], number>),
  limitCategory: MEMBER_KEYS.length + 2,
};
export const INVALID_AT = { asOf: 1, reason: 2, message: 3, messageJa: 4, details: 5, newEligibilityExists: 6 } as const;

const asJson = (a: RowAnswer): string => 'J' + JSON.stringify(a);

/** Keys of an object other than confirmationId (which a batch answer never keeps). */
function keyCount(o: object): number {
  let n = 0;
  for (const k in o) if (k !== 'confirmationId') n++;
  return n;
}

/** One answer, without its confirmationId. */
export function encodeAnswer(a: RowAnswer): string {
  if (a.result === 'valid') {
    const m = a.member as unknown as Record<string, unknown>;
    if (keyCount(a) !== (a.limitCategory === undefined ? 3 : 4) || keyCount(m) !== MEMBER_KEYS.length || typeof a.asOf !== 'string' || RESERVED.test(a.asOf)) return asJson(a);
    let out = 'V' + US + a.asOf;
    for (const k of MEMBER_KEYS) {
      const v = m[k];
      if (typeof v === 'string') {
        if (RESERVED.test(v)) return asJson(a);
        out += US + v;
      } else if (v === null && NULLABLE.has(k)) out += US + NIL;
      else if (k === 'copayRate' && typeof v === 'number' && Number.isFinite(v)) out += US + String(v);
      else return asJson(a);
    }
    const lc = a.limitCategory;
    if (lc === undefined) out += US + 'a';
    else if (lc === null) out += US + 'n';
    else if (typeof lc === 'string' && !RESERVED.test(lc)) out += US + 's' + lc;
    else return asJson(a);
    return out;
  }
  if (a.result === 'invalid') {
    const { asOf, reason, message, messageJa, details, newEligibilityExists } = a;
    const expected = 5 + (details === undefined ? 0 : 1) + (newEligibilityExists === undefined ? 0 : 1);
    if (keyCount(a) !== expected) return asJson(a);
    for (const v of [asOf, reason, message, messageJa]) if (typeof v !== 'string' || RESERVED.test(v)) return asJson(a);
    if (newEligibilityExists !== undefined && typeof newEligibilityExists !== 'boolean') return asJson(a);
    return (
      'I' + US + asOf + US + reason + US + message + US + messageJa + US +
      (details === undefined ? NIL : JSON.stringify(details)) + US +
      (newEligibilityExists === undefined ? NIL : newEligibilityExists ? '1' : '0')
    );
  }
  return asJson(a);
}

export function decodeAnswer(s: string): RowAnswer {
  const kind = s.charCodeAt(0);
  if (kind === 0x56 /* V */) {
    const v = s.split(US);
    // One literal in MEMBER_KEYS order: a fixed object shape, much cheaper than keys added in a loop.
    const member = {
      insurerNumber: v[2], insurerName: v[3], symbol: v[4], number: v[5], branch: v[6], relationship: v[7], name: v[8], nameKana: v[9],
      birthDate: v[10], sex: v[11], address: v[12], postalCode: orNull(v[13]), qualifiedFrom: v[14], lostOn: orNull(v[15]),
      copayRate: Number(v[16]), paperCardIssuedOn: orNull(v[17]), paperCardExpiresOn: orNull(v[18]), validFrom: v[19],
    };
    const a: Record<string, unknown> = { result: 'valid', asOf: v[1], member };
    const lc = v[MEMBER_KEYS.length + 2];
    if (lc === 'n') a.limitCategory = null;
    else if (lc !== 'a') a.limitCategory = lc.slice(1);
    return a as unknown as RowAnswer;
  }
  if (kind === 0x49 /* I */) {
    const v = s.split(US);
    const a: Record<string, unknown> = { result: 'invalid', asOf: v[1], reason: v[2], message: v[3], messageJa: v[4] };
    if (v[5] !== NIL) a.details = JSON.parse(v[5]);
    if (v[6] !== NIL) a.newEligibilityExists = v[6] === '1';
    return a as unknown as RowAnswer;
  }
  return JSON.parse(s.slice(1)) as RowAnswer;
}

/** The result of an encoded answer, without decoding it. */
export function resultOfEncoded(s: string): 'valid' | 'invalid' | 'error' {
  const kind = s.charCodeAt(0);
  if (kind === 0x56) return 'valid';
  if (kind === 0x49) return 'invalid';
  return (JSON.parse(s.slice(1)) as RowAnswer).result;
}
