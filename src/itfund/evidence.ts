// Evidence files of a subsidy application (receipts, invoices, photographs of the installed
// equipment): PDF, JPEG or PNG, kept with their bytes in the database (itfund_evidence), each upload
// recorded in the case's history (who, when, name, size, SHA-256; never the bytes).
//
// Linking to cost items (minimal): a cost item's `evidence` stays an array of strings as before
// (paper applications name paper documents that are never uploaded). When the case is viewed, each
// string that is the id of an evidence file of the case, or else the name of one (the first uploaded
// with that name), is shown as linked in the item's `evidenceIds` (null where nothing matches).

import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { actorOf, type Principal } from '../platform/auth.ts';
import type { Database, Db } from '../platform/db.ts';
import { fieldError, OnshiError } from '../platform/errors.ts';
import { newId } from '../platform/ids.ts';
import { todayJst } from '../platform/time.ts';
import { allowedActions, evidenceOpen, type State } from './lifecycle.ts';
import type { ItFundService } from './service.ts';
import { hasForbiddenCharacter } from '../platform/text.ts';

export interface ItFundEvidenceTable {
  id: string;
  case_id: string;
  file_name: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  bytes: Buffer;
  uploaded_by: string;
  uploaded_at: string;
}

declare module '../platform/db.ts' {
  interface Database {
    itfund_evidence: ItFundEvidenceTable;
  }
}

export const EVIDENCE_MAX_BYTES = 10 * 1024 * 1024;
export const evidenceContentTypes = ['application/pdf', 'image/jpeg', 'image/png'] as const;
export type EvidenceContentType = (typeof evidenceContentTypes)[number];

