// Clinical information: the claims (薬剤情報) and check-up (特定健診) feeds, and viewing them at a
// facility. A view is allowed only for a qualified role (rules.ts) and with the patient's consent in
// force for that facility and scope, or, in disaster mode, inside a declared disaster covering the
// facility. Every view is written to the access log before its data is answered.

import type { Kysely } from 'kysely';
import type { Database, Db } from '../platform/db.ts';
import type { FacilityRole } from '../platform/auth.ts';
import { newId } from '../platform/ids.ts';
import { fieldError, OnshiError, type FieldError } from '../platform/errors.ts';
import { RowRejections } from '../platform/rejections.ts';
import { isIsoDate, todayJst } from '../platform/time.ts';
import { validateCardNumbers, validateInsurerNumber } from '../registry/rules.ts';
import { checkText, TEXT_MAX } from '../platform/text.ts';
import type { ImportRow } from '../registry/import.ts';
import type { RegistryService } from '../registry/service.ts';
import type { ConsentService } from '../consent/service.ts';
import type { AuditBasis, AuditService } from '../audit/service.ts';
import type { DisasterService } from '../disaster/service.ts';
import type { CheckupsTable, MedicationsTable } from './tables.ts';
import * as repo from './repository.ts';
import { checkupWindow, clinicalRefusal, medicationWindow, normaliseName, parseCheckupRow, parseMedicationRow, type CheckupItems, type ClinicalKind } from './rules.ts';

export interface FeedReport {
  rows: number;
  loaded: number;
  seconds: number;
}

/** The staff member asking: their credential, role and facility. */
export interface Viewer {
  actor: string;
  role: FacilityRole;
  facilityCode: string;
}

/** How the facility names the patient: the card numbers and birth date, or (disaster mode only) name and birth date. */
export interface PatientQuery {
  insurerNumber?: string;
  symbol?: string;
  number?: string;
  branch?: string;
  birthDate?: string;
  name?: string;
}

export interface ViewBasis {
  kind: 'consent' | 'disaster';
  id: string;
}

export interface MedicationView {
  viewedOn: string;
  from: string;
  basis: ViewBasis;
  accessId: string;
  medications: { dispensedOn: string; facilityCode: string; drugCode: string; drugName: string; quantity: number; unit: string; days: number | null }[];
}

export interface CheckupView {
  viewedOn: string;
  from: string;
  basis: ViewBasis;
  accessId: string;
  checkups: { examDate: string; insurerNumber: string; items: CheckupItems; judgement: string }[];
}

export interface LimitCategoryView {
  asOf: string;
  eligible: boolean;
  limitCategory: string | null;
  basis: ViewBasis;
  accessId: string;
}

type Mode = 'consent' | 'disaster';

