// The bulk result file (OQSmuquc02res, SegmentOfResult 1) written straight from the stored blocks
// (BatchService.allResultBytes, batch/codec.ts). A row whose answer is a plain valid ('V') or invalid
// ('I') answer and whose input is a plain row is cut at US and its unit's text made from the values
// with the very rules of personResult / resultOfQualification (codec.ts): no answer object, no
// record object, no schema walk. Any other row (an error answer, an answer or input stored as JSON,
// a lost eligibility's details, an odd search block) is decoded and written by the code that wrote
// every row before (personResult + the schema writer). Both ways give the same bytes
// (bulk-result.test.ts checks them against that former code, bulk-result-reference.ts).
//
// Tags are bytes made once (ASCII: the same in both encodings), values are written into one buffer
// in the character code; a Shift_JIS file meeting a character CP932 cannot carry is written again in
// UTF-8 (and says so), as encodeResultFitting does.

import { decodeAnswer, decodeInput, INVALID_AT, JSON_ROW, NIL, RS, US, VALID_AT } from '../batch/codec.ts';
import type { RowAnswer } from '../batch/service.ts';
import type { ByteBlock, ByteResultPage } from '../batch/results-csv.ts';
import { invalidReasonCodes, limitCertificateClassification, percent3, relationshipCode, sexCode, validityOfInvalid } from './codes.ts';
import { age, compactDate, normaliseInsurerNumber, paddedInsurerNumber, personResult } from './codec.ts';
import { toHalfWidthKana } from './kana.ts';
import type { MemberNumbers } from './reference-numbers.ts';
import { families, renderGroup, searchInfoSchema, type Msg, type Schema } from './schema.ts';
import { xmlDeclaration, XmlByteWriter, type CharacterCode } from './xml.ts';

const resultSchema = families.OQSmuquc02.result;
const headerSchema = (resultSchema[0] as { schema: Schema }).schema;
const unitSchema = (resultSchema[1] as { schema: Schema }).schema[0] as { group: string; schema: Schema };

/** `indent<name>` and `</name>\n` as bytes (ASCII: the same in both encodings), made once. */
interface Tag {
  open: Buffer;
  close: Buffer;
}
const ascii = (t: string): Buffer => Buffer.from(t, 'latin1');
const tag = (name: string, indent: string): Tag => ({ open: ascii(`${indent}<${name}>`), close: ascii(`</${name}>\n`) });

const U = '    '; // BulkConfirmUnit
const F = '      '; // its fields
const R = '        '; // the record's fields
const G = '          '; // the record's groups' fields

const UNIT_OPEN = ascii(`${U}<BulkConfirmUnit>\n${F}<QualificationConfirmSearchInfo>\n`);
const SEARCH_CLOSE = ascii(`${F}</QualificationConfirmSearchInfo>\n`);
const UNIT_CLOSE = ascii(`${U}</BulkConfirmUnit>\n`);
const SEARCH_TAGS = (searchInfoSchema as readonly string[]).map((k) => ({ key: k, ...tag(k, R) }));
const VALID_HEAD = ascii(
  `${F}<ProcessingResultStatus>1</ProcessingResultStatus>\n${F}<QualificationValidity>1</QualificationValidity>\n${F}<ResultOfQualificationConfirmation>\n${R}<InsuredCardClassification>01</InsuredCardClassification>\n`,
);
const RECORD_CLOSE = ascii(`${F}</ResultOfQualificationConfirmation>\n`);
const INVALID_HEAD = ascii(`${F}<ProcessingResultStatus>1</ProcessingResultStatus>\n`);
const ELDERLY_OPEN = ascii(`${R}<ElderlyRecipientCertificateInfo>\n`);
const ELDERLY_CLOSE = ascii(`${R}</ElderlyRecipientCertificateInfo>\n`);
const LIMIT_OPEN = ascii(`${R}<LimitApplicationCertificateRelatedInfo>\n`);
const LIMIT_CLOSE = ascii(`${R}</LimitApplicationCertificateRelatedInfo>\n`);
const CONSENT = { '0': ascii(`${R}<LimitApplicationCertificateRelatedConsFlg>0</LimitApplicationCertificateRelatedConsFlg>\n`), '1': ascii(`${R}<LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg>\n`) };
const T = {
  InsurerNumber: tag('InsurerNumber', R),
  InsuredCardSymbol: tag('InsuredCardSymbol', R),
  InsuredIdentificationNumber: tag('InsuredIdentificationNumber', R),
  InsuredBranchNumber: tag('InsuredBranchNumber', R),
  PersonalFamilyClassification: tag('PersonalFamilyClassification', R),
  Name: tag('Name', R),
  NameKana: tag('NameKana', R),
  Sex1: tag('Sex1', R),
  Birthdate: tag('Birthdate', R),
  Address: tag('Address', R),
  PostNumber: tag('PostNumber', R),
  QualificationDate: tag('QualificationDate', R),
  DisqualificationDate: tag('DisqualificationDate', R),
  InsuredCertificateIssuanceDate: tag('InsuredCertificateIssuanceDate', R),
  InsuredCardValidDate: tag('InsuredCardValidDate', R),
  InsuredCardExpirationDate: tag('InsuredCardExpirationDate', R),
  InsuredPartialContributionRatio: tag('InsuredPartialContributionRatio', R),
  InsurerName: tag('InsurerName', R),
  ElderlyRecipientValidStartDate: tag('ElderlyRecipientValidStartDate', G),
  ElderlyRecipientContributionRatio: tag('ElderlyRecipientContributionRatio', G),
  LimitApplicationCertificateClassification: tag('LimitApplicationCertificateClassification', G),
  LimitApplicationCertificateClassificationFlag: tag('LimitApplicationCertificateClassificationFlag', G),
  LimitApplicationCertificateValidStartDate: tag('LimitApplicationCertificateValidStartDate', G),
  ArbitraryIdentifier: tag('ArbitraryIdentifier', R),
  ReferenceNumber: tag('ReferenceNumber', F),
  ProcessingResultCode: tag('ProcessingResultCode', F),
  ProcessingResultMessage: tag('ProcessingResultMessage', F),
  QualificationValidity: tag('QualificationValidity', F),
};

