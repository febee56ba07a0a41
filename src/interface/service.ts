// The real interface over HTTP: one request file in, one result file out. The single inquiry is a
// confirmation like any other (ConfirmationService, recorded as a usage event); the bulk messages
// are batch inquiries (BatchService). Every refusal becomes a result file with SegmentOfResult 9
// and an error code from the one catalogue; nothing here answers a 500.
//
// Exactly once: a request sent with an Idempotency-Key (the gateway sends one per file) has its
// result stored in the very transaction that did its work (the single inquiry's usage event, the
// bulk upload's batch), keyed by (facility, key). A retry whose first answer was lost is answered
// from the store and processed no second time; two racing copies collide on the key and the loser's
// transaction (its usage event or batch with it) is rolled back. Downloads (OQSmuquc02) change
// nothing and are simply answered again.

import type { BatchService } from '../batch/service.ts';
import { cardNumberUsageEvent, type ConfirmationService, type ConfirmationAnswer } from '../confirmation/service.ts';
import { insertUsageEvents } from '../confirmation/repository.ts';
import type { Db } from '../platform/db.ts';
import { isUniqueViolation, OnshiError, type ErrorCode } from '../platform/errors.ts';
import { writeBulkResult } from './bulk-result.ts';
import { FaceResults } from './face.ts';
import { MAX_REGISTRATIONS, ReferenceNumbers } from './reference-numbers.ts';
import './tables.ts';
import { interfaceError, ReferenceClassification, SegmentOfResult } from './codes.ts';
import {
  compactDate,
  compactTime,
  decodeRequest,
  encodeResultFitting,
  inquiryOf,
  isoDate,
  personResult,
  requestFileName,
  resultCharacterCode,
  resultFileNameOf,
} from './codec.ts';
import type { FamilyName, Msg } from './schema.ts';
import type { CharacterCode } from './xml.ts';

export interface ResultFile {
  fileName: string;
  bytes: Buffer;
  /** SegmentOfResult written, for logs and tests. */
  segment: string;
  /** Answered from the idempotency store (a retry), not processed again. */
  replayed?: boolean;
}

/** A request to be processed at most once: its key and names. */
interface Once {
  key: string;
  fileName: string;
  resultName: string;
}

/**
 * How long a stored result answers a retry. The stored files hold personal data, so they are not
 * kept for ever; a request resent after this long is processed again.
 */
export const IDEMPOTENCY_RETENTION_MS = 7 * 24 * 3600_000;
const PURGE_EVERY_MS = 3600_000;

