import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import type { ConfirmationAnswer, EligibilityRecord } from '../confirmation/service.ts';
import { documentInvalidReasons, invalidReasons } from '../confirmation/rules.ts';
import {
  compactTime,
  decodeRequest,
  decodeResult,
  effectiveCharacterCode,
  encodeRequest,
  encodeResult,
  encodeResultFitting,
  inquiryOf,
  normaliseInsurerNumber,
  paddedInsurerNumber,
  personResult,
  requestFileName,
  resultCharacterCode,
  resultFileNameOf,
  REQUEST_ELEMENT_DEFAULT_MAX,
  REQUEST_ELEMENT_MAX,
} from './codec.ts';
import { validityOfInvalid } from './codes.ts';
import { toHalfWidthKana } from './kana.ts';
import { families, type FamilyName, type Msg, type Schema } from './schema.ts';
import { detectEncoding } from './xml.ts';

const sjis = (s: string) => iconv.encode(s, 'cp932');
const utf8 = (s: string) => Buffer.from(s, 'utf8');

const singleRequest = (decl: string, search: string, header = '') => `<?xml version="1.0" encoding="${decl}" standalone="no"?>
<XmlMsg>
  <MessageBody>
    <QualificationConfirmSearchInfo>
${search}
    </QualificationConfirmSearchInfo>
  </MessageBody>
  <MessageHeader>
    <ArbitraryFileIdentifier>abc-001</ArbitraryFileIdentifier>
    <MedicalInstitutionCode>1310000013</MedicalInstitutionCode>
    <QualificationConfirmationDate>20241125</QualificationConfirmationDate>${header}
  </MessageHeader>
</XmlMsg>`;

const search = `      <Birthdate>19800401</Birthdate>
      <InsuredBranchNumber></InsuredBranchNumber>
      <InsuredIdentificationNumber>３４５６</InsuredIdentificationNumber>
      <InsuredCardSymbol>記号１２</InsuredCardSymbol>
      <InsurerNumber>  123456</InsurerNumber>
      <LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg>`;

describe('file names', () => {
  it('knows the families onshi serves and names the result req → res', () => {
    expect(requestFileName('OQSsiquc01req_202411240001.xml')).toEqual({ family: 'OQSsiquc01', resultFileName: 'OQSsiquc01res_202411240001.xml' });
    expect(requestFileName('OQSmuquc01req_x.xml')?.family).toBe('OQSmuquc01');
    expect(requestFileName('OQSmuquc02req_20241124_0001.xml')?.resultFileName).toBe('OQSmuquc02res_20241124_0001.xml');
    // 照会番号 registration (README: the decisions where INTERFACE.md §2.6 is thin).
    expect(requestFileName('OQSsiimm01req_1.xml')).toEqual({ family: 'OQSsiimm01', resultFileName: 'OQSsiimm01res_1.xml' });
    expect(requestFileName('OQSmuimm01req_1.xml')?.resultFileName).toBe('OQSmuimm01res_1.xml');
    expect(requestFileName('OQSmutic01req_1.xml')).toBeUndefined();
    expect(requestFileName('OQSsiquc01res_1.xml')).toBeUndefined();
    expect(requestFileName('OQSsiquc01req_..x.xml')).toBeUndefined();
    expect(requestFileName('OQSsiquc01req_a/b.xml')).toBeUndefined();
    expect(requestFileName('OQSsiquc01req_1.err')).toBeUndefined();
    expect(resultFileNameOf('OQSmuquc02req_req_1.xml')).toBe('OQSmuquc02res_req_1.xml');
    // Refused names: controls, bidi controls, quotes, over 200 characters; their result name is fixed.
    for (const name of ['OQSsiquc01req_a\r\nb.xml', 'OQSsiquc01req_\u202egnp.xml', 'OQSsiquc01req_a"b.xml', `OQSsiquc01req_${'a'.repeat(201)}.xml`, '../../etc/passwd']) {
      expect(requestFileName(name), JSON.stringify(name)).toBeUndefined();
      expect(resultFileNameOf(name)).toBe('OQSres_refused.xml');
    }
    expect(requestFileName(`OQSsiquc01req_${'a'.repeat(200)}.xml`)).toBeDefined();
  });
});

