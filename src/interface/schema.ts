// The message families as schemas: element names in the order onshi writes them, nested groups,
// repeated groups. One generic reader and writer follow the schemas, so every family is parsed
// liberally (any order, unknown elements ignored, empty elements absent) and written exactly.

import { child, children, escapeXml, rawText, text, xmlDeclaration, XmlByteWriter, type CharacterCode, type OutElement, type XmlNode } from './xml.ts';

/** A message as plain data: element name → text, group or list of groups. Values stay strings. */
export interface Msg {
  [name: string]: string | Msg | Msg[] | undefined;
}

export type Field = string | { group: string; schema: Schema; many?: boolean };
export type Schema = readonly Field[];

/** Fields read with their padding kept (6-digit insurer numbers are right-aligned in 8 characters). */
const RAW_FIELDS = new Set(['InsurerNumber']);

const group = (name: string, schema: Schema, many = false): Field => ({ group: name, schema, many });

export const searchInfoSchema: Schema = [
  'InsurerNumber',
  'InsuredCardSymbol',
  'InsuredIdentificationNumber',
  'InsuredBranchNumber',
  'Birthdate',
  'LimitApplicationCertificateRelatedConsFlg',
  'ArbitraryIdentifier',
];

const elderlySchema: Schema = ['ElderlyRecipientCertificateDate', 'ElderlyRecipientValidStartDate', 'ElderlyRecipientValidEndDate', 'ElderlyRecipientContributionRatio'];

const limitSchema: Schema = [
  'LimitApplicationCertificateClassification',
  'LimitApplicationCertificateClassificationFlag',
  'LimitApplicationCertificateDate',
  'LimitApplicationCertificateValidStartDate',
  'LimitApplicationCertificateValidEndDate',
  'LimitApplicationCertificateLongTermDate',
];

const specificDiseaseSchema: Schema = [
  'SpecificDiseasesDiseaseCategory',
  'SpecificDiseasesCertificateDate',
  'SpecificDiseasesValidStartDate',
  'SpecificDiseasesValidEndDate',
  'SpecificDiseasesSelfPay',
];

export const resultOfQualificationSchema: Schema = [
  'InsuredCardClassification',
  'InsurerNumber',
  'InsuredCardSymbol',
  'InsuredIdentificationNumber',
  'InsuredBranchNumber',
  'PersonalFamilyClassification',
  'InsuredName',
  'Name',
  'NameOfOther',
  'NameKana',
  'NameOfOtherKana',
  'Sex1',
  'Sex2',
  'Birthdate',
  'Address',
  'PostNumber',
  'QualificationDate',
  'DisqualificationDate',
  'InsuredCertificateIssuanceDate',
  'InsuredCardValidDate',
  'InsuredCardExpirationDate',
  'InsuredPartialContributionRatio',
  'PreschoolClassification',
  'ReasonOfLoss',
  'InsurerName',
  group('ElderlyRecipientCertificateInfo', elderlySchema),
  'LimitApplicationCertificateRelatedConsFlg',
  'LimitApplicationCertificateRelatedConsTime',
  group('LimitApplicationCertificateRelatedInfo', limitSchema),
  'SpecificDiseasesCertificateRelatedConsFlg',
  'SpecificDiseasesCertificateRelatedConsTime',
  group('SpecificDiseasesCertificateList', [group('SpecificDiseasesCertificateInfo', specificDiseaseSchema, true)]),
  'SpecificHealthCheckupsInfoConsFlg',
  'SpecificHealthCheckupsInfoConsTime',
  'SpecificHealthCheckupsInfoAvailableTime',
  'PharmacistsInfoConsFlg',
  'PharmacistsInfoConsTime',
  'PharmacistsInfoAvailableTime',
  'DiagnosisInfoConsFlg',
  'DiagnosisInfoConsTime',
  'DiagnosisInfoAvailableTime',
  'OperationInfoConsFlg',
  'OperationInfoConsTime',
  'OperationInfoAvailableTime',
  'ArbitraryIdentifier',
  'ReferenceNumber',
];

