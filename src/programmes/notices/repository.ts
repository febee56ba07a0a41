// Storage of the notices to all members (資格情報のお知らせ): employer data per membership, rounds,
// pieces, boxes, resends and tracking serials. Every function takes the database (or a transaction)
// first. The planning job's cursor lives in the transition programme's `transition_jobs`.

import type { Db } from '../../platform/db.ts';
import { sql } from 'kysely';
import { insertMany } from '../../platform/db.ts';

export interface MemberEmployersTable {
  membership_id: string;
  office_symbol: string;
  office_name: string;
  office_address: string;
  office_postal_code: string | null;
  /** 1 for 任意継続 (voluntary continuation), 0 otherwise. */
  voluntary_continuation: number;
  previous_office_symbol: string | null;
  symbol_changed_on: string | null;
  updated_at: string;
  updated_by: string;
}

export interface NoticeRoundsTable {
  id: string;
  insurer_number: string;
  round: number;
  extracted_on: string;
  window_from: string | null;
  window_to: string | null;
  piece_weight_mg: number;
  box_tare_mg: number;
  job_id: string;
  status: 'planning' | 'done';
  created_at: string;
  created_by: string;
  finished_at: string | null;
}

export interface NoticeBoxesTable {
  id: string;
  round_id: string;
  office_symbol: string;
  office_name: string;
  office_address: string;
  office_postal_code: string | null;
  prefecture: string;
  seq: number;
  of_boxes: number;
  pieces: number;
  weight_mg: number;
  tracking_number: string;
  /** The office ranks (notice_pieces.office_seq) the box holds, inclusive (0006c); null on boxes of older rounds. */
  first_seq: number | null;
  last_seq: number | null;
}

/** Per round and office: pieces written so far and the office data of its most recently updated member. */
export interface NoticeOfficeTalliesTable {
  round_id: string;
  office_symbol: string;
  pieces: number;
  office_name: string;
  office_address: string;
  office_postal_code: string | null;
  prefecture: string;
  updated_at: string;
}

export interface NoticePiecesTable {
  id: string;
  round_id: string;
  membership_id: string;
  tracking_number: string;
  route: 'employer' | 'home';
  reason: string;
  office_symbol: string | null;
  /** Set by rounds planned before 0006c; newer rounds find a piece's box by office_seq. */
  box_id: string | null;
  /** Rank of an employer piece within its office in the round (1, 2, …); null for home pieces. */
  office_seq: number | null;
  prefecture: string;
  name: string;
  postal_code: string | null;
  address: string;
  weight_mg: number;
  returned_at: string | null;
}

export interface NoticeResendsTable {
  id: string;
  piece_id: string;
  tracking_number: string;
  prefecture: string;
  name: string;
  postal_code: string | null;
  address: string;
  created_at: string;
  created_by: string;
}

export interface TrackingSerialsTable {
  name: string;
  last_serial: number;
}

declare module '../../platform/db.ts' {
  interface Database {
    member_employers: MemberEmployersTable;
    notice_rounds: NoticeRoundsTable;
    notice_boxes: NoticeBoxesTable;
    notice_pieces: NoticePiecesTable;
    notice_resends: NoticeResendsTable;
    notice_office_tallies: NoticeOfficeTalliesTable;
    tracking_serials: TrackingSerialsTable;
  }
}

// Employer data

export async function employersOf(db: Db, memberIds: readonly string[]): Promise<Map<string, MemberEmployersTable>> {
  const out = new Map<string, MemberEmployersTable>();
  for (let i = 0; i < memberIds.length; i += 500) {
    for (const r of await db.selectFrom('member_employers').selectAll().where('membership_id', 'in', memberIds.slice(i, i + 500)).execute()) out.set(r.membership_id, r);
  }
  return out;
}

