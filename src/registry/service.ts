// Registry service: insurers and facilities (administrators) and members (each insurer its own).
// Eligibility history is never overwritten: a change closes the current period and opens a new one.

import { createHmac, randomBytes } from 'node:crypto';
import { newId, newIds } from '../platform/ids.ts';
import type { Db, EligibilityPeriodsTable, MembershipsTable } from '../platform/db.ts';
import { holdWriter, nowIso, type Database } from '../platform/db.ts';
import { spawnModuleWorker } from '../platform/worker-call.ts';
import type { FromImportWorker, ImportWorkerData, ToImportWorker } from './import-worker.ts';
import type { Kysely } from 'kysely';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { fieldError, OnshiError, type ErrorCode, type FieldError } from '../platform/errors.ts';
import { RowRejections } from '../platform/rejections.ts';
import { isIsoDate, todayJst } from '../platform/time.ts';
import { periodForDate } from '../confirmation/rules.ts';
import * as repo from './repository.ts';
import type { PeriodRecord } from '../confirmation/rules.ts';
import { readImportRows, type ImportFile, type ImportRow } from './import.ts';

export interface ImportReport {
  rows: number;
  added: number;
  changed: number;
  terminated: number;
  seconds: number;
}
import {
  attributeFields,
  defaultCopayRate,
  insurerKindAgreesWithNumber,
  insurerKinds,
  organisationNameError,
  lossReasons,
  prefectureName,
  validateAttributes,
  validateFacility,
  validateInsurerNumber,
  validateCardNumbers,
  validateNewMember,
  type InsurerKind,
  type MemberAttributes,
} from './rules.ts';

/** A membership with the attributes as of the date asked (or the latest known). */
export type MemberView = Omit<repo.MembershipRow, 'createdAt'> & PeriodRecord;

export interface MemberWithHistory extends MemberView {
  history: repo.StoredPeriod[];
}

/** The rejection of an import row naming a person the insurer never held (unknown or foreign alike). */
const UNKNOWN_PERSON = "no such person among this insurer's members, present or past";

function invalid(errors: FieldError[]): never {
  throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors });
}

/** A declared import body at least this large goes to the worker thread (so does one of unknown size). */
const IMPORT_WORKER_BYTES = 1 << 20;
/** Chunks of an import's bytes sent ahead of its worker at most. */
const IMPORT_WORKER_CHUNKS_AHEAD = 16;

/** A validated new-member row ready to write (shared by single add, import and the seeder). */
export interface PreparedMember {
  membership: MembershipsTable;
  period: EligibilityPeriodsTable;
  /** A person to create with the membership; absent when the membership joins an existing person. */
  newPerson?: { id: string; linkKey: string | null; createdAt: string };
}

export function attributesToPeriodColumns(a: MemberAttributes): Omit<EligibilityPeriodsTable, 'id' | 'membership_id' | 'valid_from' | 'valid_until' | 'recorded_at' | 'recorded_by'> {
  return {
    name: a.name,
    name_kana: a.nameKana,
    birth_date: a.birthDate,
    sex: a.sex,
    address: a.address,
    postal_code: a.postalCode ?? null,
    copay_rate: a.copayRate,
    limit_category: a.limitCategory ?? null,
    paper_card_issued_on: a.paperCardIssuedOn ?? null,
    paper_card_expires_on: a.paperCardExpiresOn ?? null,
  };
}



export class RegistryService {
  /** Set by a server on a SQLite file store: large imports run in a worker thread (see importMembers). */
  private importWorker: { databaseUrl: string } | undefined;
  /** Imports run in a worker thread so far (for /health and tests). */
  readonly importStats = { inWorker: 0 };