describe('reading requests', () => {
  it.each([
    ['UTF-8', utf8],
    ['Shift_JIS', sjis],
    ['Windows-31J', sjis],
  ])('reads %s by the declaration, in any order, keeping padding and zeros', (decl, encode) => {
    const r = decodeRequest('OQSsiquc01', encode(singleRequest(decl, search)));
    expect(r.encoding).toBe(decl === 'UTF-8' ? 'utf8' : 'sjis');
    const header = r.msg.MessageHeader as Msg;
    expect(header).toEqual({ QualificationConfirmationDate: '20241125', MedicalInstitutionCode: '1310000013', ArbitraryFileIdentifier: 'abc-001' });
    const s = (r.msg.MessageBody as Msg).QualificationConfirmSearchInfo as Msg;
    expect(s).toEqual({
      InsurerNumber: '  123456',
      InsuredCardSymbol: '記号１２',
      InsuredIdentificationNumber: '３４５６',
      Birthdate: '19800401',
      LimitApplicationCertificateRelatedConsFlg: '1',
    });
    expect(inquiryOf(s, header.QualificationConfirmationDate as string)).toEqual({
      insurerNumber: '123456',
      symbol: '記号１２',
      number: '３４５６',
      branch: undefined,
      birthDate: '1980-04-01',
      asOf: '2024-11-25',
    });
  });

  it('reads comments, CDATA, attributes, entities, character references, a DOCTYPE and self-closing elements', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE XmlMsg [ <!ELEMENT XmlMsg ANY> ]>
<!-- a comment -->
<XmlMsg version="1" note='a > b'>
  <MessageHeader><!-- inside --><MedicalInstitutionCode a="x">1310000013</MedicalInstitutionCode><ArbitraryFileIdentifier><![CDATA[<id&1>]]></ArbitraryFileIdentifier></MessageHeader>
  <MessageBody>
    <QualificationConfirmSearchInfo>
      <InsuredCardSymbol>A&amp;B &lt;&#x41;&#66;&gt; &quot;&apos;</InsuredCardSymbol>
      <InsuredBranchNumber/>
      <__proto__>x</__proto__>
      <InsuredIdentificationNumber>12</InsuredIdentificationNumber>
    </QualificationConfirmSearchInfo>
  </MessageBody>
</XmlMsg>`;
    const r = decodeRequest('OQSsiquc01', utf8(xml));
    expect(r.msg).toEqual({
      MessageHeader: { MedicalInstitutionCode: '1310000013', ArbitraryFileIdentifier: '<id&1>' },
      MessageBody: { QualificationConfirmSearchInfo: { InsuredCardSymbol: 'A&B <AB> "\'', InsuredIdentificationNumber: '12' } },
    });
    expect(Object.getPrototypeOf(r.msg)).toBe(Object.prototype);
  });

  it('reads a UTF-8 byte-order mark and defaults to UTF-8 without a declaration', () => {
    expect(detectEncoding(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8('<XmlMsg/>')]))).toBe('utf8');
    expect(detectEncoding(utf8('<XmlMsg/>'))).toBe('utf8');
    expect(detectEncoding(utf8("<?xml version='1.0' encoding='shift_jis'?><XmlMsg/>"))).toBe('sjis');
    const r = decodeRequest('OQSsiquc01', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(singleRequest('UTF-8', search))]));
    expect(((r.msg.MessageBody as Msg).QualificationConfirmSearchInfo as Msg).InsuredCardSymbol).toBe('記号１２');
  });

  it.each([
    ['not XML', utf8('hello')],
    ['unclosed', utf8('<XmlMsg><MessageHeader></XmlMsg>')],
    ['another root', utf8('<?xml version="1.0"?><Other/>')],
    ['an unknown encoding', utf8('<?xml version="1.0" encoding="EBCDIC"?><XmlMsg/>')],
    ['bad UTF-8', Buffer.concat([utf8('<?xml version="1.0" encoding="UTF-8"?><XmlMsg><A>'), Buffer.from([0xff, 0xfe]), utf8('</A></XmlMsg>')])],
    ['empty', Buffer.alloc(0)],
  ])('refuses %s as ONSHI_INTERFACE_MALFORMED', (_name, bytes) => {
    expect(() => decodeRequest('OQSsiquc01', bytes)).toThrow(expect.objectContaining({ code: 'ONSHI_INTERFACE_MALFORMED' }));
  });

  it('reads every search block of a bulk upload in document order and skips empty ones', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?><XmlMsg><MessageBody>
      <QualificationConfirmSearchInfo><InsurerNumber>06139992</InsurerNumber><InsuredIdentificationNumber>1</InsuredIdentificationNumber></QualificationConfirmSearchInfo>
      <QualificationConfirmSearchInfo></QualificationConfirmSearchInfo>
      <QualificationConfirmSearchInfo><InsuredIdentificationNumber>2</InsuredIdentificationNumber><InsurerNumber>00123456</InsurerNumber></QualificationConfirmSearchInfo>
    </MessageBody><MessageHeader><MedicalInstitutionCode>1310000013</MedicalInstitutionCode></MessageHeader></XmlMsg>`;
    const list = (decodeRequest('OQSmuquc01', utf8(xml)).msg.MessageBody as Msg).QualificationConfirmSearchInfo as Msg[];
    expect(list.map((s) => [normaliseInsurerNumber(s.InsurerNumber as string), s.InsuredIdentificationNumber])).toEqual([
      ['06139992', '1'],
      ['123456', '2'],
    ]);
  });

  it('normalises 6-digit insurer numbers padded with spaces or zeros, never an 8-digit one', () => {
    expect(normaliseInsurerNumber('  123456')).toBe('123456');
    expect(normaliseInsurerNumber('00123456')).toBe('123456');
    expect(normaliseInsurerNumber('123456')).toBe('123456');
    expect(normaliseInsurerNumber('06139992')).toBe('06139992');
    expect(normaliseInsurerNumber('01130012 ')).toBe('01130012');
    expect(paddedInsurerNumber('123456')).toBe('  123456');
    expect(paddedInsurerNumber('06139992')).toBe('06139992');
  });
});