export async function upsertEmployers(db: Db, rows: readonly MemberEmployersTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    await db
      .insertInto('member_employers')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) =>
        oc.column('membership_id').doUpdateSet((eb) => ({
          office_symbol: eb.ref('excluded.office_symbol'),
          office_name: eb.ref('excluded.office_name'),
          office_address: eb.ref('excluded.office_address'),
          office_postal_code: eb.ref('excluded.office_postal_code'),
          voluntary_continuation: eb.ref('excluded.voluntary_continuation'),
          previous_office_symbol: eb.ref('excluded.previous_office_symbol'),
          symbol_changed_on: eb.ref('excluded.symbol_changed_on'),
          updated_at: eb.ref('excluded.updated_at'),
          updated_by: eb.ref('excluded.updated_by'),
        })),
      )
      .execute();
  }
}

/** Memberships among `ids` that belong to the insurer. */
export async function membershipsOfInsurer(db: Db, insurerNumber: string, ids: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('memberships').select('id').where('insurer_number', '=', insurerNumber).where('id', 'in', ids.slice(i, i + 500)).execute();
    for (const r of rows) out.add(r.id);
  }
  return out;
}

// Rounds

export async function findRound(db: Db, insurerNumber: string, round: number): Promise<NoticeRoundsTable | undefined> {
  return db.selectFrom('notice_rounds').selectAll().where('insurer_number', '=', insurerNumber).where('round', '=', round).executeTakeFirst();
}

export async function roundById(db: Db, id: string): Promise<NoticeRoundsTable | undefined> {
  return db.selectFrom('notice_rounds').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertRound(db: Db, row: NoticeRoundsTable): Promise<void> {
  await db.insertInto('notice_rounds').values(row).execute();
}

export async function finishRound(db: Db, id: string, at: string): Promise<void> {
  await db.updateTable('notice_rounds').set({ status: 'done', finished_at: at }).where('id', '=', id).execute();
}

interface RoundFilter {
  insurerNumber: string;
  extractedOn: string;
  window: { from: string; to: string } | null;
}

function roundMembersQuery(db: Db, f: RoundFilter) {
  let q = db
    .selectFrom('memberships as m')
    .leftJoin('member_employers as e', 'e.membership_id', 'm.id')
    // `|| ''` keeps the planner off the card-number index (insurer first): with it, SQLite sorted
    // all of the insurer's members for every chunk; without, it walks the primary key from the cursor.
    .where(sql<string>`(${sql.ref('m.insurer_number')} || '')`, '=', f.insurerNumber)
    .where('m.qualified_from', '<=', f.extractedOn)
    .where((eb) => eb.or([eb('m.lost_on', 'is', null), eb('m.lost_on', '>', f.extractedOn)]));
  const w = f.window;
  if (w) {
    q = q.where((eb) =>
      eb.or([
        eb.and([eb('m.qualified_from', '>=', w.from), eb('m.qualified_from', '<=', w.to)]),
        eb.and([eb('e.symbol_changed_on', '>=', w.from), eb('e.symbol_changed_on', '<=', w.to)]),
      ]),
    );
  }
  return q;
}

export async function countRoundMembers(db: Db, f: RoundFilter): Promise<number> {
  const r = await roundMembersQuery(db, f).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** One chunk of the round's members after `after` in membership id order, with their employer data. */
export async function roundMembersChunk(db: Db, f: RoundFilter & { after: string | null; limit: number }) {
  let q = roundMembersQuery(db, f)
    .select([
      'm.id', 'm.symbol', 'm.number', 'm.relationship', 'm.qualified_from', 'm.lost_on',
      'e.office_symbol', 'e.office_name', 'e.office_address', 'e.office_postal_code', 'e.voluntary_continuation', 'e.symbol_changed_on', 'e.updated_at',
    ])
    .orderBy('m.id')
    .limit(f.limit);
  if (f.after !== null) q = q.where('m.id', '>', f.after);
  return q.execute();
}

export interface HouseholdEmployer {
  office_symbol: string;
  office_name: string;
  office_address: string;
  office_postal_code: string | null;
  voluntary_continuation: number;
  updated_at: string;
}

/**
 * The employer data of the insured persons (relationship self) of some households, each named by
 * card symbol and number at one insurer: key `symbol\tnumber`. Where a household's insured person
 * held several memberships with employer data, the one current on `onDate` wins, else the latest.
 */
export async function householdEmployers(db: Db, insurerNumber: string, households: readonly { symbol: string; number: string }[], onDate: string): Promise<Map<string, HouseholdEmployer>> {
  const out = new Map<string, HouseholdEmployer>();
  const unique = [...new Map(households.map((k) => [`${k.symbol}\t${k.number}`, k])).values()];
  const rank = (r: { qualified_from: string; lost_on: string | null }) => (r.qualified_from <= onDate && (r.lost_on === null || r.lost_on > onDate) ? 1 : 0);
  const best = new Map<string, { qualified_from: string; lost_on: string | null }>();
  for (let i = 0; i < unique.length; i += 400) {
    const chunk = unique.slice(i, i + 400);
    const rows = await db
      .selectFrom('memberships as m')
      .innerJoin('member_employers as e', 'e.membership_id', 'm.id')
      .select(['m.symbol', 'm.number', 'm.qualified_from', 'm.lost_on', 'e.office_symbol', 'e.office_name', 'e.office_address', 'e.office_postal_code', 'e.voluntary_continuation', 'e.updated_at'])
      .where('m.insurer_number', '=', insurerNumber)
      .where(({ eb, refTuple, tuple }) => eb(refTuple('m.symbol', 'm.number'), 'in', chunk.map((k) => tuple(k.symbol, k.number))))
      .where('m.relationship', '=', 'self')
      .execute();
    for (const r of rows) {
      const key = `${r.symbol}\t${r.number}`;
      const held = best.get(key);
      if (held && (rank(held) > rank(r) || (rank(held) === rank(r) && held.qualified_from >= r.qualified_from))) continue;
      best.set(key, r);
      out.set(key, { office_symbol: r.office_symbol, office_name: r.office_name, office_address: r.office_address, office_postal_code: r.office_postal_code, voluntary_continuation: Number(r.voluntary_continuation), updated_at: r.updated_at });
    }
  }
  return out;
}

// Tracking serials, pieces, boxes

/** Reserves `count` tracking serials (inside the caller's transaction); returns the first. */
export async function reserveTracking(db: Db, count: number): Promise<number> {
  const row = await db
    .insertInto('tracking_serials')
    .values({ name: 'notices', last_serial: count })
    .onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ last_serial: eb('tracking_serials.last_serial', '+', count) })))
    .returning('last_serial')
    .executeTakeFirstOrThrow();
  return Number(row.last_serial) - count + 1;
}