/** 1–128 visible ASCII characters (the gateway sends a SHA-256 in hex). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

function isFile(x: Msg | ResultFile): x is ResultFile {
  return Buffer.isBuffer((x as { bytes?: unknown }).bytes);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export class InterfaceService {
  readonly face: FaceResults;
  readonly references: ReferenceNumbers;
  private lastPurge = 0;

  constructor(
    private readonly confirmation: ConfirmationService,
    private readonly batch: BatchService,
    private readonly clock: () => Date = () => new Date(),
    private readonly logError: (e: unknown) => void = () => {},
    private readonly db: Db,
    /** The hot appends' handle (DatabaseHandle.events): usage events and stored results are written there. */
    private readonly events: Db = db,
  ) {
    this.references = new ReferenceNumbers(db, clock);
    this.face = new FaceResults(db, clock, this.references, events);
  }

  /** Answers one request file for a facility; with `idempotencyKey`, at most once per key. */
  async handle(facilityCode: string, fileName: string, bytes: Uint8Array, idempotencyKey?: string): Promise<ResultFile> {
    const named = requestFileName(fileName);
    const family: FamilyName = named?.family ?? 'OQSsiquc01';
    const resultName = named?.resultFileName ?? resultFileNameOf(fileName);
    let characterCode: CharacterCode = '0';
    let header: Msg = {};
    try {
      // The refused name is not echoed (neither here nor in Content-Disposition): it may hold anything.
      if (!named) throw new OnshiError('ONSHI_INTERFACE_UNKNOWN_MESSAGE', { detail: 'OQS{siquc01|muquc01|muquc02|siimm01|muimm01}req_….xml' });
      const request = decodeRequest(family, bytes);
      header = (request.msg.MessageHeader as Msg | undefined) ?? {};
      characterCode = resultCharacterCode(header, request.encoding);
      const institution = str(header.MedicalInstitutionCode);
      if (!institution) throw new OnshiError('ONSHI_INTERFACE_INVALID_HEADER', { detail: 'MedicalInstitutionCode' });
      if (institution !== facilityCode) throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { detail: 'MedicalInstitutionCode' });
      let once: Once | undefined;
      if (idempotencyKey !== undefined) {
        if (!IDEMPOTENCY_KEY.test(idempotencyKey)) throw new OnshiError('ONSHI_INTERFACE_IDEMPOTENCY_KEY_INVALID', { detail: 'Idempotency-Key' });
        const replay = await this.replay(facilityCode, idempotencyKey, fileName);
        if (replay) return replay;
        once = { key: idempotencyKey, fileName, resultName };
      }
      const body = (request.msg.MessageBody as Msg | undefined) ?? {};
      const out = await this.answer(family, facilityCode, header, body, characterCode, once, resultName);
      return isFile(out) ? out : this.file(resultName, family, out, characterCode);
    } catch (e) {
      const code: ErrorCode = e instanceof OnshiError ? e.code : 'ONSHI_INTERNAL';
      if (!(e instanceof OnshiError)) this.logError(e);
      const detail = e instanceof OnshiError ? str(e.details?.detail) : undefined;
      return this.file(resultName, family, this.failure(header, characterCode, code, detail), characterCode);
    }
  }

  /**
   * The error result (SegmentOfResult 9) of a request refused before it was read, such as a body over
   * the limit: named after the request file, in UTF-8 (its declaration was never read); nothing of it
   * was processed or stored.
   */
  refused(fileName: string, code: ErrorCode, detail?: string): ResultFile {
    const named = requestFileName(fileName);
    return this.file(named?.resultFileName ?? resultFileNameOf(fileName), named?.family ?? 'OQSsiquc01', this.failure({}, '0', code, detail), '0');
  }

  /** The family's answer: a message to write, or a file already written (and stored, when keyed). */
  private answer(family: FamilyName, facilityCode: string, header: Msg, body: Msg, characterCode: CharacterCode, once: Once | undefined, resultName: string): Promise<Msg | ResultFile> {
    switch (family) {
      case 'OQSsiquc01':
        return this.single(facilityCode, header, body, characterCode, once);
      case 'OQSmuquc01':
        return this.bulkUpload(facilityCode, header, body, characterCode, once);
      case 'OQSmuquc02':
        return this.bulkDownload(facilityCode, header, body, characterCode, resultName);
      case 'OQSsiimm01':
        return this.registerOne(facilityCode, header, body, characterCode);
      default:
        return this.registerMany(facilityCode, header, body, characterCode);
    }
  }

  /** The stored result of a key, or undefined; the key used for another file name is refused. */
  private async replay(facilityCode: string, key: string, fileName: string): Promise<ResultFile | undefined> {
    const stored = await this.db
      .selectFrom('interface_idempotency')
      .select(['file_name', 'result_file_name', 'result_bytes'])
      .where('facility_code', '=', facilityCode)
      .where('idempotency_key', '=', key)
      .where('created_at', '>=', new Date(this.clock().getTime() - IDEMPOTENCY_RETENTION_MS).toISOString())
      .executeTakeFirst();
    if (!stored) return undefined;
    if (stored.file_name !== fileName) throw new OnshiError('ONSHI_INTERFACE_IDEMPOTENCY_CONFLICT', { detail: stored.file_name });
    // Only processed results (SegmentOfResult 1) are stored.
    return { fileName: stored.result_file_name, bytes: Buffer.from(stored.result_bytes), segment: SegmentOfResult.done, replayed: true };
  }

  /**
   * Does `work` and stores the result under the key in one transaction. A concurrent copy that got
   * there first wins: this one's work is rolled back and the stored result answered.
   */
  private async storeOnce(facilityCode: string, once: Once, file: ResultFile, work: (trx: Db) => Promise<void>): Promise<ResultFile> {
    try {
      await this.events.transaction().execute(async (trx) => {
        await work(trx);
        await this.insertStored(trx, facilityCode, once, file);
      });
      return file;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const stored = await this.replay(facilityCode, once.key, once.fileName);
      if (!stored) throw e;
      return stored;
    }
  }

  private async insertStored(trx: Db, facilityCode: string, once: Once, file: ResultFile): Promise<void> {
    const now = this.clock().getTime();
    if (now - this.lastPurge >= PURGE_EVERY_MS) {
      // Expired results go (a key seen again after expiry is then stored anew, not a conflict).
      this.lastPurge = now;
      await trx.deleteFrom('interface_idempotency').where('created_at', '<', new Date(now - IDEMPOTENCY_RETENTION_MS).toISOString()).execute();
    }
    // This key's own expired result, if the hourly purge has not taken it yet.
    await trx
      .deleteFrom('interface_idempotency')
      .where('facility_code', '=', facilityCode)
      .where('idempotency_key', '=', once.key)
      .where('created_at', '<', new Date(now - IDEMPOTENCY_RETENTION_MS).toISOString())
      .execute();
    await trx
      .insertInto('interface_idempotency')
      .values({ facility_code: facilityCode, idempotency_key: once.key, file_name: once.fileName, result_file_name: file.fileName, result_bytes: file.bytes, created_at: this.clock().toISOString() })
      .execute();
  }

  private file(fileName: string, family: FamilyName, msg: Msg, requested: CharacterCode): ResultFile {
    const { bytes } = encodeResultFitting(family, msg, requested);
    return { fileName, bytes, segment: str((msg.MessageHeader as Msg).SegmentOfResult) ?? '' };
  }

  /** SegmentOfResult 9 with the catalogue's code and message; the header echoes what could be read. */
  private failure(header: Msg, characterCode: CharacterCode, code: ErrorCode, detail?: string): Msg {
    return {
      MessageHeader: {
        ProcessExecutionTime: compactTime(this.clock()),
        QualificationConfirmationDate: str(header.QualificationConfirmationDate),
        MedicalInstitutionCode: str(header.MedicalInstitutionCode),
        ArbitraryFileIdentifier: str(header.ArbitraryFileIdentifier),
        SegmentOfResult: SegmentOfResult.failed,
        ...interfaceError(code, detail),
        CharacterCodeIdentifier: characterCode,
      },
    };
  }

  private async single(facilityCode: string, header: Msg, body: Msg, characterCode: CharacterCode, once?: Once): Promise<Msg | ResultFile> {
    const search = body.QualificationConfirmSearchInfo as Msg | undefined;
    if (!search) throw new OnshiError('ONSHI_INTERFACE_MALFORMED', { detail: 'QualificationConfirmSearchInfo' });
    const now = this.clock();
    const limitConsent = search.LimitApplicationCertificateRelatedConsFlg === '1';
    // Decision (README, "The real interface"): the request (INTERFACE.md §2.2) does not say which
    // document the numbers were read from (InsuredCardClassification is a result element only), and
    // a 資格確認書 carries the same numbers as the paper card it replaces. So the XML inquiry answers
    // the membership (confirmByCardNumbers), not a presumed paper card as POST /v1/confirmations
    // does by default: presuming one would refuse every 資格確認書 holder from 2025-12-02.
    const inquiry = inquiryOf(search, str(header.QualificationConfirmationDate));
    let answer: ConfirmationAnswer;
    let event: Parameters<typeof insertUsageEvents>[1][number] | undefined;
    if (!once) answer = await this.confirmation.confirmByCardNumbers(facilityCode, inquiry, { withLimitCategory: limitConsent });
    else {
      // The same decision and event as confirmByCardNumbers, but the event is written in the
      // transaction that stores the result (not by the group commit), so both commit or neither.
      const evaluated = await this.confirmation.evaluateCardNumbers(inquiry, now, { withLimitCategory: limitConsent });
      answer = evaluated.answer;
      event = cardNumberUsageEvent(facilityCode, now, evaluated);
    }
    const person = personResult(answer, search, limitConsent ? compactTime(now) : undefined);
    const { ResultOfQualificationConfirmation: record, ...status } = person;
    if (answer.result === 'valid' && record) (record as Msg).ReferenceNumber = await this.references.of(facilityCode, answer.member);
    const msg: Msg = {
      MessageHeader: {
        ProcessExecutionTime: compactTime(now),
        QualificationConfirmationDate: str(header.QualificationConfirmationDate) ?? (answer.result !== 'error' ? compactDate(answer.asOf) : undefined),
        MedicalInstitutionCode: facilityCode,
        ArbitraryFileIdentifier: str(header.ArbitraryFileIdentifier),
        ReferenceClassification: ReferenceClassification.insuranceCard,
        SegmentOfResult: SegmentOfResult.done,
        CharacterCodeIdentifier: characterCode,
      },
      MessageBody: {
        ...status,
        QualificationConfirmSearchInfo: search,
        ResultList: record ? { ResultOfQualificationConfirmation: [record as Msg] } : undefined,
      },
    };
    if (!once || !event) return msg;
    const e = event;
    return this.storeOnce(facilityCode, once, this.file(once.resultName, 'OQSsiquc01', msg, characterCode), (trx) => insertUsageEvents(trx, [e]));
  }

  private async bulkUpload(facilityCode: string, header: Msg, body: Msg, characterCode: CharacterCode, once?: Once): Promise<Msg | ResultFile> {
    const list = (body.QualificationConfirmSearchInfo as Msg[] | undefined) ?? [];
    const date = isoDate(str(header.QualificationConfirmationDate));
    const rows = list.map((s) => ({ ...(inquiryOf(s, undefined) as Record<string, string | undefined>), limitConsent: s.LimitApplicationCertificateRelatedConsFlg === '1', search: s }));
    const meta: Record<string, string> = { characterCode };
    const arbitrary = str(header.ArbitraryFileIdentifier);
    if (arbitrary) meta.arbitraryFileIdentifier = arbitrary;
    if (header.QualificationConfirmationDate) meta.qualificationConfirmationDate = str(header.QualificationConfirmationDate)!;
    // A malformed date is refused by the rules row by row (as an エラー) — the batch keeps it as given.
    const asOf = date && /^\d{4}-\d{2}-\d{2}$/.test(date) ? date : undefined;
    if (once) {
      // The stored acceptance is written (on the events file) inside the batch's transaction, just
      // before it commits: a copy that got there first makes this batch roll back, so a retried
      // upload never makes a second batch.
      let file: ResultFile | undefined;
      try {
        await this.batch.submit(facilityCode, rows, 'xml', meta, asOf, async (_trx, accepted) => {
          file = this.file(once.resultName, 'OQSmuquc01', this.acceptance(facilityCode, header, characterCode, accepted), characterCode);
          await this.events.transaction().execute((events) => this.insertStored(events, facilityCode, once, file!));
        });
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        const stored = await this.replay(facilityCode, once.key, once.fileName);
        if (!stored) throw e;
        return stored;
      }
      return file!;
    }
    return this.acceptance(facilityCode, header, characterCode, await this.batch.submit(facilityCode, rows, 'xml', meta, asOf));
  }

  private acceptance(facilityCode: string, header: Msg, characterCode: CharacterCode, accepted: { receptionNumber: string; createdAt: string }): Msg {
    const arbitrary = str(header.ArbitraryFileIdentifier);
    const now = this.clock();
    return {
      MessageHeader: {
        ProcessExecutionTime: compactTime(now),
        QualificationConfirmationDate: str(header.QualificationConfirmationDate),
        MedicalInstitutionCode: facilityCode,
        ArbitraryFileIdentifier: arbitrary,
        SegmentOfResult: SegmentOfResult.done,
        CharacterCodeIdentifier: characterCode,
      },
      MessageBody: {
        ReceptionNumber: accepted.receptionNumber,
        ReceptionDateTime: compactTime(new Date(accepted.createdAt)),
        ProcessingResultStatus: '1',
      },
    };
  }

  /** 照会番号 registration, single: the record in MessageBody (or in one ReferenceNumberRegistrationInfo). */
  private async registerOne(facilityCode: string, header: Msg, body: Msg, characterCode: CharacterCode): Promise<Msg> {
    const { ReferenceNumberRegistrationInfo: wrapped, ...direct } = body;
    const record = (wrapped as Msg | undefined) ?? (Object.keys(direct).length > 0 ? (direct as Msg) : undefined);
    if (!record) throw new OnshiError('ONSHI_INTERFACE_MALFORMED', { detail: 'ReferenceNumberRegistrationInfo' });
    const status = await this.references.register(facilityCode, record);
    return { MessageHeader: registrationHeader(this.clock(), facilityCode, header, characterCode), MessageBody: { ...status, ReferenceNumberRegistrationInfo: record } };
  }

  /** 照会番号 registration, bulk: every record reported; a bad one does not block the others. */
  private async registerMany(facilityCode: string, header: Msg, body: Msg, characterCode: CharacterCode): Promise<Msg> {
    const records = (body.ReferenceNumberRegistrationInfo as Msg[] | undefined) ?? [];
    if (records.length === 0) throw new OnshiError('ONSHI_BATCH_EMPTY');
    if (records.length > MAX_REGISTRATIONS) throw new OnshiError('ONSHI_BATCH_TOO_MANY_ROWS', { detail: `${records.length} > ${MAX_REGISTRATIONS}` });
    const units: Msg[] = [];
    for (const record of records) units.push({ ...record, ...(await this.references.register(facilityCode, record)) });
    const errors = units.filter((u) => u.ProcessingResultStatus !== '1').length;
    return {
      MessageHeader: {
        ...registrationHeader(this.clock(), facilityCode, header, characterCode),
        NumberOfProcessingResult: String(units.length),
        NumberOfNormalProcessing: String(units.length - errors),
        NumberOfError: String(errors),
      },
      MessageBody: { ReferenceNumberRegistrationInfo: units },
    };
  }

  private async bulkDownload(facilityCode: string, header: Msg, body: Msg, characterCode: CharacterCode, resultName: string): Promise<Msg | ResultFile> {
    const receptionNumber = str(body.ReceptionNumber);
    if (!receptionNumber) throw new OnshiError('ONSHI_INTERFACE_MALFORMED', { detail: 'ReceptionNumber' });
    const job = await this.batch.get(facilityCode, receptionNumber);
    const now = this.clock();
    const head: Msg = {
      ProcessExecutionTime: compactTime(now),
      QualificationConfirmationDate: job.meta.qualificationConfirmationDate ?? compactDate(job.asOf),
      MedicalInstitutionCode: facilityCode,
      ArbitraryFileIdentifier: str(header.ArbitraryFileIdentifier) ?? job.meta.arbitraryFileIdentifier,
      ReceptionNumber: receptionNumber,
      CharacterCodeIdentifier: characterCode,
    };
    if (job.status !== 'done') {
      // 処理中: ask again later with the same ReceptionNumber (INTERFACE.md §2.5).
      return { MessageHeader: { ...head, SegmentOfResult: SegmentOfResult.processing, ...interfaceError('ONSHI_BATCH_PROCESSING') } };
    }
    // Every row straight from the stored blocks (bulk-result.ts): no row is decoded into objects.
    const referenceOf = await this.references.allOf(facilityCode);
    const { bytes } = await writeBulkResult(
      head,
      { total: job.totalRows, normal: job.validRows + job.invalidRows, error: job.errorRows },
      () => this.batch.allResultBytes(receptionNumber),
      referenceOf,
      characterCode,
    );
    return { fileName: resultName, bytes, segment: SegmentOfResult.done };
  }
}

/** The header of a registration result. */
function registrationHeader(now: Date, facilityCode: string, header: Msg, characterCode: CharacterCode): Msg {
  return {
    ProcessExecutionTime: compactTime(now),
    MedicalInstitutionCode: facilityCode,
    ArbitraryFileIdentifier: str(header.ArbitraryFileIdentifier),
    SegmentOfResult: SegmentOfResult.done,
    CharacterCodeIdentifier: characterCode,
  };
}
