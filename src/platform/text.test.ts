import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { codePointLength, encodeShiftJis, forbiddenCharacter, notEncodableInShiftJis, textError, TEXT_MAX } from './text.ts';

describe('the text rule', () => {
  const rule = { max: 5, required: true };

  it('passes ordinary Japanese text, full-width spaces and characters outside the BMP', () => {
    for (const s of ['山田　太郎', 'ﾔﾏﾀﾞ', '𠮷野家', 'a-b c', '😀']) expect(textError('name', s, { max: 10 })).toBeUndefined();
  });

  it('refuses C0 (NUL, BEL, tab, CR, LF), DEL and C1 controls with forbidden_character', () => {
    for (const s of ['山田\u0000DROP', 'a\u0007', 'a\tb', 'a\rb', 'a\nb', 'a\u007f', 'a\u0085', 'a\u009f']) {
      const e = textError('name', s, { max: 100 });
      expect(e?.code, JSON.stringify(s)).toBe('forbidden_character');
    }
    expect(textError('name', '山田\u0000DROP', { max: 100 })?.en).toContain('U+0000');
  });

  it('refuses bidi controls U+202A–202E and U+2066–2069', () => {
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
      expect(textError('address', `東京${String.fromCodePoint(cp)}都`, { max: 100 })?.code).toBe('forbidden_character');
    }
    expect(textError('address', '東京\u2065都', { max: 100 })).toBeUndefined();
  });

  it('refuses lone surrogates but not pairs', () => {
    expect(textError('name', 'a\ud842', { max: 10 })?.code).toBe('forbidden_character');
    expect(textError('name', '\udfb7a', { max: 10 })?.code).toBe('forbidden_character');
    expect(textError('name', '\ud842\udfb7', { max: 10 })).toBeUndefined();
  });

  it('multi-line fields allow LF and CR only', () => {
    expect(textError('note', 'a\r\nb', { max: 10, multiline: true })).toBeUndefined();
    expect(textError('note', 'a\tb', { max: 10, multiline: true })?.code).toBe('forbidden_character');
  });

  it('counts the length in code points', () => {
    expect(codePointLength('𠮷𠮷𠮷𠮷𠮷')).toBe(5);
    expect(textError('name', '𠮷𠮷𠮷𠮷𠮷', rule)).toBeUndefined();
    expect(textError('name', '𠮷𠮷𠮷𠮷𠮷𠮷', rule)?.code).toBe('too_long');
    expect(textError('name', 'x'.repeat(TEXT_MAX.name + 1), { max: TEXT_MAX.name })?.code).toBe('too_long');
  });

  it('required, blank and wrong types', () => {
    expect(textError('name', undefined, rule)?.code).toBe('required');
    expect(textError('name', '', rule)?.code).toBe('required');
    expect(textError('name', undefined, { max: 5 })).toBeUndefined();
    expect(textError('name', '   ', rule)?.code).toBe('format');
    expect(textError('name', 5, rule)?.code).toBe('format');
  });

  it('a text passes exactly when it has no forbidden character and fits (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 12 }), (s) => {
        const e = textError('f', s, { max: 8 });
        const forbidden = [...s].some((ch) => {
          const c = ch.codePointAt(0)!;
          return c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || (c >= 0xd800 && c <= 0xdfff);
        });
        if (s === '') expect(e).toBeUndefined();
        else if (forbidden) expect(e?.code).toBe('forbidden_character');
        else if (s.trim() === '') expect(e?.code).toBe('format');
        else if ([...s].length > 8) expect(e?.code).toBe('too_long');
        else expect(e).toBeUndefined();
        expect(forbiddenCharacter(s) !== undefined).toBe(forbidden);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Shift_JIS', () => {
  it('lists the characters CP932 cannot represent, never replacing them', () => {
    expect(notEncodableInShiftJis('𠮷田😀太郎𠮷')).toEqual(['𠮷', '😀']);
    expect(notEncodableInShiftJis('髙﨑①ｱｲ山田')).toEqual([]);
    expect(encodeShiftJis('𠮷')).toBeUndefined();
    expect(encodeShiftJis('山田')!.toString('hex')).toBe('8e529363');
    expect(encodeShiftJis('abc')!.toString()).toBe('abc');
  });
});
