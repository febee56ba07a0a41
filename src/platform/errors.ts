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
  // Superseded by ONSHI_BODY_TOO_LARGE (kept: codes are never reused).
  ONSHI_REQUEST_TOO_LARGE: { status: 413, ja: 'リクエストが大きすぎます。', en: 'The request body is too large.' },
  ONSHI_BODY_TOO_LARGE: { status: 413, ja: 'リクエストの本文が上限を超えています。', en: 'The request body is larger than this route accepts.' },
  ONSHI_RATE_LIMITED: { status: 429, ja: '要求が多すぎます。しばらくしてから再度お試しください。', en: 'Too many requests from this credential; retry after the time given in Retry-After.' },
  ONSHI_NOT_FOUND: { status: 404, ja: '該当するリソースがありません。', en: 'No such resource.' },
  ONSHI_CONFLICT: { status: 409, ja: '同時に行われた別の処理と競合しました。状態を確認して再度お試しください。', en: 'Another request changed the same record at the same time; check its state and retry.' },
  ONSHI_INTERNAL: { status: 500, ja: 'システム内部でエラーが発生しました。', en: 'An internal error occurred.' },
  ONSHI_UNAVAILABLE: { status: 503, ja: '一時的に処理できません。しばらくしてから再度お試しください。', en: 'Temporarily unable to process; please retry.' },
  ONSHI_PDF_FONT_UNAVAILABLE: { status: 503, ja: '帳票を作成するための日本語フォントがありません。', en: 'No Japanese (CJK) font is available to render this PDF; install fonts-noto-cjk or set ONSHI_CJK_FONT.' },

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
  ONSHI_IMPORT_TOO_MANY_ROWS: { status: 413, ja: '取込件数が上限を超えています。', en: 'The import has more rows than allowed.' },
  ONSHI_PERSON_NOT_FOUND: { status: 404, ja: '該当する個人が見つかりません。', en: 'No such person among this insurer\'s members, present or past.' },
  ONSHI_IMPORT_ENCODING: { status: 400, ja: '文字コードを判別できません。', en: 'The character encoding could not be decoded.' },
  ONSHI_EXPORT_NOT_ENCODABLE: { status: 422, ja: 'Shift_JISで表せない文字を含む行があるため、出力しませんでした。該当行を修正するか、UTF-8で出力してください。', en: 'Some rows hold characters Shift_JIS cannot represent (listed); nothing was written. Correct them or download in UTF-8.' },

  // Credentials
  ONSHI_CREDENTIAL_NOT_FOUND: { status: 404, ja: '認証情報が見つかりません。', en: 'No such credential.' },
  ONSHI_CREDENTIAL_FROM_ENVIRONMENT: { status: 409, ja: 'この認証情報は環境変数 ONSHI_ADMIN_TOKEN で定義されているため失効できません。変数を変更して再起動してください。', en: 'This credential is defined by the ONSHI_ADMIN_TOKEN environment variable; change or unset the variable and restart instead.' },
  ONSHI_CREDENTIAL_ROLE_NOT_ALLOWED: { status: 400, ja: 'この職種はこの種別の医療機関等では発行できません。', en: 'This staff role does not fit this type of facility.' },

  // Confirmation
  ONSHI_CONFIRMATION_INVALID_INPUT: { status: 400, ja: '照会項目に誤りがあります。', en: 'Some inquiry fields are missing or malformed.' },

  // Cards (My Number card stand-in for J-LIS) and the reader protocol
  ONSHI_CARD_NOT_FOUND: { status: 404, ja: 'カードが見つかりません。', en: 'No such card.' },
  ONSHI_CARD_UNREGISTERED: { status: 409, ja: 'このカードは保険証利用登録がされていません。', en: 'This card is not registered for use as a health insurance card.' },
  ONSHI_CARD_ALREADY_REGISTERED: { status: 409, ja: 'このカードは既に保険証利用登録されています。', en: 'This card is already registered for insurance use.' },
  ONSHI_CARD_SUSPENDED: { status: 403, ja: 'このカードは一時停止されています。', en: 'This card is suspended (reported lost).' },
  ONSHI_CARD_CERTIFICATE_EXPIRED: { status: 403, ja: '利用者証明用電子証明書の有効期限が切れています。', en: 'The card user certificate has expired.' },
  ONSHI_CARD_CERTIFICATE_UNKNOWN: { status: 403, ja: '電子証明書が確認できません。', en: 'The certificate was not issued by the card issuer or is unknown.' },
  ONSHI_CARD_PIN_LOCKED: { status: 423, ja: '暗証番号がロックされています。発行元でロック解除が必要です。', en: 'The PIN is locked after too many wrong tries; the issuer must unlock it.' },
  ONSHI_CARD_PIN_WRONG: { status: 401, ja: '暗証番号が違います。', en: 'The PIN is wrong.' },
  ONSHI_CARD_FACE_MISMATCH: { status: 401, ja: '顔認証ができませんでした。', en: 'Face recognition did not match.' },
  ONSHI_CHALLENGE_UNKNOWN: { status: 400, ja: 'チャレンジが見つかりません。', en: 'No such challenge.' },
  ONSHI_CHALLENGE_EXPIRED: { status: 400, ja: 'チャレンジの有効期限が切れています。', en: 'The challenge has expired.' },
  ONSHI_CHALLENGE_REPLAYED: { status: 409, ja: 'このチャレンジは既に使用されています。', en: 'This challenge has already been used (replay).' },
  ONSHI_SIGNATURE_INVALID: { status: 401, ja: '電子署名の検証に失敗しました。', en: 'The signature does not verify against the registered certificate.' },

  // Consent, clinical information, disaster mode, audit
  ONSHI_CONSENT_REQUIRED: { status: 403, ja: '本人の同意がありません。', en: 'No consent from the patient for this facility and scope.' },
  ONSHI_CONSENT_EXPIRED: { status: 403, ja: '本人の同意の有効期限が切れています。', en: 'The patient\'s consent for this scope has expired.' },
  ONSHI_CONSENT_SCOPE: { status: 403, ja: '同意の範囲外の情報です。', en: 'The patient consented, but not to this kind of information.' },
  ONSHI_CLINICAL_ROLE: { status: 403, ja: 'この情報を閲覧できる資格がありません。', en: 'This staff role may not view this kind of information.' },
  ONSHI_CLINICAL_PHARMACY_CHECKUPS: { status: 403, ja: '薬局では特定健診情報を閲覧できません。', en: 'Pharmacies may not view specific health check-up information.' },
  ONSHI_DISASTER_NOT_FOUND: { status: 404, ja: '災害が登録されていません。', en: 'No such disaster.' },
  ONSHI_DISASTER_OUT_OF_SCOPE: { status: 403, ja: 'この医療機関等は災害時の閲覧対象外です。', en: 'This facility is not inside the declared disaster\'s scope.' },
  ONSHI_DISASTER_OUT_OF_PERIOD: { status: 403, ja: '災害時の閲覧期間外です。', en: 'The declared disaster period does not cover this moment.' },
  ONSHI_PATIENT_NOT_FOUND: { status: 404, ja: '該当する患者が見つかりません。', en: 'No patient matches.' },
  ONSHI_PATIENT_AMBIGUOUS: { status: 409, ja: '該当する患者が複数います。保険証の記号・番号で照会してください。', en: 'More than one patient matches; search by card numbers instead.' },

  // The real interface (XML messages) and batch inquiry (一括照会)
  ONSHI_INTERFACE_MALFORMED: { status: 400, ja: '電文の形式が正しくありません。', en: 'The message is not well-formed XML in UTF-8 or Shift_JIS.' },
  ONSHI_INTERFACE_UNKNOWN_MESSAGE: { status: 400, ja: 'ファイル名または電文種別が正しくありません。', en: 'The file name or message type is not one onshi serves.' },
  ONSHI_INTERFACE_INVALID_HEADER: { status: 400, ja: '電文ヘッダの項目に誤りがあります。', en: 'A message header item is missing or malformed.' },
  ONSHI_INTERFACE_IDEMPOTENCY_CONFLICT: { status: 409, ja: 'この冪等キーは別のファイルの要求で使用済みです。', en: 'This Idempotency-Key was already used for a request with another file name.' },
  ONSHI_INTERFACE_REFERENCE_NUMBER_INVALID: { status: 400, ja: '照会番号は半角英数字1～10文字で指定してください。', en: 'ReferenceNumber must be 1 to 10 half-width letters or digits.' },
  ONSHI_INTERFACE_IDEMPOTENCY_KEY_INVALID: { status: 400, ja: '冪等キーの形式が正しくありません。', en: 'The Idempotency-Key header must be 1 to 128 visible ASCII characters.' },
  ONSHI_BATCH_NOT_FOUND: { status: 404, ja: '該当する受付番号がありません。', en: 'No batch inquiry with this reception number.' },
  ONSHI_BATCH_EMPTY: { status: 400, ja: '照会対象が0件です。', en: 'The batch inquiry has no rows.' },
  ONSHI_BATCH_TOO_MANY_ROWS: { status: 413, ja: '照会件数が上限を超えています。', en: 'The batch inquiry has more rows than allowed.' },
  ONSHI_BATCH_PROCESSING: { status: 409, ja: '処理中です。しばらくしてから再度お試しください。', en: 'The batch inquiry is still being processed; ask again later.' },

  // IT support fund (医療情報化支援基金)
  ONSHI_ITFUND_CASE_NOT_FOUND: { status: 404, ja: '該当する補助事業の申請がありません。', en: 'No such IT support fund case.' },
  ONSHI_ITFUND_CASE_EXISTS: { status: 409, ja: 'この医療機関等の補助事業の申請は既に登録されています。', en: 'This facility already has an IT support fund case.' },
  ONSHI_ITFUND_TRANSITION_REFUSED: { status: 409, ja: '現在の状態ではこの操作はできません。', en: 'This action is not allowed in the current state of the case.' },
  ONSHI_ITFUND_PERIOD: { status: 409, ja: '申請期間外または期限を過ぎています。', en: 'The action is outside its application period or past its deadline.' },
  ONSHI_ITFUND_AMOUNT_TOO_HIGH: { status: 409, ja: '交付額が算定額を超えています。', en: 'The approved amount exceeds the computed subsidy.' },
  ONSHI_ITFUND_LEDGER_NO_ENTRY: { status: 404, ja: '補助金台帳に記載がありません（カードリーダー未配付）。', en: 'No ledger entry: no readers were provided to this facility yet.' },
  ONSHI_ITFUND_ORGANISATION_NOT_FOUND: { status: 404, ja: '該当する取りまとめ者がありません。', en: 'No such organisation (bulk applicant).' },
  ONSHI_ITFUND_ORGANISATION_STATE: { status: 409, ja: '取りまとめ者の確認状況によりこの操作はできません。', en: 'The organisation is not in a state that allows this (it must be confirmed first, and is confirmed only once).' },
  ONSHI_ITFUND_MEMBER_TAKEN: { status: 409, ja: 'この医療機関等は既に他の取りまとめ者に届け出られています。', en: 'A facility is already registered with another organisation.' },
  ONSHI_ITFUND_BULK_REFUSED: { status: 409, ja: '一括申請のうち受け付けられない申請があります。いずれも受け付けていません。', en: 'Some applications of the bulk application were refused; none was taken.' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof errorCatalogue;

/** A field-level problem: which field, why (stable code), and a message in both languages. */
export interface FieldError {
  field: string;
  code: FieldErrorCode;
  ja: string;
  en: string;
}

export type FieldErrorCode =
  | 'required'
  | 'format'
  | 'check_digit'
  | 'invalid_date'
  | 'out_of_range'
  | 'not_allowed'
  | 'mismatch'
  | 'duplicate'
  | 'unknown'
  | 'too_long'
  | 'forbidden_character'
  | 'not_encodable';

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
  too_long: { ja: '長すぎます。', en: 'is too long' },
  forbidden_character: { ja: '使用できない文字（制御文字・双方向制御文字・不正なサロゲート）が含まれています。', en: 'contains a character that is not allowed (control, bidirectional control or lone surrogate)' },
  not_encodable: { ja: 'Shift_JIS（JIS X 0208）で表せない文字が含まれています。', en: 'contains a character that Shift_JIS (JIS X 0208) cannot represent' },
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

/**
 * A unique-key violation that reached the error handler: two requests raced to create the same
 * record (services check first, so only a concurrent writer gets here). SQLite and PostgreSQL say it
 * differently.
 */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