  constructor(
    readonly db: Db,
    private readonly linkSecret: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Large imports go to a worker thread with its own connection to this store (a SQLite file). */
  runImportsInWorker(databaseUrl: string): void {
    this.importWorker = { databaseUrl };
    this.spareImportWorker();
  }

  /** A worker started ahead for the next import (unref'd: it keeps no process alive while it waits). */
  private spare: Worker | undefined;

  private spareImportWorker(): void {
    const w = spawnModuleWorker(new URL('./import-worker.ts', import.meta.url).href, undefined);
    w.unref();
    w.once('exit', () => {
      if (this.spare === w) this.spare = undefined;
    });
    w.on('error', () => undefined);
    this.spare = w;
  }

  /** Ends the spare import worker (at shutdown). */
  async stopImportWorker(): Promise<void> {
    const w = this.spare;
    this.importWorker = undefined;
    this.spare = undefined;
    await w?.terminate();
  }

  private today(): string {
    return todayJst(this.clock());
  }

  /** The server's link secret: from configuration, else generated once and kept in the database. */
  static async resolveLinkSecret(db: Db, configured: string | undefined): Promise<string> {
    if (configured) return configured;
    const existing = await db.selectFrom('system_secrets').select('value').where('name', '=', 'link_secret').executeTakeFirst();
    if (existing) return existing.value;
    await db
      .insertInto('system_secrets')
      .values({ name: 'link_secret', value: randomBytes(32).toString('base64url'), created_at: nowIso() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await db.selectFrom('system_secrets').select('value').where('name', '=', 'link_secret').executeTakeFirstOrThrow();
    return row.value;
  }

  /** The pseudonymous link key of a My Number: the number itself is never stored. */
  linkKeyOf(myNumber: string): string {
    return createHmac('sha256', this.linkSecret).update(myNumber).digest('base64url');
  }

  // Insurers

  async createInsurer(input: { insurerNumber?: unknown; name?: unknown; kind?: unknown }): Promise<repo.InsurerRow> {
    const errors: FieldError[] = [];
    const numberError = validateInsurerNumber(input.insurerNumber);
    if (numberError) errors.push(numberError);
    const nameError = organisationNameError(input.name);
    if (nameError) errors.push(nameError);
    if (!insurerKinds.includes(input.kind as InsurerKind)) errors.push(fieldError('kind', input.kind ? 'not_allowed' : 'required', insurerKinds.join('|')));
    else if (!numberError && !insurerKindAgreesWithNumber(input.kind as InsurerKind, input.insurerNumber as string)) {
      errors.push(fieldError('insurerNumber', 'mismatch', '6-digit numbers are municipal NHI (kokuho)'));
    }
    if (errors.length) invalid(errors);
    const row = { insurerNumber: input.insurerNumber as string, name: (input.name as string).trim(), kind: input.kind as string, createdAt: nowIso() };
    if (await repo.findInsurer(this.db, row.insurerNumber)) throw new OnshiError('ONSHI_REGISTRY_INSURER_EXISTS', { insurerNumber: row.insurerNumber });
    await repo.insertInsurer(this.db, row);
    return row;
  }

  async getInsurer(insurerNumber: string): Promise<repo.InsurerRow> {
    const insurer = await repo.findInsurer(this.db, insurerNumber);
    if (!insurer) throw new OnshiError('ONSHI_REGISTRY_INSURER_NOT_FOUND', { insurerNumber });
    return insurer;
  }

  listInsurers(): Promise<repo.InsurerRow[]> {
    return repo.listInsurers(this.db);
  }

  // Facilities

  async createFacility(input: { code?: unknown; name?: unknown; type?: unknown; prefecture?: unknown }): Promise<repo.FacilityRow & { prefectureName: string }> {
    const errors = validateFacility(input);
    if (errors.length) invalid(errors);
    const code = input.code as string;
    const row = { code, name: (input.name as string).trim(), type: input.type as string, prefecture: code.slice(0, 2), createdAt: nowIso() };
    if (await repo.findFacility(this.db, code)) throw new OnshiError('ONSHI_REGISTRY_FACILITY_EXISTS', { facilityCode: code });
    await repo.insertFacilities(this.db, [row]);
    return { ...row, prefectureName: prefectureName(row.prefecture)! };
  }

  async getFacility(code: string): Promise<repo.FacilityRow & { prefectureName: string; monthlyClaims: { month: string; claims: number }[] }> {
    const f = await repo.findFacility(this.db, code);
    if (!f) throw new OnshiError('ONSHI_REGISTRY_FACILITY_NOT_FOUND', { facilityCode: code });
    return { ...f, prefectureName: prefectureName(f.prefecture)!, monthlyClaims: await repo.monthlyClaims(this.db, code) };
  }

  listFacilities(filter: { prefecture?: string; type?: string; limit?: number; after?: string }): Promise<repo.FacilityRow[]> {
    return repo.listFacilities(this.db, { ...filter, limit: Math.min(filter.limit ?? 100, 1000) });
  }

  /** レセプト件数 per month, which the incentive programmes use as their denominator. */
  async setMonthlyClaims(code: string, entries: { month?: unknown; claims?: unknown }[]): Promise<void> {
    await this.getFacility(code);
    const errors: FieldError[] = [];
    const seen = new Set<unknown>();
    entries.forEach((e, i) => {
      if (typeof e.month !== 'string' || !/^\d{4}-(0[1-9]|1[0-2])$/.test(e.month)) errors.push(fieldError(`[${i}].month`, 'format', 'YYYY-MM'));
      // One upsert cannot touch a row twice on PostgreSQL (it was a 500 there, last-wins on SQLite).
      else if (seen.has(e.month)) errors.push(fieldError(`[${i}].month`, 'duplicate'));
      seen.add(e.month);
      if (!Number.isInteger(e.claims) || (e.claims as number) < 0) errors.push(fieldError(`[${i}].claims`, 'out_of_range', 'a whole number ≥ 0'));
    });
    if (errors.length) invalid(errors);
    await repo.upsertMonthlyClaims(this.db, entries.map((e) => ({ facilityCode: code, month: e.month as string, claims: e.claims as number })));
  }

  // Members

  /**
   * Validates a member body and builds its rows. Person linking: `personId` joins a person this
   * insurer holds or held (anyone else's is ONSHI_PERSON_NOT_FOUND, as an unknown id is: a tenant
   * cannot attach records to another insurer's person); `myNumber` finds or creates the person by
   * link key (the number is dropped here), the only join across insurers; neither makes a new
   * person. `pendingLinks` lets a bulk import link two rows of the same file to one person.
   */
  async prepareMember(
    insurerNumber: string,
    insurerKind: string,
    input: Record<string, unknown>,
    actor: string,
    db: Db = this.db,
    pendingLinks?: Map<string, string>,
  ): Promise<{ prepared: PreparedMember } | { errors: FieldError[] }> {
    const body: Record<string, unknown> = { ...input };
    if (body.copayRate === undefined && isIsoDate(body.birthDate) && isIsoDate(body.qualifiedFrom)) {
      body.copayRate = defaultCopayRate(body.birthDate, body.qualifiedFrom, insurerKind);
    }
    const errors = validateNewMember(body);
    if (errors.length) return { errors };
    const now = nowIso();
    let personId: string;
    let newPerson: PreparedMember['newPerson'];
    if (typeof body.personId === 'string' && body.personId !== '') {
      // Unknown and foreign ids get one answer: the route tells nothing about which persons exist.
      if (!(await repo.insurerHeldPerson(db, insurerNumber, body.personId))) throw new OnshiError('ONSHI_PERSON_NOT_FOUND');
      personId = body.personId;
    } else if (typeof body.myNumber === 'string' && body.myNumber !== '') {
      const linkKey = this.linkKeyOf(body.myNumber);
      const known = pendingLinks?.get(linkKey) ?? (await repo.findPersonByLinkKey(db, linkKey));
      if (known) personId = known;
      else {
        personId = newId();
        newPerson = { id: personId, linkKey, createdAt: now };
        pendingLinks?.set(linkKey, personId);
      }
    } else {
      personId = newId();
      newPerson = { id: personId, linkKey: null, createdAt: now };
    }
    const memberId = newId();
    const a = body as unknown as MemberAttributes & { symbol?: string; number: string; branch: string; relationship: string; qualifiedFrom: string };
    return {
      prepared: {
        newPerson,
        membership: {
          id: memberId,
          person_id: personId,
          insurer_number: insurerNumber,
          symbol: a.symbol ?? '',
          number: a.number,
          branch: a.branch,
          relationship: a.relationship,
          qualified_from: a.qualifiedFrom,
          lost_on: null,
          loss_reason: null,
          loss_recorded_at: null,
          loss_recorded_by: null,
          created_at: now,
        },
        period: {
          id: newId(),
          membership_id: memberId,
          valid_from: a.qualifiedFrom,
          valid_until: null,
          ...attributesToPeriodColumns(a),
          recorded_at: now,
          recorded_by: actor,
        },
      },
    };
  }

  /** Writes prepared members (persons first); used by add, import and the seeder. */
  static async writePrepared(db: Db, rows: readonly PreparedMember[]): Promise<void> {
    const persons = rows.flatMap((r) => (r.newPerson ? [r.newPerson] : []));
    await repo.insertPersons(db, persons);
    await repo.insertMemberships(db, rows.map((r) => r.membership));
    await repo.insertPeriods(db, rows.map((r) => r.period));
  }

  async addMember(insurerNumber: string, input: Record<string, unknown>, actor: string): Promise<MemberView> {
    const insurer = await this.getInsurer(insurerNumber);
    return this.inTransaction(async (trx) => {
      const result = await this.prepareMember(insurerNumber, insurer.kind, input, actor, trx);
      if ('errors' in result) invalid(result.errors);
      const { membership } = result.prepared;
      if (await repo.findMembershipByNumbers(trx, { insurerNumber, symbol: membership.symbol, number: membership.number, branch: membership.branch })) {
        throw new OnshiError('ONSHI_REGISTRY_MEMBER_EXISTS', { symbol: membership.symbol, number: membership.number, branch: membership.branch });
      }
      await RegistryService.writePrepared(trx, [result.prepared]);
      return this.viewOf(trx, membership.id, membership.qualified_from);
    });
  }

  /** Runs fn in a transaction, or inside the one `this.db` already is. */
  private async inTransaction<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this.db);
    return (this.db as import('kysely').Kysely<import('../platform/db.ts').Database>).transaction().execute(fn);
  }

  private async ownMembership(db: Db, insurerNumber: string, memberId: string): Promise<repo.MembershipRow> {
    const m = await repo.findMembership(db, memberId);
    // Another insurer's member is "not found" for this insurer: no existence oracle across insurers.
    if (!m || m.insurerNumber !== insurerNumber) throw new OnshiError('ONSHI_REGISTRY_MEMBER_NOT_FOUND', { memberId });
    return m;
  }

  async viewOf(db: Db, memberId: string, asOf?: string): Promise<MemberWithHistory> {
    const m = await repo.findMembership(db, memberId);
    if (!m) throw new OnshiError('ONSHI_REGISTRY_MEMBER_NOT_FOUND', { memberId });
    const history = await repo.periodsOf(db, memberId);
    const p = periodForDate(history, asOf ?? this.today())!;
    const { createdAt: _c, ...membership } = m;
    const { id: _id, recordedAt: _r, recordedBy: _b, ...attributes } = p;
    return { ...membership, ...attributes, history };
  }

  async getMember(insurerNumber: string, memberId: string, asOf?: string): Promise<MemberWithHistory> {
    if (asOf !== undefined && !isIsoDate(asOf)) invalid([fieldError('asOf', 'invalid_date')]);
    await this.ownMembership(this.db, insurerNumber, memberId);
    return this.viewOf(this.db, memberId, asOf);
  }

  async findMembers(insurerNumber: string, filter: { symbol?: string; number?: string; branch?: string; limit?: number; after?: string }): Promise<MemberView[]> {
    await this.getInsurer(insurerNumber);
    const rows = await repo.membershipsOfInsurer(this.db, insurerNumber, { ...filter, limit: Math.min(filter.limit ?? 100, 1000) });
    const views: MemberView[] = [];
    for (const r of rows) {
      const { history: _h, ...view } = await this.viewOf(this.db, r.memberId);
      views.push(view);
    }
    return views;
  }

  /**
   * A change of attributes from `effectiveFrom` (default today): the period in force then is closed
   * the day before and a new one opens with the merged attributes. Changes dated before the latest
   * period's start are refused: history is appended to, never rewritten.
   */
  async changeMember(insurerNumber: string, memberId: string, input: Record<string, unknown>, actor: string, db?: Db): Promise<MemberWithHistory> {
    const run = async (trx: Db) => {
      const m = await this.ownMembership(trx, insurerNumber, memberId);
      const effectiveFrom = (input.effectiveFrom as string | undefined) ?? this.today();
      const errors: FieldError[] = [];
      if (!isIsoDate(effectiveFrom)) errors.push(fieldError('effectiveFrom', 'invalid_date'));
      const changes: Record<string, unknown> = {};
      for (const k of Object.keys(input)) {
        if (k === 'effectiveFrom') continue;
        if ((attributeFields as readonly string[]).includes(k)) changes[k] = input[k];
        else errors.push(fieldError(k, 'unknown', 'changeable: ' + attributeFields.join(', ')));
      }
      if (Object.keys(changes).length === 0 && errors.length === 0) errors.push(fieldError('changes', 'required', 'at least one attribute'));
      errors.push(...validateAttributes(changes, []));
      for (const k of ['name', 'nameKana', 'birthDate', 'sex', 'address', 'copayRate'] as const) {
        if (k in changes && (changes[k] === null || changes[k] === '')) errors.push(fieldError(k, 'required'));
      }
      if (errors.length) invalid(errors);
      if (m.lostOn !== null && effectiveFrom >= m.lostOn) throw new OnshiError('ONSHI_REGISTRY_MEMBER_TERMINATED', { lostOn: m.lostOn });
      if (effectiveFrom < m.qualifiedFrom) throw new OnshiError('ONSHI_REGISTRY_CHANGE_BEFORE_CURRENT', { qualifiedFrom: m.qualifiedFrom });
      const periods = await repo.periodsOf(trx, memberId);
      const latest = periods[periods.length - 1];
      if (effectiveFrom < latest.validFrom) throw new OnshiError('ONSHI_REGISTRY_CHANGE_BEFORE_CURRENT', { currentFrom: latest.validFrom });
      const merged = { ...latest, ...changes } as unknown as MemberAttributes;
      const mergedErrors = validateAttributes(merged as unknown as Record<string, unknown>, []);
      if (mergedErrors.length) invalid(mergedErrors);
      await repo.closePeriod(trx, latest.id, effectiveFrom);
      await repo.insertPeriods(trx, [
        {
          id: newId(),
          membership_id: memberId,
          valid_from: effectiveFrom,
          valid_until: latest.validUntil,
          ...attributesToPeriodColumns(merged),
          recorded_at: nowIso(),
          recorded_by: actor,
        },
      ]);
      return this.viewOf(trx, memberId, effectiveFrom);
    };
    return db ? run(db) : this.inTransaction(run);
  }

  /** 資格喪失: from lostOn on (the 喪失日 itself included) the membership gives no eligibility. */
  async terminateMember(insurerNumber: string, memberId: string, input: { lostOn?: unknown; lossReason?: unknown }, actor: string, db?: Db): Promise<MemberWithHistory> {
    const run = async (trx: Db) => {
      const m = await this.ownMembership(trx, insurerNumber, memberId);
      const errors: FieldError[] = [];
      if (!isIsoDate(input.lostOn)) errors.push(fieldError('lostOn', input.lostOn ? 'invalid_date' : 'required'));
      if (!lossReasons.includes(input.lossReason as 'other')) errors.push(fieldError('lossReason', input.lossReason ? 'not_allowed' : 'required', lossReasons.join('|')));
      if (errors.length) invalid(errors);
      const lostOn = input.lostOn as string;
      if (m.lostOn !== null) throw new OnshiError('ONSHI_REGISTRY_MEMBER_TERMINATED', { lostOn: m.lostOn });
      if (lostOn < m.qualifiedFrom) invalid([fieldError('lostOn', 'mismatch', 'before qualifiedFrom')]);
      const periods = await repo.periodsOf(trx, memberId);
      const latest = periods[periods.length - 1];
      if (lostOn < latest.validFrom) throw new OnshiError('ONSHI_REGISTRY_CHANGE_BEFORE_CURRENT', { currentFrom: latest.validFrom });
      await repo.closePeriod(trx, latest.id, lostOn);
      await repo.setMembershipLoss(trx, memberId, { lostOn, lossReason: input.lossReason as string, recordedAt: nowIso(), recordedBy: actor });
      return this.viewOf(trx, memberId, lostOn);
    };
    return db ? run(db) : this.inTransaction(run);
  }

  /**
   * Imports rows in one transaction. Valid rows are written as they come (so later rows see earlier
   * ones, e.g. a change after an add, a duplicate of an earlier row); at the end, any rejected row
   * rolls the whole file back and the report lists every rejected row (up to `maxReported`).
   *
   * Adds are handled a batch at a time: validated in memory, then one lookup per batch for each of
   * existing card numbers, persons named by id and persons linked by My Number, then one multi-row
   * INSERT per table. A batch sees the database as it was before the batch, as row-by-row lookups
   * would (nothing of a batch is written until its end).
   */
  async importMembers(
    insurerNumber: string,
    rows: AsyncIterable<ImportRow>,
    actor: string,
    options: { maxReported?: number; batchSize?: number } = {},
  ): Promise<ImportReport> {
    const insurer = await this.getInsurer(insurerNumber);
    const maxReported = options.maxReported ?? 1000;
    // One multi-row INSERT per table per batch. 600 rows measured faster than 1,800 (about the most one
    // statement can take): each statement journals fewer pages and allocates less.
    const batchSize = options.batchSize ?? 600;
    const started = performance.now();
    const counts = { rows: 0, added: 0, changed: 0, terminated: 0 };
    const rejections = new RowRejections(maxReported);
    const reject = (line: number, errors: FieldError[]) => rejections.reject(line, errors);
    const run = async (trx: Db) => {
      await this.importRows(trx, insurerNumber, insurer.kind, rows, actor, batchSize, counts, reject);
      if (counts.rows === 0) throw new OnshiError('ONSHI_IMPORT_EMPTY');
      rejections.throwIfAny(counts.rows);
    };
    await this.inTransaction(run);
    return { ...counts, seconds: Math.round(performance.now() - started) / 1000 };
  }

  /**
   * An import file (its bytes as they arrive, its format): importMembers here, or — on a SQLite file
   * for a file of unknown or large size — in a worker thread on its own connection, since a large
   * import's transaction and above all its commit (one synchronous step of a few hundred milliseconds
   * for a million rows) would pause every request. The worker is sent the bytes as they come (at most
   * a few chunks ahead of it) and reads them itself; the main connection's writer is held meanwhile,
   * so this thread's writes wait their turn instead of meeting SQLite's file lock; reads go on.
   */
  async importFile(insurerNumber: string, file: ImportFile, actor: string, options: { expectedBytes?: number } = {}): Promise<ImportReport> {
    const small = (options.expectedBytes ?? Infinity) < IMPORT_WORKER_BYTES;
    if (!this.importWorker || this.db.isTransaction || small) {
      return this.importMembers(insurerNumber, readImportRows(file.bytes, file.format, file.charset, { maxRows: file.maxRows }), actor);
    }
    await this.getInsurer(insurerNumber);
    const release = await holdWriter(this.db as Kysely<Database>);
    this.importStats.inWorker++;
    const { port1, port2 } = new MessageChannel();
    let taken = 0;
    let wakeSender: (() => void) | undefined;
    const outcome = new Promise<FromImportWorker>((resolve) => {
      port1.on('message', (m: FromImportWorker) => {
        if ('taken' in m) {
          taken++;
          wakeSender?.();
        } else resolve(m);
      });
    });
    let worker: Worker | undefined;
    try {
      const data: ImportWorkerData = { port: port2, databaseUrl: this.importWorker.databaseUrl, linkSecret: this.linkSecret, insurerNumber, actor, format: file.format, charset: file.charset, maxRows: file.maxRows };
      // The spare worker (its modules already loaded) takes this import; a new spare starts for the next.
      worker = this.spare ?? spawnModuleWorker(new URL('./import-worker.ts', import.meta.url).href, undefined);
      this.spare = undefined;
      worker.ref();
      worker.postMessage(data, [port2]);
      const died = new Promise<FromImportWorker>((resolve) => {
        worker!.once('error', (e) => resolve({ error: { message: e.message } }));
        worker!.once('exit', (code) => resolve({ error: { message: `the import worker exited (${code})` } }));
      });
      const finished = Promise.race([outcome, died]);
      let ended = false;
      void finished.then(() => {
        ended = true;
        wakeSender?.();
      });
      let failure: unknown;
      let sent = 0;
      try {
        for await (const chunk of file.bytes) {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          // A copy the worker owns (a request chunk may share its memory with others).
          const own = new Uint8Array(bytes.byteLength);
          own.set(bytes);
          port1.postMessage({ chunk: own } satisfies ToImportWorker, [own.buffer]);
          sent++;
          // Bounded memory: at most a few chunks ahead of the worker (or stop if it is done).
          while (sent - taken >= IMPORT_WORKER_CHUNKS_AHEAD && !ended) await new Promise<void>((ok) => (wakeSender = ok));
          if (ended) break;
        }
        if (!ended) port1.postMessage({ end: true } satisfies ToImportWorker);
      } catch (e) {
        failure = e;
        port1.postMessage({ abort: e instanceof Error ? e.message : String(e) } satisfies ToImportWorker);
      }
      const result = await finished;
      if (failure !== undefined) throw failure;
      if ('report' in result) return result.report as ImportReport;
      const e = (result as { error: { name?: string; message: string; code?: string; details?: Record<string, unknown> } }).error;
      if (e.name === 'OnshiError' && e.code) throw new OnshiError(e.code as ErrorCode, e.details);
      throw new Error(e.message);
    } finally {
      port1.close();
      await worker?.terminate();
      release?.();
      // The next import's worker, started once this one is done (not beside it: it takes a core for a second).
      if (this.importWorker && !this.spare) this.spareImportWorker();
    }
  }

  private async importRows(
    trx: Db,
    insurerNumber: string,
    insurerKind: string,
    rows: AsyncIterable<ImportRow>,
    actor: string,
    batchSize: number,
    counts: { rows: number; added: number; changed: number; terminated: number },
    reject: (line: number, errors: FieldError[]) => void,
  ): Promise<void> {
    let adds: ImportRow[] = [];
    const flushAdds = async () => {
      if (adds.length === 0) return;
      const batch = adds;
      adds = [];
      counts.added += await this.addImportBatch(trx, insurerNumber, insurerKind, batch, actor, reject);
    };
    for await (const item of rows) {
      counts.rows++;
      if (item.parseError) {
        reject(item.line, [item.parseError]);
        continue;
      }
      const row = item.row;
      const op = row.op === undefined ? 'add' : row.op;
      if (op === 'add') {
        // The row object is the parser's own: only a row that names its op is copied (to drop it).
        if (Object.hasOwn(row, 'op')) {
          const { op: _op, ...fields } = row;
          item.row = fields;
        }
        adds.push(item);
        if (adds.length >= batchSize) await flushAdds();
        continue;
      }
      await flushAdds(); // keep file order: a change may follow the add of the same member
      if (op !== 'change' && op !== 'terminate') {
        reject(item.line, [fieldError('op', 'not_allowed', 'add|change|terminate')]);
        continue;
      }
      const { op: _op, symbol = '', number, branch, ...rest } = row;
      const keyErrors = validateCardNumbers({ symbol, number, branch }, true);
      if (keyErrors.length) {
        reject(item.line, keyErrors);
        continue;
      }
      const m = await repo.findMembershipByNumbers(trx, { insurerNumber, symbol: String(symbol), number: String(number), branch: String(branch) });
      if (!m) {
        reject(item.line, [fieldError('number', 'not_allowed', 'no member with these symbol, number and branch')]);
        continue;
      }
      try {
        if (op === 'change') {
          await this.changeMember(insurerNumber, m.memberId, rest, actor, trx);
          counts.changed++;
        } else {
          await this.terminateMember(insurerNumber, m.memberId, rest, actor, trx);
          counts.terminated++;
        }
      } catch (e) {
        if (!(e instanceof OnshiError)) throw e;
        reject(item.line, (e.details?.errors as FieldError[] | undefined) ?? [fieldError('row', 'not_allowed', `${e.code}: ${e.message}`)]);
      }
    }
    await flushAdds();
  }

  /**
   * Validates and writes one batch of added members; answers how many were written. Rejections come
   * in the batch's row order, each row's validation errors first, then an unknown personId, then a
   * duplicate of a member that exists or came earlier in the file (the same checks as addMember).
   */
  private async addImportBatch(trx: Db, insurerNumber: string, insurerKind: string, batch: readonly ImportRow[], actor: string, reject: (line: number, errors: FieldError[]) => void): Promise<number> {
    const errors: (FieldError[] | undefined)[] = new Array(batch.length);
    const linkKeys: (string | undefined)[] = new Array(batch.length);
    const cardKeys: { symbol: string; number: string; branch: string }[] = [];
    const personIds: string[] = [];
    for (let i = 0; i < batch.length; i++) {
      const body = batch[i].row;
      const found = validateNewMember(body);
      if (found.length) {
        errors[i] = found;
        continue;
      }
      cardKeys.push({ symbol: (body.symbol as string | null | undefined) ?? '', number: body.number as string, branch: body.branch as string });
      if (typeof body.personId === 'string' && body.personId !== '') personIds.push(body.personId);
      else if (typeof body.myNumber === 'string' && body.myNumber !== '') linkKeys[i] = this.linkKeyOf(body.myNumber);
    }
    const existing = await repo.existingMembershipKeys(trx, insurerNumber, cardKeys);
    const knownPersons = personIds.length ? await repo.personIdsHeldByInsurer(trx, insurerNumber, personIds) : new Set<string>();
    const wantedLinks = linkKeys.filter((k): k is string => k !== undefined);
    const linkedPersons = wantedLinks.length ? await repo.personsByLinkKeys(trx, wantedLinks) : new Map<string, string>();

    const now = nowIso();
    const ids = newIds(3 * batch.length);
    let nextId = 0;
    const links = new Map<string, string>(); // link key → person created earlier in this batch
    const persons: unknown[] = [];
    const memberships: unknown[] = [];
    const periods: unknown[] = [];
    let written = 0;
    for (let i = 0; i < batch.length; i++) {
      const { line, row: body } = batch[i];
      if (errors[i]) {
        reject(line, errors[i]!);
        continue;
      }
      let personId: string;
      let newPerson = false;
      const linkKey = linkKeys[i];
      if (typeof body.personId === 'string' && body.personId !== '') {
        if (!knownPersons.has(body.personId)) {
          reject(line, [fieldError('personId', 'not_allowed', UNKNOWN_PERSON)]);
          continue;
        }
        personId = body.personId;
      } else {
        const known = linkKey === undefined ? undefined : (links.get(linkKey) ?? linkedPersons.get(linkKey));
        if (known) personId = known;
        else {
          personId = ids[nextId++];
          newPerson = true;
        }
      }
      const a = body as unknown as MemberAttributes & { symbol?: string | null; number: string; branch: string; relationship: string; qualifiedFrom: string };
      const symbol = a.symbol ?? '';
      const key = `${symbol}\t${a.number}\t${a.branch}`;
      if (existing.has(key)) {
        reject(line, [fieldError('number', 'duplicate', 'a member with these symbol, number and branch exists')]);
        continue;
      }
      existing.add(key);
      if (newPerson) {
        persons.push(personId, linkKey ?? null, now);
        if (linkKey !== undefined) links.set(linkKey, personId);
      }
      const memberId = ids[nextId++];
      // As prepareMember: the default copay rate when the row gives none (its dates are valid here).
      const copayRate = a.copayRate === undefined ? defaultCopayRate(a.birthDate, a.qualifiedFrom, insurerKind) : a.copayRate;
      memberships.push(memberId, personId, insurerNumber, symbol, a.number, a.branch, a.relationship, a.qualifiedFrom, null, null, null, null, now);
      periods.push(
        ids[nextId++], memberId, a.qualifiedFrom, null, a.name, a.nameKana, a.birthDate, a.sex, a.address, a.postalCode ?? null,
        copayRate, a.limitCategory ?? null, a.paperCardIssuedOn ?? null, a.paperCardExpiresOn ?? null, now, actor,
      );
      written++;
    }
    await repo.insertImportedMembers(trx, { persons, memberships, periods });
    return written;
  }

  /** Whether the same person holds another membership valid on a date (無効（新しい資格あり）). */
  async hasOtherEligibility(personId: string, exceptMemberId: string, date: string): Promise<boolean> {
    const others = await repo.otherMembershipsOfPerson(this.db, personId, exceptMemberId);
    return others.some((o) => o.qualifiedFrom <= date && (o.lostOn === null || date < o.lostOn));
  }
}

