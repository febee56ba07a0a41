// The notices to all members (資格情報のお知らせ, DOMAIN.md §8) for insurers: employer data and the
// 任意継続 flag per member, the restartable planning job of a round (pieces with tracking numbers,
// boxes per employer of at most 4 kg), counts by route and prefecture, CSV outputs, and the resend
// of pieces returned undelivered from an employer to the member's own address.

import { csvShiftJis, csvText, type CsvCell } from '../../platform/csv.ts';
import { checkText, TEXT_MAX } from '../../platform/text.ts';
import type { Kysely } from 'kysely';
import type { Database, Db } from '../../platform/db.ts';
import { nowIso } from '../../platform/db.ts';
import { fieldError, OnshiError, type FieldError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import { isIsoDate, todayJst } from '../../platform/time.ts';
import { periodForDate } from '../../confirmation/rules.ts';
import { prefectureName } from '../../registry/rules.ts';
import type { RegistryService } from '../../registry/service.ts';
import * as jobs from '../transition/repository.ts';
import * as repo from './repository.ts';
import {
  BOX_LIMIT_MG,
  DEFAULT_PIECE_WEIGHT_GRAMS,
  extractionProblem,
  gramsToMg,
  inRound,
  isTrackingNumber,
  packBoxes,
  prefectureOfAddress,
  roundWindow,
  routeOf,
  employerOfPiece,
  rounds,
  trackingNumber,
  type Round,
} from './rules.ts';

export interface EmployerView {
  memberId: string;
  officeSymbol: string;
  officeName: string;
  officeAddress: string;
  officePostalCode: string | null;
  voluntaryContinuation: boolean;
  previousOfficeSymbol: string | null;
  symbolChangedOn: string | null;
  updatedAt: string;
}

export type PlanPhase = 'pieces' | 'boxes';

export interface PlanReport {
  roundId: string;
  round: number;
  extractedOn: string;
  pieces: number;
  boxes: number;
  resumed: boolean;
  alreadyDone: boolean;
  seconds: number;
}

export interface ReturnedReport {
  received: number;
  resent: number;
  alreadyResent: number;
  /** Pieces mailed home (not via an employer): nothing to re-send. */
  notViaEmployer: number;
  /** Tracking numbers with a bad check digit or no piece (of this insurer). */
  unknown: string[];
  resends: { pieceTrackingNumber: string; resendTrackingNumber: string }[];
}

function invalid(errors: FieldError[]): never {
  throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors });
}

const POSTAL = /^\d{3}-?\d{4}$/;

function toView(r: repo.MemberEmployersTable): EmployerView {
  return {
    memberId: r.membership_id,
    officeSymbol: r.office_symbol,
    officeName: r.office_name,
    officeAddress: r.office_address,
    officePostalCode: r.office_postal_code,
    voluntaryContinuation: Number(r.voluntary_continuation) === 1,
    previousOfficeSymbol: r.previous_office_symbol,
    symbolChangedOn: r.symbol_changed_on,
    updatedAt: r.updated_at,
  };
}

