// Batch entry of paper subsidy applications (`onshi itfund import FILE`): a CSV with one row per cost
// item, grouped by facility (columns facility_code, received_on, kind, amount_yen, units, evidence,
// reason; evidence file names separated by ';'). Each facility's rows become one apply_subsidy on
// its case, entered by staff as a paper application (flagged, with the receipt date and a reason).
// The whole file is one transaction: all or nothing, every rejected row reported with its line.

import type { Kysely } from 'kysely';
import type { Principal } from '../platform/auth.ts';
import type { Database } from '../platform/db.ts';
import { fieldError, OnshiError, type FieldError } from '../platform/errors.ts';
import type { ImportRow } from '../registry/import.ts';
import type { ItFundService } from './service.ts';

export const DEFAULT_IMPORT_REASON = '書面による申請の一括入力';

export interface RowError {
  line: number;
  facilityCode: string | null;
  code: string;
  errors?: FieldError[];
  details?: Record<string, unknown>;
}

export interface ImportReport {
  rows: number;
  applications: number;
  caseIds: string[];
}

interface Group {
  facilityCode: string;
  receivedOn: string | undefined;
  reason: string | undefined;
  lines: number[];
  items: Record<string, unknown>[];
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : v === undefined || v === null || v === '' ? undefined : String(v));

function number(v: unknown): unknown {
  const s = text(v);
  if (s === undefined) return undefined;
  return /^\d+$/.test(s) ? Number(s) : s;
}

export class ItFundImport {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly itfund: ItFundService,
  ) {}

  async importApplications(rows: AsyncIterable<ImportRow>, principal: Principal, onProgress?: (done: number, total: number) => void): Promise<ImportReport> {
    if (principal.kind !== 'admin') throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { requiredKinds: ['admin'] });
    const rejected: RowError[] = [];
    const groups = new Map<string, Group>();
    let count = 0;
    for await (const { line, row, parseError } of rows) {
      count++;
      if (parseError) {
        rejected.push({ line, facilityCode: null, code: 'ONSHI_REQUEST_INVALID', errors: [parseError] });
        continue;
      }
      const code = text(row.facility_code);
      if (!code) {
        rejected.push({ line, facilityCode: null, code: 'ONSHI_REQUEST_INVALID', errors: [fieldError('facility_code', 'required')] });
        continue;
      }
      const g = groups.get(code) ?? { facilityCode: code, receivedOn: text(row.received_on), reason: text(row.reason), lines: [], items: [] };
      groups.set(code, g);
      if (text(row.received_on) !== g.receivedOn) {
        rejected.push({ line, facilityCode: code, code: 'ONSHI_REQUEST_INVALID', errors: [fieldError('received_on', 'mismatch', `every row of a facility has the same receipt date (${g.receivedOn ?? 'empty'})`)] });
        continue;
      }
      const evidence = text(row.evidence);
      g.lines.push(line);
      g.items.push({ kind: text(row.kind), amountYen: number(row.amount_yen), ...(text(row.units) !== undefined ? { units: number(row.units) } : {}), ...(evidence ? { evidence: evidence.split(';').map((e) => e.trim()) } : {}) });
    }
    if (count === 0) throw new OnshiError('ONSHI_IMPORT_EMPTY');
    const caseIds: string[] = [];
    let done = 0;
    onProgress?.(0, groups.size);
    await this.db.transaction().execute(async (trx) => {
      const cases = groups.size ? await trx.selectFrom('itfund_cases').select(['id', 'facility_code']).where('facility_code', 'in', [...groups.keys()]).execute() : [];
      for (const g of groups.values()) {
        const c = cases.find((x) => x.facility_code === g.facilityCode);
        if (!c) rejected.push({ line: g.lines[0], facilityCode: g.facilityCode, code: 'ONSHI_ITFUND_CASE_NOT_FOUND' });
        else {
          try {
            const body = { paper: true, reason: g.reason ?? DEFAULT_IMPORT_REASON, costItems: g.items, ...(g.receivedOn !== undefined ? { receivedOn: g.receivedOn } : {}) };
            await this.itfund.actIn(trx, principal, c.id, 'apply_subsidy', body);
            caseIds.push(c.id);
          } catch (e) {
            if (!(e instanceof OnshiError)) throw e;
            rejected.push(...this.attribute(g, e));
          }
        }
        onProgress?.(++done, groups.size);
      }
      if (rejected.length) {
        rejected.sort((a, b) => a.line - b.line);
        throw new OnshiError('ONSHI_IMPORT_REJECTED', { rows: count, rejectedRows: rejected.length, errors: rejected });
      }
    });
    return { rows: count, applications: caseIds.length, caseIds };
  }

  /** A refusal of a facility's application, on the lines it concerns: a cost item's error on its own line. */
  private attribute(g: Group, e: OnshiError): RowError[] {
    const errors = (e.details?.errors ?? undefined) as FieldError[] | undefined;
    if (e.code === 'ONSHI_REQUEST_INVALID' && errors) {
      const byLine = new Map<number, FieldError[]>();
      for (const err of errors) {
        const m = /^costItems\.(\d+)\.(.+)$/.exec(err.field);
        const line = m ? g.lines[Number(m[1])] : g.lines[0];
        byLine.set(line, [...(byLine.get(line) ?? []), m ? { ...err, field: m[2] } : err]);
      }
      return [...byLine].map(([line, errs]) => ({ line, facilityCode: g.facilityCode, code: e.code, errors: errs }));
    }
    return [{ line: g.lines[0], facilityCode: g.facilityCode, code: e.code, details: e.details }];
  }
}