/** A 照会番号 registration record: the member's card numbers and birth date, and the facility's number. */
export const referenceRecordSchema: Schema = ['InsurerNumber', 'InsuredCardSymbol', 'InsuredIdentificationNumber', 'InsuredBranchNumber', 'Birthdate', 'ReferenceNumber', 'ArbitraryIdentifier'];

const registrationResultHeader: Schema = ['ProcessExecutionTime', 'MedicalInstitutionCode', 'ArbitraryFileIdentifier', 'SegmentOfResult', 'ErrorCode', 'ErrorMessage', 'CharacterCodeIdentifier'];

const requestHeader: Schema = ['QualificationConfirmationDate', 'MedicalInstitutionCode', 'ArbitraryFileIdentifier', 'CharacterCodeIdentifier'];

/** The families onshi serves, by file-name prefix: request and result schemas of XmlMsg. */
export const families = {
  /** 資格確認 (single inquiry by card numbers). */
  OQSsiquc01: {
    request: [group('MessageHeader', requestHeader), group('MessageBody', [group('QualificationConfirmSearchInfo', searchInfoSchema)])],
    result: [
      group('MessageHeader', [
        'ProcessExecutionTime',
        'QualificationConfirmationDate',
        'MedicalInstitutionCode',
        'ArbitraryFileIdentifier',
        'ReferenceClassification',
        'SegmentOfResult',
        'ErrorCode',
        'ErrorMessage',
        'CharacterCodeIdentifier',
      ]),
      group('MessageBody', [
        'ProcessingResultStatus',
        'ProcessingResultCode',
        'ProcessingResultMessage',
        'QualificationValidity',
        group('QualificationConfirmSearchInfo', searchInfoSchema),
        group('ResultList', [group('ResultOfQualificationConfirmation', resultOfQualificationSchema, true)]),
      ]),
    ],
  },
  /** 資格確認一括照会: upload → acceptance with a ReceptionNumber. */
  OQSmuquc01: {
    request: [group('MessageHeader', requestHeader), group('MessageBody', [group('QualificationConfirmSearchInfo', searchInfoSchema, true)])],
    result: [
      group('MessageHeader', [
        'ProcessExecutionTime',
        'QualificationConfirmationDate',
        'MedicalInstitutionCode',
        'ArbitraryFileIdentifier',
        'SegmentOfResult',
        'ErrorCode',
        'ErrorMessage',
        'CharacterCodeIdentifier',
      ]),
      group('MessageBody', ['ReceptionNumber', 'ReceptionDateTime', 'ProcessingResultStatus', 'ProcessingResultCode', 'ProcessingResultMessage']),
    ],
  },
  /** 資格確認一括照会ダウンロード要求 → 資格確認一括照会結果. */
  OQSmuquc02: {
    request: [group('MessageHeader', ['MedicalInstitutionCode', 'ArbitraryFileIdentifier', 'CharacterCodeIdentifier']), group('MessageBody', ['ReceptionNumber'])],
    result: [
      group('MessageHeader', [
        'ProcessExecutionTime',
        'QualificationConfirmationDate',
        'MedicalInstitutionCode',
        'ArbitraryFileIdentifier',
        'ReceptionNumber',
        'SegmentOfResult',
        'ErrorCode',
        'ErrorMessage',
        'NumberOfProcessingResult',
        'NumberOfNormalProcessing',
        'NumberOfError',
        'CharacterCodeIdentifier',
      ]),
      group('MessageBody', [
        group(
          'BulkConfirmUnit',
          [
            group('QualificationConfirmSearchInfo', searchInfoSchema),
            'ProcessingResultStatus',
            'ProcessingResultCode',
            'ProcessingResultMessage',
            'QualificationValidity',
            group('ResultOfQualificationConfirmation', resultOfQualificationSchema),
            'ReferenceNumber',
          ],
          true,
        ),
      ]),
    ],
  },
  /**
   * 照会番号登録 (single). Decision (INTERFACE.md §2.6 is thin): one record, its elements directly in
   * MessageBody (a record wrapped in ReferenceNumberRegistrationInfo is read too); the result
   * echoes it in ReferenceNumberRegistrationInfo with the record's ProcessingResult*.
   */
  OQSsiimm01: {
    request: [
      group('MessageHeader', requestHeader),
      group('MessageBody', [...referenceRecordSchema, group('ReferenceNumberRegistrationInfo', referenceRecordSchema)]),
    ],
    result: [
      group('MessageHeader', registrationResultHeader),
      group('MessageBody', ['ProcessingResultStatus', 'ProcessingResultCode', 'ProcessingResultMessage', group('ReferenceNumberRegistrationInfo', referenceRecordSchema)]),
    ],
  },
  /** 照会番号登録 (bulk): every record in its own ReferenceNumberRegistrationInfo; each reported. */
  OQSmuimm01: {
    request: [group('MessageHeader', requestHeader), group('MessageBody', [group('ReferenceNumberRegistrationInfo', referenceRecordSchema, true)])],
    result: [
      group('MessageHeader', [...registrationResultHeader.slice(0, -1), 'NumberOfProcessingResult', 'NumberOfNormalProcessing', 'NumberOfError', 'CharacterCodeIdentifier']),
      group('MessageBody', [group('ReferenceNumberRegistrationInfo', [...referenceRecordSchema, 'ProcessingResultStatus', 'ProcessingResultCode', 'ProcessingResultMessage'], true)]),
    ],
  },
} as const satisfies Record<string, { request: Schema; result: Schema }>;

