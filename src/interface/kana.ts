// Half-width katakana (半角カナ), as the real interface writes NameKana: ｼﾝﾘｮｳ ﾀﾛｳ. The registry keeps
// readings in full-width katakana; this converts them (voiced kana split into kana + ﾞ/ﾟ).

const FULL = '。「」、・ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン゛゜';
const toHalf = new Map<string, string>();
for (let i = 0; i < FULL.length; i++) toHalf.set(FULL[i], String.fromCharCode(0xff61 + i));
toHalf.set('\u3000', ' ');
toHalf.set('ヰ', 'ｲ');
toHalf.set('ヱ', 'ｴ');
toHalf.set('ヮ', 'ﾜ');
toHalf.set('ヵ', 'ｶ');
toHalf.set('ヶ', 'ｹ');
toHalf.set('－', 'ｰ');
toHalf.set('‐', 'ｰ');

// Voiced and semi-voiced kana decompose (NFD) into the base kana plus U+3099/U+309A.
const COMBINING: Record<string, string> = { '\u3099': 'ﾞ', '\u309a': 'ﾟ' };

/** Full-width katakana (and hiragana) to half-width; other characters pass through unchanged. */
export function toHalfWidthKana(s: string): string {
  let out = '';
  for (const ch of s.normalize('NFD')) {
    const code = ch.charCodeAt(0);
    // Hiragana → katakana first (ぁ..ゖ → ァ..ヶ).
    const kata = code >= 0x3041 && code <= 0x3096 ? String.fromCharCode(code + 0x60) : ch;
    if (kata === 'ヴ') out += 'ｳﾞ';
    else out += COMBINING[kata] ?? toHalf.get(kata) ?? kata;
  }
  return out;
}
