// Schemas of the public calculators (TypeBox → JSON Schema → OpenAPI). Field rules are the pure
// validators', so that every problem is reported at once with its own code.

import { Type } from 'typebox';

const Count = (description: string) => Type.Integer({ minimum: 0, description });
const FacilityTypeSchema = Type.Union(['hospital', 'clinic', 'dental_clinic', 'pharmacy'].map((v) => Type.Literal(v)));

export const IncentiveBody = Type.Object({
  facilityType: FacilityTypeSchema,
  octClaims: Count('claims (レセプト件数) in October 2023'),
  octUsers: Count('My Number card users in October 2023'),
  monthlyUsers: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'users per month of 2024-05..2024-08', examples: [{ '2024-05': 120, '2024-06': 150, '2024-07': 200, '2024-08': 180 }] }),
  conditions: Type.Optional(Type.Object({ poster: Type.Boolean(), askPatients: Type.Boolean(), flyers: Type.Boolean() }, { description: 'attested conditions; all true when absent' })),
});

export const NextStepSchema = Type.Object({ moreUsers: Type.Integer(), amountYen: Type.Integer() });

export const IncentiveResultSchema = Type.Object({
  amountYen: Type.Integer(),
  table: Type.String({ description: 'hospital | clinic_pharmacy | small' }),
  band: Type.String({ description: 'October 2023 rate band: <3% | 3-5% | 5-10% | 10-20% | 20-30% | 30-40% | >=40%' }),
  column: Type.Union([Type.Integer(), Type.Null()], { description: 'increase threshold reached (≥), null below the first column' }),
  bestMonth: Type.Union([Type.String(), Type.Null()]),
  bestMonthUsers: Type.Integer(),
  increase: Type.Integer(),
  octRatePercent: Type.Number(),
  small: Type.Boolean(),
  conditionsMet: Type.Boolean(),
  missingConditions: Type.Array(Type.String()),
  tableAmountYen: Type.Integer({ description: 'what the tables give before the conditions' }),
  next: Type.Optional(NextStepSchema),
  explanation: Type.String(),
  explanationJa: Type.String(),
});

export const ReaderSubsidyBody = Type.Object({
  facilityType: FacilityTypeSchema,
  freeReaders: Type.Integer({ minimum: 0, maximum: 3, description: 'free face-recognition readers already received' }),
  monthlyUses: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'card uses per month of 2023-10..2024-08' }),
  costYen: Type.Optional(Type.Integer({ minimum: 0, description: 'actual purchase and installation cost, tax included' })),
});

export const ReaderSubsidyResultSchema = Type.Object({
  eligible: Type.Boolean(),
  peakMonth: Type.Union([Type.String(), Type.Null()]),
  peakUses: Type.Integer(),
  readersAllowed: Type.Integer(),
  capYen: Type.Integer(),
  subsidyYen: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String({ description: 'below_500 | hospital_table' })),
  explanation: Type.String(),
});

export const ReceptionFeeBody = Type.Object({
  date: Type.String({ examples: ['2024-06-01'] }),
  visit: Type.Union(['first', 'revisit', 'dispensing'].map((v) => Type.Literal(v))),
  cardUsed: Type.Boolean(),
  copayRate: Type.Union([10, 20, 30].map((v) => Type.Literal(v))),
});

export const ReceptionFeeResultSchema = Type.Object({
  feeYen: Type.Integer(),
  patientShareYen: Type.Integer(),
  savedYen: Type.Integer(),
  couldSaveYen: Type.Integer(),
  period: Type.String(),
});
