// One catalogue of every refusal onshi can give. Codes are contracts: clients branch on them, so a
// code is never renamed or reused. Each entry carries its HTTP status and a Japanese and English
// message; the XML interface maps the same codes to the real interface's result codes.

export interface CatalogueEntry {
  readonly status: number;
  readonly ja: string;
  readonly en: string;
}

export const errorCatalogue = {
  // Platform / HTTP
  ONSHI_AUTH_MISSING_TOKEN: { status: 401, ja: '認証トークンがありません。', en: 'No bearer token was given.' },
  ONSHI_AUTH_INVALID_TOKEN: { status: 401, ja: '認証トークンが無効です。', en: 'The bearer token is not valid or has been revoked.' },
  ONSHI_AUTH_FORBIDDEN: { status: 403, ja: 'この操作を行う権限がありません。', en: 'This credential may not perform this operation.' },
  ONSHI_REQUEST_INVALID: { status: 400, ja: 'リクエストの形式が正しくありません。', en: 'The request is malformed.' },
  ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE: { status: 415, ja: 'このコンテンツ形式は受け付けられません。', en: 'This content type is not accepted here.' },
  ONSHI_REQUEST_TOO_LARGE: { status: 413, ja: 'リクエストが大きすぎます。', en: 'The request body is too large.' },
  ONSHI_NOT_FOUND: { status: 404, ja: '該当するリソースがありません。', en: 'No such resource.' },
  ONSHI_INTERNAL: { status: 500, ja: 'システム内部でエラーが発生しました。', en: 'An internal error occurred.' },
  ONSHI_UNAVAILABLE: { status: 503, ja: '一時的に処理できません。しばらくしてから再度お試しください。', en: 'Temporarily unable to process; please retry.' },

  // Registry
  ONSHI_REGISTRY_INSURER_EXISTS: { status: 409, ja: 'この保険者番号は既に登録されています。', en: 'An insurer with this number already exists.' },
  ONSHI_REGISTRY_INSURER_NOT_FOUND: { status: 404, ja: '保険者が登録されていません。', en: 'No such insurer.' },
  ONSHI_REGISTRY_FACILITY_EXISTS: { status: 409, ja: 'この医療機関コードは既に登録されています。', en: 'A facility with this code already exists.' },
  ONSHI_REGISTRY_FACILITY_NOT_FOUND: { status: 404, ja: '医療機関等が登録されていません。', en: 'No such facility.' },
  ONSHI_REGISTRY_INVALID_FIELDS: { status: 400, ja: '入力項目に誤りがあります。', en: 'Some fields are missing or malformed.' },
  ONSHI_REGISTRY_MEMBER_EXISTS: { status: 409, ja: 'この記号・番号・枝番の被保険者は既に登録されています。', en: 'A member with these card numbers already exists at this insurer.' },
  ONSHI_REGISTRY_MEMBER_NOT_FOUND: { status: 404, ja: '該当する被保険者が登録されていません。', en: 'No such member at this insurer.' },
  ONSHI_REGISTRY_MEMBER_TERMINATED: { status: 409, ja: 'この被保険者の資格は既に喪失しています。', en: 'This membership has already ended.' },
  ONSHI_REGISTRY_CHANGE_BEFORE_CURRENT: { status: 409, ja: '変更日が現在の資格期間の開始日より前です。', en: 'The change is dated before the start of the current eligibility period.' },
  ONSHI_IMPORT_REJECTED: { status: 422, ja: '取込データに誤りがあるため、全件取り込みませんでした。', en: 'The import had rejected rows; nothing was written.' },
  ONSHI_IMPORT_EMPTY: { status: 400, ja: '取込データが空です。', en: 'The import contained no rows.' },
  ONSHI_IMPORT_ENCODING: { status: 400, ja: '文字コードを判別できません。', en: 'The character encoding could not be decoded.' },

  // Credentials
  ONSHI_CREDENTIAL_NOT_FOUND: { status: 404, ja: '認証情報が見つかりません。', en: 'No such credential.' },

  // Confirmation
  ONSHI_CONFIRMATION_INVALID_INPUT: { status: 400, ja: '照会項目に誤りがあります。', en: 'Some inquiry fields are missing or malformed.' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof errorCatalogue;

/** A field-level problem: which field, why (stable code), and a message in both languages. */
export interface FieldError {
  field: string;
  code: FieldErrorCode;
  ja: string;
  en: string;
}

export type FieldErrorCode = 'required' | 'format' | 'check_digit' | 'invalid_date' | 'out_of_range' | 'not_allowed' | 'mismatch' | 'duplicate' | 'unknown';

const fieldMessages: Record<FieldErrorCode, { ja: string; en: string }> = {
  required: { ja: '必須項目です。', en: 'is required' },
  format: { ja: '形式が正しくありません。', en: 'is malformed' },
  check_digit: { ja: '検証番号が一致しません。', en: 'fails its check digit' },
  invalid_date: { ja: '日付が正しくありません。', en: 'is not a valid YYYY-MM-DD date' },
  out_of_range: { ja: '範囲外の値です。', en: 'is out of range' },
  not_allowed: { ja: '指定できない値です。', en: 'is not an allowed value' },
  mismatch: { ja: '他の項目と整合しません。', en: 'does not agree with another field' },
  duplicate: { ja: '重複しています。', en: 'is a duplicate' },
  unknown: { ja: '未知の項目です。', en: 'is not a known field' },
};

export function fieldError(field: string, code: FieldErrorCode, detail?: string): FieldError {
  const m = fieldMessages[code];
  return {
    field,
    code,
    ja: `${field}: ${m.ja}${detail ? `（${detail}）` : ''}`,
    en: `${field} ${m.en}${detail ? ` (${detail})` : ''}`,
  };
}

/** A refusal: an answer, not a crash. The HTTP error handler renders it from the catalogue. */
export class OnshiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, details?: Record<string, unknown>) {
    super(errorCatalogue[code].en);
    this.name = 'OnshiError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.details = details;
  }
}

/** The one error body shape of the JSON API. */
export interface ErrorBody {
  code: string;
  message: string;
  messageJa: string;
  [extra: string]: unknown;
}

export function errorBody(code: ErrorCode, details?: Record<string, unknown>): ErrorBody {
  const entry = errorCatalogue[code];
  // Details come first so that none can replace the contract fields (a facility's `code` detail did).
  return { ...details, code, message: entry.en, messageJa: entry.ja };
}
