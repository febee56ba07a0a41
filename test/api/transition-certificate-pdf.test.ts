// The 資格確認書 as a PDF (issue 8 item 2): the insurer's own member's certificate, Japanese text
// really rendered (extracted back with pdftotext), and the refusals.

import { afterEach, describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { addMember, createInsurer, expectError, memberUrl, useApp } from '../support/fixtures.ts';
import { expectPdf } from '../support/pdf.ts';

const NOW = new Date('2025-10-15T03:00:00Z');

describe.each(storeKinds)('資格確認書 PDF on %s', (kind) => {
  const h = useApp(kind, { clock: () => NOW });
  const savedFont = process.env.ONSHI_CJK_FONT;
  afterEach(() => {
    if (savedFont === undefined) delete process.env.ONSHI_CJK_FONT;
    else process.env.ONSHI_CJK_FONT = savedFont;
  });

  async function issued() {
    const insurer = await createInsurer(h.app, { name: '日本橋健康保険組合' });
    const m = await addMember(h.app, insurer, { symbol: '77', number: '4321', branch: '01', name: '佐藤　花子', nameKana: 'サトウ　ハナコ', birthDate: '1985-06-15', sex: 'female', paperCardIssuedOn: '2020-04-01' });
    const r = await h.app.inject({ method: 'POST', url: `${memberUrl(insurer.insurerNumber, m.memberId)}/certificates`, headers: insurer.headers, payload: { reason: 'card_lost', issuedOn: '2025-10-01' } });
    expect(r.statusCode, r.body).toBe(201);
    return { insurer, m, certificate: r.json() as { number: string; validUntil: string } };
  }

  it('renders the certificate with the member, the insurer, the numbers and the dates in Japanese', async () => {
    const { insurer, m, certificate } = await issued();
    expect(certificate.validUntil).toBe('2030-09-30');
    const r = await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber, m.memberId)}/certificates/${certificate.number}.pdf`, headers: insurer.headers });
    const text = expectPdf(r);
    for (const s of ['資格確認書', certificate.number, '佐藤花子', 'サトウハナコ', '昭和60年6月15日', '女', insurer.insurerNumber, '日本橋健康保険組合', '77・4321・01', '令和7年10月1日', '令和12年9月30日まで']) {
      expect(text, s).toContain(s.replace(/\s+/g, ''));
    }
  });

  it('refuses another insurer (403), an unknown certificate or member (404), and answers 503 without a CJK font', async () => {
    const { insurer, m, certificate } = await issued();
    const other = await createInsurer(h.app);
    const url = `${memberUrl(insurer.insurerNumber, m.memberId)}/certificates/${certificate.number}.pdf`;
    expectError(await h.app.inject({ method: 'GET', url, headers: other.headers }), 403, 'ONSHI_AUTH_FORBIDDEN');
    // The other insurer's own path does not reach this member either.
    expectError(await h.app.inject({ method: 'GET', url: `${memberUrl(other.insurerNumber, m.memberId)}/certificates/${certificate.number}.pdf`, headers: other.headers }), 404, 'ONSHI_REGISTRY_MEMBER_NOT_FOUND');
    expect(certificate.number).not.toBe(`${insurer.insurerNumber}-9999999999-0`);
    expectError(await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber, m.memberId)}/certificates/${insurer.insurerNumber}-9999999999-0.pdf`, headers: insurer.headers }), 404, 'ONSHI_NOT_FOUND');
    // Another member's certificate number is not this member's.
    const second = await addMember(h.app, insurer, { number: '4322' });
    expectError(await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber, second.memberId)}/certificates/${certificate.number}.pdf`, headers: insurer.headers }), 404, 'ONSHI_NOT_FOUND');
    expectError(await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber, 'no-such-member')}/certificates/${certificate.number}.pdf`, headers: insurer.headers }), 404, 'ONSHI_REGISTRY_MEMBER_NOT_FOUND');
    process.env.ONSHI_CJK_FONT = '/nonexistent/NotoSansCJK-Regular.ttc';
    expect(expectError(await h.app.inject({ method: 'GET', url, headers: insurer.headers }), 503, 'ONSHI_PDF_FONT_UNAVAILABLE')).toMatchObject({ configured: '/nonexistent/NotoSansCJK-Regular.ttc' });
  });
});