/** An element with a text value, as the schema writer writes it: nothing for an absent or empty value. */
function el(w: XmlByteWriter, t: Tag, v: string | undefined | null): void {
  if (typeof v === 'string' && v !== '') w.element(t.open, v, t.close);
}

/** The unit's start and the search block's elements (schema order; only non-empty strings, as the schema writer). */
function searchBlock(w: XmlByteWriter, search: Record<string, unknown>): void {
  w.raw(UNIT_OPEN);
  for (const t of SEARCH_TAGS) {
    const v = search[t.key];
    if (typeof v === 'string' && v !== '') w.element(t.open, v, t.close);
  }
  w.raw(SEARCH_CLOSE);
}

/** The search block echoed for a row that came in as JSON or CSV. */
export function searchOfJsonRow(input: { insurerNumber?: string; symbol?: string; number?: string; branch?: string; birthDate?: string }): Msg {
  return {
    InsurerNumber: input.insurerNumber ? (normaliseInsurerNumber(input.insurerNumber)!.length === 6 ? `  ${input.insurerNumber}` : input.insurerNumber) : undefined,
    InsuredCardSymbol: input.symbol || undefined,
    InsuredIdentificationNumber: input.number,
    InsuredBranchNumber: input.branch || undefined,
    Birthdate: input.birthDate ? compactDate(input.birthDate) : undefined,
  };
}

const orUndefined = (v: string): string | undefined => (v === NIL ? undefined : v);

/** The unit of a row, written from its objects the way every row used to be. */
function decodedUnit(w: XmlByteWriter, input: string | undefined, answerText: string, referenceOf: (m: MemberNumbers) => string | undefined): void {
  const inp = input === undefined ? {} : decodeInput(input);
  const answer = decodeAnswer(answerText) as RowAnswer;
  const search = (inp.search as Msg | undefined) ?? searchOfJsonRow(inp);
  const unit = personResult({ ...answer, confirmationId: '' } as Parameters<typeof personResult>[0], search);
  const msg: Msg = { QualificationConfirmSearchInfo: search, ...unit, ReferenceNumber: answer.result === 'valid' ? referenceOf(answer.member) : undefined };
  w.text(renderGroup(unitSchema.group, msg, unitSchema.schema, U));
}

/** The search block of a plain input row (its values cut at US), or undefined when it is not plain. */
function searchOf(v: string[]): Record<string, unknown> | undefined {
  const s = v[7];
  if (s === undefined) return undefined;
  if (s === NIL) return searchOfJsonRow({ insurerNumber: orUndefined(v[0]), symbol: orUndefined(v[1]), number: orUndefined(v[2]), branch: orUndefined(v[3]), birthDate: orUndefined(v[4]) });
  const o: unknown = JSON.parse(s);
  // null is "no search block" to the former code; anything but a plain object is left to it.
  return o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : undefined;
}

