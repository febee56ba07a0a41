// Clinical storage: patients found by card numbers or by name and birth date, medication and
// check-up records of a person within a window.

import { insertMany, type Db } from '../platform/db.ts';
import type { CheckupsTable, MedicationsTable } from './tables.ts';

export interface PatientMembership {
  personId: string;
  memberId: string;
  insurerNumber: string;
  symbol: string;
  number: string;
  branch: string;
  qualifiedFrom: string;
  lostOn: string | null;
  periods: { validFrom: string; validUntil: string | null; name: string; birthDate: string; limitCategory: string | null }[];
}

function group(rows: { member_id: string; person_id: string; insurer_number: string; symbol: string; number: string; branch: string; qualified_from: string; lost_on: string | null; valid_from: string; valid_until: string | null; name: string; birth_date: string; limit_category: string | null }[]): PatientMembership[] {
  const byMember = new Map<string, PatientMembership>();
  for (const r of rows) {
    let m = byMember.get(r.member_id);
    if (!m) {
      m = { personId: r.person_id, memberId: r.member_id, insurerNumber: r.insurer_number, symbol: r.symbol, number: r.number, branch: r.branch, qualifiedFrom: r.qualified_from, lostOn: r.lost_on, periods: [] };
      byMember.set(r.member_id, m);
    }
    m.periods.push({ validFrom: r.valid_from, validUntil: r.valid_until, name: r.name, birthDate: r.birth_date, limitCategory: r.limit_category });
  }
  for (const m of byMember.values()) m.periods.sort((a, b) => (a.validFrom < b.validFrom ? -1 : a.validFrom > b.validFrom ? 1 : 0));
  return [...byMember.values()];
}

function membershipQuery(db: Db) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('eligibility_periods as p', 'p.membership_id', 'm.id')
    .select(['m.id as member_id', 'm.person_id', 'm.insurer_number', 'm.symbol', 'm.number', 'm.branch', 'm.qualified_from', 'm.lost_on', 'p.valid_from', 'p.valid_until', 'p.name', 'p.birth_date', 'p.limit_category']);
}

export async function membershipByCardNumbers(db: Db, key: { insurerNumber: string; symbol: string; number: string; branch: string }): Promise<PatientMembership | undefined> {
  const rows = await membershipQuery(db)
    .where('m.insurer_number', '=', key.insurerNumber)
    .where('m.symbol', '=', key.symbol)
    .where('m.number', '=', key.number)
    .where('m.branch', '=', key.branch)
    .execute();
  return group(rows)[0];
}

/** Memberships with any period recorded under this birth date (the index narrows; names are compared by the caller). */
export async function membershipsByBirthDate(db: Db, birthDate: string): Promise<PatientMembership[]> {
  const ids = await db.selectFrom('eligibility_periods').select('membership_id').where('birth_date', '=', birthDate).execute();
  if (ids.length === 0) return [];
  const rows = await membershipQuery(db)
    .where(
      'm.id',
      'in',
      [...new Set(ids.map((r) => r.membership_id))],
    )
    .execute();
  return group(rows);
}

export async function insertMedications(db: Db, rows: readonly MedicationsTable[]): Promise<void> {
  await insertMany(db, 'medications', rows);
}

export async function insertCheckups(db: Db, rows: readonly CheckupsTable[]): Promise<void> {
  await insertMany(db, 'checkups', rows);
}

export async function medicationsOf(db: Db, personId: string, from: string, to: string) {
  return db
    .selectFrom('medications')
    .select(['dispensed_on', 'facility_code', 'drug_code', 'drug_name', 'quantity', 'unit', 'days'])
    .where('person_id', '=', personId)
    .where('dispensed_on', '>=', from)
    .where('dispensed_on', '<=', to)
    .orderBy('dispensed_on', 'desc')
    .orderBy('id')
    .execute();
}

export async function checkupsOf(db: Db, personId: string, from: string, to: string) {
  return db
    .selectFrom('checkups')
    .select(['exam_date', 'insurer_number', 'items', 'judgement'])
    .where('person_id', '=', personId)
    .where('exam_date', '>=', from)
    .where('exam_date', '<=', to)
    .orderBy('exam_date', 'desc')
    .orderBy('id')
    .execute();
}
