// Storage of the transition programme: eligibility certificates (資格確認書), their serials and the
// restartable jobs. Every function takes the database (or a transaction) first.

import type { Db } from '../../platform/db.ts';
import { sql } from 'kysely';
import { insertMany, runRead } from '../../platform/db.ts';
import type { CertificateFacts } from './rules.ts';

export interface EligibilityCertificatesTable {
  id: string;
  number: string;
  membership_id: string;
  insurer_number: string;
  issued_on: string;
  /** Last valid day (inclusive). */
  valid_until: string;
  revoked_on: string | null;
  origin: 'automatic' | 'request';
  request_reason: string | null;
  automatic_key: string | null;
  job_id: string | null;
  issued_at: string;
  issued_by: string;
}

export interface CertificateSerialsTable {
  insurer_number: string;
  last_serial: number;
}

export interface TransitionJobsTable {
  id: string;
  job_key: string;
  kind: string;
  params: string;
  status: 'running' | 'done';
  cursor: string | null;
  examined: number;
  written: number;
  started_at: string;
  finished_at: string | null;
}

declare module '../../platform/db.ts' {
  interface Database {
    eligibility_certificates: EligibilityCertificatesTable;
    certificate_serials: CertificateSerialsTable;
    transition_jobs: TransitionJobsTable;
  }
}

export interface CertificateRow extends CertificateFacts {
  id: string;
  memberId: string;
  insurerNumber: string;
  origin: string;
  requestReason: string | null;
  issuedAt: string;
  issuedBy: string;
}

function toCertificate(r: EligibilityCertificatesTable): CertificateRow {
  return {
    id: r.id,
    number: r.number,
    memberId: r.membership_id,
    insurerNumber: r.insurer_number,
    issuedOn: r.issued_on,
    validUntil: r.valid_until,
    revokedOn: r.revoked_on,
    origin: r.origin,
    requestReason: r.request_reason,
    issuedAt: r.issued_at,
    issuedBy: r.issued_by,
  };
}

/** Certificates of memberships, by membership id, oldest first. */
export async function certificatesOfMemberships(db: Db, memberIds: readonly string[]): Promise<Map<string, CertificateRow[]>> {
  const out = new Map<string, CertificateRow[]>();
  for (let i = 0; i < memberIds.length; i += 500) {
    const rows = await db.selectFrom('eligibility_certificates').selectAll().where('membership_id', 'in', memberIds.slice(i, i + 500)).orderBy('issued_on').orderBy('number').execute();
    for (const r of rows) {
      const list = out.get(r.membership_id);
      if (list) list.push(toCertificate(r));
      else out.set(r.membership_id, [toCertificate(r)]);
    }
  }
  return out;
}

/**
 * The certificates a confirmation checks (資格確認書 presented at reception), oldest first. One
 * membership, the usual case, is one statement compiled once (the confirmation's hot path).
 */
export async function certificateFactsOf(db: Db, memberIds: readonly string[]): Promise<Map<string, CertificateFacts[]>> {
  if (memberIds.length !== 1) return certificatesOfMemberships(db, memberIds);
  const rows = await runRead<Pick<EligibilityCertificatesTable, 'number' | 'issued_on' | 'valid_until' | 'revoked_on'>>(
    db,
    'transition.certificatesOfMember',
    (d) => d.selectFrom('eligibility_certificates').select(['number', 'issued_on', 'valid_until', 'revoked_on']).where('membership_id', '=', '').orderBy('issued_on').orderBy('number'),
    [memberIds[0]],
  );
  return new Map([[memberIds[0], rows.map((r) => ({ number: r.number, issuedOn: r.issued_on, validUntil: r.valid_until, revokedOn: r.revoked_on }))]]);
}

export async function insertCertificates(db: Db, rows: readonly EligibilityCertificatesTable[]): Promise<void> {
  await insertMany(db, 'eligibility_certificates', rows);
}

/** Reserves `count` serials of an insurer (inside the caller's transaction); returns the first. */
export async function reserveSerials(db: Db, insurerNumber: string, count: number): Promise<number> {
  const row = await db
    .insertInto('certificate_serials')
    .values({ insurer_number: insurerNumber, last_serial: count })
    .onConflict((oc) => oc.column('insurer_number').doUpdateSet((eb) => ({ last_serial: eb('certificate_serials.last_serial', '+', count) })))
    .returning('last_serial')
    .executeTakeFirstOrThrow();
  return Number(row.last_serial) - count + 1;
}

