// The IT support fund life cycle: cases per facility, moved by actions through the pure transition
// table, every change audited (who, when, why) in itfund_events inside the same transaction, with an
// optimistic version check so that two reviewers cannot both move one case.

import type { Kysely, Selectable } from 'kysely';
import { actorOf, type Principal } from '../platform/auth.ts';
import type { Database, Db } from '../platform/db.ts';
import { fieldError, OnshiError, type FieldError } from '../platform/errors.ts';
import { newId } from '../platform/ids.ts';
import { isIsoDate, todayJst } from '../platform/time.ts';
import { checkText, textError, TEXT_MAX } from '../platform/text.ts';
import { allowedActions, checkPeriod, checkTransition, defaultPeriods, states, transitions, type Action, type Periods, type State } from './lifecycle.ts';
import type { DecisionNoticeInput } from './decision-notice.ts';
import { callInWorker } from '../platform/worker-call.ts';
import { ItFundEvidence, linkEvidence, listEvidence } from './evidence.ts';
import { ItFundImport } from './import.ts';
import { ItFundLedger } from './ledger.ts';
import { ItFundOrganisations } from './organisations.ts';
import { categories, computeReturn, computeSubsidy, freeReadersAllowed, READER_UNIT_LIMIT_YEN, validateCostItems, type Category, type CostItem, type ReturnResult, type SubsidyResult } from './rules.ts';

export interface ItFundCasesTable {
  id: string;
  facility_code: string;
  category: string;
  state: string;
  paper: number;
  readers_requested: number | null;
  readers_provided: number | null;
  reader_unit_cost_yen: number | null;
  readers_delivered_on: string | null;
  work_completed_on: string | null;
  subsidy_applied_on: string | null;
  computed_subsidy_yen: number | null;
  approved_yen: number | null;
  decided_on: string | null;
  received_on: string | null;
  cancelled_on: string | null;
  cancel_reason: string | null;
  return_principal_yen: number | null;
  return_due_on: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ItFundCostItemsTable {
  case_id: string;
  seq: number;
  kind: string;
  amount_yen: number;
  units: number | null;
  /** JSON array of evidence file names. */
  evidence: string;
  excluded_reason: string | null;
}

export interface ItFundEventsTable {
  case_id: string;
  seq: number;
  action: string;
  from_state: string;
  to_state: string;
  actor: string;
  at: string;
  on_date: string;
  reason: string | null;
  paper: number;
  details: string;
}

export interface ItFundReturnPaymentsTable {
  case_id: string;
  seq: number;
  paid_on: string;
  amount_yen: number;
  recorded_by: string;
  recorded_at: string;
}

declare module '../platform/db.ts' {
  interface Database {
    itfund_cases: ItFundCasesTable;
    itfund_cost_items: ItFundCostItemsTable;
    itfund_events: ItFundEventsTable;
    itfund_return_payments: ItFundReturnPaymentsTable;
  }
}

type CaseRow = Selectable<ItFundCasesTable>;

export interface CostItemView extends CostItem {
  evidence: string[];
  /** In a case view: per evidence reference, the uploaded evidence file it names (by id or file name), or null. */
  evidenceIds?: (string | null)[];
}

export interface CaseEvent {
  seq: number;
  action: string;
  fromState: string;
  toState: string;
  actor: string;
  at: string;
  on: string;
  reason: string | null;
  paper: boolean;
  details: Record<string, unknown>;
}

export interface CaseView {
  id: string;
  facilityCode: string;
  category: Category;
  state: State;
  paper: boolean;
  allowedActions: Action[];
  readersRequested: number | null;
  readersProvided: number | null;
  readerUnitCostYen: number | null;
  readersDeliveredOn: string | null;
  workCompletedOn: string | null;
  subsidyAppliedOn: string | null;
  costItems: CostItemView[];
  computed: SubsidyResult | null;
  approvedYen: number | null;
  decidedOn: string | null;
  receivedOn: string | null;
  cancelledOn: string | null;
  cancelReason: string | null;
  returnOrder: { principalYen: number; dueOn: string; payments: { on: string; amountYen: number }[]; status: ReturnResult } | null;
  history: CaseEvent[];
  createdAt: string;
  updatedAt: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function invalid(errors: FieldError[]): never {
  throw new OnshiError('ONSHI_REQUEST_INVALID', { errors });
}

/** The subsidy category of a registry facility type; a pharmacy is a large chain only when so determined. */
export function categoryOf(facilityType: string, largeChain: boolean): Category | undefined {
  if (facilityType === 'hospital') return 'hospital';
  if (facilityType === 'clinic' || facilityType === 'dental_clinic') return 'clinic';
  if (facilityType === 'pharmacy') return largeChain ? 'large_chain_pharmacy' : 'pharmacy';
  return undefined;
}

export class ItFundService {
  readonly periods: Periods;
  /** The subsidy ledger (補助金台帳). */
  readonly ledger: ItFundLedger;
  /** Organisations (取りまとめ者) and their bulk applications. */
  readonly organisations: ItFundOrganisations;
  /** Batch entry of paper applications (CLI). */
  readonly imports: ItFundImport;
  /** Evidence files (uploaded bytes) of the subsidy application. */
  readonly evidence: ItFundEvidence;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: () => Date = () => new Date(),
    periods: Partial<Periods> = {},
  ) {
    this.periods = { ...defaultPeriods, ...periods };
    this.ledger = new ItFundLedger(db, clock);
    this.organisations = new ItFundOrganisations(db, this, clock);
    this.imports = new ItFundImport(db, this);
    this.evidence = new ItFundEvidence(db, this, clock);
  }

