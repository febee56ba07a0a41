// Row types of the interface's tables (migration 0008_interface), added to the one Database type.

export interface InterfaceIdempotencyTable {
  facility_code: string;
  idempotency_key: string;
  /** The request's file name: the same key with another name is a client error, not a replay. */
  file_name: string;
  result_file_name: string;
  result_bytes: Buffer;
  created_at: string;
}

/** A facility's 照会番号 for a member, keyed by the membership's card numbers. */
export interface InterfaceReferenceNumbersTable {
  facility_code: string;
  insurer_number: string;
  symbol: string;
  number: string;
  branch: string;
  reference_number: string;
  registered_at: string;
}

declare module '../platform/db.ts' {
  interface Database {
    interface_idempotency: InterfaceIdempotencyTable;
    interface_reference_numbers: InterfaceReferenceNumbersTable;
  }
}