export async function insertPieces(db: Db, rows: readonly NoticePiecesTable[]): Promise<void> {
  await insertMany(db, 'notice_pieces', rows);
}

export async function insertBoxes(db: Db, rows: readonly NoticeBoxesTable[]): Promise<void> {
  await insertMany(db, 'notice_boxes', rows);
}

/** Tallies of some offices of a round (inside the caller's transaction). */
export async function talliesOf(db: Db, roundId: string, offices: readonly string[]): Promise<Map<string, NoticeOfficeTalliesTable>> {
  const out = new Map<string, NoticeOfficeTalliesTable>();
  for (let i = 0; i < offices.length; i += 500) {
    const rows = await db.selectFrom('notice_office_tallies').selectAll().where('round_id', '=', roundId).where('office_symbol', 'in', offices.slice(i, i + 500)).execute();
    for (const r of rows) out.set(r.office_symbol, r);
  }
  return out;
}

/** Replaces the tallies of some offices (delete, then one multi-row insert). */
export async function saveTallies(db: Db, roundId: string, rows: readonly NoticeOfficeTalliesTable[]): Promise<void> {
  const symbols = rows.map((r) => r.office_symbol);
  for (let i = 0; i < symbols.length; i += 500) {
    await db.deleteFrom('notice_office_tallies').where('round_id', '=', roundId).where('office_symbol', 'in', symbols.slice(i, i + 500)).execute();
  }
  await insertMany(db, 'notice_office_tallies', rows);
}

/** The next tallies of a round after office `after`, in office symbol order. */
export async function talliesAfter(db: Db, roundId: string, after: string | null, limit: number): Promise<NoticeOfficeTalliesTable[]> {
  return db.selectFrom('notice_office_tallies').selectAll().where('round_id', '=', roundId).where('office_symbol', '>', after ?? '').orderBy('office_symbol').limit(limit).execute();
}