export class ClinicalService {
  constructor(
    private readonly db: Db,
    private readonly registry: RegistryService,
    private readonly consent: ConsentService,
    private readonly audit: AuditService,
    private readonly disasters: DisasterService,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private today(): string {
    return todayJst(this.clock());
  }

  private async inTransaction<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this.db);
    return (this.db as Kysely<Database>).transaction().execute(fn);
  }

  // --- Feeds ---------------------------------------------------------------------------------

  /**
   * Loads medication records from the claims feed in one transaction: every row names the member by
   * insurer number and card numbers; any rejected row rolls the whole feed back and is reported.
   */
  async loadMedications(rows: AsyncIterable<ImportRow>, options: { maxReported?: number } = {}): Promise<FeedReport> {
    return this.load(rows, options, async (trx, row, today, resolve) => {
      const parsed = parseMedicationRow(row, today);
      if ('errors' in parsed) return { errors: parsed.errors };
      const v = parsed.value;
      const personId = await resolve(trx, v);
      if (!personId) return { errors: [fieldError('number', 'not_allowed', 'no member with these insurer number, symbol, number and branch')] };
      const record: MedicationsTable = {
        id: newId(),
        person_id: personId,
        dispensed_on: v.dispensedOn,
        facility_code: v.facilityCode,
        drug_code: v.drugCode,
        drug_name: v.drugName,
        quantity: v.quantity,
        unit: v.unit,
        days: v.days,
        claim_ref: v.claimRef,
        loaded_at: this.clock().toISOString(),
      };
      return { medication: record };
    });
  }

  /** Loads an insurer's check-up results for its own members; all or nothing like the claims feed. */
  async loadCheckups(insurerNumber: string, rows: AsyncIterable<ImportRow>, options: { maxReported?: number } = {}): Promise<FeedReport> {
    await this.registry.getInsurer(insurerNumber);
    return this.load(rows, options, async (trx, row, today, resolve) => {
      const parsed = parseCheckupRow(row, today);
      if ('errors' in parsed) return { errors: parsed.errors };
      const v = parsed.value;
      // Only the insurer's own members: the insurer number comes from the path, never from the row.
      const personId = await resolve(trx, { insurerNumber, symbol: v.symbol, number: v.number, branch: v.branch });
      if (!personId) return { errors: [fieldError('number', 'not_allowed', 'no member of this insurer with these symbol, number and branch')] };
      const record: CheckupsTable = {
        id: newId(),
        person_id: personId,
        exam_date: v.examDate,
        insurer_number: insurerNumber,
        items: JSON.stringify(v.items),
        judgement: v.judgement,
        loaded_at: this.clock().toISOString(),
      };
      return { checkup: record };
    });
  }

  private async load(
    rows: AsyncIterable<ImportRow>,
    options: { maxReported?: number },
    handle: (
      trx: Db,
      row: Record<string, unknown>,
      today: string,
      resolve: (trx: Db, key: { insurerNumber: string; symbol: string; number: string; branch: string }) => Promise<string | undefined>,
    ) => Promise<{ errors: FieldError[] } | { medication: MedicationsTable } | { checkup: CheckupsTable }>,
  ): Promise<FeedReport> {
    const started = performance.now();
    const maxReported = options.maxReported ?? 1000;
    const today = this.today();
    const rejections = new RowRejections(maxReported);
    let count = 0;
    let loaded = 0;
    // A feed names the same member many times: resolve each card once.
    const people = new Map<string, string | undefined>();
    const resolve = async (trx: Db, key: { insurerNumber: string; symbol: string; number: string; branch: string }) => {
      const k = `${key.insurerNumber}\t${key.symbol}\t${key.number}\t${key.branch}`;
      if (!people.has(k)) people.set(k, (await repo.membershipByCardNumbers(trx, key))?.personId);
      return people.get(k);
    };
    await this.inTransaction(async (trx) => {
      let medications: MedicationsTable[] = [];
      let checkups: CheckupsTable[] = [];
      const flush = async () => {
        await repo.insertMedications(trx, medications);
        await repo.insertCheckups(trx, checkups);
        loaded += medications.length + checkups.length;
        medications = [];
        checkups = [];
      };
      for await (const { line, row, parseError } of rows) {
        count++;
        const result = parseError ? { errors: [parseError] } : await handle(trx, row, today, resolve);
        if ('errors' in result) {
          rejections.reject(line, result.errors);
          continue;
        }
        if (rejections.any) continue; // the feed will be rolled back: stop writing, keep validating
        if ('medication' in result) medications.push(result.medication);
        else checkups.push(result.checkup);
        if (medications.length + checkups.length >= 2000) await flush();
      }
      if (count === 0) throw new OnshiError('ONSHI_IMPORT_EMPTY');
      rejections.throwIfAny(count);
      await flush();
    });
    return { rows: count, loaded, seconds: Math.round(performance.now() - started) / 1000 };
  }

  // --- Views ---------------------------------------------------------------------------------

  async viewMedications(viewer: Viewer, query: PatientQuery, mode: Mode = 'consent'): Promise<MedicationView> {
    const { personId, basis } = await this.authorise(viewer, 'medication', query, mode);
    const viewedOn = this.today();
    const w = medicationWindow(viewedOn);
    const rows = await repo.medicationsOf(this.db, personId, w.from, w.to);
    const accessId = await this.record(viewer, personId, 'medication', basis, { from: w.from, to: w.to, records: rows.length });
    return {
      viewedOn,
      from: w.from,
      basis: publicBasis(basis),
      accessId,
      medications: rows.map((r) => ({ dispensedOn: r.dispensed_on, facilityCode: r.facility_code, drugCode: r.drug_code, drugName: r.drug_name, quantity: Number(r.quantity), unit: r.unit, days: r.days })),
    };
  }

  async viewCheckups(viewer: Viewer, query: PatientQuery, mode: Mode = 'consent'): Promise<CheckupView> {
    const { personId, basis } = await this.authorise(viewer, 'checkups', query, mode);
    const viewedOn = this.today();
    const w = checkupWindow(viewedOn);
    const rows = await repo.checkupsOf(this.db, personId, w.from, w.to);
    const accessId = await this.record(viewer, personId, 'checkups', basis, { from: w.from, to: w.to, records: rows.length });
    return {
      viewedOn,
      from: w.from,
      basis: publicBasis(basis),
      accessId,
      checkups: rows.map((r) => ({ examDate: r.exam_date, insurerNumber: r.insurer_number, items: JSON.parse(r.items) as CheckupItems, judgement: r.judgement })),
    };
  }

  /** 限度額適用区分: only with the patient's consent to limit info, as of today. */
  async viewLimitCategory(viewer: Viewer, query: PatientQuery): Promise<LimitCategoryView> {
    const asOf = this.today();
    const { personId, basis, membership } = await this.authorise(viewer, 'limit_info', query, 'consent');
    const eligible = membership!.qualifiedFrom <= asOf && (membership!.lostOn === null || membership!.lostOn > asOf);
    const period = membership!.periods.find((p) => p.validFrom <= asOf && (p.validUntil === null || p.validUntil > asOf));
    const limitCategory = eligible ? (period?.limitCategory ?? null) : null;
    const accessId = await this.record(viewer, personId, 'limit_category', basis, { asOf });
    return { asOf, eligible, limitCategory, basis: publicBasis(basis), accessId };
  }

  /** Role, then (disaster mode) scope and period, then the patient, then (consent mode) consent. */
  private async authorise(viewer: Viewer, kind: ClinicalKind, query: PatientQuery, mode: Mode): Promise<{ personId: string; basis: AuditBasis; membership?: repo.PatientMembership }> {
    const facility = await this.registry.getFacility(viewer.facilityCode);
    const refusal = clinicalRefusal(kind, viewer.role, facility.type);
    if (refusal) throw new OnshiError(refusal, { role: viewer.role, facilityType: facility.type, kind });
    // Scope and period before the patient: a facility outside a disaster learns nothing about anyone.
    const disaster = mode === 'disaster' ? await this.disasters.require({ code: facility.code, prefecture: facility.prefecture }) : undefined;
    const { personId, membership } = await this.findPatient(query, mode === 'disaster');
    if (disaster) return { personId, membership, basis: { kind: 'disaster', disasterId: disaster.id } };
    const consent = await this.consent.require(personId, viewer.facilityCode, kind);
    return { personId, membership, basis: { kind: 'consent', consentId: consent.id } };
  }

  private async findPatient(query: PatientQuery, allowName: boolean): Promise<{ personId: string; membership?: repo.PatientMembership }> {
    const errors: FieldError[] = [];
    if (!isIsoDate(query.birthDate)) errors.push(fieldError('birthDate', query.birthDate === undefined ? 'required' : 'invalid_date'));
    const byName = allowName && query.name !== undefined && query.number === undefined && query.insurerNumber === undefined;
    if (byName) {
      checkText(errors, 'name', query.name, { max: TEXT_MAX.name, required: true });
    } else {
      const insurerError = validateInsurerNumber(query.insurerNumber);
      if (insurerError) errors.push(insurerError);
      errors.push(...validateCardNumbers(query, true));
    }
    if (errors.length > 0) throw new OnshiError('ONSHI_REQUEST_INVALID', { errors });
    if (byName) {
      const wanted = normaliseName(query.name!);
      const matches = (await repo.membershipsByBirthDate(this.db, query.birthDate!)).filter((m) => m.periods.some((p) => p.birthDate === query.birthDate && normaliseName(p.name) === wanted));
      const people = new Set(matches.map((m) => m.personId));
      if (people.size === 0) throw new OnshiError('ONSHI_PATIENT_NOT_FOUND');
      if (people.size > 1) throw new OnshiError('ONSHI_PATIENT_AMBIGUOUS', { matches: people.size });
      return { personId: matches[0].personId };
    }
    const m = await repo.membershipByCardNumbers(this.db, { insurerNumber: query.insurerNumber!, symbol: query.symbol ?? '', number: query.number!, branch: query.branch! });
    // The birth date as last recorded must agree (as in confirmation); a mismatch is not told apart
    // from an unknown card, so card numbers alone cannot be probed.
    if (!m || m.periods[m.periods.length - 1].birthDate !== query.birthDate) throw new OnshiError('ONSHI_PATIENT_NOT_FOUND');
    return { personId: m.personId, membership: m };
  }

  private record(viewer: Viewer, personId: string, what: string, basis: AuditBasis, detail: Record<string, unknown>): Promise<string> {
    return this.audit.record({ actor: viewer.actor, role: viewer.role, facilityCode: viewer.facilityCode, personId, what, basis, detail });
  }
}

function publicBasis(b: AuditBasis): ViewBasis {
  if (b.kind === 'consent') return { kind: 'consent', id: b.consentId };
  if (b.kind === 'disaster') return { kind: 'disaster', id: b.disasterId };
  throw new Error(`unexpected basis ${b.kind}`);
}