  private today(): string {
    return todayJst(this.clock());
  }

  /** A facility's portal account for the fund (the case). The facility itself, or staff entering a paper form. */
  async openCase(principal: Principal, body: Record<string, unknown>): Promise<CaseView> {
    const errors: FieldError[] = [];
    const facilityCode = principal.kind === 'facility' ? principal.facilityCode : body.facilityCode;
    if (principal.kind === 'facility' && body.facilityCode !== undefined && body.facilityCode !== principal.facilityCode) throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { facilityCode: body.facilityCode });
    this.requireSide(principal, 'facility', body, facilityCode as string);
    if (typeof facilityCode !== 'string' || facilityCode === '') errors.push(fieldError('facilityCode', 'required'));
    if (body.largeChain !== undefined && typeof body.largeChain !== 'boolean') errors.push(fieldError('largeChain', 'format', 'true or false'));
    if (errors.length) invalid(errors);
    const facility = await this.db.selectFrom('facilities').select(['code', 'type']).where('code', '=', facilityCode as string).executeTakeFirst();
    if (!facility) throw new OnshiError('ONSHI_REGISTRY_FACILITY_NOT_FOUND', { facilityCode });
    const category = categoryOf(facility.type, body.largeChain === true);
    if (!category) invalid([fieldError('facilityCode', 'not_allowed', `facility type ${facility.type}`)]);
    if (body.largeChain === true && facility.type !== 'pharmacy') invalid([fieldError('largeChain', 'mismatch', 'only a pharmacy is a large chain')]);
    const id = newId();
    const at = this.clock().toISOString();
    const paper = principal.kind === 'admin';
    await this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('itfund_cases').select('id').where('facility_code', '=', facility.code).executeTakeFirst();
      if (existing) throw new OnshiError('ONSHI_ITFUND_CASE_EXISTS', { caseId: existing.id });
      await trx
        .insertInto('itfund_cases')
        .values({
          id, facility_code: facility.code, category, state: 'account_opened', paper: paper ? 1 : 0,
          readers_requested: null, readers_provided: null, reader_unit_cost_yen: null, readers_delivered_on: null, work_completed_on: null,
          subsidy_applied_on: null, computed_subsidy_yen: null, approved_yen: null, decided_on: null, received_on: null, cancelled_on: null,
          cancel_reason: null, return_principal_yen: null, return_due_on: null, version: 1, created_at: at, updated_at: at,
        })
        .execute();
      await this.appendEvent(trx, id, 1, { action: 'open_account', from: 'account_opened', to: 'account_opened', actor: actorOf(principal), at, on: this.today(), reason: str(body.reason), paper, details: { category } });
    });
    return this.getCase(principal, id);
  }

  async listCases(principal: Principal, query: { state?: string }): Promise<CaseView[]> {
    let q = this.db.selectFrom('itfund_cases').select('id').orderBy('id');
    if (principal.kind === 'facility') q = q.where('facility_code', '=', principal.facilityCode);
    else if (principal.kind !== 'admin') throw new OnshiError('ONSHI_AUTH_FORBIDDEN');
    if (query.state !== undefined) {
      if (!(states as readonly string[]).includes(query.state)) invalid([fieldError('state', 'not_allowed', states.join('|'))]);
      q = q.where('state', '=', query.state);
    }
    const rows = await q.execute();
    return Promise.all(rows.map((r) => this.getCase(principal, r.id)));
  }

  /** A case without access checks, for the ledger and the organisations (which check their own). */
  async caseView(db: Db, id: string): Promise<CaseView> {
    const row = await db.selectFrom('itfund_cases').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new OnshiError('ONSHI_ITFUND_CASE_NOT_FOUND', { caseId: id });
    return this.view(db, row);
  }

  async getCase(principal: Principal, id: string): Promise<CaseView> {
    const row = await this.db.selectFrom('itfund_cases').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new OnshiError('ONSHI_ITFUND_CASE_NOT_FOUND', { caseId: id });
    if (principal.kind === 'facility' ? principal.facilityCode !== row.facility_code : principal.kind !== 'admin') throw new OnshiError('ONSHI_ITFUND_CASE_NOT_FOUND', { caseId: id });
    return this.view(this.db, row);
  }

  /** The decision notice (様式第3, 交付決定通知書) as a PDF: the facility itself or a reviewer; refused until the decision is issued. */
  async decisionNoticePdf(principal: Principal, id: string): Promise<Buffer> {
    const c = await this.getCase(principal, id);
    if (c.decidedOn === null) throw new OnshiError('ONSHI_ITFUND_TRANSITION_REFUSED', { state: c.state, action: 'decision_notice', allowedActions: c.allowedActions, detail: 'no decision has been issued for this case yet' });
    const facility = await this.db.selectFrom('facilities').select('name').where('code', '=', c.facilityCode).executeTakeFirst();
    // Rendered in the worker thread: a PDF's CPU must not pause the confirmations.
    return callInWorker<DecisionNoticeInput, Buffer>(new URL('./decision-notice.ts', import.meta.url).href, 'renderDecisionNotice', { case: c, facilityName: facility?.name ?? c.facilityCode });
  }

  /** Takes one action on a case (the transition table decides whether it may, and the next state). */
  async act(principal: Principal, id: string, action: string, body: Record<string, unknown>): Promise<CaseView> {
    await this.db.transaction().execute((trx) => this.actIn(trx, principal, id, action, body));
    return this.getCase(principal, id);
  }

  /**
   * One action inside the caller's transaction. `onBehalf` is set when an organisation (取りまとめ者)
   * takes a member facility's action in a bulk application: the caller has checked the membership,
   * and the event records the organisation and the bulk application.
   */
  async actIn(trx: Db, principal: Principal, id: string, action: string, body: Record<string, unknown>, onBehalf?: { organisationId: string; bulkId: string }): Promise<void> {
    const row = await trx.selectFrom('itfund_cases').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new OnshiError('ONSHI_ITFUND_CASE_NOT_FOUND', { caseId: id });
    if (!onBehalf && principal.kind === 'facility' && principal.facilityCode !== row.facility_code) throw new OnshiError('ONSHI_ITFUND_CASE_NOT_FOUND', { caseId: id });
    const state = row.state as State;
    const check = checkTransition(state, action);
    if (!check.ok) throw new OnshiError('ONSHI_ITFUND_TRANSITION_REFUSED', { state, action, allowedActions: check.allowed });
    const act = action as Action;
    const paper = onBehalf ? false : this.requireSide(principal, transitions[act].by, body, row.facility_code);
    const on = this.actionDate(body, paper);
    // Work completion is checked on the day the work was completed (in apply), not the day it is reported.
    const period = act === 'complete_work' ? ({ ok: true } as const) : checkPeriod(act, on, this.periods, row.work_completed_on ?? undefined);
    if (!period.ok) throw new OnshiError('ONSHI_ITFUND_PERIOD', { rule: period.rule, what: period.what, date: period.date, limit: period.limit });
    const { update, to, details } = await this.apply(trx, row, act, check.to, body, on, principal);
    const at = this.clock().toISOString();
    const r = await trx
      .updateTable('itfund_cases')
      .set({ ...update, state: to, paper: paper || row.paper === 1 ? 1 : 0, version: row.version + 1, updated_at: at })
      .where('id', '=', id)
      .where('version', '=', row.version)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new OnshiError('ONSHI_ITFUND_TRANSITION_REFUSED', { state, action, allowedActions: allowedActions(state), detail: 'the case changed meanwhile; reload it' });
    await this.appendEvent(trx, id, row.version + 1, { action, from: state, to, actor: actorOf(principal), at, on, reason: str(body.reason), paper, details: onBehalf ? { ...details, ...onBehalf } : details });
  }

  /** (Also used by the evidence uploads.) Facility actions: the facility itself (facility_admin), or staff entering its paper form (flagged). Reviewer actions: administrators. */
  requireSide(principal: Principal, side: 'facility' | 'reviewer', body: Record<string, unknown>, facilityCode: string): boolean {
    // A reason (paper applications, refusals, corrections) is a free note: the text rule applies.
    const reasonError = textError('reason', body.reason, { max: TEXT_MAX.note, multiline: true });
    if (reasonError) invalid([reasonError]);
    if (side === 'reviewer') {
      if (principal.kind !== 'admin') throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { requiredKinds: ['admin'] });
      return false;
    }
    if (principal.kind === 'facility') {
      if (principal.facilityCode !== facilityCode) throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { facilityCode });
      if (principal.role !== 'facility_admin') throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { requiredRole: 'facility_admin', role: principal.role });
      return false;
    }
    if (principal.kind === 'admin') {
      // Staff enter a paper application only for an unavoidable reason (第7), and say so.
      if (body.paper !== true || typeof body.reason !== 'string' || body.reason.trim() === '') invalid([fieldError('paper', 'required', 'staff enter a facility action only as a paper application, with paper: true and a reason')]);
      return true;
    }
    throw new OnshiError('ONSHI_AUTH_FORBIDDEN');
  }

  /** The day an action is taken: today, or for a paper form the day it was received (not in the future). */
  private actionDate(body: Record<string, unknown>, paper: boolean): string {
    const today = this.today();
    if (!paper || body.receivedOn === undefined) return today;
    if (!isIsoDate(body.receivedOn)) invalid([fieldError('receivedOn', 'invalid_date')]);
    if (body.receivedOn > today) invalid([fieldError('receivedOn', 'out_of_range', 'in the future')]);
    return body.receivedOn;
  }

  private async apply(trx: Db, row: CaseRow, action: Action, next: State, body: Record<string, unknown>, on: string, principal: Principal): Promise<{ update: Partial<CaseRow>; to: State; details: Record<string, unknown> }> {
    const category = row.category as Category;
    const errors: FieldError[] = [];
    const reasonRequired = () => {
      checkText(errors, 'reason', body.reason, { max: TEXT_MAX.note, required: true, multiline: true });
    };
    switch (action) {
      case 'apply_readers': {
        const { min, max } = freeReadersAllowed(category);
        const n = body.readersRequested ?? 1;
        if (!isCount(n) || n < min || n > max) invalid([fieldError('readersRequested', 'out_of_range', `${min}..${max} for ${category}`)]);
        return { update: { readers_requested: n }, to: next, details: { readersRequested: n } };
      }
      case 'provide_readers': {
        const n = body.readers;
        if (!isCount(n) || n < 1 || n > (row.readers_requested ?? 1)) errors.push(fieldError('readers', 'out_of_range', `1..${row.readers_requested ?? 1} (requested)`));
        if (!isCount(body.unitCostYen) || body.unitCostYen > READER_UNIT_LIMIT_YEN) errors.push(fieldError('unitCostYen', 'out_of_range', '0..99,000 per reader'));
        if (!isIsoDate(body.deliveredOn)) errors.push(fieldError('deliveredOn', body.deliveredOn === undefined ? 'required' : 'invalid_date'));
        else if (body.deliveredOn > this.today()) errors.push(fieldError('deliveredOn', 'out_of_range', 'in the future'));
        if (errors.length) invalid(errors);
        return { update: { readers_provided: n as number, reader_unit_cost_yen: body.unitCostYen as number, readers_delivered_on: body.deliveredOn as string }, to: next, details: { readers: n, unitCostYen: body.unitCostYen, deliveredOn: body.deliveredOn } };
      }
      case 'complete_work': {
        const completedOn = body.completedOn ?? on;
        if (!isIsoDate(completedOn)) invalid([fieldError('completedOn', 'invalid_date')]);
        if (completedOn > this.today() || (row.readers_delivered_on && completedOn < row.readers_delivered_on)) invalid([fieldError('completedOn', 'out_of_range', 'between the readers’ delivery and today')]);
        const period = checkPeriod('complete_work', completedOn, this.periods);
        if (!period.ok) throw new OnshiError('ONSHI_ITFUND_PERIOD', { rule: period.rule, what: period.what, date: period.date, limit: period.limit });
        return { update: { work_completed_on: completedOn }, to: next, details: { completedOn } };
      }
      case 'apply_subsidy':
      case 'resubmit': {
        const items = this.costItems(body.costItems, errors);
        if (errors.length) invalid(errors);
        await trx.deleteFrom('itfund_cost_items').where('case_id', '=', row.id).execute();
        if (items.length) {
          await trx
            .insertInto('itfund_cost_items')
            .values(items.map((it, seq) => ({ case_id: row.id, seq, kind: it.kind, amount_yen: it.amountYen, units: it.units ?? null, evidence: JSON.stringify(it.evidence), excluded_reason: null })))
            .execute();
        }
        const computed = this.compute(row, items);
        return { update: { subsidy_applied_on: action === 'apply_subsidy' ? on : row.subsidy_applied_on, computed_subsidy_yen: computed.subsidyYen }, to: next, details: { items: items.length, computedYen: computed.subsidyYen } };
      }
      case 'request_site_visit':
      case 'request_corrections':
      case 'reject':
        reasonRequired();
        if (errors.length) invalid(errors);
        return { update: {}, to: next, details: {} };
      case 'complete_site_visit':
        return { update: {}, to: next, details: {} };
      case 'approve': {
        const items = await this.loadItems(trx, row.id);
        const exclusions = body.exclusions ?? [];
        if (!Array.isArray(exclusions)) invalid([fieldError('exclusions', 'format', 'an array of {index, reason}')]);
        exclusions.forEach((x: unknown, i: number) => {
          if (!isObject(x) || !isCount(x.index) || x.index >= items.length) return void errors.push(fieldError(`exclusions.${i}.index`, 'out_of_range', `0..${items.length - 1}`));
          const reasonError = textError(`exclusions.${i}.reason`, x.reason, { max: TEXT_MAX.note, required: true, multiline: true });
          if (reasonError) return void errors.push(reasonError);
          items[x.index].excludedReason = x.reason as string;
        });
        if (body.amountYen !== undefined && !isCount(body.amountYen)) errors.push(fieldError('amountYen', 'out_of_range', 'a whole number ≥ 0'));
        if (errors.length) invalid(errors);
        const computed = this.compute(row, items);
        const amount = (body.amountYen as number | undefined) ?? computed.subsidyYen;
        if (amount > computed.subsidyYen) throw new OnshiError('ONSHI_ITFUND_AMOUNT_TOO_HIGH', { amountYen: amount, computedYen: computed.subsidyYen });
        for (const [seq, it] of items.entries()) await trx.updateTable('itfund_cost_items').set({ excluded_reason: it.excludedReason ?? null }).where('case_id', '=', row.id).where('seq', '=', seq).execute();
        return { update: { computed_subsidy_yen: computed.subsidyYen, approved_yen: amount }, to: next, details: { amountYen: amount, computedYen: computed.subsidyYen, excluded: items.filter((i) => i.excludedReason).length } };
      }
      case 'issue_decision':
        return { update: { decided_on: on }, to: next, details: { approvedYen: row.approved_yen } };
      case 'record_payment': {
        const receivedOn = body.receivedOn ?? on;
        if (!isIsoDate(receivedOn) || receivedOn > this.today() || (row.decided_on && receivedOn < row.decided_on)) invalid([fieldError('receivedOn', 'out_of_range', 'between the decision and today')]);
        return { update: { received_on: receivedOn }, to: next, details: { receivedOn, amountYen: row.approved_yen } };
      }
      case 'cancel':
        reasonRequired();
        if (errors.length) invalid(errors);
        return { update: { cancelled_on: on, cancel_reason: body.reason as string }, to: next, details: {} };
      case 'order_return': {
        if (!isIsoDate(body.dueOn)) invalid([fieldError('dueOn', body.dueOn === undefined ? 'required' : 'invalid_date')]);
        if (body.dueOn < on) invalid([fieldError('dueOn', 'out_of_range', 'before today')]);
        const status = this.returnStatus(row, body.dueOn, [], body.dueOn);
        return { update: { return_due_on: body.dueOn, return_principal_yen: status.principalYen }, to: next, details: { dueOn: body.dueOn, principalYen: status.principalYen, readerResidualYen: status.readerResidualYen } };
      }
      case 'record_return_payment': {
        const paidOn = body.on ?? on;
        if (!isIsoDate(paidOn) || paidOn > this.today() || paidOn < row.received_on!) errors.push(fieldError('on', 'out_of_range', 'between the subsidy receipt and today'));
        if (!isCount(body.amountYen) || body.amountYen === 0) errors.push(fieldError('amountYen', 'out_of_range', 'a whole number > 0'));
        if (errors.length) invalid(errors);
        const previous = await trx.selectFrom('itfund_return_payments').select(['seq', 'paid_on', 'amount_yen']).where('case_id', '=', row.id).execute();
        const payments = [...previous.map((p) => ({ on: p.paid_on, amountYen: p.amount_yen })), { on: paidOn as string, amountYen: body.amountYen as number }];
        const last = payments.reduce((m, p) => (p.on > m ? p.on : m), paidOn as string);
        await trx.insertInto('itfund_return_payments').values({ case_id: row.id, seq: previous.length, paid_on: paidOn as string, amount_yen: body.amountYen as number, recorded_by: actorOf(principal), recorded_at: this.clock().toISOString() }).execute();
        const status = this.returnStatus(row, row.return_due_on!, payments, last);
        return { update: {}, to: status.settled ? 'settled' : next, details: { on: paidOn, amountYen: body.amountYen, outstandingYen: status.outstandingYen, lateFeeYen: status.lateFeeYen } };
      }
    }
  }

  private costItems(raw: unknown, errors: FieldError[]): CostItemView[] {
    // Evidence (file names of the receipts and invoices) is kept with each item.
    const evidence: string[][] = [];
    const stripped = Array.isArray(raw)
      ? raw.map((it, i) => {
          if (!isObject(it)) return it;
          const { evidence: ev, ...rest } = it;
          if (ev === undefined || (Array.isArray(ev) && ev.length > 0 && ev.every((e) => typeof e === 'string' && e !== ''))) evidence[i] = (ev as string[] | undefined) ?? [];
          else errors.push(fieldError(`costItems.${i}.evidence`, 'format', 'a non-empty array of file names'));
          return rest;
        })
      : raw;
    const items = validateCostItems(errors, stripped);
    if (Array.isArray(raw) && raw.length === 0) errors.push(fieldError('costItems', 'required', 'at least one cost item'));
    return items.map((it, i) => ({ ...it, evidence: evidence[i] ?? [] }));
  }

  private compute(row: CaseRow, items: CostItem[]): SubsidyResult {
    return computeSubsidy({ category: row.category as Category, readersProvided: row.readers_provided ?? 1, readerIntroduced: (row.readers_provided ?? 0) > 0, costItems: items });
  }

  private returnStatus(row: CaseRow, dueOn: string, payments: { on: string; amountYen: number }[], asOf: string): ReturnResult {
    return computeReturn({
      readerCostYen: (row.readers_provided ?? 0) * (row.reader_unit_cost_yen ?? 0),
      deliveredOn: row.readers_delivered_on!,
      cancelledOn: row.cancelled_on!,
      subsidyYen: row.approved_yen ?? 0,
      receivedOn: row.received_on!,
      dueOn,
      payments,
      asOf,
    });
  }

  private async loadItems(db: Db, caseId: string): Promise<CostItemView[]> {
    const rows = await db.selectFrom('itfund_cost_items').selectAll().where('case_id', '=', caseId).orderBy('seq').execute();
    return rows.map((r) => ({
      kind: r.kind as CostItem['kind'],
      amountYen: r.amount_yen,
      ...(r.units !== null ? { units: r.units } : {}),
      ...(r.excluded_reason !== null ? { excludedReason: r.excluded_reason } : {}),
      evidence: JSON.parse(r.evidence) as string[],
    }));
  }

  private async appendEvent(db: Db, caseId: string, seq: number, e: { action: string; from: string; to: string; actor: string; at: string; on: string; reason: string | null; paper: boolean; details: Record<string, unknown> }) {
    await db.insertInto('itfund_events').values({ case_id: caseId, seq, action: e.action, from_state: e.from, to_state: e.to, actor: e.actor, at: e.at, on_date: e.on, reason: e.reason, paper: e.paper ? 1 : 0, details: JSON.stringify(e.details) }).execute();
  }

  private async view(db: Db, row: CaseRow): Promise<CaseView> {
    const files = await listEvidence(db, row.id);
    const items = (await this.loadItems(db, row.id)).map((it) => ({ ...it, evidenceIds: linkEvidence(it.evidence, files) }));
    const events = await db.selectFrom('itfund_events').selectAll().where('case_id', '=', row.id).orderBy('seq').execute();
    const payments = (await db.selectFrom('itfund_return_payments').select(['paid_on', 'amount_yen']).where('case_id', '=', row.id).orderBy('seq').execute()).map((p) => ({ on: p.paid_on, amountYen: p.amount_yen }));
    const state = row.state as State;
    let returnOrder: CaseView['returnOrder'] = null;
    if (row.return_due_on) {
      // Settled: the status as of the settling payment; otherwise the late fee accrued to today.
      const last = payments.reduce((m, p) => (p.on > m ? p.on : m), row.return_due_on);
      const asOf = state === 'settled' ? last : this.today() > last ? this.today() : last;
      returnOrder = { principalYen: row.return_principal_yen!, dueOn: row.return_due_on, payments, status: this.returnStatus(row, row.return_due_on, payments, asOf) };
    }
    return {
      id: row.id,
      facilityCode: row.facility_code,
      category: row.category as Category,
      state,
      paper: row.paper === 1,
      allowedActions: allowedActions(state),
      readersRequested: row.readers_requested,
      readersProvided: row.readers_provided,
      readerUnitCostYen: row.reader_unit_cost_yen,
      readersDeliveredOn: row.readers_delivered_on,
      workCompletedOn: row.work_completed_on,
      subsidyAppliedOn: row.subsidy_applied_on,
      costItems: items,
      computed: items.length ? this.compute(row, items) : null,
      approvedYen: row.approved_yen,
      decidedOn: row.decided_on,
      receivedOn: row.received_on,
      cancelledOn: row.cancelled_on,
      cancelReason: row.cancel_reason,
      returnOrder,
      history: events.map((e) => ({ seq: e.seq, action: e.action, fromState: e.from_state, toState: e.to_state, actor: e.actor, at: e.at, on: e.on_date, reason: e.reason, paper: e.paper === 1, details: JSON.parse(e.details) as Record<string, unknown> })),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v : null;
}

export { categories };
