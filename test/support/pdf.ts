// PDF assertions: the answer is a PDF and its page 1, as poppler's pdftotext extracts it, holds the
// expected Japanese text (so the CJK font was really embedded with its Unicode map).

import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';

/** Page 1's text in layout order with all white space removed (a full-width space prints as a gap). */
export function pdfText(pdf: Buffer): string {
  const text = execFileSync('pdftotext', ['-f', '1', '-l', '1', '-layout', '-enc', 'UTF-8', '-', '-'], { input: pdf, encoding: 'utf8' });
  return text.replace(/\s+/g, '');
}

/** Expects a 200 application/pdf answer and returns page 1's text (white space removed). */
export function expectPdf(r: LightMyRequestResponse): string {
  expect(r.statusCode, r.statusCode === 200 ? '' : r.body).toBe(200);
  expect(r.headers['content-type']).toMatch(/^application\/pdf/);
  const body = r.rawPayload;
  expect(body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  return pdfText(body);
}
