// Schemas of the statistics routes.

import { Type } from 'typebox';

const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

export const RankedRowSchema = Type.Object({
  key: Type.String(),
  confirmations: Type.Integer(),
  cardUses: Type.Integer(),
  ratePercent: NullableNumber,
  changePoints: Type.Union([Type.Number(), Type.Null()], { description: 'percentage points from the previous month' }),
  rank: Type.Union([Type.Integer(), Type.Null()]),
  top5: Type.Boolean(),
  bottom5: Type.Boolean(),
});

export const PrefectureReportSchema = Type.Object({
  month: Type.String(),
  previousMonth: Type.String(),
  national: Type.Object({ confirmations: Type.Integer(), cardUses: Type.Integer(), ratePercent: NullableNumber, changePoints: NullableNumber }),
  prefectures: Type.Array(Type.Object({ ...RankedRowSchema.properties, prefecture: Type.String(), name: Type.String() })),
});

export const GroupReportSchema = Type.Object({ month: Type.String(), previousMonth: Type.String(), rows: Type.Array(RankedRowSchema) });

export const FacilityFiguresSchema = Type.Object({
  facilityCode: Type.String(),
  months: Type.Array(
    Type.Object({
      month: Type.String(),
      confirmations: Type.Integer(),
      cardUses: Type.Integer(),
      cardUsers: Type.Integer(),
      claims: Type.Union([Type.Integer(), Type.Null()]),
      source: Type.String({ description: 'events | import' }),
      ratePercent: NullableNumber,
      changePoints: NullableNumber,
    }),
  ),
});

export const RollupReportSchema = Type.Object({
  fromEventId: Type.Integer(),
  toEventId: Type.Integer(),
  events: Type.Integer(),
  facilityMonths: Type.Integer(),
  insurerMonths: Type.Integer(),
  rebuilt: Type.Boolean(),
});

export const StatsImportReportSchema = Type.Object({ rows: Type.Integer(), written: Type.Integer(), seconds: Type.Number() });

export const MonthQuery = Type.Object({ month: Type.Optional(Type.String({ examples: ['2024-07'] })) });