describe('writing results', () => {
  const member: EligibilityRecord = {
    insurerNumber: '123456',
    insurerName: '千代田区',
    symbol: '記号',
    number: '0012',
    branch: '01',
    relationship: 'family',
    name: '診療　花子',
    nameKana: 'シンリョウ　ハナコ',
    birthDate: '1952-03-01',
    sex: 'female',
    address: '東京都千代田区',
    postalCode: '100-0001',
    qualifiedFrom: '2019-10-01',
    lostOn: null,
    copayRate: 20,
    paperCardIssuedOn: '2019-10-01',
    paperCardExpiresOn: null,
    validFrom: '2020-04-01',
  };

  it('writes the elements in order with codes, YYYYMMDD dates, half-width kana and padded insurers', () => {
    const answer: ConfirmationAnswer = { result: 'valid', confirmationId: 'c', asOf: '2024-11-25', member, limitCategory: 'A03' };
    const person = personResult(answer, { LimitApplicationCertificateRelatedConsFlg: '1', ArbitraryIdentifier: 'row-7' }, '20241125093000');
    const xml = encodeResult('OQSsiquc01', { MessageHeader: { ProcessExecutionTime: '20241125093000', SegmentOfResult: '1', CharacterCodeIdentifier: '0' }, MessageBody: { ...person, ResultOfQualificationConfirmation: undefined, ResultList: { ResultOfQualificationConfirmation: [person.ResultOfQualificationConfirmation as Msg] } } }, '0').toString('utf8');
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<XmlMsg>\n  <MessageHeader>\n    <ProcessExecutionTime>20241125093000</ProcessExecutionTime>\n    <SegmentOfResult>1</SegmentOfResult>')).toBe(true);
    for (const line of [
      '<InsuredCardClassification>01</InsuredCardClassification>',
      '<InsurerNumber>  123456</InsurerNumber>',
      '<InsuredBranchNumber>01</InsuredBranchNumber>',
      '<PersonalFamilyClassification>2</PersonalFamilyClassification>',
      '<Name>診療　花子</Name>',
      '<NameKana>ｼﾝﾘｮｳ ﾊﾅｺ</NameKana>',
      '<Sex1>2</Sex1>',
      '<Birthdate>19520301</Birthdate>',
      '<QualificationDate>20191001</QualificationDate>',
      '<ElderlyRecipientContributionRatio>020</ElderlyRecipientContributionRatio>',
      '<LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg>',
      '<LimitApplicationCertificateClassificationFlag>A03</LimitApplicationCertificateClassificationFlag>',
      '<LimitApplicationCertificateClassification>01</LimitApplicationCertificateClassification>',
      '<ArbitraryIdentifier>row-7</ArbitraryIdentifier>',
      '<QualificationValidity>1</QualificationValidity>',
    ]) expect(xml).toContain(line);
    expect(xml.indexOf('<InsuredCardClassification>')).toBeLessThan(xml.indexOf('<InsurerNumber>'));
    expect(xml).not.toContain('DisqualificationDate');
    expect(xml).not.toContain('InsuredPartialContributionRatio');
  });

  it('writes 後期高齢 copay as InsuredPartialContributionRatio and leaves out limit info without consent', () => {
    const answer: ConfirmationAnswer = { result: 'valid', confirmationId: 'c', asOf: '2024-11-25', member: { ...member, insurerNumber: '39131156', copayRate: 10, birthDate: '1940-01-01' }, limitCategory: 'B04' };
    const r = personResult(answer, { LimitApplicationCertificateRelatedConsFlg: '0' }).ResultOfQualificationConfirmation as Msg;
    expect(r.InsuredPartialContributionRatio).toBe('010');
    expect(r.ElderlyRecipientCertificateInfo).toBeUndefined();
    expect(r.LimitApplicationCertificateRelatedInfo).toBeUndefined();
    expect(r.LimitApplicationCertificateRelatedConsFlg).toBe('0');
    expect(r.InsurerNumber).toBe('39131156');
  });

  it('maps each invalid reason to its validity and code, and an input error to status 2', () => {
    const codes = new Set<string>();
    const all = [...invalidReasons, ...documentInvalidReasons];
    for (const reason of all) {
      const p = personResult({ result: 'invalid', confirmationId: 'c', asOf: '2024-11-25', reason, message: 'm', messageJa: '無効' }, undefined);
      expect(p.ProcessingResultStatus).toBe('1');
      expect(p.QualificationValidity).toBe(validityOfInvalid(reason, undefined));
      expect(p.ProcessingResultCode).toMatch(/^ONSI21\d\dW$/);
      codes.add(p.ProcessingResultCode as string);
    }
    expect(codes.size).toBe(all.length);
    expect(validityOfInvalid('no_such_member', undefined)).toBe('4');
    expect(validityOfInvalid('several_match', undefined)).toBe('5');
    expect(validityOfInvalid('eligibility_lost', true)).toBe('3');
    expect(validityOfInvalid('eligibility_lost', false)).toBe('2');
  });

  it('maps the paper-card transition reasons to 無効 (2) with ONSI2107W / ONSI2108W and the catalogue message, no record', () => {
    const paper = personResult(
      { result: 'invalid', confirmationId: 'c', asOf: '2025-12-02', reason: 'paper_card_no_longer_usable', message: 'm', messageJa: 'この被保険者証は使用できません。', details: { paperCardUsableUntil: '2025-12-01' } },
      { ArbitraryIdentifier: 'row-1' },
    );
    expect(paper).toEqual({ ProcessingResultStatus: '1', ProcessingResultCode: 'ONSI2107W', ProcessingResultMessage: 'この被保険者証は使用できません。', QualificationValidity: '2' });
    const certificate = personResult({ result: 'invalid', confirmationId: 'c', asOf: '2025-12-02', reason: 'no_valid_certificate', message: 'm', messageJa: '有効な資格確認書がありません。' }, undefined);
    expect(certificate).toEqual({ ProcessingResultStatus: '1', ProcessingResultCode: 'ONSI2108W', ProcessingResultMessage: '有効な資格確認書がありません。', QualificationValidity: '2' });
    // A new eligibility elsewhere does not turn a refused document into 3: that is eligibility_lost's.
    expect(validityOfInvalid('paper_card_no_longer_usable', true)).toBe('2');
    expect(validityOfInvalid('no_valid_certificate', true)).toBe('2');
  });

  it('maps the rest of an invalid answer: the loss record and an input error', () => {
    const lost = personResult({ result: 'invalid', confirmationId: 'c', asOf: '2024-11-25', reason: 'eligibility_lost', message: 'm', messageJa: '喪失', details: { lostOn: '2024-10-01', lossReason: 'death' } }, undefined);
    expect(lost.ResultOfQualificationConfirmation).toEqual({ DisqualificationDate: '20241001', ReasonOfLoss: '01' });
    const err = personResult(
      { result: 'error', confirmationId: 'c', code: 'ONSHI_CONFIRMATION_INVALID_INPUT', message: 'x', messageJa: '照会項目に誤りがあります。', errors: [{ field: 'birthDate', code: 'required', ja: 'birthDate: 必須項目です。', en: '' }] },
      undefined,
    );
    expect(err).toEqual({ ProcessingResultStatus: '2', ProcessingResultCode: 'ONSI2001E', ProcessingResultMessage: '照会項目に誤りがあります。（Birthdate: 必須項目です。）' });
  });

  it('honours CharacterCodeIdentifier, else answers in the request encoding; falls back to UTF-8 for text Shift_JIS lacks', () => {
    expect(resultCharacterCode({ CharacterCodeIdentifier: '1' }, 'utf8')).toBe('1');
    expect(resultCharacterCode({ CharacterCodeIdentifier: '0' }, 'sjis')).toBe('0');
    expect(resultCharacterCode({}, 'sjis')).toBe('1');
    expect(resultCharacterCode(undefined, 'utf8')).toBe('0');
    expect(effectiveCharacterCode({ Name: '山田　太郎' }, '1')).toBe('1');
    expect(effectiveCharacterCode({ Name: '𠮷田' }, '1')).toBe('0');
    const bytes = encodeResult('OQSsiquc01', { MessageHeader: { SegmentOfResult: '1', CharacterCodeIdentifier: '1' }, MessageBody: { ProcessingResultMessage: '該当資格なし' } }, '1');
    expect(bytes.includes(Buffer.from('該当', 'utf8'))).toBe(false);
    expect(iconv.decode(bytes, 'cp932')).toContain('encoding="Shift_JIS"');
    expect(decodeResult('OQSsiquc01', bytes).msg).toEqual({ MessageHeader: { SegmentOfResult: '1', CharacterCodeIdentifier: '1' }, MessageBody: { ProcessingResultMessage: '該当資格なし' } });
  });

  it('writes Shift_JIS only when every character fits, question marks included', () => {
    const msg = (name: string): Msg => ({ MessageHeader: { SegmentOfResult: '1' }, MessageBody: { ProcessingResultMessage: name } });
    const ok = encodeResultFitting('OQSsiquc01', msg('本当？ ok? ①'), '1');
    expect(ok.characterCode).toBe('1');
    expect(decodeResult('OQSsiquc01', ok.bytes).msg).toEqual({ MessageHeader: { SegmentOfResult: '1', CharacterCodeIdentifier: '1' }, MessageBody: { ProcessingResultMessage: '本当？ ok? ①' } });
    const fallback = encodeResultFitting('OQSsiquc01', msg('𠮷田? 🙂'), '1');
    expect(fallback.characterCode).toBe('0');
    expect(fallback.bytes.toString('utf8')).toContain('encoding="UTF-8"');
    expect(decodeResult('OQSsiquc01', fallback.bytes).msg).toEqual({ MessageHeader: { SegmentOfResult: '1', CharacterCodeIdentifier: '0' }, MessageBody: { ProcessingResultMessage: '𠮷田? 🙂' } });
    expect(encodeResultFitting('OQSsiquc01', msg('山田'), '0').characterCode).toBe('0');
  });

  it('converts kana to half width and times to JST', () => {
    expect(toHalfWidthKana('ヤマダ　タロウ')).toBe('ﾔﾏﾀﾞ ﾀﾛｳ');
    expect(toHalfWidthKana('ジョン・スミス')).toBe('ｼﾞｮﾝ･ｽﾐｽ');
    expect(toHalfWidthKana('ぱぴぷ')).toBe('ﾊﾟﾋﾟﾌﾟ');
    expect(compactTime(new Date('2024-11-30T15:04:05Z'))).toBe('20241201000405');
  });
});

