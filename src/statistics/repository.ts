// Statistics storage: the incremental rollup of usage events into facility-month and insurer-month
// rows, imported aggregates, and the reads of the reports. Every function takes the database (or a
// transaction) first.

import { sql, type Kysely } from 'kysely';
import { insertMany, type Database, type Db, type Dialect } from '../platform/db.ts';
import type { FacilityMonthStatsTable } from './tables.ts';
import { addMonths, firstDayOf } from './rules.ts';

/**
 * The rollup's progress row. Named for what it counts: since answers of エラー stopped counting, the
 * state row is a new one, so the first rollup after the upgrade rebuilds every month without them.
 */
const STATE = 'usage_events.confirmed';

/**
 * The events that count as confirmations. An エラー answer (a malformed inquiry: no eligibility was
 * looked up) stays in usage_events for the record but is not a confirmation: counting it lowered a
 * facility's utilisation rate and incentive for requests its own software got wrong.
 */
const confirmedOnly = (result: 'result' | 'e.result') => sql.raw(`${result} <> 'error'`);

function monthExpr(dialect: Dialect, column: string) {
  return dialect === 'postgres' ? sql.raw(`to_char(${column}, 'YYYY-MM')`) : sql.raw(`substr(${column}, 1, 7)`);
}

export interface RollupReport {
  fromEventId: number;
  toEventId: number;
  events: number;
  facilityMonths: number;
  insurerMonths: number;
  rebuilt: boolean;
}

export async function rollupState(db: Db): Promise<number> {
  const row = await db.selectFrom('stats_rollup_state').select('last_event_id').where('name', '=', STATE).executeTakeFirst();
  return row ? Number(row.last_event_id) : 0;
}

/**
 * Rolls the usage events not yet read into the monthly rows. A facility-month touched by a new
 * event (a late one too) is recomputed whole from its events, since users are distinct persons;
 * insurer counts are sums and take the new events' counts. Imported facility-months are kept as
 * imported. With `rebuild`, every event-derived row is dropped and recomputed from all events.
 * Two rollups at once cannot both apply: the state row is advanced from the value read, or not at all.
 */
/** Events per statement of a rollup (a slice of facilities, or a range of event ids). */
const REBUILD_SLICE_EVENTS = 20_000;