const VALID_VALUES = VALID_AT.limitCategory + 1;
const INVALID_VALUES = INVALID_AT.newEligibilityExists + 1;

/** A unit from its stored input row and answer; the former code's way for anything not plain. */
export function writeUnit(w: XmlByteWriter, input: string | undefined, answer: string, referenceOf: (m: MemberNumbers) => string | undefined): void {
  const kind = answer.charCodeAt(0);
  if (input === undefined || input.charCodeAt(0) === JSON_ROW.charCodeAt(0) || (kind !== 0x56 /* V */ && kind !== 0x49) /* I */) return decodedUnit(w, input, answer, referenceOf);
  const search = searchOf(input.split(US));
  if (search === undefined) return decodedUnit(w, input, answer, referenceOf);
  const v = answer.split(US);
  const limitConsent = search.LimitApplicationCertificateRelatedConsFlg === '1';
  if (kind === 0x56) {
    if (v.length !== VALID_VALUES) return decodedUnit(w, input, answer, referenceOf);
    const insurerNumber = v[VALID_AT.insurerNumber];
    const symbol = v[VALID_AT.symbol];
    const number = v[VALID_AT.number];
    const branch = v[VALID_AT.branch];
    const birthDate = v[VALID_AT.birthDate];
    const validFrom = v[VALID_AT.validFrom];
    const copayRate = v[VALID_AT.copayRate];
    const lc = v[VALID_AT.limitCategory];
    searchBlock(w, search);
    w.raw(VALID_HEAD);
    el(w, T.InsurerNumber, paddedInsurerNumber(insurerNumber));
    el(w, T.InsuredCardSymbol, symbol);
    el(w, T.InsuredIdentificationNumber, number);
    el(w, T.InsuredBranchNumber, branch);
    el(w, T.PersonalFamilyClassification, relationshipCode(v[VALID_AT.relationship]));
    el(w, T.Name, v[VALID_AT.name]);
    el(w, T.NameKana, toHalfWidthKana(v[VALID_AT.nameKana]));
    el(w, T.Sex1, sexCode(v[VALID_AT.sex]));
    el(w, T.Birthdate, compactDate(birthDate));
    el(w, T.Address, v[VALID_AT.address]);
    el(w, T.PostNumber, orUndefined(v[VALID_AT.postalCode]));
    el(w, T.QualificationDate, compactDate(v[VALID_AT.qualifiedFrom]));
    el(w, T.DisqualificationDate, compactDate(orUndefined(v[VALID_AT.lostOn])));
    el(w, T.InsuredCertificateIssuanceDate, compactDate(orUndefined(v[VALID_AT.paperCardIssuedOn])));
    el(w, T.InsuredCardValidDate, compactDate(validFrom));
    el(w, T.InsuredCardExpirationDate, compactDate(orUndefined(v[VALID_AT.paperCardExpiresOn])));
    const kouki = insurerNumber.length === 8 && insurerNumber.startsWith('39');
    if (kouki) el(w, T.InsuredPartialContributionRatio, percent3(Number(copayRate)));
    el(w, T.InsurerName, v[VALID_AT.insurerName]);
    if (!kouki) {
      const a = age(birthDate, v[VALID_AT.asOf]);
      if (a >= 70 && a < 75) {
        w.raw(ELDERLY_OPEN);
        el(w, T.ElderlyRecipientValidStartDate, compactDate(validFrom));
        el(w, T.ElderlyRecipientContributionRatio, percent3(Number(copayRate)));
        w.raw(ELDERLY_CLOSE);
      }
    }
    w.raw(CONSENT[limitConsent ? '1' : '0']);
    // Stored limitCategory: 'a' absent, 'n' null, 's' + the category.
    if (limitConsent && lc.length > 1) {
      const category = lc.slice(1);
      w.raw(LIMIT_OPEN);
      el(w, T.LimitApplicationCertificateClassification, limitCertificateClassification(category));
      el(w, T.LimitApplicationCertificateClassificationFlag, category);
      el(w, T.LimitApplicationCertificateValidStartDate, compactDate(validFrom));
      w.raw(LIMIT_CLOSE);
    }
    el(w, T.ArbitraryIdentifier, typeof search.ArbitraryIdentifier === 'string' ? search.ArbitraryIdentifier : undefined);
    w.raw(RECORD_CLOSE);
    el(w, T.ReferenceNumber, referenceOf({ insurerNumber, symbol, number, branch }));
    w.raw(UNIT_CLOSE);
    return;
  }
  const reason = v[INVALID_AT.reason];
  // A lost eligibility's details (JSON) make a record: the former code writes it.
  if (v.length !== INVALID_VALUES || (reason === 'eligibility_lost' && v[INVALID_AT.details] !== NIL)) return decodedUnit(w, input, answer, referenceOf);
  const newEligibilityExists = v[INVALID_AT.newEligibilityExists];
  const code = (invalidReasonCodes as Record<string, unknown>)[reason];
  const validity = validityOfInvalid(reason as Parameters<typeof validityOfInvalid>[0], newEligibilityExists === NIL ? undefined : newEligibilityExists === '1') as unknown;
  searchBlock(w, search);
  w.raw(INVALID_HEAD);
  el(w, T.ProcessingResultCode, typeof code === 'string' ? code : undefined);
  el(w, T.ProcessingResultMessage, v[INVALID_AT.messageJa]);
  el(w, T.QualificationValidity, typeof validity === 'string' ? validity : undefined);
  w.raw(UNIT_CLOSE);
}