/** The leading bytes every file of the type starts with: a file whose bytes do not match its declared type is refused. */
const signatures: Record<EvidenceContentType, number[]> = {
  'application/pdf': [0x25, 0x50, 0x44, 0x46, 0x2d], // %PDF-
  'image/jpeg': [0xff, 0xd8, 0xff],
  'image/png': [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
};

export interface EvidenceView {
  id: string;
  fileName: string;
  contentType: string;
  size: number;
  sha256: string;
  uploadedAt: string;
  uploadedBy: string;
}

export interface EvidenceUpload {
  contentType: string | undefined;
  fileName: string | undefined;
  body: unknown;
  paper?: boolean;
  reason?: string;
}

/** The media type without parameters, lower case. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

export class ItFundEvidence {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly service: ItFundService,
    private readonly clock: () => Date,
  ) {}

  /**
   * Uploads one evidence file: the facility_admin of the case's facility, or staff entering a paper
   * application (paper: true with a reason, as for the facility's actions); only while the
   * application can still be changed (lifecycle.evidenceOpen).
   */
  async upload(principal: Principal, caseId: string, input: EvidenceUpload): Promise<EvidenceView> {
    const type = mediaTypeOf(input.contentType);
    if (!(evidenceContentTypes as readonly string[]).includes(type) || !Buffer.isBuffer(input.body)) throw new OnshiError('ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE', { accepted: [...evidenceContentTypes] });
    const bytes = input.body;
    if (bytes.length > EVIDENCE_MAX_BYTES) throw new OnshiError('ONSHI_BODY_TOO_LARGE', { limitBytes: EVIDENCE_MAX_BYTES });
    const fileName = input.fileName?.trim();
    const errors = [];
    if (!fileName) errors.push(fieldError('fileName', 'required', 'in the x-file-name header (percent-encoded UTF-8) or ?fileName='));
    // eslint-disable-next-line no-control-regex
    else if (fileName.length > 255 || /[/\\"]/.test(fileName) || hasForbiddenCharacter(fileName)) errors.push(fieldError('fileName', 'format', 'at most 255 characters, no path separators, quotes or control characters'));
    if (bytes.length === 0) errors.push(fieldError('body', 'required', 'the file bytes'));
    if (errors.length) throw new OnshiError('ONSHI_REQUEST_INVALID', { errors });
    const signature = signatures[type as EvidenceContentType];
    if (bytes.length < signature.length || signature.some((b, i) => bytes[i] !== b)) throw new OnshiError('ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE', { accepted: [...evidenceContentTypes], detail: `the bytes are not a ${type} file` });

    const id = newId();
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const at = this.clock().toISOString();
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('itfund_cases').select(['id', 'facility_code', 'state', 'paper', 'version']).where('id', '=', caseId).executeTakeFirst();
      if (!row || (principal.kind === 'facility' && principal.facilityCode !== row.facility_code)) throw new OnshiError('ONSHI_ITFUND_CASE_NOT_FOUND', { caseId });
      const paper = this.service.requireSide(principal, 'facility', { paper: input.paper, reason: input.reason }, row.facility_code);
      const state = row.state as State;
      if (!evidenceOpen(state)) throw new OnshiError('ONSHI_ITFUND_TRANSITION_REFUSED', { state, action: 'upload_evidence', allowedActions: allowedActions(state), detail: 'evidence is uploaded only while the application can be changed (work_completed, corrections_requested)' });
      // The upload is a change of the case: it takes the next version (and history seq), so that it
      // cannot interleave with an action that moves the case meanwhile.
      const r = await trx.updateTable('itfund_cases').set({ version: row.version + 1, updated_at: at, paper: paper || row.paper === 1 ? 1 : 0 }).where('id', '=', caseId).where('version', '=', row.version).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new OnshiError('ONSHI_ITFUND_TRANSITION_REFUSED', { state, action: 'upload_evidence', allowedActions: allowedActions(state), detail: 'the case changed meanwhile; retry' });
      await trx.insertInto('itfund_evidence').values({ id, case_id: caseId, file_name: fileName!, content_type: type, size_bytes: bytes.length, sha256, bytes, uploaded_by: actorOf(principal), uploaded_at: at }).execute();
      await trx
        .insertInto('itfund_events')
        .values({
          case_id: caseId, seq: row.version + 1, action: 'upload_evidence', from_state: state, to_state: state, actor: actorOf(principal), at, on_date: todayJst(this.clock()),
          reason: paper ? input.reason!.trim() : null, paper: paper ? 1 : 0, details: JSON.stringify({ evidenceId: id, fileName, contentType: type, size: bytes.length, sha256 }),
        })
        .execute();
    });
    return { id, fileName: fileName!, contentType: type, size: bytes.length, sha256, uploadedAt: at, uploadedBy: actorOf(principal) };
  }

  /** The evidence files of a case (without bytes): the facility its own, reviewers any. */
  async list(principal: Principal, caseId: string): Promise<EvidenceView[]> {
    await this.service.getCase(principal, caseId);
    return listEvidence(this.db, caseId);
  }

  /** One evidence file with its bytes. */
  async get(principal: Principal, caseId: string, evidenceId: string): Promise<EvidenceView & { bytes: Buffer }> {
    await this.service.getCase(principal, caseId);
    const r = await this.db.selectFrom('itfund_evidence').selectAll().where('case_id', '=', caseId).where('id', '=', evidenceId).executeTakeFirst();
    if (!r) throw new OnshiError('ONSHI_NOT_FOUND', { caseId, evidenceId });
    return { ...toView(r), bytes: Buffer.from(r.bytes) };
  }
}

function toView(r: Omit<ItFundEvidenceTable, 'bytes' | 'case_id'>): EvidenceView {
  return { id: r.id, fileName: r.file_name, contentType: r.content_type, size: Number(r.size_bytes), sha256: r.sha256, uploadedAt: new Date(r.uploaded_at).toISOString(), uploadedBy: r.uploaded_by };
}

export async function listEvidence(db: Db, caseId: string): Promise<EvidenceView[]> {
  const rows = await db.selectFrom('itfund_evidence').select(['id', 'file_name', 'content_type', 'size_bytes', 'sha256', 'uploaded_at', 'uploaded_by']).where('case_id', '=', caseId).orderBy('uploaded_at').orderBy('id').execute();
  return rows.map(toView);
}

/** The evidence ids a cost item's references link to (by id, else by file name; null when none). */
export function linkEvidence(references: string[], files: EvidenceView[]): (string | null)[] {
  return references.map((ref) => files.find((f) => f.id === ref)?.id ?? files.find((f) => f.fileName === ref)?.id ?? null);
}