export type FamilyName = keyof typeof families;

/** Reads a node by a schema: known elements in any order; empty text and empty groups are absent. */
export function readBySchema(node: XmlNode | undefined, schema: Schema): Msg {
  const out: Msg = {};
  for (const f of schema) {
    if (typeof f === 'string') {
      const v = RAW_FIELDS.has(f) ? rawText(node, f) : text(node, f);
      if (v !== undefined && v.trim() !== '') out[f] = v;
    } else if (f.many) {
      const list = children(node, f.group)
        .map((c) => readBySchema(c, f.schema))
        .filter((m) => Object.keys(m).length > 0);
      if (list.length > 0) out[f.group] = list;
    } else {
      const c = child(node, f.group);
      if (c !== undefined) {
        const m = readBySchema(c, f.schema);
        if (Object.keys(m).length > 0) out[f.group] = m;
      }
    }
  }
  return out;
}

/** Writes a message by a schema: the schema's order, absent and empty values omitted. */
export function writeBySchema(name: string, msg: Msg, schema: Schema): OutElement {
  const items: OutElement[] = [];
  for (const f of schema) {
    if (typeof f === 'string') {
      const v = msg[f];
      if (typeof v === 'string' && v !== '') items.push([f, v]);
    } else {
      const v = msg[f.group];
      if (v === undefined || typeof v === 'string') continue;
      for (const m of Array.isArray(v) ? v : [v]) items.push(writeBySchema(f.group, m, f.schema));
    }
  }
  return [name, items];
}

/**
 * The document's text for a message: the same text as renderXml(writeBySchema(name, msg, schema)),
 * written straight from the message (no element tree in between: a bulk result has 100,000s of rows).
 */
export function renderBySchema(name: string, msg: Msg, schema: Schema, characterCode: CharacterCode): string {
  return `${xmlDeclaration(characterCode)}${renderGroup(name, msg, schema, '')}`;
}

