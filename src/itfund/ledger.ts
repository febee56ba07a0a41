// The subsidy ledger (補助金台帳, 実施要領 第13): per facility the readers provided, the subsidy granted
// and its date, with the retention date of the records (別記 1(5)) and the consumption-tax purchase
// deduction reports with their due date (別記 4). Derived from the cases; the facts the cases do not
// hold (the property's useful life, its disposal, the tax reports) are recorded here.

import { csvText } from '../platform/csv.ts';
import type { Kysely } from 'kysely';
import { actorOf, type Principal } from '../platform/auth.ts';
import type { Database } from '../platform/db.ts';
import { fieldError, OnshiError, type FieldError } from '../platform/errors.ts';
import { isIsoDate, todayJst } from '../platform/time.ts';
import { DEFAULT_USEFUL_LIFE_YEARS, fiscalYearOf, fiscalYearRange, retentionOf, taxReportDueOn, type Retention } from './rules.ts';

export interface ItFundLedgerPropertyTable {
  case_id: string;
  useful_life_years: number;
  disposed_on: string | null;
  recorded_by: string;
  recorded_at: string;
}

export interface ItFundTaxReportsTable {
  case_id: string;
  seq: number;
  deduction_yen: number;
  reported_on: string;
  due_on: string;
  recorded_by: string;
  recorded_at: string;
}

declare module '../platform/db.ts' {
  interface Database {
    itfund_ledger_property: ItFundLedgerPropertyTable;
    itfund_tax_reports: ItFundTaxReportsTable;
  }
}

export interface TaxReport {
  deductionYen: number;
  reportedOn: string;
  dueOn: string;
  late: boolean;
}

export interface LedgerEntry {
  caseId: string;
  facilityCode: string;
  facilityName: string;
  category: string;
  state: string;
  readersProvided: number;
  readerUnitCostYen: number | null;
  readersDeliveredOn: string | null;
  workCompletedOn: string | null;
  decidedOn: string | null;
  /** The subsidy granted (交付した補助金の額): the approved amount once paid. */
  subsidyGrantedYen: number;
  /** 交付期日: the day the facility received the subsidy. */
  grantedOn: string | null;
  cancelledOn: string | null;
  returnPrincipalYen: number | null;
  paper: boolean;
  /** Null until the work is complete (the retention runs from the completion). */
  retention: Retention | null;
  taxReport: { dueOn: string; reports: TaxReport[]; reported: boolean } | null;
}

export interface LedgerSummary {
  fiscalYear: number;
  from: string;
  to: string;
  readers: { facilities: number; readers: number; costYen: number };
  subsidies: { facilities: number; grantedYen: number; byCategory: Record<string, { facilities: number; grantedYen: number }> };
  cancellations: { facilities: number; returnPrincipalYen: number };
  returnsCollectedYen: number;
  taxReportsDue: { due: number; reported: number };
}

const CSV_COLUMNS = [
  ['caseId', 'case_id'], ['facilityCode', 'facility_code'], ['facilityName', 'facility_name'], ['category', 'category'], ['state', 'state'],
  ['readersProvided', 'readers_provided'], ['readerUnitCostYen', 'reader_unit_cost_yen'], ['readersDeliveredOn', 'readers_delivered_on'],
  ['workCompletedOn', 'work_completed_on'], ['decidedOn', 'decided_on'], ['subsidyGrantedYen', 'subsidy_granted_yen'], ['grantedOn', 'granted_on'],
  ['cancelledOn', 'cancelled_on'], ['returnPrincipalYen', 'return_principal_yen'], ['paper', 'paper'], ['keepUntil', 'keep_until'],
  ['taxReportDueOn', 'tax_report_due_on'], ['taxReportedOn', 'tax_reported_on'], ['taxDeductionYen', 'tax_deduction_yen'],
] as const;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const within = (d: string | null, r: { from: string; to: string }) => d !== null && d >= r.from && d <= r.to;

function invalid(errors: FieldError[]): never {
  throw new OnshiError('ONSHI_REQUEST_INVALID', { errors });
}

export function parseFiscalYear(value: unknown, required: boolean): number | undefined {
  if (value === undefined || value === '') {
    if (required) invalid([fieldError('fiscalYear', 'required')]);
    return undefined;
  }
  const n = typeof value === 'number' ? value : /^\d{4}$/.test(String(value)) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 2019 || n > 2100) invalid([fieldError('fiscalYear', 'format', 'a fiscal year such as 2021 (April 2021 – March 2022)')]);
  return n;
}

