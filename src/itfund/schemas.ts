// Schemas of the IT support fund (TypeBox → JSON Schema → OpenAPI). Field rules are the pure
// validators', so that every problem is reported at once with its own code.

import { Type } from 'typebox';
import { categories, costKinds } from './rules.ts';

const Yen = (description?: string) => Type.Integer({ minimum: 0, ...(description ? { description } : {}) });
const DateString = (examples: string[]) => Type.String({ examples });

export const CostItemSchema = Type.Object({
  kind: Type.Union(costKinds.map((v) => Type.Literal(v))),
  amountYen: Yen('tax included'),
  units: Type.Optional(Type.Integer({ minimum: 1, description: 'readers in this item (kind reader); counted up to ¥99,000 each' })),
});

export const SubsidyBody = Type.Object({
  category: Type.Union(categories.map((v) => Type.Literal(v))),
  readersProvided: Type.Integer({ minimum: 1, maximum: 3, description: 'free face-recognition readers provided: hospitals 1–3, others 1' }),
  readerIntroduced: Type.Boolean({ description: 'the face-recognition reader was introduced; without it nothing is subsidised' }),
  costItems: Type.Array(CostItemSchema),
});

export const CountedItemSchema = Type.Object({ kind: Type.String(), amountYen: Type.Integer(), countedYen: Type.Integer(), note: Type.Optional(Type.String()) });

export const SubsidyResultSchema = Type.Object({
  table: Type.String({ description: '別表1-1 | 別表1-2 | 別表1-3 | 別表2 | 別表3' }),
  eligibleCostYen: Type.Integer(),
  rate: Type.Number({ description: '0.5 or 0.75' }),
  rateText: Type.String({ description: '1/2 or 3/4' }),
  baseCostCapYen: Type.Integer(),
  capYen: Type.Integer(),
  subsidyYen: Type.Integer(),
  items: Type.Array(CountedItemSchema),
  explanation: Type.String(),
  explanationJa: Type.String(),
});

export const LargeChainBody = Type.Object({
  asOf: DateString(['2021-06-30']),
  pharmacies: Type.Array(
    Type.Object({
      designatedOn: DateString(['2015-04-01']),
      monthlyCounts: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'prescriptions received per month YYYY-MM' }),
      retroactiveFrom: Type.Optional(DateString(['2010-05-01'])),
    }),
  ),
});

export const LargeChainResultSchema = Type.Object({
  cutOff: Type.String(),
  period: Type.Object({ from: Type.String(), to: Type.String() }),
  groupMonthlyAverage: Type.Number({ description: 'rounded down to 2 decimals; the determination itself is exact' }),
  largeChain: Type.Boolean({ description: 'the average exceeds 40,000 (> 40,000)' }),
  pharmacies: Type.Array(Type.Object({ index: Type.Integer(), basis: Type.String(), months: Type.Integer(), total: Type.Integer(), average: Type.Number() })),
});

export const ReturnBody = Type.Object({
  readerCostYen: Yen(),
  deliveredOn: DateString(['2021-03-10']),
  cancelledOn: DateString(['2022-02-05']),
  subsidyYen: Yen(),
  receivedOn: DateString(['2021-06-01']),
  dueOn: DateString(['2022-03-31']),
  payments: Type.Array(Type.Object({ on: DateString(['2022-03-31']), amountYen: Yen() })),
  asOf: Type.Optional(DateString(['2022-06-30'])),
});

export const ScheduleEntrySchema = Type.Object(
  {
    type: Type.String({ description: 'accrual | payment' }),
    from: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
    days: Type.Optional(Type.Integer()),
    principalYen: Type.Optional(Type.Integer()),
    ratePercent: Type.Optional(Type.Number()),
    feeYen: Type.Optional(Type.Integer()),
    on: Type.Optional(Type.String()),
    amountYen: Type.Optional(Type.Integer()),
    toLateFeeYen: Type.Optional(Type.Integer()),
    toPrincipalYen: Type.Optional(Type.Integer()),
    principalAfterYen: Type.Optional(Type.Integer()),
    lateFeeUnpaidYen: Type.Optional(Type.Integer()),
  },
);

export const ReturnResultSchema = Type.Object({
  monthsUsed: Type.Integer(),
  readerResidualYen: Type.Integer(),
  principalYen: Type.Integer(),
  late: Type.Boolean(),
  ratePercent: Type.Number(),
  lateFeeYen: Type.Integer(),
  lateFeePaidYen: Type.Integer(),
  principalPaidYen: Type.Integer(),
  outstandingYen: Type.Integer(),
  overpaidYen: Type.Integer(),
  lateFeeThrough: Type.Union([Type.String(), Type.Null()]),
  settled: Type.Boolean(),
  schedule: Type.Array(ScheduleEntrySchema),
});