export class NoticeService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly registry: RegistryService,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Validates one employer record; `prefix` names the item in a bulk request. */
  private validateEmployer(input: Record<string, unknown>, prefix: string): FieldError[] {
    const errors: FieldError[] = [];
    const f = (name: string) => `${prefix}${name}`;
    checkText(errors, f('officeSymbol'), input.officeSymbol, { max: 20, required: true });
    checkText(errors, f('officeName'), input.officeName, { max: TEXT_MAX.organisationName, required: true });
    checkText(errors, f('officeAddress'), input.officeAddress, { max: TEXT_MAX.address, required: true });
    if (input.officePostalCode !== undefined && input.officePostalCode !== null && !(typeof input.officePostalCode === 'string' && POSTAL.test(input.officePostalCode))) {
      errors.push(fieldError(f('officePostalCode'), 'format', 'NNN-NNNN'));
    }
    if (typeof input.voluntaryContinuation !== 'boolean') errors.push(fieldError(f('voluntaryContinuation'), input.voluntaryContinuation === undefined ? 'required' : 'format', 'true|false'));
    if (input.symbolChangedOn !== undefined && input.symbolChangedOn !== null && !isIsoDate(input.symbolChangedOn)) errors.push(fieldError(f('symbolChangedOn'), 'invalid_date'));
    return errors;
  }

  /**
   * Sets the employer data of members (all or nothing). `symbolChangedOn` records that the office
   * symbol changed because the employer moved outside its office's area: it needs a previous record
   * with another symbol, and brings the member into round 2 when it falls in its window.
   */
  async setEmployers(insurerNumber: string, items: readonly Record<string, unknown>[], actor: string): Promise<EmployerView[]> {
    await this.registry.getInsurer(insurerNumber);
    if (items.length === 0) invalid([fieldError('items', 'required')]);
    const errors: FieldError[] = [];
    const ids = items.map((it) => (typeof it.memberId === 'string' ? it.memberId : ''));
    const known = await repo.membershipsOfInsurer(this.db, insurerNumber, ids.filter((x) => x));
    const existing = await repo.employersOf(this.db, [...known]);
    const seen = new Set<string>();
    const rows: repo.MemberEmployersTable[] = [];
    const at = nowIso();
    items.forEach((it, i) => {
      const prefix = items.length === 1 && it.__single ? '' : `items[${i}].`;
      const itemErrors = this.validateEmployer(it, prefix);
      const id = ids[i];
      if (!id) itemErrors.push(fieldError(`${prefix}memberId`, 'required'));
      else if (!known.has(id)) itemErrors.push(fieldError(`${prefix}memberId`, 'unknown', 'no such member at this insurer'));
      else if (seen.has(id)) itemErrors.push(fieldError(`${prefix}memberId`, 'duplicate'));
      seen.add(id);
      const before = existing.get(id);
      let previous = before?.previous_office_symbol ?? null;
      let changedOn = before?.symbol_changed_on ?? null;
      if (itemErrors.length === 0 && it.symbolChangedOn !== undefined && it.symbolChangedOn !== null) {
        if (!before || before.office_symbol === it.officeSymbol) itemErrors.push(fieldError(`${prefix}symbolChangedOn`, 'mismatch', 'needs a previous record with another officeSymbol'));
        previous = before?.office_symbol ?? null;
        changedOn = it.symbolChangedOn as string;
      }
      errors.push(...itemErrors);
      if (itemErrors.length) return;
      rows.push({
        membership_id: id,
        office_symbol: it.officeSymbol as string,
        office_name: it.officeName as string,
        office_address: it.officeAddress as string,
        office_postal_code: (it.officePostalCode as string | undefined) ?? null,
        voluntary_continuation: it.voluntaryContinuation ? 1 : 0,
        previous_office_symbol: previous,
        symbol_changed_on: changedOn,
        updated_at: at,
        updated_by: actor,
      });
    });
    if (errors.length) invalid(errors);
    await this.db.transaction().execute((trx) => repo.upsertEmployers(trx, rows));
    return rows.map(toView);
  }

  async setEmployer(insurerNumber: string, memberId: string, input: Record<string, unknown>, actor: string): Promise<EmployerView> {
    await this.registry.getMember(insurerNumber, memberId);
    const [view] = await this.setEmployers(insurerNumber, [{ ...input, memberId, __single: true }], actor);
    return view;
  }

  async getEmployer(insurerNumber: string, memberId: string): Promise<EmployerView> {
    await this.registry.getMember(insurerNumber, memberId);
    const row = (await repo.employersOf(this.db, [memberId])).get(memberId);
    if (!row) throw new OnshiError('ONSHI_NOT_FOUND', { memberId, what: 'employer data' });
    return toView(row);
  }

  /**
   * Plans a round: a piece with a tracking number for every member in it (via the employer, a
   * dependant's via its insured person's when it has none of its own; home for 任意継続 and members
   * without employer data), then per employer the fewest boxes of at most
   * 4 kg. Runs in chunks; each chunk's rows and the job's cursor commit together, so a crashed run
   * started again resumes after the last committed chunk (and one piece per member and round is
   * enforced by a unique key as well). A finished round is answered, not planned again.
   */
  async planRound(
    input: { insurerNumber: string; round?: unknown; extractedOn?: unknown; pieceWeightGrams?: unknown; boxTareGrams?: unknown; chunkSize?: number; actor?: string },
    onProgress?: (phase: PlanPhase, done: number, total: number) => void | Promise<void>,
  ): Promise<PlanReport> {
    const started = performance.now();
    const errors: FieldError[] = [];
    const round = input.round as Round;
    if (!rounds.includes(round)) errors.push(fieldError('round', input.round === undefined ? 'required' : 'not_allowed', '1|2'));
    const pieceMg = input.pieceWeightGrams === undefined ? DEFAULT_PIECE_WEIGHT_GRAMS * 1000 : gramsToMg(input.pieceWeightGrams);
    const tareMg = input.boxTareGrams === undefined ? 0 : input.boxTareGrams === 0 ? 0 : gramsToMg(input.boxTareGrams);
    if (pieceMg === undefined) errors.push(fieldError('pieceWeightGrams', 'out_of_range', '> 0'));
    if (tareMg === undefined) errors.push(fieldError('boxTareGrams', 'out_of_range', '≥ 0'));
    if (pieceMg !== undefined && tareMg !== undefined && pieceMg + tareMg > BOX_LIMIT_MG) errors.push(fieldError('pieceWeightGrams', 'out_of_range', 'a piece and the box tare must fit in 4 kg'));
    if (errors.length) invalid(errors);
    await this.registry.getInsurer(input.insurerNumber);
    const round1 = round === 2 ? await repo.findRound(this.db, input.insurerNumber, 1) : undefined;
    const problem = extractionProblem(round, input.extractedOn, round1?.extracted_on ?? null);
    if (problem === 'invalid_date') invalid([fieldError('extractedOn', input.extractedOn === undefined ? 'required' : 'invalid_date')]);
    if (problem === 'round1_missing') invalid([fieldError('round', 'mismatch', 'round 1 must be planned first')]);
    if (problem === 'before_window') invalid([fieldError('extractedOn', 'out_of_range', `after round 1's extraction and on or after 2024-11-29`)]);
    const extractedOn = input.extractedOn as string;
    const actor = input.actor ?? 'job:notices.plan';

    let existing = await repo.findRound(this.db, input.insurerNumber, round);
    if (existing) {
      const mismatch: FieldError[] = [];
      if (existing.extracted_on !== extractedOn) mismatch.push(fieldError('extractedOn', 'mismatch', `round ${round} was extracted on ${existing.extracted_on}`));
      if (input.pieceWeightGrams !== undefined && existing.piece_weight_mg !== pieceMg) mismatch.push(fieldError('pieceWeightGrams', 'mismatch', 'differs from the round being planned'));
      if (input.boxTareGrams !== undefined && existing.box_tare_mg !== tareMg) mismatch.push(fieldError('boxTareGrams', 'mismatch', 'differs from the round being planned'));
      if (mismatch.length) invalid(mismatch);
      if (existing.status === 'done') {
        const job = (await jobs.findJob(this.db, jobKey(input.insurerNumber, round)))!;
        return { roundId: existing.id, round, extractedOn, pieces: job.written, boxes: await this.boxTotal(existing.id), resumed: false, alreadyDone: true, seconds: 0 };
      }
    }
    const resumed = existing !== undefined;
    if (!existing) {
      const window = roundWindow(round, round1?.extracted_on ?? null);
      const jobId = newId();
      const row: repo.NoticeRoundsTable = {
        id: newId(), insurer_number: input.insurerNumber, round, extracted_on: extractedOn, window_from: window?.from ?? null, window_to: window?.to ?? null,
        piece_weight_mg: pieceMg!, box_tare_mg: tareMg!, job_id: jobId, status: 'planning', created_at: nowIso(), created_by: actor, finished_at: null,
      };
      await this.db.transaction().execute(async (trx) => {
        await repo.insertRound(trx, row);
        await jobs.insertJob(trx, {
          id: jobId, job_key: jobKey(input.insurerNumber, round), kind: 'notices.plan', params: JSON.stringify({ insurerNumber: input.insurerNumber, round, extractedOn, pieceMg, tareMg }),
          status: 'running', cursor: null, examined: 0, written: 0, started_at: row.created_at, finished_at: null,
        });
      });
      existing = row;
    }
    const r = existing;
    const job = (await jobs.findJob(this.db, jobKey(input.insurerNumber, round)))!;
    const filter = { insurerNumber: input.insurerNumber, extractedOn, window: r.window_from && r.window_to ? { from: r.window_from, to: r.window_to } : null };
    const chunkSize = input.chunkSize ?? 2000;

    // Phase 1: pieces. Cursor 'p:<membership id>'; phase 2 moves it to 'b:<office symbol>'.
    let cursor = job.cursor;
    let examined = job.examined;
    let pieces = job.written;
    if (cursor === null || cursor.startsWith('p:')) {
      const total = await repo.countRoundMembers(this.db, filter);
      let after = cursor ? cursor.slice(2) : null;
      for (;;) {
        const step = await this.db.transaction().execute(async (trx) => {
          const members = await this.withHouseholdEmployers(trx, r, await repo.roundMembersChunk(trx, { ...filter, after, limit: chunkSize }));
          if (members.length === 0) return undefined;
          const rows = await this.pieceRows(trx, r, members);
          await this.rankPieces(trx, r.id, rows, members);
          await repo.insertPieces(trx, rows);
          const last = members[members.length - 1].id;
          await jobs.advanceJob(trx, job.id, `p:${last}`, members.length, rows.length);
          return { last, examined: members.length, written: rows.length };
        });
        if (!step) break;
        after = step.last;
        examined += step.examined;
        pieces += step.written;
        await onProgress?.('pieces', Math.min(examined, total), total);
      }
      await jobs.advanceJob(this.db, job.id, 'b:', 0, 0);
      cursor = 'b:';
    }

    // Phase 2: boxes, a chunk of offices at a time, from the tallies: a box is a range of its
    // office's ranks, so no piece row is rewritten. Boxes and the cursor commit together.
    const offices = await repo.countTallies(this.db, r.id);
    let afterOffice = cursor.length > 2 ? cursor.slice(2) : null;
    let officesDone = Number((await this.db.selectFrom('notice_boxes').select((eb) => eb.fn.count<number>('office_symbol').distinct().as('n')).where('round_id', '=', r.id).executeTakeFirstOrThrow()).n);
    const officeChunk = Math.max(1, Math.floor(chunkSize / 10));
    for (;;) {
      const step = await this.db.transaction().execute(async (trx) => {
        const tallies = await repo.talliesAfter(trx, r.id, afterOffice, officeChunk);
        if (tallies.length === 0) return undefined;
        await this.boxOffices(trx, r, tallies);
        const last = tallies[tallies.length - 1].office_symbol;
        await jobs.advanceJob(trx, job.id, `b:${last}`, 0, 0);
        return { last, offices: tallies.length };
      });
      if (!step) break;
      afterOffice = step.last;
      officesDone += step.offices;
      await onProgress?.('boxes', Math.min(officesDone, offices), offices);
    }
    const at = nowIso();
    await this.db.transaction().execute(async (trx) => {
      await jobs.finishJob(trx, job.id, at);
      await repo.finishRound(trx, r.id, at);
    });
    return { roundId: r.id, round, extractedOn, pieces, boxes: await this.boxTotal(r.id), resumed, alreadyDone: false, seconds: Math.round(performance.now() - started) / 1000 };
  }

  private async boxTotal(roundId: string): Promise<number> {
    return Number((await this.db.selectFrom('notice_boxes').select((eb) => eb.fn.countAll<number>().as('n')).where('round_id', '=', roundId).executeTakeFirstOrThrow()).n);
  }

  /** Dependants without employer data of their own take their insured person's (employerOfPiece). */
  private async withHouseholdEmployers(trx: Db, r: repo.NoticeRoundsTable, members: Awaited<ReturnType<typeof repo.roundMembersChunk>>): Promise<typeof members> {
    const wanting = members.filter((m) => m.office_symbol === null && m.relationship === 'family');
    if (wanting.length === 0) return members;
    const households = await repo.householdEmployers(trx, r.insurer_number, wanting, r.extracted_on);
    return members.map((m) => {
      if (m.office_symbol !== null) return m;
      const e = employerOfPiece<repo.HouseholdEmployer>(null, m.relationship, households.get(`${m.symbol}\t${m.number}`));
      return e === null ? m : { ...m, ...e };
    });
  }

  private async pieceRows(trx: Db, r: repo.NoticeRoundsTable, members: Awaited<ReturnType<typeof repo.roundMembersChunk>>): Promise<repo.NoticePiecesTable[]> {
    const window = r.window_from && r.window_to ? { from: r.window_from, to: r.window_to } : null;
    const periods = new Map<string, Period[]>();
    for (const p of await jobs.periodsOfMemberships(trx, members.map((m) => m.id))) {
      const list = periods.get(p.membership_id);
      if (list) list.push(toPeriod(p));
      else periods.set(p.membership_id, [toPeriod(p)]);
    }
    const chosen: { m: (typeof members)[number]; p: Period }[] = [];
    for (const m of members) {
      if (!inRound({ qualifiedFrom: m.qualified_from, lostOn: m.lost_on, symbolChangedOn: m.symbol_changed_on }, r.extracted_on, window)) continue;
      const p = periodForDate(periods.get(m.id) ?? [], r.extracted_on);
      if (p) chosen.push({ m, p });
    }
    if (chosen.length === 0) return [];
    let serial = await repo.reserveTracking(trx, chosen.length);
    return chosen.map(({ m, p }) => {
      const employer = m.office_symbol === null ? null : { officeSymbol: m.office_symbol, voluntaryContinuation: Number(m.voluntary_continuation) === 1 };
      const { route, reason } = routeOf(employer);
      return {
        id: newId(),
        round_id: r.id,
        membership_id: m.id,
        tracking_number: trackingNumber(serial++),
        route,
        reason,
        office_symbol: route === 'employer' ? m.office_symbol : null,
        box_id: null,
        office_seq: null,
        prefecture: prefectureOfAddress(route === 'employer' ? (m.office_address ?? '') : p.address),
        name: p.name,
        postal_code: p.postal_code,
        address: p.address,
        weight_mg: r.piece_weight_mg,
        returned_at: null,
      };
    });
  }

  /**
   * Gives each employer piece of a chunk its rank within its office (after the pieces of earlier
   * chunks) and moves the offices' tallies on, inside the chunk's transaction: a resumed run starts
   * from the tallies committed with the last chunk. An office's data is that of its most recently
   * updated member (the first such in membership id order).
   */
  private async rankPieces(trx: Db, roundId: string, rows: repo.NoticePiecesTable[], members: Awaited<ReturnType<typeof repo.roundMembersChunk>>): Promise<void> {
    const employerRows = rows.filter((x) => x.route === 'employer');
    if (employerRows.length === 0) return;
    const byId = new Map(members.map((m) => [m.id, m]));
    const symbols = [...new Set(employerRows.map((x) => x.office_symbol!))];
    const tallies = await repo.talliesOf(trx, roundId, symbols);
    for (const piece of employerRows) {
      const m = byId.get(piece.membership_id)!;
      const symbol = piece.office_symbol!;
      let t = tallies.get(symbol);
      if (!t) {
        t = { round_id: roundId, office_symbol: symbol, pieces: 0, office_name: m.office_name ?? '', office_address: m.office_address ?? '', office_postal_code: m.office_postal_code ?? null, prefecture: piece.prefecture, updated_at: m.updated_at ?? '' };
        tallies.set(symbol, t);
      } else if ((m.updated_at ?? '') > t.updated_at) {
        Object.assign(t, { office_name: m.office_name ?? '', office_address: m.office_address ?? '', office_postal_code: m.office_postal_code ?? null, prefecture: piece.prefecture, updated_at: m.updated_at ?? '' });
      }
      t.pieces = Number(t.pieces) + 1;
      piece.office_seq = t.pieces;
    }
    await repo.saveTallies(trx, roundId, symbols.map((x) => tallies.get(x)!));
  }

  /** Packs the pieces of some offices into boxes, each a range of office ranks (inside the caller's transaction). */
  private async boxOffices(trx: Db, r: repo.NoticeRoundsTable, tallies: readonly repo.NoticeOfficeTalliesTable[]): Promise<void> {
    const plans = tallies.map((t) => ({ t, boxes: packBoxes(Number(t.pieces), r.piece_weight_mg, { tareMg: r.box_tare_mg }) }));
    const boxCount = plans.reduce((n, p) => n + p.boxes.length, 0);
    if (boxCount === 0) return;
    let serial = await repo.reserveTracking(trx, boxCount);
    const boxRows: repo.NoticeBoxesTable[] = [];
    for (const { t, boxes } of plans) {
      let first = 1;
      boxes.forEach((b, i) => {
        boxRows.push({
          id: newId(), round_id: r.id, office_symbol: t.office_symbol, office_name: t.office_name, office_address: t.office_address, office_postal_code: t.office_postal_code ?? null,
          prefecture: t.prefecture, seq: i + 1, of_boxes: boxes.length, pieces: b.pieces, weight_mg: b.weightMg, tracking_number: trackingNumber(serial++), first_seq: first, last_seq: first + b.pieces - 1,
        });
        first += b.pieces;
      });
    }
    await repo.insertBoxes(trx, boxRows);
  }

  private async roundOf(insurerNumber: string, roundId: string): Promise<repo.NoticeRoundsTable> {
    await this.registry.getInsurer(insurerNumber);
    const r = await repo.roundById(this.db, roundId);
    if (!r || r.insurer_number !== insurerNumber) throw new OnshiError('ONSHI_NOT_FOUND', { roundId });
    return r;
  }

  /** A round with its counts by route, reason and prefecture (of the delivery address). */
  async getRound(insurerNumber: string, roundId: string) {
    const r = await this.roundOf(insurerNumber, roundId);
    const job = await jobs.findJob(this.db, jobKey(insurerNumber, r.round));
    const byRoute = { employer: 0, home: 0 };
    const byReason: Record<string, number> = { ordinary: 0, voluntary_continuation: 0, no_employer: 0 };
    const pref = new Map<string, { prefecture: string; name: string | null; employer: number; home: number; boxes: number; resends: number }>();
    const at = (code: string) => {
      let e = pref.get(code);
      if (!e) pref.set(code, (e = { prefecture: code, name: prefectureName(code) ?? null, employer: 0, home: 0, boxes: 0, resends: 0 }));
      return e;
    };
    let pieces = 0;
    for (const c of await repo.pieceCounts(this.db, r.id)) {
      const n = Number(c.n);
      pieces += n;
      byRoute[c.route] += n;
      byReason[c.reason] = (byReason[c.reason] ?? 0) + n;
      at(c.prefecture)[c.route] += n;
    }
    let boxes = 0;
    for (const c of await repo.boxCounts(this.db, r.id)) {
      boxes += Number(c.n);
      at(c.prefecture).boxes += Number(c.n);
    }
    let resends = 0;
    for (const c of await repo.resendCounts(this.db, r.id)) {
      resends += Number(c.n);
      at(c.prefecture).resends += Number(c.n);
    }
    return {
      id: r.id,
      insurerNumber: r.insurer_number,
      round: r.round,
      extractedOn: r.extracted_on,
      window: r.window_from && r.window_to ? { from: r.window_from, to: r.window_to } : null,
      pieceWeightGrams: r.piece_weight_mg / 1000,
      boxTareGrams: r.box_tare_mg / 1000,
      status: r.status,
      createdAt: r.created_at,
      finishedAt: r.finished_at,
      examined: job?.examined ?? 0,
      counts: { pieces, boxes, resends, byRoute, byReason, byPrefecture: [...pref.values()].sort((a, b) => a.prefecture.localeCompare(b.prefecture)) },
    };
  }

  /** Pieces of a round (CSV, UTF-8 or Shift_JIS). */
  async piecesCsv(insurerNumber: string, roundId: string, charset?: unknown): Promise<Buffer> {
    const cs = charsetOf(charset);
    const r = await this.roundOf(insurerNumber, roundId);
    const rows = await repo.piecesOfRound(this.db, r.id);
    const header = ['追跡番号', '送付区分', '理由', '事業所記号', '箱追跡番号', '都道府県', '記号', '番号', '枝番', '氏名', '郵便番号', '住所', '重量(g)', '返戻日時', '再送追跡番号'];
    const records = rows.map((p) => [
      p.tracking_number, p.route, p.reason, p.office_symbol ?? '', p.box_tracking_number ?? '', p.prefecture, p.symbol, p.number, p.branch, p.name, p.postal_code ?? '', p.address,
      Number(p.weight_mg) / 1000, p.returned_at ?? '', p.resend_tracking_number ?? '',
    ]);
    return encode(header, records, cs);
  }

  /** Boxes of a round (CSV, UTF-8 or Shift_JIS). */
  async boxesCsv(insurerNumber: string, roundId: string, charset?: unknown): Promise<Buffer> {
    const cs = charsetOf(charset);
    const r = await this.roundOf(insurerNumber, roundId);
    const rows = await repo.boxesOfRound(this.db, r.id);
    const header = ['箱追跡番号', '事業所記号', '事業所名称', '郵便番号', '所在地', '都道府県', '箱番号', '箱数', '通数', '重量(g)'];
    const records = rows.map((b) => [b.tracking_number, b.office_symbol, b.office_name, b.office_postal_code ?? '', b.office_address, b.prefecture, b.seq, b.of_boxes, b.pieces, Number(b.weight_mg) / 1000]);
    return encode(header, records, cs);
  }

  /**
   * Records pieces returned undelivered and re-sends each one that went via an employer to the
   * member's own address (as recorded today), once: a repeated report is counted, not re-sent.
   * Processes chunks of 500, each in one transaction.
   */
  async recordReturned(
    input: { trackingNumbers: readonly string[]; insurerNumber?: string; actor?: string },
    onProgress?: (done: number, total: number) => void | Promise<void>,
  ): Promise<ReturnedReport> {
    if (input.insurerNumber) await this.registry.getInsurer(input.insurerNumber);
    const numbers = [...new Set(input.trackingNumbers.map((t) => t.trim()).filter((t) => t))];
    const report: ReturnedReport = { received: numbers.length, resent: 0, alreadyResent: 0, notViaEmployer: 0, unknown: [], resends: [] };
    const today = todayJst(this.clock());
    const actor = input.actor ?? 'notices.returned';
    for (let i = 0; i < numbers.length; i += 500) {
      const slice = numbers.slice(i, i + 500);
      const valid = slice.filter((t) => isTrackingNumber(t));
      await this.db.transaction().execute(async (trx) => {
        const found = (await repo.piecesByTracking(trx, valid)).filter((p) => !input.insurerNumber || p.insurer_number === input.insurerNumber);
        const byNumber = new Map(found.map((p) => [p.tracking_number, p]));
        for (const t of slice) if (!byNumber.has(t)) report.unknown.push(t);
        await repo.markReturned(trx, found.map((p) => p.id), nowIso());
        const toResend = [];
        for (const p of found) {
          if (p.route !== 'employer') report.notViaEmployer++;
          else if (p.resend_tracking_number) report.alreadyResent++;
          else toResend.push(p);
        }
        if (toResend.length === 0) return;
        const periods = new Map<string, Period[]>();
        for (const x of await jobs.periodsOfMemberships(trx, toResend.map((p) => p.membership_id))) {
          const list = periods.get(x.membership_id);
          if (list) list.push(toPeriod(x));
          else periods.set(x.membership_id, [toPeriod(x)]);
        }
        let serial = await repo.reserveTracking(trx, toResend.length);
        const at = nowIso();
        const rows = toResend.map((p) => {
          const now = periodForDate(periods.get(p.membership_id) ?? [], today);
          const address = now?.address ?? p.address;
          return {
            id: newId(), piece_id: p.id, tracking_number: trackingNumber(serial++), prefecture: prefectureOfAddress(address), name: now?.name ?? p.name,
            postal_code: now ? now.postal_code : p.postal_code, address, created_at: at, created_by: actor,
          };
        });
        await repo.insertResends(trx, rows);
        report.resent += rows.length;
        toResend.forEach((p, k) => report.resends.push({ pieceTrackingNumber: p.tracking_number, resendTrackingNumber: rows[k].tracking_number }));
      });
      await onProgress?.(Math.min(i + 500, numbers.length), numbers.length);
    }
    return report;
  }
}

