// Usage statistics: the incremental rollup of usage events, imported monthly aggregates and
// facilities, and the reports per facility, prefecture, insurer and nation. HTTP and the CLI call these.

import type { Kysely } from 'kysely';
import './tables.ts';
import { nowIso, type Database, type Db, type Dialect } from '../platform/db.ts';
import { fieldError, OnshiError, type FieldError } from '../platform/errors.ts';
import { RowRejections } from '../platform/rejections.ts';
import { isPrefectureCode, prefectureName, prefectures, validateFacility } from '../registry/rules.ts';
import type { ImportRow } from '../registry/import.ts';
import * as repo from './repository.ts';
import { previousMonth, rankRows, ratePercent, changePoints, sumCounts, validateMonth, type Counts, type RankedRow } from './rules.ts';

export interface ImportReport {
  rows: number;
  written: number;
  seconds: number;
}

export interface PrefectureReport {
  month: string;
  previousMonth: string;
  national: { confirmations: number; cardUses: number; ratePercent: number | null; changePoints: number | null };
  prefectures: (RankedRow & { prefecture: string; name: string })[];
}

export interface GroupReport {
  month: string;
  previousMonth: string;
  rows: RankedRow[];
}

export interface FacilityMonthFigures {
  month: string;
  confirmations: number;
  cardUses: number;
  cardUsers: number;
  claims: number | null;
  source: string;
  ratePercent: number | null;
  changePoints: number | null;
}

function invalid(errors: FieldError[]): never {
  throw new OnshiError('ONSHI_REQUEST_INVALID', { errors });
}

export function requireMonth(month: unknown, field = 'month'): string {
  const e = validateMonth(month, field);
  if (e) invalid([e]);
  return month as string;
}

const toCounts = (rows: repo.CountsRow[], month: string) => new Map<string, Counts>(rows.filter((r) => r.month === month).map((r) => [r.key, { confirmations: r.confirmations, cardUses: r.card_uses }]));

const COUNT_RE = /^\d{1,12}$/;