/** One group's text at an indent, as renderBySchema writes it (the bulk result writes odd rows with it). */
export function renderGroup(name: string, msg: Msg, schema: Schema, indent: string): string {
  const inner = `${indent}  `;
  let out = `${indent}<${name}>\n`;
  for (const f of schema) {
    if (typeof f === 'string') {
      const v = msg[f];
      if (typeof v === 'string' && v !== '') out += `${inner}<${f}>${escapeXml(v)}</${f}>\n`;
    } else {
      const v = msg[f.group];
      if (v === undefined || typeof v === 'string') continue;
      if (Array.isArray(v)) for (const m of v) out += renderGroup(f.group, m, f.schema, inner);
      else out += renderGroup(f.group, v, f.schema, inner);
    }
  }
  return `${out}${indent}</${name}>\n`;
}

interface TagBytes {
  /** `indent<name>` and `</name>\n` around a text; `indent<name>\n` and `indent</name>\n` around a group. */
  open: Buffer;
  close: Buffer;
  openGroup: Buffer;
  closeGroup: Buffer;
}

function tagBytesOf(name: string, indent: string): TagBytes {
  return {
    open: Buffer.from(`${indent}<${name}>`, 'latin1'),
    close: Buffer.from(`</${name}>\n`, 'latin1'),
    openGroup: Buffer.from(`${indent}<${name}>\n`, 'latin1'),
    closeGroup: Buffer.from(`${indent}</${name}>\n`, 'latin1'),
  };
}

/**
 * A group at one depth, compiled once: its own tags, and per schema field either the field's tags
 * or the nested group compiled at the next depth (so writing walks no schema, builds no indent and
 * looks nothing up).
 */
interface CompiledGroup {
  own: TagBytes;
  fields: CompiledField[];
}

type CompiledField = { name: string; group: undefined; tags: TagBytes } | { name: string; group: CompiledGroup; tags: undefined };

/** Root groups by schema and name (depth 0). */
const compiledRoots = new WeakMap<Schema, Map<string, CompiledGroup>>();

function compileGroup(name: string, schema: Schema, indent: string): CompiledGroup {
  const inner = `${indent}  `;
  return {
    own: tagBytesOf(name, indent),
    fields: schema.map((f): CompiledField => (typeof f === 'string' ? { name: f, group: undefined, tags: tagBytesOf(f, inner) } : { name: f.group, group: compileGroup(f.group, f.schema, inner), tags: undefined })),
  };
}

function compiledRoot(name: string, schema: Schema): CompiledGroup {
  let byName = compiledRoots.get(schema);
  if (!byName) compiledRoots.set(schema, (byName = new Map()));
  let c = byName.get(name);
  if (!c) byName.set(name, (c = compileGroup(name, schema, '')));
  return c;
}

const declarations = { '0': Buffer.from(xmlDeclaration('0'), 'latin1'), '1': Buffer.from(xmlDeclaration('1'), 'latin1') };

/**
 * The bytes of renderBySchema's text in the character code, written without the text in between
 * (a bulk result is tens of MiB); undefined when a Shift_JIS document holds a character CP932 cannot
 * carry. Element names are ASCII, so their bytes are the same in both encodings.
 */
export function writeBySchemaBytes(name: string, msg: Msg, schema: Schema, characterCode: CharacterCode): Buffer | undefined {
  const w = new XmlByteWriter(characterCode);
  w.raw(declarations[characterCode]);
  writeGroupBytes(w, compiledRoot(name, schema), msg);
  return w.fits ? w.bytes() : undefined;
}

function writeGroupBytes(w: XmlByteWriter, c: CompiledGroup, msg: Msg): void {
  const fields = c.fields;
  w.raw(c.own.openGroup);
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const v = msg[f.name];
    if (f.tags !== undefined) {
      // The same bytes as raw(open); text(escapeXml(v)); raw(close), in one pass.
      if (typeof v === 'string' && v !== '') w.element(f.tags.open, v, f.tags.close);
    } else {
      if (v === undefined || typeof v === 'string') continue;
      if (Array.isArray(v)) for (const m of v) writeGroupBytes(w, f.group, m);
      else writeGroupBytes(w, f.group, v);
    }
    if (!w.fits) return;
  }
  w.raw(c.own.closeGroup);
}
