// Evidence files of the IT support fund subsidy application, on every store: bytes in and out
// unchanged, recorded in the history, linked from the cost items, and every refusal.

import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { adminHeaders, createFacility, expectError, fieldProblems, issueCredential, useApp, type Headers } from '../support/fixtures.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(50_000), Buffer.from([0, 0xff, 0x80]), Buffer.from('\n%%EOF\n')]);
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(1000)]);

describe.each(storeKinds)('IT support fund evidence files on %s', (kind) => {
  let now = new Date('2020-08-03T03:00:00Z');
  const at = (date: string) => (now = new Date(`${date}T03:00:00Z`));
  const h = useApp(kind, { clock: () => now });
  const act = async (id: string, action: string, headers: Headers, payload: Record<string, unknown> = {}) => {
    const r = await h.app.inject({ method: 'POST', url: `/v1/itfund/cases/${id}/actions/${action}`, headers, payload });
    expect(r.statusCode, r.body).toBe(200);
    return r.json();
  };
  const upload = (id: string, headers: Partial<Headers>, body: Buffer, contentType: string, fileName?: string, query = '') =>
    h.app.inject({ method: 'POST', url: `/v1/itfund/cases/${id}/evidence${query}`, headers: { ...headers, 'content-type': contentType, ...(fileName !== undefined ? { 'x-file-name': encodeURIComponent(fileName) } : {}) }, payload: body });

  it('uploads, lists, downloads and links evidence; refuses other facilities, roles, types, sizes and states', async () => {
    const hospital = await createFacility(h.app, { type: 'hospital' });
    const fa = await issueCredential(h.app, { facilityCode: hospital.code, role: 'facility_admin' });
    const other = await createFacility(h.app, { type: 'clinic' });
    const otherAdmin = await issueCredential(h.app, { facilityCode: other.code, role: 'facility_admin' });
    const opened = await h.app.inject({ method: 'POST', url: '/v1/itfund/cases', headers: fa.headers, payload: {} });
    expect(opened.statusCode, opened.body).toBe(201);
    const id = opened.json().id as string;

    await act(id, 'apply_readers', fa.headers, { readersRequested: 1 });
    await act(id, 'provide_readers', adminHeaders, { readers: 1, unitCostYen: 80_000, deliveredOn: '2020-08-03' });
    // Before the work is complete the application cannot be made, so no evidence yet.
    expect(expectError(await upload(id, fa.headers, pdf, 'application/pdf', 'a.pdf'), 409, 'ONSHI_ITFUND_TRANSITION_REFUSED')).toMatchObject({ state: 'readers_provided', action: 'upload_evidence', allowedActions: ['complete_work'] });
    at('2020-10-20');
    await act(id, 'complete_work', fa.headers, { completedOn: '2020-10-15' });

    // Round trip: the bytes come back unchanged, with their type and (Japanese) name.
    const up = await upload(id, fa.headers, pdf, 'application/pdf', '請求書 端末.pdf');
    expect(up.statusCode, up.body).toBe(201);
    const invoice = up.json();
    expect(invoice).toMatchObject({ fileName: '請求書 端末.pdf', contentType: 'application/pdf', size: pdf.length, sha256: sha(pdf), uploadedBy: `facility:${fa.id}`, uploadedAt: '2020-10-20T03:00:00.000Z' });
    const photo = await upload(id, fa.headers, png, 'image/png; charset=binary', undefined, '?fileName=reader-photo.png');
    expect(photo.statusCode, photo.body).toBe(201);
    expect(photo.json()).toMatchObject({ fileName: 'reader-photo.png', contentType: 'image/png', size: png.length, sha256: sha(png) });

    const got = await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}/evidence/${invoice.id}`, headers: fa.headers });
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-type']).toBe('application/pdf');
    expect(got.headers['content-disposition']).toBe(`attachment; filename="___ __.pdf"; filename*=UTF-8''${encodeURIComponent('請求書 端末.pdf')}`);
    expect(sha(got.rawPayload)).toBe(sha(pdf));
    expect(got.rawPayload.equals(pdf)).toBe(true);
    const gotPng = await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}/evidence/${photo.json().id}`, headers: adminHeaders });
    expect(gotPng.headers['content-type']).toBe('image/png');
    expect(gotPng.rawPayload.equals(png)).toBe(true);

    // The list: every role of the facility and reviewers; no bytes.
    for (const headers of [fa.headers, hospital.headers, adminHeaders]) {
      const list = await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}/evidence`, headers });
      expect(list.statusCode, list.body).toBe(200);
      expect(list.json().evidence.map((e: { id: string; sha256: string }) => [e.id, e.sha256])).toEqual([[invoice.id, sha(pdf)], [photo.json().id, sha(png)]]);
      expect(list.body).not.toContain('bytes');
    }

    // Refusals: another facility sees nothing; reception may not upload; type, size, name, bytes; no credential.
    expectError(await upload(id, otherAdmin.headers, pdf, 'application/pdf', 'x.pdf'), 404, 'ONSHI_ITFUND_CASE_NOT_FOUND');
    expectError(await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}/evidence`, headers: otherAdmin.headers }), 404, 'ONSHI_ITFUND_CASE_NOT_FOUND');
    expectError(await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}/evidence/${invoice.id}`, headers: otherAdmin.headers }), 404, 'ONSHI_ITFUND_CASE_NOT_FOUND');
    expectError(await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}/evidence/nope`, headers: fa.headers }), 404, 'ONSHI_NOT_FOUND');
    expectError(await upload(id, hospital.headers, pdf, 'application/pdf', 'x.pdf'), 403, 'ONSHI_AUTH_FORBIDDEN');
    expectError(await upload(id, {}, pdf, 'application/pdf', 'x.pdf'), 401, 'ONSHI_AUTH_MISSING_TOKEN');
    expectError(await upload(id, fa.headers, Buffer.from('hello'), 'text/plain', 'x.txt'), 415, 'ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE');
    expectError(await upload(id, fa.headers, Buffer.from('PK\u0003\u0004'), 'application/zip', 'x.zip'), 415, 'ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE');
    expectError(await h.app.inject({ method: 'POST', url: `/v1/itfund/cases/${id}/evidence?fileName=x.json`, headers: fa.headers, payload: { a: 1 } }), 415, 'ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE');
    expect(expectError(await upload(id, fa.headers, png, 'application/pdf', 'fake.pdf'), 415, 'ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE').detail).toMatch(/not a application\/pdf/);
    const big = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(10 * 1024 * 1024)]);
    expectError(await upload(id, fa.headers, big, 'application/pdf', 'big.pdf'), 413, 'ONSHI_BODY_TOO_LARGE');
    expect(fieldProblems(expectError(await upload(id, fa.headers, pdf, 'application/pdf'), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['fileName:required']);
    expect(fieldProblems(expectError(await upload(id, fa.headers, pdf, 'application/pdf', '../etc/passwd'), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['fileName:format']);
    // Staff upload only for a paper application, flagged, with a reason.
    expect(fieldProblems(expectError(await upload(id, adminHeaders, pdf, 'application/pdf', 'paper.pdf'), 400, 'ONSHI_REQUEST_INVALID').errors)).toEqual(['paper:required']);
    const staff = await upload(id, adminHeaders, pdf, 'application/pdf', 'paper.pdf', `?paper=true&reason=${encodeURIComponent('郵送で受領')}`);
    expect(staff.statusCode, staff.body).toBe(201);

    // The history records each upload (who, when, what) without the bytes; refused ones left nothing.
    const c = (await h.app.inject({ method: 'GET', url: `/v1/itfund/cases/${id}`, headers: adminHeaders })).json();
    const uploads = c.history.filter((e: { action: string }) => e.action === 'upload_evidence');
    expect(uploads).toHaveLength(3);
    expect(uploads[0]).toMatchObject({ fromState: 'work_completed', toState: 'work_completed', actor: `facility:${fa.id}`, on: '2020-10-20', paper: false, details: { evidenceId: invoice.id, fileName: '請求書 端末.pdf', size: pdf.length, sha256: sha(pdf) } });
    expect(uploads[2]).toMatchObject({ actor: expect.stringMatching(/^admin:/), paper: true, reason: '郵送で受領' });
    expect(Object.keys(uploads[0].details).sort()).toEqual(['contentType', 'evidenceId', 'fileName', 'sha256', 'size']);
    expect(c).toMatchObject({ state: 'work_completed', paper: true });

    // Cost items name their evidence by id or file name; the view links them.
    at('2020-11-02');
    const applied = await act(id, 'apply_subsidy', fa.headers, { costItems: [{ kind: 'terminal', amountYen: 1_000_000, evidence: [invoice.id, 'reader-photo.png', 'not-uploaded.pdf'] }] });
    expect(applied.costItems[0]).toMatchObject({ evidence: [invoice.id, 'reader-photo.png', 'not-uploaded.pdf'], evidenceIds: [invoice.id, photo.json().id, null] });

    // Under review the evidence is fixed; when corrections are asked, it may be added to again.
    expect(expectError(await upload(id, fa.headers, pdf, 'application/pdf', 'late.pdf'), 409, 'ONSHI_ITFUND_TRANSITION_REFUSED')).toMatchObject({ state: 'subsidy_applied', allowedActions: ['request_site_visit', 'request_corrections', 'approve', 'reject'] });
    await act(id, 'request_corrections', adminHeaders, { reason: '見積書を追加してください' });
    expect((await upload(id, fa.headers, pdf, 'application/pdf', '見積書.pdf')).statusCode).toBe(201);
    const resubmitted = await act(id, 'resubmit', fa.headers, { costItems: [{ kind: 'terminal', amountYen: 1_000_000, evidence: ['見積書.pdf'] }] });
    expect(resubmitted.costItems[0].evidenceIds[0]).toEqual(expect.any(String));
    expect(resubmitted.history.map((e: { action: string }) => e.action).slice(-3)).toEqual(['request_corrections', 'upload_evidence', 'resubmit']);
  });
});
