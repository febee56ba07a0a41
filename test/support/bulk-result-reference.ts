// The former writer of the bulk result (OQSmuquc02res, SegmentOfResult 1), kept for the tests only:
// every row decoded into objects (BatchService.allResults), mapped by personResult and written by
// the generic schema writer. bulk-result.ts must give the very same bytes.

import type { BatchResultRow } from '../../src/batch/service.ts';
import { compactDate, encodeResultFitting, normaliseInsurerNumber, personResult } from '../../src/interface/codec.ts';
import type { MemberNumbers } from '../../src/interface/reference-numbers.ts';
import type { Msg } from '../../src/interface/schema.ts';
import type { CharacterCode } from '../../src/interface/xml.ts';

/** The search block echoed for a row that came in as JSON or CSV. */
export function searchOfJsonRowReference(input: { insurerNumber?: string; symbol?: string; number?: string; branch?: string; birthDate?: string }): Msg {
  return {
    InsurerNumber: input.insurerNumber ? (normaliseInsurerNumber(input.insurerNumber)!.length === 6 ? `  ${input.insurerNumber}` : input.insurerNumber) : undefined,
    InsuredCardSymbol: input.symbol || undefined,
    InsuredIdentificationNumber: input.number,
    InsuredBranchNumber: input.branch || undefined,
    Birthdate: input.birthDate ? compactDate(input.birthDate) : undefined,
  };
}

/** The result file as the former code wrote it, from the header (without counts' SegmentOfResult) and the rows. */
export function bulkResultReference(head: Msg, counts: { total: number; normal: number; error: number }, rows: Iterable<BatchResultRow>, referenceOf: (m: MemberNumbers) => string | undefined, characterCode: CharacterCode): Buffer {
  const units: Msg[] = [];
  for (const r of rows) {
    const search = (r.input.search as Msg | undefined) ?? searchOfJsonRowReference(r.input);
    const unit = personResult({ ...r.answer, confirmationId: '' } as Parameters<typeof personResult>[0], search);
    units.push({ QualificationConfirmSearchInfo: search, ...unit, ReferenceNumber: r.answer.result === 'valid' ? referenceOf(r.answer.member) : undefined });
  }
  const msg: Msg = {
    MessageHeader: {
      ...head,
      SegmentOfResult: '1',
      NumberOfProcessingResult: String(counts.total),
      NumberOfNormalProcessing: String(counts.normal),
      NumberOfError: String(counts.error),
    },
    MessageBody: units.length > 0 ? { BulkConfirmUnit: units } : undefined,
  };
  return encodeResultFitting('OQSmuquc02', msg, characterCode).bytes;
}
