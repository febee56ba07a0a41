// Request and response schemas of the registry routes (TypeBox → JSON Schema → OpenAPI).
// Field-level rules (check digits, calendar dates) are the service's, so that every problem is
// reported at once with its own code; schemas here give shapes and documentation.

import { Type } from 'typebox';
import { facilityTypes, insurerKinds, lossReasons, relationships, sexes } from './rules.ts';

const enumOf = <T extends readonly string[]>(values: T, description?: string) =>
  Type.Union(values.map((v) => Type.Literal(v)), description ? { description } : {});

export const Date = (description: string) => Type.String({ description, examples: ['2024-04-01'] });
const NullableDate = (description: string) => Type.Union([Type.String(), Type.Null()], { description });





export const CreateInsurerBody = Type.Object({
  insurerNumber: Type.String({ description: '保険者番号: 8 digits, or 6 for municipal NHI; the last digit is the check digit (検証番号)', examples: ['06139992'] }),
  name: Type.String({ examples: ['全国健康保険協会 東京支部'] }),
  kind: enumOf(insurerKinds, 'kyokai_kenpo 協会けんぽ | kenpo_kumiai 健保組合 | kyosai 共済 | kokuho 国保 | koki_korei 後期高齢者医療'),
});

export const InsurerSchema = Type.Object({
  insurerNumber: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  createdAt: Type.String(),
});

export const CreateFacilityBody = Type.Object({
  code: Type.String({ description: '医療機関コード: prefecture 2 + table 1 (1 医科, 3 歯科, 4 調剤) + 7 digits ending in a check digit', examples: ['1312345678'] }),
  name: Type.String(),
  type: enumOf(facilityTypes),
  prefecture: Type.Optional(Type.String({ description: 'Prefecture code 01–47; must agree with the code (taken from it when absent)' })),
});

export const FacilitySchema = Type.Object({
  code: Type.String(),
  name: Type.String(),
  type: Type.String(),
  prefecture: Type.String(),
  prefectureName: Type.Optional(Type.String()),
  createdAt: Type.String(),
  monthlyClaims: Type.Optional(Type.Array(Type.Object({ month: Type.String(), claims: Type.Integer() }))),
});

const attributeProperties = {
  name: Type.String({ description: '氏名' }),
  nameKana: Type.String({ description: 'フリガナ (katakana)' }),
  birthDate: Date('生年月日'),
  sex: enumOf(sexes),
  address: Type.String({ description: '住所' }),
  postalCode: Type.Optional(Type.Union([Type.String({ examples: ['100-0001'] }), Type.Null()])),
  copayRate: Type.Optional(Type.Integer({ description: '一部負担割合 in percent (0, 10, 20, 30); derived from age when absent' })),
  limitCategory: Type.Optional(Type.Union([Type.String({ description: '限度額適用 区分 A01–A06, B01–B10' }), Type.Null()])),
  paperCardIssuedOn: Type.Optional(Type.Union([Date('被保険者証 交付日'), Type.Null()])),
  paperCardExpiresOn: Type.Optional(Type.Union([Date('被保険者証 有効期限'), Type.Null()])),
};

export const AddMemberBody = Type.Object({
  symbol: Type.String({ description: '記号 (may be empty)' }),
  number: Type.String({ description: '番号' }),
  branch: Type.String({ description: '枝番, 2 digits' }),
  ...attributeProperties,
  relationship: enumOf(relationships, 'self 本人 | family 家族'),
  qualifiedFrom: Date('資格取得年月日'),
  myNumber: Type.Optional(Type.String({ description: 'Links this membership to the same person across insurers. Used once to derive a keyed pseudonym and never stored or returned.' })),
  personId: Type.Optional(Type.String({ description: 'Join a person this insurer holds or held (an earlier membership here); across insurers persons are joined only by myNumber. Any other id: 404 ONSHI_PERSON_NOT_FOUND' })),
});

export const ChangeMemberBody = Type.Object({
  effectiveFrom: Type.Optional(Date('First day the change applies (default: today in JST)')),
  name: Type.Optional(attributeProperties.name),
  nameKana: Type.Optional(attributeProperties.nameKana),
  birthDate: Type.Optional(attributeProperties.birthDate),
  sex: Type.Optional(attributeProperties.sex),
  address: Type.Optional(attributeProperties.address),
  postalCode: attributeProperties.postalCode,
  copayRate: attributeProperties.copayRate,
  limitCategory: attributeProperties.limitCategory,
  paperCardIssuedOn: attributeProperties.paperCardIssuedOn,
  paperCardExpiresOn: attributeProperties.paperCardExpiresOn,
});

export const TerminateMemberBody = Type.Object({
  lostOn: Date('資格喪失日: the first day without eligibility'),
  lossReason: enumOf(lossReasons, 'death 死亡 | public_assistance 生活保護 | other_insurance 他の医療保険の資格取得 | other その他'),
});

const PeriodSchema = Type.Object({
  validFrom: Type.String(),
  validUntil: NullableDate('First day after the period; null while open'),
  name: Type.String(),
  nameKana: Type.String(),
  birthDate: Type.String(),
  sex: Type.String(),
  address: Type.String(),
  postalCode: Type.Union([Type.String(), Type.Null()]),
  copayRate: Type.Integer(),
  limitCategory: Type.Union([Type.String(), Type.Null()]),
  paperCardIssuedOn: Type.Union([Type.String(), Type.Null()]),
  paperCardExpiresOn: Type.Union([Type.String(), Type.Null()]),
});

export const MemberSchema = Type.Object({
  memberId: Type.String(),
  personId: Type.String(),
  insurerNumber: Type.String(),
  symbol: Type.String(),
  number: Type.String(),
  branch: Type.String(),
  relationship: Type.String(),
  qualifiedFrom: Type.String(),
  lostOn: Type.Union([Type.String(), Type.Null()]),
  lossReason: Type.Union([Type.String(), Type.Null()]),
  ...PeriodSchema.properties,
  history: Type.Optional(
    Type.Array(Type.Object({ ...PeriodSchema.properties, recordedAt: Type.String(), recordedBy: Type.Union([Type.String(), Type.Null()]) })),
  ),
});

export const ImportReportSchema = Type.Object({
  rows: Type.Integer(),
  added: Type.Integer(),
  changed: Type.Integer(),
  terminated: Type.Integer(),
  seconds: Type.Number(),
});