function jobKey(insurerNumber: string, round: number): string {
  return `notices.plan:${insurerNumber}:${round}`;
}

type PeriodRow = Awaited<ReturnType<typeof jobs.periodsOfMemberships>>[number];
type Period = PeriodRow & { validFrom: string; validUntil: string | null };

function toPeriod(p: PeriodRow): Period {
  return { ...p, validFrom: p.valid_from, validUntil: p.valid_until };
}

function charsetOf(charset: unknown): 'utf-8' | 'cp932' {
  const cs = String(charset ?? 'utf-8').toLowerCase();
  if (cs === 'utf-8' || cs === 'utf8') return 'utf-8';
  if (['shift_jis', 'sjis', 'cp932'].includes(cs)) return 'cp932';
  invalid([fieldError('charset', 'not_allowed', 'utf-8|shift_jis')]);
}

/** CSV with CRLF lines; Shift_JIS refused as a whole when a cell cannot be written in it (never "?"). */
function encode(header: readonly string[], records: readonly (readonly CsvCell[])[], cs: 'utf-8' | 'cp932'): Buffer {
  return cs === 'utf-8' ? Buffer.from(csvText([header, ...records], { eol: '\r\n' }), 'utf8') : csvShiftJis(header, records, { eol: '\r\n' });
}