export async function rollup(db: Kysely<Database>, dialect: Dialect, now: string, options: { rebuild?: boolean; sliceEvents?: number } = {}): Promise<RollupReport> {
  const slice = options.sliceEvents ?? REBUILD_SLICE_EVENTS;
  await db.insertInto('stats_rollup_state').values({ name: STATE, last_event_id: 0, updated_at: now }).onConflict((oc) => oc.column('name').doNothing()).execute();
  return db.transaction().execute(async (trx) => {
    const last = await rollupState(trx);
    const from = options.rebuild ? 0 : last;
    const maxRow = await trx.selectFrom('usage_events').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
    const to = Number(maxRow?.max ?? 0);
    const report: RollupReport = { fromEventId: from, toEventId: Math.max(to, from), events: 0, facilityMonths: 0, insurerMonths: 0, rebuilt: Boolean(options.rebuild) };
    if (to <= from && !options.rebuild) return report;
    const advanced = await trx
      .updateTable('stats_rollup_state')
      .set({ last_event_id: to, updated_at: now })
      .where('name', '=', STATE)
      .where('last_event_id', '=', last)
      .executeTakeFirst();
    if (Number(advanced.numUpdatedRows) !== 1) return { ...report, toEventId: from };

    const m = monthExpr(dialect, 'occurred_on');
    const cardUses = sql`sum(case when method = 'my_number_card' then 1 else 0 end)`;
    const cardUsers = sql`count(distinct case when method = 'my_number_card' then person_id end)`;
    const counted = await trx.selectFrom('usage_events').select((eb) => eb.fn.countAll<number>().as('n')).where('id', '>', from).where('id', '<=', to).executeTakeFirstOrThrow();
    report.events = Number(counted.n);

    if (from === 0) {
      await trx.deleteFrom('facility_month_stats').where('source', '=', 'events').execute();
      await trx.deleteFrom('insurer_month_stats').execute();
      // A slice of facilities at a time (about REBUILD_SLICE_EVENTS events each), so that no single
      // statement runs for long: users are distinct persons, so a facility's months are computed whole.
      let after: string | null = null;
      for (;;) {
        const next: { facility_code: string } | undefined = await trx
          .selectFrom('usage_events')
          .select('facility_code')
          .$if(after !== null, (q) => q.where('facility_code', '>', after!))
          .orderBy('facility_code')
          .limit(1)
          .offset(slice)
          .executeTakeFirst();
        const upTo: string | undefined = next?.facility_code;
        const r = await sql`insert into facility_month_stats (facility_code, month, confirmations, card_uses, card_users, claims, source)
          select facility_code, ${m}, count(*), ${cardUses}, ${cardUsers}, null, 'events' from usage_events
          where id <= ${to} and ${confirmedOnly('result')}
          ${after === null ? sql`` : sql`and facility_code > ${after}`} ${upTo === undefined ? sql`` : sql`and facility_code <= ${upTo}`}
          group by facility_code, ${m}
          on conflict (facility_code, month) do nothing`.execute(trx);
        report.facilityMonths += Number(r.numAffectedRows ?? 0);
        if (upTo === undefined) break;
        after = upTo;
      }
    } else {
      await trx.deleteFrom('stats_dirty_months').execute();
      const dirty = await sql<{ facility_code: string; month: string }>`select distinct facility_code, ${m} as month from usage_events where id > ${from} and id <= ${to}`.execute(trx);
      await insertMany(
        trx,
        'stats_dirty_months',
        dirty.rows.map((d) => ({ kind: 'facility' as const, key: d.facility_code, month: d.month, first_day: firstDayOf(d.month), next_first_day: firstDayOf(addMonths(d.month, 1)) })),
      );
      await sql`delete from facility_month_stats where source = 'events' and exists (
        select 1 from stats_dirty_months d where d.kind = 'facility' and d.key = facility_month_stats.facility_code and d.month = facility_month_stats.month)`.execute(trx);
      const r = await sql`insert into facility_month_stats (facility_code, month, confirmations, card_uses, card_users, claims, source)
        select d.key, d.month, count(*), ${cardUses}, ${cardUsers}, null, 'events'
        from stats_dirty_months d join usage_events e on e.facility_code = d.key and e.occurred_on >= d.first_day and e.occurred_on < d.next_first_day
        where d.kind = 'facility' and e.id <= ${to} and ${confirmedOnly('e.result')}
        group by d.key, d.month
        on conflict (facility_code, month) do nothing`.execute(trx);
      report.facilityMonths = Number(r.numAffectedRows ?? 0);
      await trx.deleteFrom('stats_dirty_months').execute();
    }
    // Insurer counts are sums: a range of event ids at a time, each added to the months it touches.
    const insurerMonths = new Set<string>();
    for (let lo = from; lo < to; lo += slice) {
      const hi = Math.min(to, lo + slice);
      const touched = await sql<{ insurer_number: string; month: string }>`insert into insurer_month_stats (insurer_number, month, confirmations, card_uses)
        select insurer_number, ${m}, count(*), ${cardUses} from usage_events
        where id > ${lo} and id <= ${hi} and insurer_number is not null and ${confirmedOnly('result')}
        group by insurer_number, ${m}
        on conflict (insurer_number, month) do update set confirmations = insurer_month_stats.confirmations + excluded.confirmations, card_uses = insurer_month_stats.card_uses + excluded.card_uses
        returning insurer_number, month`.execute(trx);
      for (const t of touched.rows) insurerMonths.add(`${t.insurer_number}\t${t.month}`);
    }
    report.insurerMonths = insurerMonths.size;
    return report;
  });
}

export interface CountsRow {
  key: string;
  month: string;
  confirmations: number;
  card_uses: number;
}