// ---------------------------------------------------------------- round trips

/** Values as the interface carries them: no surrounding white space, Shift_JIS-safe, with XML's special characters. */
const valueArb = fc
  .array(fc.constantFrom(...'0123456789AZaz-_&<>"\'　山田太郎花子ｼﾝﾘｮｳﾀﾛ記号１２３ー・'.split('')), { minLength: 1, maxLength: 12 })
  .map((cs) => cs.join(''))
  .filter((s) => s.trim() === s && s.replace(/^[\u3000]+|[\u3000]+$/g, '') === s);

/** A value within a request element's bound (REQUEST_ELEMENT_MAX): longer ones are refused, not read. */
const boundedValueArb = (name: string) => valueArb.filter((v) => [...v].length <= (REQUEST_ELEMENT_MAX[name] ?? REQUEST_ELEMENT_DEFAULT_MAX));

// Schemas are finite trees (no recursion), so the arbitrary follows them all the way down.
function msgArb(schema: Schema, bounded = false): fc.Arbitrary<Msg> {
  const entries: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of schema) {
    if (typeof f === 'string') entries[f] = bounded ? boundedValueArb(f) : valueArb;
    else entries[f.group] = f.many ? fc.array(nonEmpty(f.schema, bounded), { minLength: 1, maxLength: 3 }) : nonEmpty(f.schema, bounded);
  }
  return fc.record(entries, { requiredKeys: [] }) as fc.Arbitrary<Msg>;
}

