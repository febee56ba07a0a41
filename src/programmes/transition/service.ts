// The paper-card transition for insurers: eligibility certificates (資格確認書) issued by the
// issue-due job without any application, or on request (lost or suspended My Number card), the
// member's transition record and the print data for mailing.

import type { Kysely } from 'kysely';
import type { Database, Db } from '../../platform/db.ts';
import { nowIso } from '../../platform/db.ts';
import { fieldError, OnshiError, type FieldError } from '../../platform/errors.ts';
import { csvShiftJis, csvText } from '../../platform/csv.ts';
import { newId } from '../../platform/ids.ts';
import { isIsoDate, todayJst } from '../../platform/time.ts';
import { periodForDate } from '../../confirmation/rules.ts';
import type { RegistryService } from '../../registry/service.ts';
import * as repo from './repository.ts';
import type { CertificatePdfInput } from './certificate-pdf.ts';
import { callInWorker } from '../../platform/worker-call.ts';
import {
  certificateDue,
  certificateNumber,
  certificateValidOn,
  certificateValidUntil,
  CERTIFICATE_MAX_YEARS,
  isValidCertificateYears,
  paperCardUsableUntil,
  requestReasons,
  type RequestReason,
} from './rules.ts';

export interface TransitionOptions {
  /** Days before a paper card stops being usable that the job issues the certificate (default 60). */
  leadDays?: number;
  /** Validity the insurer sets for its certificates, in years (1–5, default 5). */
  validityYears?: number;
}

export interface IssueDueReport {
  jobId: string;
  asOf: string;
  leadDays: number;
  validityYears: number;
  examined: number;
  issued: number;
  resumed: boolean;
  alreadyDone: boolean;
  seconds: number;
}

function invalid(errors: FieldError[]): never {
  throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors });
}