export async function revokeCertificatesOf(db: Db, memberId: string, on: string): Promise<void> {
  await db
    .updateTable('eligibility_certificates')
    .set({ revoked_on: on })
    .where('membership_id', '=', memberId)
    .where('revoked_on', 'is', null)
    .where('valid_until', '>=', on)
    .execute();
}

export async function certificatesIssuedBetween(db: Db, insurerNumber: string, from: string, to: string) {
  return db
    .selectFrom('eligibility_certificates as c')
    .innerJoin('memberships as m', 'm.id', 'c.membership_id')
    .innerJoin('insurers as i', 'i.insurer_number', 'c.insurer_number')
    .select(['c.id', 'c.number', 'c.membership_id', 'c.issued_on', 'c.valid_until', 'c.origin', 'i.name as insurer_name', 'm.insurer_number', 'm.symbol', 'm.number as card_number', 'm.branch', 'm.qualified_from'])
    .where('c.insurer_number', '=', insurerNumber)
    .where('c.issued_on', '>=', from)
    .where('c.issued_on', '<=', to)
    .orderBy('c.number')
    .execute();
}

/** One chunk of current memberships after `cursor` in id order (optionally one insurer's). */
export async function membershipsChunk(db: Db, filter: { insurerNumber?: string; today: string; after: string | null; limit: number }) {
  let q = db
    .selectFrom('memberships')
    .select(['id', 'person_id', 'insurer_number', 'qualified_from', 'lost_on'])
    .where((eb) => eb.or([eb('lost_on', 'is', null), eb('lost_on', '>', filter.today)]))
    .orderBy('id')
    .limit(filter.limit);
  // `|| ''` keeps the planner off the card-number index (insurer first), which made SQLite sort all
  // of the insurer's members for every chunk; walking the primary key from the cursor is linear.
  if (filter.insurerNumber) q = q.where(sql<string>`(insurer_number || '')`, '=', filter.insurerNumber);
  if (filter.after !== null) q = q.where('id', '>', filter.after);
  return q.execute();
}

export async function periodsOfMemberships(db: Db, memberIds: readonly string[]) {
  const rows: { membership_id: string; valid_from: string; valid_until: string | null; paper_card_issued_on: string | null; paper_card_expires_on: string | null; name: string; name_kana: string; birth_date: string; address: string; postal_code: string | null }[] = [];
  for (let i = 0; i < memberIds.length; i += 500) {
    rows.push(
      ...(await db
        .selectFrom('eligibility_periods')
        .select(['membership_id', 'valid_from', 'valid_until', 'paper_card_issued_on', 'paper_card_expires_on', 'name', 'name_kana', 'birth_date', 'address', 'postal_code'])
        .where('membership_id', 'in', memberIds.slice(i, i + 500))
        .orderBy('membership_id')
        .orderBy('valid_from')
        .orderBy('recorded_at')
        .execute()),
    );
  }
  return rows;
}

/** Persons among `personIds` holding an active My Number card registered for insurance use. */
export async function personsWithRegisteredCard(db: Db, personIds: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < personIds.length; i += 500) {
    const rows = await db
      .selectFrom('cards')
      .select('person_id')
      .where('person_id', 'in', personIds.slice(i, i + 500))
      .where('registered_at', 'is not', null)
      .where('status', '=', 'active')
      .execute();
    for (const r of rows) out.add(r.person_id);
  }
  return out;
}

// Jobs

export async function findJob(db: Db, jobKey: string): Promise<TransitionJobsTable | undefined> {
  return db.selectFrom('transition_jobs').selectAll().where('job_key', '=', jobKey).executeTakeFirst();
}

export async function insertJob(db: Db, row: TransitionJobsTable): Promise<void> {
  await db.insertInto('transition_jobs').values(row).onConflict((oc) => oc.column('job_key').doNothing()).execute();
}

export async function advanceJob(db: Db, id: string, cursor: string, examined: number, written: number): Promise<void> {
  await db
    .updateTable('transition_jobs')
    .set((eb) => ({ cursor, examined: eb('examined', '+', examined), written: eb('written', '+', written) }))
    .where('id', '=', id)
    .execute();
}

export async function finishJob(db: Db, id: string, at: string): Promise<void> {
  await db.updateTable('transition_jobs').set({ status: 'done', finished_at: at }).where('id', '=', id).execute();
}