/** A group with at least one element (an empty group reads back as absent). */
function nonEmpty(schema: Schema, bounded = false): fc.Arbitrary<Msg> {
  const first = schema[0];
  const key = typeof first === 'string' ? first : first.group;
  const firstArb = typeof first === 'string' ? (bounded ? boundedValueArb(first) : valueArb) : first.many ? fc.array(nonEmpty(first.schema, bounded), { minLength: 1, maxLength: 2 }) : nonEmpty(first.schema, bounded);
  return fc.tuple(msgArb(schema, bounded), firstArb).map(([m, v]) => ({ ...m, [key]: m[key] ?? v }) as Msg);
}

/** Shuffles element order in written XML: parsing must not care. */
function shuffleChildren(xml: string, seed: number): string {
  const lines = xml.split('\n');
  // Reverse runs of sibling leaf lines at the same indentation (a deterministic "shuffle").
  const out: string[] = [];
  let run: string[] = [];
  let indent = -1;
  const flush = () => {
    out.push(...(seed % 2 === 0 ? run.reverse() : run.slice(seed % Math.max(1, run.length)).concat(run.slice(0, seed % Math.max(1, run.length)))));
    run = [];
  };
  for (const line of lines) {
    const leaf = /^( *)<(\w+)>[^<]*<\/\2>$/.exec(line);
    if (leaf && (indent === -1 || leaf[1].length === indent)) {
      indent = leaf[1].length;
      run.push(line);
    } else {
      flush();
      indent = leaf ? leaf[1].length : -1;
      if (leaf) run.push(line);
      else out.push(line);
    }
  }
  flush();
  return out.join('\n');
}

