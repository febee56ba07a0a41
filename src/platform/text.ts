// The one rule for free text entering onshi (names, kana, addresses, labels, organisation names …).
// Pure: no I/O.
//
// A text value is refused with the field error `forbidden_character` when it holds
//   - a C0 control U+0000–U+001F (tab, CR and LF included: every field is a single line, unless a
//     validator declares it multi-line, which then allows LF and CR only), DEL U+007F, or a C1
//     control U+0080–U+009F: they corrupt XML (a NUL is not well-formed), CSV lines and PDFs;
//   - a lone surrogate (half of a UTF-16 pair): no encoding can write it;
//   - a bidirectional control U+202A–U+202E or U+2066–U+2069: they make a name or an address read
//     differently on screen than it is stored ("Trojan Source").
// and with `too_long` when it has more code points than the field's maximum (TEXT_MAX; where
// INTERFACE.md fixes a length, that length).
//
// Shift_JIS (one rule, README "Text"): onshi stores Unicode. Where the real interface requires
// JIS X 0208 — Shift_JIS (CP932) files — a character Shift_JIS cannot represent (𠮷, 😀, …) is never
// replaced by "?": a Shift_JIS output that would need one is refused as a whole, listing each row
// and column that holds one (`not_encodable`, the print CSVs answer 422 ONSHI_EXPORT_NOT_ENCODABLE
// and are available in UTF-8); a Shift_JIS XML result that cannot carry a value is written in UTF-8
// and says so in CharacterCodeIdentifier (interface/codec.ts); a Shift_JIS input cannot hold such a
// character, and one whose bytes are not valid Shift_JIS is refused (interface/xml.ts).

import iconv from 'iconv-lite';
import { fieldError, type FieldError } from './errors.ts';

/** Maximum lengths (code points) of the kinds of free text. */
export const TEXT_MAX = {
  /** 氏名 and other person names. */
  name: 100,
  /** フリガナ. */
  kana: 100,
  /** 住所 and other addresses. */
  address: 200,
  /** Names of facilities, insurers, employers, organisations, disasters. */
  organisationName: 100,
  /** Labels, short free notes. */
  label: 200,
  /** Longer free text (descriptions, notes). */
  note: 2000,
  /** Anything else free: a safe bound. */
  other: 256,
} as const;

// Lone surrogates only: with the `u` flag a well-formed pair is one code point and does not match.
const FORBIDDEN_SINGLE_LINE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u;
const FORBIDDEN_MULTI_LINE = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u;

/** The first forbidden character of a text (for the message), or undefined when there is none. */
export function forbiddenCharacter(s: string, multiline = false): string | undefined {
  const m = (multiline ? FORBIDDEN_MULTI_LINE : FORBIDDEN_SINGLE_LINE).exec(s);
  return m === null ? undefined : m[0];
}

export function hasForbiddenCharacter(s: string, multiline = false): boolean {
  return (multiline ? FORBIDDEN_MULTI_LINE : FORBIDDEN_SINGLE_LINE).test(s);
}

/** Length in code points (a surrogate pair, e.g. 𠮷, counts once). */
export function codePointLength(s: string): number {
  let n = s.length;
  // Only texts with surrogates differ from their UTF-16 length.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** U+XXXX of a character, for messages (a control cannot be shown as itself). */
export function describeCharacter(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

export interface TextRule {
  /** Maximum length in code points. */
  max: number;
  /** Absent, null and '' are refused with `required` (else they pass: the field is optional). */
  required?: boolean;
  /** LF and CR allowed (a free note); every other field is one line. */
  multiline?: boolean;
}

/**
 * The field error of a free-text value, or undefined when it passes: not a string → `format`; blank
 * (white space only) → `format`; a forbidden character → `forbidden_character`; longer than the
 * maximum → `too_long`.
 */
export function textError(field: string, value: unknown, rule: TextRule): FieldError | undefined {
  if (value === undefined || value === null || value === '') return rule.required ? fieldError(field, 'required') : undefined;
  if (typeof value !== 'string') return fieldError(field, 'format', 'text');
  const bad = forbiddenCharacter(value, rule.multiline);
  if (bad !== undefined) return fieldError(field, 'forbidden_character', describeCharacter(bad));
  if (value.trim() === '') return fieldError(field, 'format', 'blank');
  if (value.length > rule.max && codePointLength(value) > rule.max) return fieldError(field, 'too_long', `at most ${rule.max} characters`);
  return undefined;
}

/** Pushes the field error of a value, if any, and says whether the value passed. */
export function checkText(errors: FieldError[], field: string, value: unknown, rule: TextRule): boolean {
  const e = textError(field, value, rule);
  if (e) errors.push(e);
  return e === undefined;
}

// ------------------------------------------------------------ Shift_JIS (JIS X 0208)

/** Per code point: whether CP932 has a code for it (iconv writes "?" for one it has not). */
const sjisKnown = new Map<number, boolean>();

function encodableInShiftJis(cp: number): boolean {
  if (cp < 0x80) return true;
  let ok = sjisKnown.get(cp);
  if (ok === undefined) {
    const ch = String.fromCodePoint(cp);
    const bytes = iconv.encode(ch, 'cp932');
    // A character CP932 writes under another code point's code (〜 as ～, the JIS mapping variants)
    // is still written; only "?" means there is no code.
    ok = !(bytes.length === 1 && bytes[0] === 0x3f);
    sjisKnown.set(cp, ok);
  }
  return ok;
}

/** The distinct characters of a text that Shift_JIS (CP932) cannot represent, in order of appearance. */
export function notEncodableInShiftJis(s: string): string[] {
  const out: string[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (!encodableInShiftJis(cp) && !out.includes(ch)) out.push(ch);
  }
  return out;
}

/** Shift_JIS (CP932) bytes of a text, or undefined when some character has no code (never a silent "?"). */
export function encodeShiftJis(s: string): Buffer | undefined {
  // Fast: pure ASCII is its own bytes.
  if (!/[^\x00-\x7f]/.test(s)) return Buffer.from(s, 'latin1');
  if (notEncodableInShiftJis(s).length > 0) return undefined;
  return iconv.encode(s, 'cp932');
}
