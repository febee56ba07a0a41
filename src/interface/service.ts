// The real interface over HTTP: one request file in, one result file out. The single inquiry is a
// confirmation like any other (ConfirmationService, recorded as a usage event); the bulk messages
// are batch inquiries (BatchService). Every refusal becomes a result file with SegmentOfResult 9
// and an error code from the one catalogue; nothing here answers a 500.

import type { BatchService } from '../batch/service.ts';
import type { ConfirmationService } from '../confirmation/service.ts';
import { OnshiError, type ErrorCode } from '../platform/errors.ts';
import { interfaceError, ReferenceClassification, SegmentOfResult } from './codes.ts';
import {
  compactDate,
  compactTime,
  decodeRequest,
  encodeResultFitting,
  inquiryOf,
  isoDate,
  normaliseInsurerNumber,
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
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export class InterfaceService {
  constructor(
    private readonly confirmation: ConfirmationService,
    private readonly batch: BatchService,
    private readonly clock: () => Date = () => new Date(),
    private readonly logError: (e: unknown) => void = () => {},
  ) {}

  /** Answers one request file for a facility. */
  async handle(facilityCode: string, fileName: string, bytes: Uint8Array): Promise<ResultFile> {
    const named = requestFileName(fileName);
    const family: FamilyName = named?.family ?? 'OQSsiquc01';
    const resultName = named?.resultFileName ?? resultFileNameOf(fileName);
    let characterCode: CharacterCode = '0';
    let header: Msg = {};
    try {
      if (!named) throw new OnshiError('ONSHI_INTERFACE_UNKNOWN_MESSAGE', { detail: fileName });
      const request = decodeRequest(family, bytes);
      header = (request.msg.MessageHeader as Msg | undefined) ?? {};
      characterCode = resultCharacterCode(header, request.encoding);
      const institution = str(header.MedicalInstitutionCode);
      if (!institution) throw new OnshiError('ONSHI_INTERFACE_INVALID_HEADER', { detail: 'MedicalInstitutionCode' });
      if (institution !== facilityCode) throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { detail: 'MedicalInstitutionCode' });
      const body = (request.msg.MessageBody as Msg | undefined) ?? {};
      const msg =
        family === 'OQSsiquc01'
          ? await this.single(facilityCode, header, body, characterCode)
          : family === 'OQSmuquc01'
            ? await this.bulkUpload(facilityCode, header, body, characterCode)
            : await this.bulkDownload(facilityCode, header, body, characterCode);
      return this.file(resultName, family, msg, characterCode);
    } catch (e) {
      const code: ErrorCode = e instanceof OnshiError ? e.code : 'ONSHI_INTERNAL';
      if (!(e instanceof OnshiError)) this.logError(e);
      const detail = e instanceof OnshiError ? str(e.details?.detail) : undefined;
      return this.file(resultName, family, this.failure(header, characterCode, code, detail), characterCode);
    }
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

  private async single(facilityCode: string, header: Msg, body: Msg, characterCode: CharacterCode): Promise<Msg> {
    const search = body.QualificationConfirmSearchInfo as Msg | undefined;
    if (!search) throw new OnshiError('ONSHI_INTERFACE_MALFORMED', { detail: 'QualificationConfirmSearchInfo' });
    const now = this.clock();
    const limitConsent = search.LimitApplicationCertificateRelatedConsFlg === '1';
    // Decision (README, "The real interface"): the request (INTERFACE.md §2.2) does not say which
    // document the numbers were read from (InsuredCardClassification is a result element only), and
    // a 資格確認書 carries the same numbers as the paper card it replaces. So the XML inquiry answers
    // the membership (confirmByCardNumbers), not a presumed paper card as POST /v1/confirmations
    // does by default: presuming one would refuse every 資格確認書 holder from 2025-12-02.
    const answer = await this.confirmation.confirmByCardNumbers(facilityCode, inquiryOf(search, str(header.QualificationConfirmationDate)), { withLimitCategory: limitConsent });
    const person = personResult(answer, search, limitConsent ? compactTime(now) : undefined);
    const { ResultOfQualificationConfirmation: record, ...status } = person;
    return {
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
  }

  private async bulkUpload(facilityCode: string, header: Msg, body: Msg, characterCode: CharacterCode): Promise<Msg> {
    const list = (body.QualificationConfirmSearchInfo as Msg[] | undefined) ?? [];
    const date = isoDate(str(header.QualificationConfirmationDate));
    const rows = list.map((s) => ({ ...(inquiryOf(s, undefined) as Record<string, string | undefined>), limitConsent: s.LimitApplicationCertificateRelatedConsFlg === '1', search: s }));
    const meta: Record<string, string> = { characterCode };
    const arbitrary = str(header.ArbitraryFileIdentifier);
    if (arbitrary) meta.arbitraryFileIdentifier = arbitrary;
    if (header.QualificationConfirmationDate) meta.qualificationConfirmationDate = str(header.QualificationConfirmationDate)!;
    // A malformed date is refused by the rules row by row (as an エラー) — the batch keeps it as given.
    const accepted = await this.batch.submit(facilityCode, rows, 'xml', meta, date && /^\d{4}-\d{2}-\d{2}$/.test(date) ? date : undefined);
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

  private async bulkDownload(facilityCode: string, header: Msg, body: Msg, characterCode: CharacterCode): Promise<Msg> {
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
    const units: Msg[] = [];
    for await (const r of this.batch.allResults(receptionNumber)) {
      const search = (r.input.search as Msg | undefined) ?? searchOfJsonRow(r.input);
      const unit = personResult({ ...r.answer, confirmationId: '' } as Parameters<typeof personResult>[0], search);
      units.push({ QualificationConfirmSearchInfo: search, ...unit });
    }
    return {
      MessageHeader: {
        ...head,
        SegmentOfResult: SegmentOfResult.done,
        NumberOfProcessingResult: String(job.totalRows),
        NumberOfNormalProcessing: String(job.validRows + job.invalidRows),
        NumberOfError: String(job.errorRows),
      },
      MessageBody: units.length > 0 ? { BulkConfirmUnit: units } : undefined,
    };
  }
}

/** The search block echoed for a row that came in as JSON or CSV. */
function searchOfJsonRow(input: { insurerNumber?: string; symbol?: string; number?: string; branch?: string; birthDate?: string }): Msg {
  return {
    InsurerNumber: input.insurerNumber ? (normaliseInsurerNumber(input.insurerNumber)!.length === 6 ? `  ${input.insurerNumber}` : input.insurerNumber) : undefined,
    InsuredCardSymbol: input.symbol || undefined,
    InsuredIdentificationNumber: input.number,
    InsuredBranchNumber: input.branch || undefined,
    Birthdate: input.birthDate ? compactDate(input.birthDate) : undefined,
  };
}