export class ItFundLedger {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The entries touching a fiscal year (readers delivered, subsidy granted, cancelled or completed in it), or all. */
  async entries(principal: Principal, fiscalYear?: number): Promise<LedgerEntry[]> {
    if (principal.kind !== 'admin') throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { requiredKinds: ['admin'] });
    const all = await this.load();
    if (fiscalYear === undefined) return all;
    const r = fiscalYearRange(fiscalYear);
    return all.filter((e) => within(e.readersDeliveredOn, r) || within(e.grantedOn, r) || within(e.cancelledOn, r) || within(e.workCompletedOn, r));
  }

  async csv(principal: Principal, fiscalYear?: number): Promise<string> {
    const entries = await this.entries(principal, fiscalYear);
    const rows = entries.map((e) => {
      const last = e.taxReport?.reports.at(-1);
      const flat: Record<string, unknown> = { ...e, paper: e.paper ? 1 : 0, keepUntil: e.retention?.keepUntil ?? '', taxReportDueOn: e.taxReport?.dueOn ?? '', taxReportedOn: last?.reportedOn ?? '', taxDeductionYen: last?.deductionYen ?? '' };
      return CSV_COLUMNS.map(([k]) => {
        const v = flat[k];
        return v === null || v === undefined ? '' : typeof v === 'number' ? v : String(v);
      });
    });
    return csvText([CSV_COLUMNS.map(([, h]) => h), ...rows], { eol: '\r\n' });
  }

  async summary(principal: Principal, fiscalYear: number): Promise<LedgerSummary> {
    if (principal.kind !== 'admin') throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { requiredKinds: ['admin'] });
    const r = fiscalYearRange(fiscalYear);
    const all = await this.load();
    const delivered = all.filter((e) => within(e.readersDeliveredOn, r));
    const granted = all.filter((e) => within(e.grantedOn, r));
    const cancelled = all.filter((e) => within(e.cancelledOn, r));
    const byCategory: LedgerSummary['subsidies']['byCategory'] = {};
    for (const e of granted) {
      const c = (byCategory[e.category] ??= { facilities: 0, grantedYen: 0 });
      c.facilities += 1;
      c.grantedYen += e.subsidyGrantedYen;
    }
    const payments = await this.db.selectFrom('itfund_return_payments').select(['amount_yen']).where('paid_on', '>=', r.from).where('paid_on', '<=', r.to).execute();
    const due = all.filter((e) => e.taxReport && within(e.taxReport.dueOn, r));
    return {
      fiscalYear,
      ...r,
      readers: { facilities: delivered.length, readers: sum(delivered.map((e) => e.readersProvided)), costYen: sum(delivered.map((e) => e.readersProvided * (e.readerUnitCostYen ?? 0))) },
      subsidies: { facilities: granted.length, grantedYen: sum(granted.map((e) => e.subsidyGrantedYen)), byCategory },
      cancellations: { facilities: cancelled.length, returnPrincipalYen: sum(cancelled.map((e) => e.returnPrincipalYen ?? 0)) },
      returnsCollectedYen: sum(payments.map((p) => p.amount_yen)),
      taxReportsDue: { due: due.length, reported: due.filter((e) => e.taxReport!.reported).length },
    };
  }

  /** A facility's own entry (its facility_admin or any of its staff), or any entry for administrators. */
  async entry(principal: Principal, caseId: string): Promise<LedgerEntry> {
    const row = await this.db.selectFrom('itfund_cases').select(['id', 'facility_code']).where('id', '=', caseId).executeTakeFirst();
    if (!row || (principal.kind === 'facility' ? principal.facilityCode !== row.facility_code : principal.kind !== 'admin')) throw new OnshiError('ONSHI_ITFUND_CASE_NOT_FOUND', { caseId });
    const [e] = await this.load(caseId);
    if (!e) throw new OnshiError('ONSHI_ITFUND_LEDGER_NO_ENTRY', { caseId });
    return e;
  }

  /** Administrators record the statutory useful life of the subsidised property and its disposal. */
  async recordProperty(principal: Principal, caseId: string, body: Record<string, unknown>): Promise<LedgerEntry> {
    if (principal.kind !== 'admin') throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { requiredKinds: ['admin'] });
    const errors: FieldError[] = [];
    const years = body.usefulLifeYears ?? DEFAULT_USEFUL_LIFE_YEARS;
    if (!isCount(years) || years < 1 || years > 50) errors.push(fieldError('usefulLifeYears', 'out_of_range', '1..50'));
    if (body.disposedOn !== undefined && body.disposedOn !== null && !isIsoDate(body.disposedOn)) errors.push(fieldError('disposedOn', 'invalid_date'));
    if (errors.length) invalid(errors);
    await this.requireEntry(caseId);
    const values = { useful_life_years: years as number, disposed_on: (body.disposedOn as string | null | undefined) ?? null, recorded_by: actorOf(principal), recorded_at: this.clock().toISOString() };
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('itfund_ledger_property').where('case_id', '=', caseId).execute();
      await trx.insertInto('itfund_ledger_property').values({ case_id: caseId, ...values }).execute();
    });
    return this.entry(principal, caseId);
  }

  /** Administrators record a consumption-tax purchase deduction report (0 yen included); its due date is computed. */
  async recordTaxReport(principal: Principal, caseId: string, body: Record<string, unknown>): Promise<LedgerEntry> {
    if (principal.kind !== 'admin') throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { requiredKinds: ['admin'] });
    const errors: FieldError[] = [];
    if (!isCount(body.deductionYen)) errors.push(fieldError('deductionYen', body.deductionYen === undefined ? 'required' : 'out_of_range', 'a whole number of yen ≥ 0'));
    const reportedOn = body.reportedOn ?? todayJst(this.clock());
    if (!isIsoDate(reportedOn)) errors.push(fieldError('reportedOn', 'invalid_date'));
    else if (reportedOn > todayJst(this.clock())) errors.push(fieldError('reportedOn', 'out_of_range', 'in the future'));
    if (errors.length) invalid(errors);
    const row = await this.requireEntry(caseId);
    if (!row.work_completed_on) throw new OnshiError('ONSHI_ITFUND_TRANSITION_REFUSED', { state: row.state, action: 'record_tax_report', allowedActions: [], detail: 'the work is not complete' });
    await this.db.transaction().execute(async (trx) => {
      const n = await trx.selectFrom('itfund_tax_reports').select('seq').where('case_id', '=', caseId).execute();
      await trx
        .insertInto('itfund_tax_reports')
        .values({ case_id: caseId, seq: n.length, deduction_yen: body.deductionYen as number, reported_on: reportedOn as string, due_on: taxReportDueOn(row.work_completed_on!), recorded_by: actorOf(principal), recorded_at: this.clock().toISOString() })
        .execute();
    });
    return this.entry(principal, caseId);
  }

  private async requireEntry(caseId: string) {
    const row = await this.db.selectFrom('itfund_cases').select(['id', 'state', 'readers_provided', 'work_completed_on']).where('id', '=', caseId).executeTakeFirst();
    if (!row) throw new OnshiError('ONSHI_ITFUND_CASE_NOT_FOUND', { caseId });
    if (row.readers_provided === null) throw new OnshiError('ONSHI_ITFUND_LEDGER_NO_ENTRY', { caseId });
    return row;
  }

  /** The ledger: every case whose readers were provided, in facility order. */
  private async load(caseId?: string): Promise<LedgerEntry[]> {
    let q = this.db
      .selectFrom('itfund_cases as c')
      .innerJoin('facilities as f', 'f.code', 'c.facility_code')
      .leftJoin('itfund_ledger_property as p', 'p.case_id', 'c.id')
      .select(['c.id', 'c.facility_code', 'f.name', 'c.category', 'c.state', 'c.paper', 'c.readers_provided', 'c.reader_unit_cost_yen', 'c.readers_delivered_on', 'c.work_completed_on', 'c.decided_on', 'c.approved_yen', 'c.received_on', 'c.cancelled_on', 'c.return_principal_yen', 'p.useful_life_years', 'p.disposed_on'])
      .where('c.readers_provided', 'is not', null)
      .orderBy('c.facility_code');
    if (caseId) q = q.where('c.id', '=', caseId);
    const rows = await q.execute();
    const reports = await this.db.selectFrom('itfund_tax_reports').selectAll().orderBy('case_id').orderBy('seq').execute();
    return rows.map((r) => {
      const mine = reports.filter((t) => t.case_id === r.id).map((t) => ({ deductionYen: t.deduction_yen, reportedOn: t.reported_on, dueOn: t.due_on, late: t.reported_on > t.due_on }));
      const done = r.work_completed_on;
      return {
        caseId: r.id,
        facilityCode: r.facility_code,
        facilityName: r.name,
        category: r.category,
        state: r.state,
        readersProvided: r.readers_provided ?? 0,
        readerUnitCostYen: r.reader_unit_cost_yen,
        readersDeliveredOn: r.readers_delivered_on,
        workCompletedOn: done,
        decidedOn: r.decided_on,
        subsidyGrantedYen: r.received_on ? (r.approved_yen ?? 0) : 0,
        grantedOn: r.received_on,
        cancelledOn: r.cancelled_on,
        returnPrincipalYen: r.return_principal_yen,
        paper: r.paper === 1,
        // The readers (and whatever the subsidy bought) are property; acquired when all work was complete.
        retention: done ? retentionOf({ completedOn: done, hasProperty: (r.readers_provided ?? 0) > 0, acquiredOn: done, usefulLifeYears: r.useful_life_years ?? undefined, disposedOn: r.disposed_on }) : null,
        taxReport: done ? { dueOn: taxReportDueOn(done), reports: mine, reported: mine.length > 0 } : null,
      };
    });
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

export { fiscalYearOf };