/** Sums per prefecture for the given months. */
export async function prefectureCounts(db: Db, months: readonly string[]): Promise<CountsRow[]> {
  const rows = await db
    .selectFrom('facility_month_stats as s')
    .innerJoin('facilities as f', 'f.code', 's.facility_code')
    .select((eb) => ['f.prefecture as key', 's.month', eb.fn.sum<number>('s.confirmations').as('confirmations'), eb.fn.sum<number>('s.card_uses').as('card_uses')])
    .where('s.month', 'in', months as string[])
    .groupBy(['f.prefecture', 's.month'])
    .execute();
  return rows.map((r) => ({ key: r.key, month: r.month, confirmations: Number(r.confirmations), card_uses: Number(r.card_uses) }));
}

export async function insurerCounts(db: Db, months: readonly string[]): Promise<CountsRow[]> {
  const rows = await db.selectFrom('insurer_month_stats').select(['insurer_number as key', 'month', 'confirmations', 'card_uses']).where('month', 'in', months as string[]).execute();
  return rows.map((r) => ({ ...r, confirmations: Number(r.confirmations), card_uses: Number(r.card_uses) }));
}

export interface FacilityMonthRow extends FacilityMonthStatsTable {
  prefecture: string;
  type: string;
  name: string;
}

export async function facilityMonths(db: Db, filter: { month?: string; months?: readonly string[]; facilityCode?: string; prefecture?: string; type?: string; after?: string; limit?: number }): Promise<FacilityMonthRow[]> {
  let q = db
    .selectFrom('facility_month_stats as s')
    .innerJoin('facilities as f', 'f.code', 's.facility_code')
    .select(['s.facility_code', 's.month', 's.confirmations', 's.card_uses', 's.card_users', 's.claims', 's.source', 'f.prefecture', 'f.type', 'f.name']);
  if (filter.month) q = q.where('s.month', '=', filter.month);
  if (filter.months) q = q.where('s.month', 'in', filter.months as string[]);
  if (filter.facilityCode) q = q.where('s.facility_code', '=', filter.facilityCode);
  if (filter.prefecture) q = q.where('f.prefecture', '=', filter.prefecture);
  if (filter.type) q = q.where('f.type', '=', filter.type);
  if (filter.after) q = q.where('s.facility_code', '>', filter.after);
  q = q.orderBy('s.facility_code').orderBy('s.month');
  if (filter.limit) q = q.limit(filter.limit);
  return q.execute();
}

/** Writes imported aggregates; an imported row replaces whatever the facility-month had. */
export async function upsertAggregates(db: Db, rows: readonly Omit<FacilityMonthStatsTable, 'source'>[]): Promise<void> {
  const perChunk = 4000;
  for (let i = 0; i < rows.length; i += perChunk) {
    await db
      .insertInto('facility_month_stats')
      .values(rows.slice(i, i + perChunk).map((r) => ({ ...r, source: 'import' as const })))
      .onConflict((oc) =>
        oc.columns(['facility_code', 'month']).doUpdateSet((eb) => ({
          confirmations: eb.ref('excluded.confirmations'),
          card_uses: eb.ref('excluded.card_uses'),
          card_users: eb.ref('excluded.card_users'),
          claims: eb.ref('excluded.claims'),
          source: eb.ref('excluded.source'),
        })),
      )
      .execute();
  }
}

export async function existingFacilityCodes(db: Db, codes: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < codes.length; i += 5000) {
    const rows = await db.selectFrom('facilities').select('code').where('code', 'in', codes.slice(i, i + 5000) as string[]).execute();
    for (const r of rows) found.add(r.code);
  }
  return found;
}

export async function upsertFacilities(db: Db, rows: readonly { code: string; name: string; type: string; prefecture: string; created_at: string }[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 4000) {
    await db
      .insertInto('facilities')
      .values(rows.slice(i, i + 4000) as never)
      .onConflict((oc) => oc.column('code').doUpdateSet((eb) => ({ name: eb.ref('excluded.name'), type: eb.ref('excluded.type'), prefecture: eb.ref('excluded.prefecture') })))
      .execute();
  }
}