export class StatisticsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Reads the usage events not yet rolled up (all of them with rebuild). */
  rollup(options: { rebuild?: boolean } = {}): Promise<repo.RollupReport> {
    return repo.rollup(this.db, this.dialect, this.clock().toISOString(), options);
  }

  async prefectureReport(month: unknown): Promise<PrefectureReport> {
    const m = requireMonth(month);
    await this.rollup();
    const prev = previousMonth(m);
    const rows = await repo.prefectureCounts(this.db, [m, prev]);
    const current = toCounts(rows, m);
    const previous = toCounts(rows, prev);
    const codes = prefectures.map((_, i) => String(i + 1).padStart(2, '0'));
    const nationalNow = sumCounts(current.values());
    const nationalPrev = sumCounts(previous.values());
    return {
      month: m,
      previousMonth: prev,
      national: { ...nationalNow, ratePercent: ratePercent(nationalNow.cardUses, nationalNow.confirmations), changePoints: changePoints(nationalNow, nationalPrev) },
      prefectures: rankRows(current, previous, codes).map((r) => ({ ...r, prefecture: r.key, name: prefectureName(r.key)! })),
    };
  }

  async insurerReport(month: unknown): Promise<GroupReport> {
    const m = requireMonth(month);
    await this.rollup();
    const prev = previousMonth(m);
    const rows = await repo.insurerCounts(this.db, [m, prev]);
    return { month: m, previousMonth: prev, rows: rankRows(toCounts(rows, m), toCounts(rows, prev)) };
  }

  /** Facilities' figures of a month (ranked within the selection), paged by facility code. */
  async facilityReport(query: { month?: unknown; prefecture?: string; type?: string }): Promise<GroupReport> {
    const m = requireMonth(query.month);
    if (query.prefecture !== undefined && !isPrefectureCode(query.prefecture)) invalid([fieldError('prefecture', 'format', '01–47')]);
    await this.rollup();
    const prev = previousMonth(m);
    const rows = await repo.facilityMonths(this.db, { months: [m, prev], prefecture: query.prefecture, type: query.type });
    const asCounts = (month: string) => new Map<string, Counts>(rows.filter((r) => r.month === month).map((r) => [r.facility_code, { confirmations: r.confirmations, cardUses: r.card_uses }]));
    return { month: m, previousMonth: prev, rows: rankRows(asCounts(m), asCounts(prev)) };
  }

  /** A facility's own figures, month by month, with rate and change. */
  async facilityFigures(code: string): Promise<FacilityMonthFigures[]> {
    await this.rollup();
    const rows = await repo.facilityMonths(this.db, { facilityCode: code });
    const byMonth = new Map(rows.map((r) => [r.month, r]));
    return rows.map((r) => {
      const p = byMonth.get(previousMonth(r.month));
      const cur = { confirmations: r.confirmations, cardUses: r.card_uses };
      return {
        month: r.month,
        confirmations: r.confirmations,
        cardUses: r.card_uses,
        cardUsers: r.card_users,
        claims: r.claims,
        source: r.source,
        ratePercent: ratePercent(r.card_uses, r.confirmations),
        changePoints: changePoints(cur, p ? { confirmations: p.confirmations, cardUses: p.card_uses } : undefined),
      };
    });
  }

  /**
   * Imports monthly facility aggregates (facility_code, month, confirmations, card_uses, card_users,
   * claims): all or nothing, every rejected row reported. An imported facility-month replaces its
   * figures from events.
   */
  async importAggregates(rows: AsyncIterable<ImportRow>, options: { maxReported?: number; batchSize?: number; onProgress?: (rows: number) => void } = {}): Promise<ImportReport> {
    const maxReported = options.maxReported ?? 1000;
    const batchSize = options.batchSize ?? 5000;
    const started = performance.now();
    const rejections = new RowRejections(maxReported);
    const reject = (line: number, errors: FieldError[]) => rejections.reject(line, errors);
    let count = 0;
    let written = 0;
    const seen = new Set<string>();
    await this.db.transaction().execute(async (trx) => {
      let batch: { line: number; row: { facility_code: string; month: string; confirmations: number; card_uses: number; card_users: number; claims: number | null } }[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const known = await repo.existingFacilityCodes(trx, [...new Set(batch.map((b) => b.row.facility_code))]);
        const good = [];
        for (const b of batch) {
          if (!known.has(b.row.facility_code)) reject(b.line, [fieldError('facility_code', 'not_allowed', 'no such facility')]);
          else good.push(b.row);
        }
        if (!rejections.any) {
          await repo.upsertAggregates(trx, good);
          written += good.length;
        }
        batch = [];
        options.onProgress?.(count);
      };
      for await (const { line, row, parseError } of rows) {
        count++;
        if (parseError) {
          reject(line, [parseError]);
          continue;
        }
        const errors: FieldError[] = [];
        const code = row.facility_code;
        if (code === undefined) errors.push(fieldError('facility_code', 'required'));
        else if (typeof code !== 'string' || !/^\d{10}$/.test(code)) errors.push(fieldError('facility_code', 'format', '10 digits'));
        const monthError = validateMonth(row.month);
        if (monthError) errors.push(monthError);
        const num = (field: string, optional = false): number | null => {
          const v = row[field];
          if (v === undefined) {
            if (!optional) errors.push(fieldError(field, 'required'));
            return null;
          }
          if (typeof v === 'number' ? !Number.isInteger(v) || v < 0 : !COUNT_RE.test(String(v))) {
            errors.push(fieldError(field, 'format', 'a whole number ≥ 0'));
            return null;
          }
          return Number(v);
        };
        const confirmations = num('confirmations');
        const cardUses = num('card_uses');
        const cardUsers = num('card_users');
        const claims = num('claims', true);
        if (confirmations !== null && cardUses !== null && cardUses > confirmations) errors.push(fieldError('card_uses', 'mismatch', 'more card uses than confirmations'));
        if (cardUses !== null && cardUsers !== null && cardUsers > cardUses) errors.push(fieldError('card_users', 'mismatch', 'more card users than card uses'));
        if (errors.length === 0) {
          const key = `${code}|${row.month}`;
          if (seen.has(key)) errors.push(fieldError('month', 'duplicate', 'this facility and month appear twice'));
          seen.add(key);
        }
        if (errors.length) {
          reject(line, errors);
          continue;
        }
        batch.push({ line, row: { facility_code: code as string, month: row.month as string, confirmations: confirmations!, card_uses: cardUses!, card_users: cardUsers!, claims } });
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      if (count === 0) throw new OnshiError('ONSHI_IMPORT_EMPTY');
      rejections.throwIfAny(count);
    });
    return { rows: count, written, seconds: Math.round(performance.now() - started) / 1000 };
  }

  /** Imports facilities (code, name, type; the prefecture is the code's): new codes added, known ones updated. All or nothing. */
  async importFacilities(rows: AsyncIterable<ImportRow>, options: { maxReported?: number; batchSize?: number; onProgress?: (rows: number) => void } = {}): Promise<ImportReport> {
    const maxReported = options.maxReported ?? 1000;
    const batchSize = options.batchSize ?? 5000;
    const started = performance.now();
    const rejections = new RowRejections(maxReported);
    let count = 0;
    let written = 0;
    const seen = new Set<string>();
    const now = nowIso();
    await this.db.transaction().execute(async (trx: Db) => {
      let batch: { code: string; name: string; type: string; prefecture: string; created_at: string }[] = [];
      const flush = async () => {
        if (batch.length && !rejections.any) {
          await repo.upsertFacilities(trx, batch);
          written += batch.length;
        }
        batch = [];
        options.onProgress?.(count);
      };
      for await (const { line, row, parseError } of rows) {
        count++;
        if (parseError) {
          rejections.reject(line, [parseError]);
          continue;
        }
        const errors = validateFacility({ code: row.code, name: row.name, type: row.type });
        if (errors.length === 0 && seen.has(row.code as string)) errors.push(fieldError('code', 'duplicate', 'this code appears twice'));
        if (errors.length) {
          rejections.reject(line, errors);
          continue;
        }
        const code = row.code as string;
        seen.add(code);
        batch.push({ code, name: (row.name as string).trim(), type: row.type as string, prefecture: code.slice(0, 2), created_at: now });
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      if (count === 0) throw new OnshiError('ONSHI_IMPORT_EMPTY');
      rejections.throwIfAny(count);
    });
    return { rows: count, written, seconds: Math.round(performance.now() - started) / 1000 };
  }
}


