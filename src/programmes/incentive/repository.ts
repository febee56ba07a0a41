// Reads of the programmes over stored figures: facilities page by page with their monthly figures,
// October 2023 claims and attested conditions; writes of the programme profile.

import '../../statistics/tables.ts';
import { sql } from 'kysely';
import type { Db, Dialect } from '../../platform/db.ts';

export interface FacilityFigures {
  /** Claims of the claims month from the monthly rows (imported), when there. */
  claims: number | null;
  /** Card users per month (the months asked for that have a row). */
  users: Record<string, number>;
  /** Card uses per month. */
  uses: Record<string, number>;
}

export interface FacilityPage {
  facilities: { code: string; name: string; type: string; prefecture: string }[];
  figures: Map<string, FacilityFigures>;
  claims: { facility_code: string; claims: number }[];
  profiles: { facility_code: string; poster: number; ask_patients: number; flyers: number; free_readers: number }[];
}

/** One page of facilities by code (after `after`), with their figures of the months given. */
export async function facilityPage(db: Db, dialect: Dialect, options: { after?: string; limit: number; code?: string; months: readonly string[]; claimsMonth: string }): Promise<FacilityPage> {
  let q = db.selectFrom('facilities').select(['code', 'name', 'type', 'prefecture']).orderBy('code');
  if (options.code) q = q.where('code', '=', options.code);
  if (options.after) q = q.where('code', '>', options.after);
  const facilities = await q.limit(options.limit).execute();
  const figures = new Map<string, FacilityFigures>();
  if (facilities.length === 0) return { facilities, figures, claims: [], profiles: [] };
  const first = facilities[0].code;
  const last = facilities[facilities.length - 1].code;
  // One row per facility with its months packed in a string: materialising a row object per
  // facility-month costs about twice as much as splitting the packed text (3,000,000 rows a run).
  const packed =
    dialect === 'postgres'
      ? sql<string>`string_agg(month || ':' || card_users || ':' || card_uses || ':' || coalesce(claims::text, ''), ';')`
      : sql<string>`group_concat(month || ':' || card_users || ':' || card_uses || ':' || ifnull(claims, ''), ';')`;
  const rows = await db
    .selectFrom('facility_month_stats')
    .select(['facility_code', packed.as('months')])
    .where('facility_code', '>=', first)
    .where('facility_code', '<=', last)
    .groupBy('facility_code')
    .execute();
  // Months are filtered here, not in SQL: a month condition leads SQLite's planner to the
  // (month, facility_code) index and a scan of every facility for each page.
  const wanted = new Set(options.months);
  for (const r of rows) {
    const fig: FacilityFigures = { claims: null, users: {}, uses: {} };
    figures.set(r.facility_code, fig);
    for (const part of r.months.split(';')) {
      const [month, users, uses, claims] = part.split(':');
      if (month === options.claimsMonth && claims !== '') fig.claims = Number(claims);
      if (!wanted.has(month)) continue;
      fig.users[month] = Number(users);
      fig.uses[month] = Number(uses);
    }
  }
  const claims = await db.selectFrom('facility_monthly_claims').select(['facility_code', 'claims']).where('facility_code', '>=', first).where('facility_code', '<=', last).where('month', '=', options.claimsMonth).execute();
  const profiles = await db.selectFrom('facility_programme_profiles').select(['facility_code', 'poster', 'ask_patients', 'flyers', 'free_readers']).where('facility_code', '>=', first).where('facility_code', '<=', last).execute();
  return { facilities, figures, claims, profiles };
}

export async function countFacilities(db: Db): Promise<number> {
  const r = await db.selectFrom('facilities').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function upsertProfile(db: Db, row: { facility_code: string; poster: number; ask_patients: number; flyers: number; free_readers: number; updated_at: string }): Promise<void> {
  await db
    .insertInto('facility_programme_profiles')
    .values(row)
    .onConflict((oc) =>
      oc.column('facility_code').doUpdateSet((eb) => ({
        poster: eb.ref('excluded.poster'),
        ask_patients: eb.ref('excluded.ask_patients'),
        flyers: eb.ref('excluded.flyers'),
        free_readers: eb.ref('excluded.free_readers'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
}

export async function findProfile(db: Db, code: string) {
  return db.selectFrom('facility_programme_profiles').selectAll().where('facility_code', '=', code).executeTakeFirst();
}