export async function countTallies(db: Db, roundId: string): Promise<number> {
  return Number((await db.selectFrom('notice_office_tallies').select((eb) => eb.fn.countAll<number>().as('n')).where('round_id', '=', roundId).executeTakeFirstOrThrow()).n);
}

// Counts and exports

export async function pieceCounts(db: Db, roundId: string) {
  return db
    .selectFrom('notice_pieces')
    .select(['route', 'reason', 'prefecture', (eb) => eb.fn.countAll<number>().as('n')])
    .where('round_id', '=', roundId)
    .groupBy(['route', 'reason', 'prefecture'])
    .execute();
}

export async function boxCounts(db: Db, roundId: string) {
  return db.selectFrom('notice_boxes').select(['prefecture', (eb) => eb.fn.countAll<number>().as('n')]).where('round_id', '=', roundId).groupBy('prefecture').execute();
}

export async function resendCounts(db: Db, roundId: string) {
  return db
    .selectFrom('notice_resends as r')
    .innerJoin('notice_pieces as p', 'p.id', 'r.piece_id')
    .select(['r.prefecture', (eb) => eb.fn.countAll<number>().as('n')])
    .where('p.round_id', '=', roundId)
    .groupBy('r.prefecture')
    .execute();
}

export async function piecesOfRound(db: Db, roundId: string) {
  return db
    .selectFrom('notice_pieces as p')
    .innerJoin('memberships as m', 'm.id', 'p.membership_id')
    // A box holds a range of its office's ranks (0006c); rounds planned before that set box_id.
    .leftJoin('notice_boxes as b', (join) =>
      join.on((eb) =>
        eb.or([
          eb('b.id', '=', eb.ref('p.box_id')),
          eb.and([
            eb('p.box_id', 'is', null),
            eb('b.round_id', '=', eb.ref('p.round_id')),
            eb('b.office_symbol', '=', eb.ref('p.office_symbol')),
            eb('p.office_seq', '>=', eb.ref('b.first_seq')),
            eb('p.office_seq', '<=', eb.ref('b.last_seq')),
          ]),
        ]),
      ),
    )
    .leftJoin('notice_resends as r', 'r.piece_id', 'p.id')
    .select([
      'p.tracking_number', 'p.route', 'p.reason', 'p.office_symbol', 'b.tracking_number as box_tracking_number', 'p.prefecture', 'm.symbol', 'm.number', 'm.branch',
      'p.name', 'p.postal_code', 'p.address', 'p.weight_mg', 'p.returned_at', 'r.tracking_number as resend_tracking_number',
    ])
    .where('p.round_id', '=', roundId)
    .orderBy('p.route')
    .orderBy('p.office_symbol')
    .orderBy('p.id')
    .execute();
}

export async function boxesOfRound(db: Db, roundId: string) {
  return db.selectFrom('notice_boxes').selectAll().where('round_id', '=', roundId).orderBy('office_symbol').orderBy('seq').execute();
}

// Returns

export async function piecesByTracking(db: Db, numbers: readonly string[]) {
  const rows = [];
  for (let i = 0; i < numbers.length; i += 500) {
    rows.push(
      ...(await db
        .selectFrom('notice_pieces as p')
        .innerJoin('notice_rounds as n', 'n.id', 'p.round_id')
        .leftJoin('notice_resends as r', 'r.piece_id', 'p.id')
        .select(['p.id', 'p.tracking_number', 'p.membership_id', 'p.route', 'p.name', 'p.postal_code', 'p.address', 'n.insurer_number', 'r.tracking_number as resend_tracking_number'])
        .where('p.tracking_number', 'in', numbers.slice(i, i + 500))
        .execute()),
    );
  }
  return rows;
}

export async function markReturned(db: Db, pieceIds: readonly string[], at: string): Promise<void> {
  for (let i = 0; i < pieceIds.length; i += 500) {
    await db.updateTable('notice_pieces').set({ returned_at: at }).where('id', 'in', pieceIds.slice(i, i + 500)).where('returned_at', 'is', null).execute();
  }
}

export async function insertResends(db: Db, rows: readonly NoticeResendsTable[]): Promise<void> {
  await insertMany(db, 'notice_resends', rows);
}