describe.each(Object.keys(families) as FamilyName[])('round trip of %s', (family) => {
  it.each(['0', '1'] as const)('result: write then read gives the same message (character code %s), in any element order', (code) => {
    fc.assert(
      fc.property(msgArb(families[family].result), fc.nat(7), (msg, seed) => {
        const bytes = encodeResult(family, msg, code);
        expect(detectEncoding(bytes)).toBe(code === '1' ? 'sjis' : 'utf8');
        expect(decodeResult(family, bytes).msg).toEqual(msg);
        const text = code === '1' ? iconv.decode(bytes, 'cp932') : bytes.toString('utf8');
        const shuffled = shuffleChildren(text, seed);
        expect(decodeResult(family, code === '1' ? iconv.encode(shuffled, 'cp932') : Buffer.from(shuffled)).msg).toEqual(msg);
      }),
      { numRuns: 60 },
    );
  });

  it('request: write then read gives the same message in both encodings', () => {
    fc.assert(
      fc.property(msgArb(families[family].request, true), fc.constantFrom('0' as const, '1' as const), (msg, code) => {
        expect(decodeRequest(family, encodeRequest(family, msg, code)).msg).toEqual(msg);
      }),
      { numRuns: 100 },
    );
  });
});

describe('padded insurer numbers survive the round trip', () => {
  it('keeps the leading spaces of a 6-digit insurer', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[1-4]\d{5}$/), (n) => {
        const msg = { MessageBody: { QualificationConfirmSearchInfo: { InsurerNumber: paddedInsurerNumber(n) } } };
        const back = decodeRequest('OQSsiquc01', encodeRequest('OQSsiquc01', msg, '1')).msg;
        expect(back).toEqual(msg);
        expect(normaliseInsurerNumber(((back.MessageBody as Msg).QualificationConfirmSearchInfo as Msg).InsurerNumber as string)).toBe(n);
      }),
    );
  });
});
