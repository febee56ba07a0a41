// Row types of the consent, clinical, disaster and audit tables (migration 0003_clinical), added to
// the one Database type by module augmentation so that db.ts stays the registry's.

import type { Generated } from 'kysely';

export interface ConsentsTable {
  id: string;
  person_id: string;
  facility_code: string;
  /** Comma-separated ConsentScope values; empty when the patient said no to everything. */
  scopes: string;
  method: string;
  attested_by: string | null;
  granted_at: string;
  expires_at: string;
}

export interface MedicationsTable {
  id: string;
  person_id: string;
  /** Dispensed (pharmacy) or prescribed (in-house) date, JST. */
  dispensed_on: string;
  facility_code: string;
  drug_code: string;
  drug_name: string;
  quantity: number;
  unit: string;
  days: number | null;
  claim_ref: string | null;
  loaded_at: string;
}

export interface CheckupsTable {
  id: string;
  person_id: string;
  exam_date: string;
  insurer_number: string;
  /** JSON of the measured items (height, weight, BMI, …). */
  items: string;
  judgement: string;
  loaded_at: string;
}

export interface DisastersTable {
  id: string;
  name: string;
  starts_at: string;
  ends_at: string;
  declared_by: string;
  declared_at: string;
}

export interface DisasterScopeTable {
  disaster_id: string;
  /** 'prefecture' or 'facility'. */
  kind: string;
  value: string;
}

export interface AccessLogTable {
  /** Insertion order for paging (the UUIDv7 id also sorts, but a clock may run backwards in tests). */
  seq: Generated<number>;
  id: string;
  occurred_at: string;
  actor: string;
  role: string;
  facility_code: string | null;
  person_id: string;
  what: string;
  basis_kind: string;
  basis_id: string | null;
  detail: string | null;
}

declare module '../platform/db.ts' {
  interface Database {
    consents: ConsentsTable;
    medications: MedicationsTable;
    checkups: CheckupsTable;
    disasters: DisastersTable;
    disaster_scope: DisasterScopeTable;
    access_log: AccessLogTable;
  }
}
