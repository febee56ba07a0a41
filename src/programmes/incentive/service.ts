// The programmes over stored figures: the incentive payment and the card-reader subsidy for every
// facility (payout list, totals by prefecture and facility type) and for one facility, from the
// monthly figures (rolled up from events or imported). HTTP and the CLI call these.

import type { Kysely } from 'kysely';
import { nowIso, type Database, type Dialect } from '../../platform/db.ts';
import { fieldError, OnshiError, type FieldError } from '../../platform/errors.ts';
import { csvLine, csvText } from '../../platform/csv.ts';
import { prefectureName } from '../../registry/rules.ts';
import type { StatisticsService } from '../../statistics/service.ts';
import * as repo from './repository.ts';
import { BASELINE_MONTH, computeIncentive, INCENTIVE_MONTHS, type FacilityType, type IncentiveResult } from './rules.ts';
import { computeReaderSubsidy, READER_SUBSIDY_MONTHS, type ReaderSubsidyResult } from '../reader-subsidy/rules.ts';

export interface FacilityProgrammes {
  facilityCode: string;
  name: string;
  type: FacilityType;
  prefecture: string;
  octClaims: number;
  octUsers: number;
  incentive: IncentiveResult;
  readerSubsidy: ReaderSubsidyResult;
}

export interface Totals {
  facilities: number;
  paidFacilities: number;
  amountYen: number;
  readerEligible: number;
  readerCapYen: number;
}

export interface ProgrammeTotals {
  total: Totals;
  byPrefecture: (Totals & { prefecture: string; name: string })[];
  byType: (Totals & { type: string })[];
}

export interface Profile {
  facilityCode: string;
  conditions: { poster: boolean; askPatients: boolean; flyers: boolean };
  freeReaders: number;
  attested: boolean;
}

const emptyTotals = (): Totals => ({ facilities: 0, paidFacilities: 0, amountYen: 0, readerEligible: 0, readerCapYen: 0 });
function add(t: Totals, f: FacilityProgrammes) {
  t.facilities++;
  if (f.incentive.amountYen > 0) t.paidFacilities++;
  t.amountYen += f.incentive.amountYen;
  if (f.readerSubsidy.eligible) t.readerEligible++;
  t.readerCapYen += f.readerSubsidy.capYen;
}

export const PAYOUT_COLUMNS = [
  'facility_code', 'name', 'prefecture', 'type', 'oct_claims', 'oct_users', 'oct_rate_percent', 'small', 'band', 'table', 'best_month', 'best_month_users',
  'increase', 'column', 'conditions_met', 'missing_conditions', 'amount_yen', 'next_more_users', 'next_amount_yen', 'reader_peak_month', 'reader_peak_uses', 'readers_allowed', 'reader_cap_yen',
] as const;

export function payoutRow(f: FacilityProgrammes): (string | number)[] {
  const i = f.incentive;
  const r = f.readerSubsidy;
  return [
    f.facilityCode, f.name, f.prefecture, f.type, f.octClaims, f.octUsers, i.octRatePercent, i.small ? 1 : 0, i.band, i.table, i.bestMonth ?? '', i.bestMonthUsers,
    i.increase, i.column ?? '', i.conditionsMet ? 1 : 0, i.missingConditions.join(' '), i.amountYen, i.next?.moreUsers ?? '', i.next?.amountYen ?? '', r.peakMonth ?? '', r.peakUses, r.readersAllowed, r.capYen,
  ];
}

/** The payout CSV text of some facilities (no header). */
export function payoutLines(rows: readonly FacilityProgrammes[]): string {
  return csvText(rows.map(payoutRow));
}