/** A block's rows as strings (split once, when first needed). */
function rowsOfBlock(b: ByteBlock): string[] {
  return b.bytes.toString('utf8').split(RS);
}

/** The units of a page, in row order; false as soon as a character does not fit the encoding. */
function pageUnits(w: XmlByteWriter, p: ByteResultPage, referenceOf: (m: MemberNumbers) => string | undefined): boolean {
  let ib = 0;
  let inputRows: string[] | undefined;
  for (const b of p.answers) {
    const from = Math.max(p.offset + 1, b.first);
    const to = Math.min(p.end, b.first + b.count - 1);
    if (from > to) continue;
    const answers = rowsOfBlock(b);
    for (let row = from; row <= to; row++) {
      while (ib < p.inputs.length && p.inputs[ib].first + p.inputs[ib].count <= row) {
        ib++;
        inputRows = undefined;
      }
      const block = p.inputs[ib];
      let input: string | undefined;
      if (block !== undefined && block.first <= row) {
        inputRows ??= rowsOfBlock(block);
        input = inputRows[row - block.first];
      }
      writeUnit(w, input, answers[row - b.first], referenceOf);
      if (!w.fits) return false;
    }
  }
  return true;
}

/**
 * The whole result file: `head` (the header's elements before SegmentOfResult and the counts) and
 * one BulkConfirmUnit per stored row, in the requested character code; Shift_JIS falls back to UTF-8
 * when the text does not fit (the header's CharacterCodeIdentifier says which was written). `pages`
 * is asked again for that second writing.
 */
export async function writeBulkResult(
  head: Msg,
  counts: { total: number; normal: number; error: number },
  pages: () => AsyncIterable<ByteResultPage>,
  referenceOf: (m: MemberNumbers) => string | undefined,
  requested: CharacterCode,
): Promise<{ bytes: Buffer; characterCode: CharacterCode }> {
  if (requested === '1') {
    const bytes = await writeIn('1', head, counts, pages, referenceOf);
    if (bytes) return { bytes, characterCode: '1' };
  }
  return { bytes: (await writeIn('0', head, counts, pages, referenceOf))!, characterCode: '0' };
}

async function writeIn(
  characterCode: CharacterCode,
  head: Msg,
  counts: { total: number; normal: number; error: number },
  pages: () => AsyncIterable<ByteResultPage>,
  referenceOf: (m: MemberNumbers) => string | undefined,
): Promise<Buffer | undefined> {
  const header: Msg = {
    ...head,
    SegmentOfResult: '1',
    NumberOfProcessingResult: String(counts.total),
    NumberOfNormalProcessing: String(counts.normal),
    NumberOfError: String(counts.error),
  };
  header.CharacterCodeIdentifier = characterCode;
  // Its own buffer, about the size of the file (pages are read between the writes).
  const w = new XmlByteWriter(characterCode, Math.min(1600 * counts.total + 4096, 1 << 30));
  const emit = (text: string): boolean => {
    w.text(text);
    return w.fits;
  };
  if (!emit(`${xmlDeclaration(characterCode)}<XmlMsg>\n${renderGroup('MessageHeader', header, headerSchema, '  ')}`)) return undefined;
  let body = false;
  for await (const page of pages()) {
    if (!body) {
      if (!emit('  <MessageBody>\n')) return undefined;
      body = true;
    }
    if (!pageUnits(w, page, referenceOf)) return undefined;
  }
  if (!emit(body ? '  </MessageBody>\n</XmlMsg>\n' : '</XmlMsg>\n')) return undefined;
  return w.bytes();
}
