// The codec of the real interface's files: file names, request parsing (liberal) and result writing
// (exact), and the mapping between onshi's answers and the result elements. Pure: no I/O.

import type { DocumentConfirmationAnswer, EligibilityRecord } from '../confirmation/service.ts';
import { OnshiError } from '../platform/errors.ts';
import { codePointLength, hasForbiddenCharacter } from '../platform/text.ts';
import {
  InsuredCardClassification,
  interfaceErrorCodes,
  invalidReasonCodes,
  limitCertificateClassification,
  percent3,
  ProcessingResultStatus,
  ReasonOfLoss,
  relationshipCode,
  sexCode,
  validityOfInvalid,
} from './codes.ts';
import { toHalfWidthKana } from './kana.ts';
import { families, readBySchema, renderBySchema, writeBySchemaBytes, type FamilyName, type Msg } from './schema.ts';
import { encodeText, fitsShiftJis, parseXmlBytes, XmlFormatError, type CharacterCode } from './xml.ts';

const FILE_RE = /^(OQS(?:siquc01|muquc01|muquc02|siimm01|muimm01))req_([^\\/"]{1,200})\.xml$/;

/**
 * The family of a request file name and its result file's name (req → res, INTERFACE.md §1.3).
 * Undefined for any other name, and for a suffix over 200 characters or holding "..", a path
 * separator, a quote, or a character the text rule refuses (controls, bidi controls, lone surrogates).
 */
export function requestFileName(fileName: string): { family: FamilyName; resultFileName: string } | undefined {
  const m = FILE_RE.exec(fileName);
  if (!m || m[2].includes('..') || hasForbiddenCharacter(m[2])) return undefined;
  return { family: m[1] as FamilyName, resultFileName: `${m[1]}res_${m[2]}.xml` };
}

/** The name of the error result of a request whose file name was refused: the refused name is never echoed. */
export const REFUSED_RESULT_FILE_NAME = 'OQSres_refused.xml';

/** The result file name for any name: req → res for a request name, else REFUSED_RESULT_FILE_NAME. */
export function resultFileNameOf(fileName: string): string {
  return requestFileName(fileName)?.resultFileName ?? REFUSED_RESULT_FILE_NAME;
}

export interface DecodedRequest {
  family: FamilyName;
  msg: Msg;
  /** The encoding the request came in. */
  encoding: 'utf8' | 'sjis';
}

/** Parses a request file; refuses with ONSHI_INTERFACE_* when it cannot be read. */
export function decodeRequest(family: FamilyName, bytes: Uint8Array): DecodedRequest {
  let parsed;
  try {
    parsed = parseXmlBytes(bytes);
  } catch (e) {
    throw new OnshiError('ONSHI_INTERFACE_MALFORMED', { detail: e instanceof XmlFormatError ? e.message : 'unreadable' });
  }
  if (parsed.root !== 'XmlMsg') throw new OnshiError('ONSHI_INTERFACE_MALFORMED', { detail: `root element <${parsed.root}>, expected <XmlMsg>` });
  const msg = readBySchema(parsed.tree, families[family].request);
  const bad = badRequestValue(msg);
  if (bad !== undefined) throw new OnshiError('ONSHI_INTERFACE_MALFORMED', { detail: bad });
  return { family, msg, encoding: parsed.encoding };
}

/**
 * Maximum lengths (characters) of request elements: INTERFACE.md's where it gives one (dates
 * YYYYMMDD, 10-digit MedicalInstitutionCode, 8-character InsurerNumber, 2-digit branch, 1-character
 * codes and flags); 記号 and 番号 as the registry stores them (38); a safe bound for the rest.
 * Every element read is bounded, the echoed ones (ArbitraryFileIdentifier, ArbitraryIdentifier, the
 * search block) included: a request over a bound is refused, not processed, not stored, not echoed.
 */
export const REQUEST_ELEMENT_MAX: Readonly<Record<string, number>> = {
  QualificationConfirmationDate: 8,
  MedicalInstitutionCode: 10,
  CharacterCodeIdentifier: 1,
  InsurerNumber: 8,
  InsuredCardSymbol: 38,
  InsuredIdentificationNumber: 38,
  InsuredBranchNumber: 2,
  Birthdate: 8,
  LimitApplicationCertificateRelatedConsFlg: 1,
  ReferenceNumber: 10,
  ReceptionNumber: 64,
  ArbitraryFileIdentifier: 256,
  ArbitraryIdentifier: 256,
};
/** The bound of an element INTERFACE.md gives no length for. */
export const REQUEST_ELEMENT_DEFAULT_MAX = 256;

/**
 * The first request value that is over its element's bound or breaks the text rule (a control
 * character — a numeric reference such as &#0; included —, a bidi control or a lone surrogate), as
 * "<Element>: why" (never the value itself); undefined when every value passes.
 */
export function badRequestValue(msg: Msg): string | undefined {
  for (const name in msg) {
    const v = msg[name];
    if (v === undefined) continue;
    if (typeof v === 'string') {
      const max = REQUEST_ELEMENT_MAX[name] ?? REQUEST_ELEMENT_DEFAULT_MAX;
      // Values are mostly ASCII: the UTF-16 length bounds the code points from above.
      if (v.length > max && codePointLength(v) > max) return `${name}: longer than ${max} characters`;
      if (hasForbiddenCharacter(v)) return `${name}: a control, bidirectional control or lone surrogate character`;
    } else if (Array.isArray(v)) {
      for (const m of v) {
        const bad = badRequestValue(m);
        if (bad !== undefined) return bad;
      }
    } else {
      const bad = badRequestValue(v);
      if (bad !== undefined) return bad;
    }
  }
  return undefined;
}

/** Parses a result file (vendors' side; the tests read onshi's results back with it). */
export function decodeResult(family: FamilyName, bytes: Uint8Array): { msg: Msg; encoding: 'utf8' | 'sjis' } {
  const parsed = parseXmlBytes(bytes);
  if (parsed.root !== 'XmlMsg') throw new XmlFormatError(`root element <${parsed.root}>`);
  return { msg: readBySchema(parsed.tree, families[family].result), encoding: parsed.encoding };
}

/** Writes a result in the requested character code. */
export function encodeResult(family: FamilyName, msg: Msg, characterCode: CharacterCode): Buffer {
  return encodeText(renderBySchema('XmlMsg', msg, families[family].result, characterCode), characterCode);
}

/**
 * Writes a result in the requested character code, setting the header's CharacterCodeIdentifier; a
 * Shift_JIS result holding a character CP932 cannot carry is written in UTF-8 instead (and says so).
 */
export function encodeResultFitting(family: FamilyName, msg: Msg, requested: CharacterCode): { bytes: Buffer; characterCode: CharacterCode } {
  const header = (msg.MessageHeader ??= {}) as Msg;
  if (requested === '1') {
    header.CharacterCodeIdentifier = '1';
    const bytes = writeBySchemaBytes('XmlMsg', msg, families[family].result, '1');
    if (bytes) return { bytes, characterCode: '1' };
  }
  header.CharacterCodeIdentifier = '0';
  return { bytes: writeBySchemaBytes('XmlMsg', msg, families[family].result, '0')!, characterCode: '0' };
}

/** Writes a request (the gateway's tests and the benchmark use it; vendors write their own). */
export function encodeRequest(family: FamilyName, msg: Msg, characterCode: CharacterCode): Buffer {
  return encodeText(renderBySchema('XmlMsg', msg, families[family].request, characterCode), characterCode);
}

/**
 * The result's character code: the request header's CharacterCodeIdentifier when it is 0 or 1,
 * else the encoding the request itself came in (decision: a client that wrote Shift_JIS reads it).
 */
export function resultCharacterCode(header: Msg | undefined, requestEncoding: 'utf8' | 'sjis'): CharacterCode {
  const v = header?.CharacterCodeIdentifier;
  if (v === '0' || v === '1') return v;
  return requestEncoding === 'sjis' ? '1' : '0';
}

/** A Shift_JIS result whose text cannot be carried in Shift_JIS is written in UTF-8 instead (decision). */
export function effectiveCharacterCode(msg: Msg, requested: CharacterCode): CharacterCode {
  if (requested === '0') return '0';
  return fitsShiftJis(JSON.stringify(msg)) ? '1' : '0';
}

// ---------------------------------------------------------------- values

/** YYYYMMDD → YYYY-MM-DD; anything else passes unchanged so that validation names it. */
export function isoDate(yyyymmdd: string | undefined): string | undefined {
  if (yyyymmdd === undefined) return undefined;
  return /^\d{8}$/.test(yyyymmdd) ? `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}` : yyyymmdd;
}

/** YYYY-MM-DD → YYYYMMDD. */
export function compactDate(iso: string): string;
export function compactDate(iso: string | null | undefined): string | undefined;
export function compactDate(iso: string | null | undefined): string | undefined {
  return iso == null ? undefined : iso.replace(/-/g, '');
}

/** An instant as JST YYYYMMDDHHmmss. */
export function compactTime(instant: Date): string {
  const s = new Date(instant.getTime() + 9 * 3600_000).toISOString();
  return s.slice(0, 19).replace(/[-T:]/g, '');
}

/**
 * An insurer number as given: 8 digits, or 6 (国保) right-aligned with leading spaces or zeros
 * ("  123456", "00123456"). Valid 8-digit numbers never start with 00 (no 法別番号 00).
 */
export function normaliseInsurerNumber(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = v.replace(/^[ \u3000]+|[ \u3000]+$/g, '');
  return /^00\d{6}$/.test(t) ? t.slice(2) : t;
}

/** An insurer number as the result writes it: 8 characters, a 6-digit number right-aligned with spaces. */
export function paddedInsurerNumber(n: string): string {
  return n.length === 6 ? `  ${n}` : n;
}

/** The confirmation input of a search block (the JSON API's field names). */
export function inquiryOf(search: Msg | undefined, confirmationDate: string | undefined): Record<string, unknown> {
  const s = search ?? {};
  const str = (k: string) => (typeof s[k] === 'string' ? (s[k] as string) : undefined);
  return {
    insurerNumber: normaliseInsurerNumber(str('InsurerNumber')),
    symbol: str('InsuredCardSymbol'),
    number: str('InsuredIdentificationNumber'),
    branch: str('InsuredBranchNumber'),
    birthDate: isoDate(str('Birthdate')),
    asOf: isoDate(confirmationDate),
  };
}

/** Field names of the JSON API → element names, for error messages that a vendor understands. */
const elementOfField: Record<string, string> = {
  insurerNumber: 'InsurerNumber',
  symbol: 'InsuredCardSymbol',
  number: 'InsuredIdentificationNumber',
  branch: 'InsuredBranchNumber',
  birthDate: 'Birthdate',
  asOf: 'QualificationConfirmationDate',
};

/** Age in whole years on a day (ISO dates). */
export function age(birthDate: string, on: string): number {
  const years = Number(on.slice(0, 4)) - Number(birthDate.slice(0, 4));
  return on.slice(5) < birthDate.slice(5) ? years - 1 : years;
}

/**
 * ResultOfQualificationConfirmation for a valid member (decisions where the record is silent:
 * InsuredCardClassification 01; 一部負担割合 as InsuredPartialContributionRatio for 後期高齢者医療
 * (法別 39) and as ElderlyRecipientCertificateInfo for 70–74-year-olds elsewhere; 限度額 only with
 * the consent flag 1 and a registered category).
 */
export function resultOfQualification(member: EligibilityRecord, asOf: string, extra: { limitConsent: boolean; limitCategory?: string | null; arbitraryIdentifier?: string; consentTime?: string }): Msg {
  const r: Msg = {
    InsuredCardClassification: InsuredCardClassification.general,
    InsurerNumber: paddedInsurerNumber(member.insurerNumber),
    InsuredCardSymbol: member.symbol || undefined,
    InsuredIdentificationNumber: member.number,
    InsuredBranchNumber: member.branch || undefined,
    PersonalFamilyClassification: relationshipCode(member.relationship),
    Name: member.name,
    NameKana: toHalfWidthKana(member.nameKana),
    Sex1: sexCode(member.sex),
    Birthdate: compactDate(member.birthDate),
    Address: member.address || undefined,
    PostNumber: member.postalCode ?? undefined,
    QualificationDate: compactDate(member.qualifiedFrom),
    DisqualificationDate: compactDate(member.lostOn),
    InsuredCertificateIssuanceDate: compactDate(member.paperCardIssuedOn),
    InsuredCardValidDate: compactDate(member.validFrom),
    InsuredCardExpirationDate: compactDate(member.paperCardExpiresOn),
    InsurerName: member.insurerName,
    LimitApplicationCertificateRelatedConsFlg: extra.limitConsent ? '1' : '0',
    ArbitraryIdentifier: extra.arbitraryIdentifier,
  };
  if (member.insurerNumber.length === 8 && member.insurerNumber.startsWith('39')) {
    r.InsuredPartialContributionRatio = percent3(member.copayRate);
  } else {
    const a = age(member.birthDate, asOf);
    if (a >= 70 && a < 75) r.ElderlyRecipientCertificateInfo = { ElderlyRecipientValidStartDate: compactDate(member.validFrom), ElderlyRecipientContributionRatio: percent3(member.copayRate) };
  }
  if (extra.limitConsent && extra.limitCategory) {
    if (extra.consentTime) r.LimitApplicationCertificateRelatedConsTime = extra.consentTime;
    r.LimitApplicationCertificateRelatedInfo = {
      LimitApplicationCertificateClassification: limitCertificateClassification(extra.limitCategory),
      LimitApplicationCertificateClassificationFlag: extra.limitCategory,
      LimitApplicationCertificateValidStartDate: compactDate(member.validFrom),
    };
  }
  return r;
}

/**
 * A person's result elements (ProcessingResult*, QualificationValidity, the record) for an answer,
 * including a document-aware one (the transition's reasons map to 無効 with ONSI2107W / ONSI2108W).
 */
export function personResult(answer: DocumentConfirmationAnswer, search: Msg | undefined, consentTime?: string): Msg {
  const limitConsent = search?.LimitApplicationCertificateRelatedConsFlg === '1';
  const arbitraryIdentifier = typeof search?.ArbitraryIdentifier === 'string' ? search.ArbitraryIdentifier : undefined;
  if (answer.result === 'valid') {
    return {
      ProcessingResultStatus: ProcessingResultStatus.normal,
      QualificationValidity: '1',
      ResultOfQualificationConfirmation: resultOfQualification(answer.member, answer.asOf, { limitConsent, limitCategory: answer.limitCategory, arbitraryIdentifier, consentTime }),
    };
  }
  if (answer.result === 'invalid') {
    const out: Msg = {
      ProcessingResultStatus: ProcessingResultStatus.normal,
      ProcessingResultCode: invalidReasonCodes[answer.reason],
      ProcessingResultMessage: answer.messageJa,
      QualificationValidity: validityOfInvalid(answer.reason, answer.newEligibilityExists),
    };
    const lossReason = answer.details?.lossReason;
    if (answer.reason === 'eligibility_lost' && answer.details?.lostOn) {
      out.ResultOfQualificationConfirmation = {
        DisqualificationDate: compactDate(answer.details.lostOn),
        ReasonOfLoss: lossReason ? ReasonOfLoss[lossReason] : undefined,
        ArbitraryIdentifier: arbitraryIdentifier,
      };
    }
    return out;
  }
  const fields = answer.errors.map((e) => `${elementOfField[e.field] ?? e.field}: ${e.ja.replace(/^[^:]+: /, '')}`).join(' ');
  return {
    ProcessingResultStatus: ProcessingResultStatus.error,
    ProcessingResultCode: interfaceErrorCodes.ONSHI_CONFIRMATION_INVALID_INPUT,
    ProcessingResultMessage: `${answer.messageJa}${fields ? `（${fields}）` : ''}`,
  };
}