export class ProgrammeService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly statistics: StatisticsService,
  ) {}

  /**
   * Every facility's programmes, page by page (by code). Figures come from the monthly rows; the
   * October 2023 claims from the imported aggregate, else the registry's monthly claims; a facility
   * without an attestation has not met the conditions; without a profile it received 1 free reader.
   */
  async *eachFacility(options: { pageSize?: number; code?: string } = {}): AsyncGenerator<FacilityProgrammes[]> {
    await this.statistics.rollup();
    const pageSize = options.pageSize ?? 5000;
    let after: string | undefined;
    for (;;) {
      const page = await repo.facilityPage(this.db, this.dialect, { after, limit: pageSize, code: options.code, months: READER_SUBSIDY_MONTHS, claimsMonth: BASELINE_MONTH });
      if (page.facilities.length === 0) return;
      const claims = new Map(page.claims.map((c) => [c.facility_code, Number(c.claims)]));
      const profiles = new Map(page.profiles.map((p) => [p.facility_code, p]));
      const out: FacilityProgrammes[] = [];
      for (const f of page.facilities) {
        const fig = page.figures.get(f.code);
        const octClaims = fig?.claims ?? claims.get(f.code) ?? 0;
        const octUsers = fig?.users[BASELINE_MONTH] ?? 0;
        const monthlyUsers: Record<string, number> = {};
        for (const m of INCENTIVE_MONTHS) if (fig && fig.users[m] !== undefined) monthlyUsers[m] = fig.users[m];
        const monthlyUses = fig?.uses ?? {};
        const p = profiles.get(f.code);
        const type = f.type as FacilityType;
        out.push({
          facilityCode: f.code,
          name: f.name,
          type,
          prefecture: f.prefecture,
          octClaims,
          octUsers,
          incentive: computeIncentive({ facilityType: type, octClaims, octUsers, monthlyUsers, conditions: { poster: p?.poster === 1, askPatients: p?.ask_patients === 1, flyers: p?.flyers === 1 } }),
          readerSubsidy: computeReaderSubsidy({ facilityType: type, freeReaders: p?.free_readers ?? 1, monthlyUses }),
        });
      }
      yield out;
      if (options.code || page.facilities.length < pageSize) return;
      after = page.facilities[page.facilities.length - 1].code;
    }
  }

  async forFacility(code: string): Promise<FacilityProgrammes> {
    for await (const page of this.eachFacility({ code })) if (page[0]) return page[0];
    throw new OnshiError('ONSHI_REGISTRY_FACILITY_NOT_FOUND', { facilityCode: code });
  }

  async facilityCount(): Promise<number> {
    return repo.countFacilities(this.db);
  }

  /** Runs every facility: totals by prefecture and type, and each payout row to `onRow` (the CSV writer). */
  async run(options: { onPage?: (rows: FacilityProgrammes[], done: number) => void | Promise<void>; pageSize?: number } = {}): Promise<ProgrammeTotals> {
    const total = emptyTotals();
    const byPrefecture = new Map<string, Totals>();
    const byType = new Map<string, Totals>();
    let done = 0;
    for await (const page of this.eachFacility({ pageSize: options.pageSize })) {
      for (const f of page) {
        add(total, f);
        let p = byPrefecture.get(f.prefecture);
        if (!p) byPrefecture.set(f.prefecture, (p = emptyTotals()));
        add(p, f);
        let t = byType.get(f.type);
        if (!t) byType.set(f.type, (t = emptyTotals()));
        add(t, f);
      }
      done += page.length;
      await options.onPage?.(page, done);
    }
    return {
      total,
      byPrefecture: [...byPrefecture.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([prefecture, t]) => ({ prefecture, name: prefectureName(prefecture) ?? prefecture, ...t })),
      byType: [...byType.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([type, t]) => ({ type, ...t })),
    };
  }

  /** The payout list as CSV text (header + one row per facility) with the totals. */
  async payoutCsv(): Promise<{ csv: string; totals: ProgrammeTotals }> {
    const parts: string[] = [csvLine(PAYOUT_COLUMNS)];
    const totals = await this.run({ onPage: (rows) => void parts.push(payoutLines(rows)) });
    return { csv: parts.join(''), totals };
  }

  async getProfile(code: string): Promise<Profile> {
    const p = await repo.findProfile(this.db, code);
    return {
      facilityCode: code,
      conditions: { poster: p?.poster === 1, askPatients: p?.ask_patients === 1, flyers: p?.flyers === 1 },
      freeReaders: p?.free_readers ?? 1,
      attested: p !== undefined,
    };
  }

  /** A facility attests the conditions and states the free readers it received. */
  async setProfile(code: string, body: Record<string, unknown>): Promise<Profile> {
    const errors: FieldError[] = [];
    for (const k of ['poster', 'askPatients', 'flyers'] as const) {
      if (body[k] === undefined) errors.push(fieldError(k, 'required'));
      else if (typeof body[k] !== 'boolean') errors.push(fieldError(k, 'format', 'true or false'));
    }
    const free = body.freeReaders ?? 1;
    if (typeof free !== 'number' || !Number.isInteger(free) || free < 0 || free > 3) errors.push(fieldError('freeReaders', 'out_of_range', '0–3'));
    if (errors.length) throw new OnshiError('ONSHI_REQUEST_INVALID', { errors });
    const f = await this.db.selectFrom('facilities').select('code').where('code', '=', code).executeTakeFirst();
    if (!f) throw new OnshiError('ONSHI_REGISTRY_FACILITY_NOT_FOUND', { facilityCode: code });
    await repo.upsertProfile(this.db, { facility_code: code, poster: body.poster ? 1 : 0, ask_patients: body.askPatients ? 1 : 0, flyers: body.flyers ? 1 : 0, free_readers: free as number, updated_at: nowIso() });
    return this.getProfile(code);
  }
}
