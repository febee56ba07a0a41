// The eligibility record a facility receives (the card-number and the card paths answer the same shape).

import { Type } from 'typebox';

const Nullable = (s: ReturnType<typeof Type.String>) => Type.Union([s, Type.Null()]);

export const EligibilityRecordSchema = Type.Object({
  insurerNumber: Type.String(),
  insurerName: Type.String(),
  symbol: Type.String(),
  number: Type.String(),
  branch: Type.String(),
  relationship: Type.String(),
  name: Type.String(),
  nameKana: Type.String(),
  birthDate: Type.String(),
  sex: Type.String(),
  address: Type.String(),
  postalCode: Nullable(Type.String()),
  qualifiedFrom: Type.String(),
  lostOn: Nullable(Type.String()),
  copayRate: Type.Integer(),
  paperCardIssuedOn: Nullable(Type.String()),
  paperCardExpiresOn: Nullable(Type.String()),
  validFrom: Type.String(),
});
