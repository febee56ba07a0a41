// The fast paths of xml.ts against what they stand in for: the plain well-formedness check never
// accepts what fast-xml-parser's validator refuses, the CP932 tables give iconv's bytes and text, and
// the byte writer gives the bytes of the rendered text.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { XMLValidator } from 'fast-xml-parser';
import { families, renderBySchema, writeBySchemaBytes, type Msg } from './schema.ts';
import { decodeCp932Fast, encodeShiftJisStrict, isPlainWellFormed } from './xml.ts';

const fixtures = join(import.meta.dirname, '../../test/fixtures/interface');
const texts = readdirSync(fixtures).map((f) => {
  const bytes = readFileSync(join(fixtures, f));
  return f.includes('sjis') ? iconv.decode(bytes, 'cp932') : bytes.toString('utf8');
});

/** iconv's CP932 bytes, or undefined when a character has none (the rule the table replaces). */
function iconvStrict(s: string): Buffer | undefined {
  const bytes = iconv.encode(s, 'cp932');
  const inText = s.split('?').length - 1;
  let inBytes = 0;
  for (const b of bytes) if (b === 0x3f) inBytes++;
  return inText === inBytes ? bytes : undefined;
}

describe('plain well-formedness check', () => {
  it('accepts the well-formed fixtures and refuses the malformed one', () => {
    for (const t of texts) expect(isPlainWellFormed(t)).toBe(XMLValidator.validate(t) === true);
  });

  it('never accepts a text the validator refuses (fixtures cut, spliced and altered)', () => {
    const markup = ['<', '>', '/', '&', '&amp;', '<!-- c -->', '<?pi x?>', '<![CDATA[x]]>', ' a="1"', '\n', ' ', 'x', '<A>', '</A>', '<A/>', '</XmlMsg>', '<?xml version="1.0"?>', '\ufeff'];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: texts.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 40 }), fc.constantFrom(...markup)), { minLength: 1, maxLength: 4 }), (which, edits) => {
        let t = texts[which];
        for (const [at, cut, insert] of edits) {
          const p = at % (t.length + 1);
          t = t.slice(0, p) + insert + t.slice(p + cut);
        }
        if (isPlainWellFormed(t)) expect(XMLValidator.validate(t)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('CP932 tables', () => {
  it('encode every BMP character as iconv does, or refuse it as iconv would write "?"', () => {
    for (let u = 0; u < 0x10000; u += 1) {
      const s = `a${String.fromCharCode(u)}?`;
      const want = iconvStrict(s);
      const got = encodeShiftJisStrict(s);
      if (want === undefined) expect(got, u.toString(16)).toBeUndefined();
      else expect(got?.equals(want), u.toString(16)).toBe(true);
    }
    expect(encodeShiftJisStrict('a😀b')).toBeUndefined();
  });

  it('decode bytes as iconv does, or leave them to iconv', () => {
    for (let a = 0x80; a < 0x100; a++) {
      for (let b = 0; b < 0x100; b++) {
        const bytes = Buffer.from([0x41, a, b, 0x42]);
        const got = decodeCp932Fast(bytes);
        if (got !== undefined) expect(got).toBe(iconv.decode(bytes, 'cp932'));
      }
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (arr) => {
        const got = decodeCp932Fast(Buffer.from(arr));
        if (got !== undefined) expect(got).toBe(iconv.decode(Buffer.from(arr), 'cp932'));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('byte writer', () => {
  const unit: Msg = {
    QualificationConfirmSearchInfo: { InsurerNumber: '  139014', InsuredIdentificationNumber: '12&<>"3', Birthdate: '19800401' },
    ProcessingResultStatus: '1',
    QualificationValidity: '1',
    ResultOfQualificationConfirmation: { Name: '山田　太郎', NameKana: 'ﾔﾏﾀﾞ ﾀﾛｳ', Address: '東京都千代田区', ElderlyRecipientCertificateInfo: { ElderlyRecipientContributionRatio: '020' } },
  };
  const msg: Msg = { MessageHeader: { SegmentOfResult: '1', CharacterCodeIdentifier: '1' }, MessageBody: { BulkConfirmUnit: [unit, { ...unit, ReferenceNumber: 'A1' }, {}] } };

  it('writes the bytes of the rendered text, in UTF-8 and Shift_JIS', () => {
    const schema = families.OQSmuquc02.result;
    expect(writeBySchemaBytes('XmlMsg', msg, schema, '0')!.equals(Buffer.from(renderBySchema('XmlMsg', msg, schema, '0'), 'utf8'))).toBe(true);
    expect(writeBySchemaBytes('XmlMsg', msg, schema, '1')!.equals(iconv.encode(renderBySchema('XmlMsg', msg, schema, '1'), 'cp932'))).toBe(true);
  });

  it('refuses Shift_JIS for a character CP932 cannot carry, and grows past its scratch buffer', () => {
    const schema = families.OQSmuquc02.result;
    const many: Msg = { MessageBody: { BulkConfirmUnit: Array.from({ length: 2000 }, () => unit) } };
    expect(writeBySchemaBytes('XmlMsg', many, schema, '1')!.equals(iconv.encode(renderBySchema('XmlMsg', many, schema, '1'), 'cp932'))).toBe(true);
    const odd: Msg = { MessageBody: { BulkConfirmUnit: [{ ...unit, ProcessingResultMessage: '𠮷野家' }] } };
    expect(writeBySchemaBytes('XmlMsg', odd, schema, '1')).toBeUndefined();
    expect(writeBySchemaBytes('XmlMsg', odd, schema, '0')!.equals(Buffer.from(renderBySchema('XmlMsg', odd, schema, '0'), 'utf8'))).toBe(true);
  });
});
