// The HTTP pieces every capability's routes share: the one error shape (as served by
// platform/http.ts), the standard error answers, the 422 answer of a file import and the
// insurer-number path parameter.

import { Type } from 'typebox';

export const FieldErrorSchema = Type.Object({
  field: Type.String(),
  code: Type.String({ description: 'required | format | check_digit | invalid_date | out_of_range | not_allowed | mismatch | duplicate | unknown | too_long | forbidden_character | not_encodable' }),
  ja: Type.String(),
  en: Type.String(),
});

export const ErrorSchema = Type.Object(
  {
    code: Type.String({ description: 'Stable machine-readable code, ONSHI_<AREA>_<WHAT>' }),
    message: Type.String({ description: 'English message' }),
    messageJa: Type.String({ description: 'Japanese message' }),
    errors: Type.Optional(Type.Array(FieldErrorSchema)),
  },
  { additionalProperties: true },
);

export const errorResponses = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  404: ErrorSchema,
  409: ErrorSchema,
};

/** The 422 answer of an import: each rejected row by its line, with that row's field errors. */
export const ImportRejectedSchema = Type.Object(
  {
    code: Type.String(),
    message: Type.String(),
    messageJa: Type.String(),
    rows: Type.Integer(),
    rejectedRows: Type.Integer(),
    errorsTruncated: Type.Boolean(),
    errors: Type.Array(Type.Object({ line: Type.Integer({ description: '1-based line in the file' }), errors: Type.Array(FieldErrorSchema) })),
  },
  { additionalProperties: true },
);

export const InsurerNumberParam = Type.Object({ insurerNumber: Type.String({ description: '保険者番号 (6 or 8 digits)' }) });

/** A JSON body that is not an object (an array, a string) is treated as empty: every field is then reported missing. */
export function bodyObject(body: unknown): Record<string, unknown> {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}