export class TransitionService {
  readonly leadDays: number;
  readonly validityYears: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly registry: RegistryService,
    private readonly clock: () => Date = () => new Date(),
    options: TransitionOptions = {},
  ) {
    this.leadDays = options.leadDays ?? 60;
    this.validityYears = options.validityYears ?? CERTIFICATE_MAX_YEARS;
    if (!isValidCertificateYears(this.validityYears)) throw new RangeError(`validityYears must be 1–${CERTIFICATE_MAX_YEARS}`);
  }

  /**
   * Issues a certificate to every current member without an active, insurance-registered My Number
   * card whose paper card stops being usable within the lead time (or already has). Runs in chunks;
   * each chunk's certificates and the job's cursor commit together, so a crashed run started again
   * with the same parameters resumes after the last committed chunk and never issues twice (a
   * unique key per membership and day needed guards it as well). A finished job is not run again.
   */
  async issueDue(
    input: { asOf?: unknown; leadDays?: unknown; validityYears?: unknown; insurerNumber?: string; chunkSize?: number; actor?: string },
    onProgress?: (done: number, total: number) => void | Promise<void>,
  ): Promise<IssueDueReport> {
    const started = performance.now();
    const errors: FieldError[] = [];
    const asOf = input.asOf ?? todayJst(this.clock());
    if (!isIsoDate(asOf)) errors.push(fieldError('asOf', 'invalid_date'));
    const leadDays = input.leadDays ?? this.leadDays;
    if (!Number.isInteger(leadDays) || (leadDays as number) < 0 || (leadDays as number) > 366) errors.push(fieldError('leadDays', 'out_of_range', '0–366'));
    const years = input.validityYears ?? this.validityYears;
    if (!isValidCertificateYears(years)) errors.push(fieldError('validityYears', 'out_of_range', `1–${CERTIFICATE_MAX_YEARS}`));
    if (errors.length) invalid(errors);
    const today = asOf as string;
    const lead = leadDays as number;
    if (input.insurerNumber) await this.registry.getInsurer(input.insurerNumber);
    const jobKey = `certificates.issue-due:${input.insurerNumber ?? '*'}:${today}:${lead}:${years}`;
    let job = await repo.findJob(this.db, jobKey);
    const resumed = job !== undefined && job.status === 'running';
    if (job?.status === 'done') {
      return { jobId: job.id, asOf: today, leadDays: lead, validityYears: years as number, examined: job.examined, issued: job.written, resumed: false, alreadyDone: true, seconds: 0 };
    }
    if (!job) {
      await repo.insertJob(this.db, {
        id: newId(), job_key: jobKey, kind: 'certificates.issue-due', params: JSON.stringify({ insurerNumber: input.insurerNumber ?? null, asOf: today, leadDays: lead, validityYears: years }),
        status: 'running', cursor: null, examined: 0, written: 0, started_at: nowIso(), finished_at: null,
      });
      job = (await repo.findJob(this.db, jobKey))!;
    }
    const total = await this.countCurrent(input.insurerNumber, today);
    let cursor = job.cursor;
    let examined = job.examined;
    let issued = job.written;
    const chunkSize = input.chunkSize ?? 2000;
    const actor = input.actor ?? 'job:certificates.issue-due';
    for (;;) {
      const step = await this.db.transaction().execute(async (trx) => {
        const members = await repo.membershipsChunk(trx, { insurerNumber: input.insurerNumber, today, after: cursor, limit: chunkSize });
        if (members.length === 0) return undefined;
        const ids = members.map((m) => m.id);
        const periods = groupBy(await repo.periodsOfMemberships(trx, ids), (p) => p.membership_id);
        const registered = await repo.personsWithRegisteredCard(trx, [...new Set(members.map((m) => m.person_id))]);
        const certificates = await repo.certificatesOfMemberships(trx, ids);
        const due: { member: (typeof members)[number]; neededFrom: string }[] = [];
        for (const m of members) {
          const list = periods.get(m.id) ?? [];
          const p = periodForDate(list.map((x) => ({ ...x, validFrom: x.valid_from, validUntil: x.valid_until })), today);
          if (!p) continue;
          const verdict = certificateDue({
            today,
            leadDays: lead,
            membership: { qualifiedFrom: m.qualified_from, lostOn: m.lost_on },
            card: { paperCardIssuedOn: p.paper_card_issued_on, paperCardExpiresOn: p.paper_card_expires_on },
            hasRegisteredMyNumberCard: registered.has(m.person_id),
            certificates: certificates.get(m.id) ?? [],
          });
          if (verdict.due) due.push({ member: m, neededFrom: verdict.neededFrom });
        }
        const rows = await this.certificateRows(trx, due.map((d) => ({ memberId: d.member.id, insurerNumber: d.member.insurer_number, lostOn: d.member.lost_on, automaticKey: `${d.member.id}:${d.neededFrom}` })), today, years as number, {
          origin: 'automatic', requestReason: null, jobId: job!.id, actor,
        });
        await repo.insertCertificates(trx, rows);
        const last = members[members.length - 1].id;
        await repo.advanceJob(trx, job!.id, last, members.length, rows.length);
        return { last, examined: members.length, issued: rows.length };
      });
      if (!step) break;
      cursor = step.last;
      examined += step.examined;
      issued += step.issued;
      await onProgress?.(Math.min(examined, total), total);
    }
    await repo.finishJob(this.db, job.id, nowIso());
    return { jobId: job.id, asOf: today, leadDays: lead, validityYears: years as number, examined, issued, resumed, alreadyDone: false, seconds: Math.round(performance.now() - started) / 1000 };
  }

  private async countCurrent(insurerNumber: string | undefined, today: string): Promise<number> {
    let q = this.db.selectFrom('memberships').select((eb) => eb.fn.countAll<number>().as('n')).where((eb) => eb.or([eb('lost_on', 'is', null), eb('lost_on', '>', today)]));
    if (insurerNumber) q = q.where('insurer_number', '=', insurerNumber);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /** Builds certificate rows with fresh serials per insurer (inside the caller's transaction). */
  private async certificateRows(
    trx: Db,
    targets: readonly { memberId: string; insurerNumber: string; lostOn: string | null; automaticKey: string | null }[],
    issuedOn: string,
    years: number,
    meta: { origin: 'automatic' | 'request'; requestReason: string | null; jobId: string | null; actor: string },
  ): Promise<repo.EligibilityCertificatesTable[]> {
    const byInsurer = groupBy(targets, (t) => t.insurerNumber);
    const rows: repo.EligibilityCertificatesTable[] = [];
    const at = nowIso();
    for (const [insurerNumber, list] of byInsurer) {
      let serial = await repo.reserveSerials(trx, insurerNumber, list.length);
      for (const t of list) {
        rows.push({
          id: newId(),
          number: certificateNumber(insurerNumber, serial++),
          membership_id: t.memberId,
          insurer_number: insurerNumber,
          issued_on: issuedOn,
          valid_until: certificateValidUntil(issuedOn, years, t.lostOn),
          revoked_on: null,
          origin: meta.origin,
          request_reason: meta.requestReason,
          automatic_key: t.automaticKey,
          job_id: meta.jobId,
          issued_at: at,
          issued_by: meta.actor,
        });
      }
    }
    return rows;
  }

  /** Issues a certificate on the member's request (lost or suspended card, …); it replaces any in force. */
  async issueOnRequest(insurerNumber: string, memberId: string, input: { reason?: unknown; issuedOn?: unknown; validityYears?: unknown }, actor: string): Promise<repo.CertificateRow> {
    const errors: FieldError[] = [];
    if (!requestReasons.includes(input.reason as RequestReason)) errors.push(fieldError('reason', input.reason ? 'not_allowed' : 'required', requestReasons.join('|')));
    const issuedOn = input.issuedOn ?? todayJst(this.clock());
    if (!isIsoDate(issuedOn)) errors.push(fieldError('issuedOn', 'invalid_date'));
    const years = input.validityYears ?? this.validityYears;
    if (!isValidCertificateYears(years)) errors.push(fieldError('validityYears', 'out_of_range', `1–${CERTIFICATE_MAX_YEARS}`));
    if (errors.length) invalid(errors);
    const member = await this.registry.getMember(insurerNumber, memberId);
    if (member.lostOn !== null && member.lostOn <= (issuedOn as string)) throw new OnshiError('ONSHI_REGISTRY_MEMBER_TERMINATED', { lostOn: member.lostOn });
    if ((issuedOn as string) < member.qualifiedFrom) invalid([fieldError('issuedOn', 'mismatch', 'before qualifiedFrom')]);
    return this.db.transaction().execute(async (trx) => {
      await repo.revokeCertificatesOf(trx, memberId, issuedOn as string);
      const [row] = await this.certificateRows(trx, [{ memberId, insurerNumber, lostOn: member.lostOn, automaticKey: null }], issuedOn as string, years as number, {
        origin: 'request', requestReason: input.reason as string, jobId: null, actor,
      });
      await repo.insertCertificates(trx, [row]);
      return (await repo.certificatesOfMemberships(trx, [memberId])).get(memberId)!.find((c) => c.id === row.id)!;
    });
  }

  /** The member's transition record: until when the paper card is usable, and every certificate. */
  async memberRecord(insurerNumber: string, memberId: string, asOf?: string) {
    const member = await this.registry.getMember(insurerNumber, memberId, asOf);
    const date = asOf ?? todayJst(this.clock());
    const certificates = (await repo.certificatesOfMemberships(this.db, [memberId])).get(memberId) ?? [];
    return {
      memberId,
      asOf: date,
      paperCard: {
        issuedOn: member.paperCardIssuedOn,
        expiresOn: member.paperCardExpiresOn,
        usableUntil: paperCardUsableUntil(member, member),
      },
      certificates: certificates.map((c) => ({ ...c, validOnAsOf: certificateValidOn(c, date) })),
    };
  }

  /** One certificate of the member as a PDF (the member's particulars as recorded on its issue date). */
  async certificatePdf(insurerNumber: string, memberId: string, number: string): Promise<Buffer> {
    await this.registry.getMember(insurerNumber, memberId);
    const certificate = ((await repo.certificatesOfMemberships(this.db, [memberId])).get(memberId) ?? []).find((c) => c.number === number);
    if (!certificate) throw new OnshiError('ONSHI_NOT_FOUND', { memberId, certificateNumber: number });
    const member = await this.registry.getMember(insurerNumber, memberId, certificate.issuedOn);
    const insurer = await this.registry.getInsurer(insurerNumber);
    // Rendered in the worker thread: a PDF's CPU must not pause the confirmations.
    return callInWorker<CertificatePdfInput, Buffer>(new URL('./certificate-pdf.ts', import.meta.url).href, 'renderCertificate', { certificate, member, insurer });
  }

  /**
   * Print data of the certificates an insurer issued between two dates (mailing to the member's
   * address as recorded on the issue date): CSV with a header row, UTF-8 or Shift_JIS (cp932).
   * Shift_JIS that cannot carry a name or address is refused as a whole, listing the rows (422
   * ONSHI_EXPORT_NOT_ENCODABLE): a mailer must not go out with "?" in a name.
   */
  async printCsv(insurerNumber: string, input: { from?: unknown; to?: unknown; charset?: unknown }): Promise<Buffer> {
    const errors: FieldError[] = [];
    if (!isIsoDate(input.from)) errors.push(fieldError('from', input.from ? 'invalid_date' : 'required'));
    if (!isIsoDate(input.to)) errors.push(fieldError('to', input.to ? 'invalid_date' : 'required'));
    const charset = String(input.charset ?? 'utf-8').toLowerCase();
    if (!['utf-8', 'utf8', 'shift_jis', 'sjis', 'cp932'].includes(charset)) errors.push(fieldError('charset', 'not_allowed', 'utf-8|shift_jis'));
    if (errors.length) invalid(errors);
    await this.registry.getInsurer(insurerNumber);
    const rows = await repo.certificatesIssuedBetween(this.db, insurerNumber, input.from as string, input.to as string);
    const periods = groupBy(await repo.periodsOfMemberships(this.db, rows.map((r) => r.membership_id)), (p) => p.membership_id);
    const records = rows.map((r) => {
      const list = (periods.get(r.membership_id) ?? []).map((x) => ({ ...x, validFrom: x.valid_from, validUntil: x.valid_until }));
      const p = periodForDate(list, r.issued_on)!;
      return [r.number, r.insurer_number, r.insurer_name, r.symbol, r.card_number, r.branch, p.name, p.name_kana, p.birth_date, p.postal_code ?? '', p.address, r.qualified_from, r.issued_on, r.valid_until, r.origin];
    });
    const header = ['資格確認書番号', '保険者番号', '保険者名称', '記号', '番号', '枝番', '氏名', 'フリガナ', '生年月日', '郵便番号', '住所', '資格取得年月日', '交付年月日', '有効期限', '交付区分'];
    if (charset === 'utf-8' || charset === 'utf8') return Buffer.from(csvText([header, ...records], { eol: '\r\n' }), 'utf8');
    return csvShiftJis(header, records, { eol: '\r\n' });
  }
}

function groupBy<T>(rows: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}
