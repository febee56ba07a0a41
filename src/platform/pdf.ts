// Shared PDF rendering (pdfkit + its fontkit) for the printed forms onshi issues: 資格確認書,
// 交付決定通知書, … Japanese text needs a CJK font embedded in the PDF; onshi uses the Noto Sans CJK
// installed on the machine (Debian fonts-noto-cjk), found at run time. ONSHI_CJK_FONT names the font
// file instead (an .otf/.ttf, or a .ttc collection with ONSHI_CJK_FONT_FAMILY naming the face,
// NotoSansCJKjp-Regular by default). Without a usable font the answer is a 503 refusal, never a PDF
// of empty boxes.

import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import PDFDocument from 'pdfkit';
import { OnshiError } from './errors.ts';

export interface CjkFont {
  path: string;
  /** The face's PostScript name inside a font collection (.ttc); undefined for a single-face file. */
  family: string | undefined;
}

const DEFAULT_FAMILY = 'NotoSansCJKjp-Regular';

const CANDIDATES = [
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc',
  '/System/Library/Fonts/NotoSansCJK-Regular.ttc',
];

const isCollection = (path: string) => /\.ttc$/i.test(path);

function fontOf(path: string, env: NodeJS.ProcessEnv): CjkFont {
  return { path, family: isCollection(path) ? env.ONSHI_CJK_FONT_FAMILY || DEFAULT_FAMILY : undefined };
}

/** Asks fontconfig for an installed Noto Sans CJK regular face (undefined when fontconfig is absent). */
function fromFontconfig(): string | undefined {
  const r = spawnSync('fc-list', [':family=Noto Sans CJK JP:style=Regular', 'file'], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return undefined;
  return r.stdout
    .split('\n')
    .map((l) => l.trim().replace(/:$/, ''))
    .find((p) => p !== '' && /NotoSansCJK/i.test(p) && existsSync(p));
}

/**
 * The CJK font to embed: ONSHI_CJK_FONT when set (it must exist: a configured font that is missing is
 * an operator error, not a reason to pick another), else the usual Debian paths, else fontconfig.
 */
export function resolveCjkFont(env: NodeJS.ProcessEnv = process.env): CjkFont {
  const configured = env.ONSHI_CJK_FONT?.trim();
  if (configured) {
    if (!existsSync(configured)) throw fontUnavailable({ configured });
    return fontOf(configured, env);
  }
  const found = CANDIDATES.find((p) => existsSync(p)) ?? fromFontconfig();
  if (!found) throw fontUnavailable({ searched: CANDIDATES });
  return fontOf(found, env);
}

function fontUnavailable(details: Record<string, unknown>): OnshiError {
  return new OnshiError('ONSHI_PDF_FONT_UNAVAILABLE', { ...details, hint: 'install fonts-noto-cjk or set ONSHI_CJK_FONT' });
}

/** 2020-11-02 → 令和2年11月2日 (the Japanese era calendar, as printed on official notices). */
export function jaDate(iso: string): string {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  const eras: [string, string, number][] = [
    ['令和', '2019-05-01', 2018],
    ['平成', '1989-01-08', 1988],
    ['昭和', '1926-12-25', 1925],
    ['大正', '1912-07-30', 1911],
    ['明治', '1868-01-25', 1867],
  ];
  const era = eras.find(([, from]) => iso >= from);
  if (!era) return `${y}年${m}月${d}日`;
  const n = y - era[2];
  return `${era[0]}${n === 1 ? '元' : n}年${m}月${d}日`;
}

/** 1234567 → 1,234,567円 */
export function yen(amount: number): string {
  return `${amount.toLocaleString('en-US')}円`;
}

export interface PdfMeta {
  title: string;
  subject?: string;
  /** The document's date (fixed metadata, so the same data renders the same document). */
  createdOn?: string;
}

/** A pdfkit document with the CJK font selected and helpers for the forms' common parts. */
export class PdfForm {
  readonly doc: PDFKit.PDFDocument;
  private readonly chunks: Buffer[] = [];
  private readonly finished: Promise<Buffer>;
  readonly left = 56;
  readonly width: number;

  constructor(meta: PdfMeta, font: CjkFont = resolveCjkFont()) {
    const doc = new PDFDocument({
      size: 'A4',
      margins: { top: 56, bottom: 56, left: this.left, right: 56 },
      info: { Title: meta.title, Subject: meta.subject ?? meta.title, Producer: 'onshi', Creator: 'onshi', ...(meta.createdOn ? { CreationDate: new Date(`${meta.createdOn}T00:00:00+09:00`) } : {}) },
      lang: 'ja-JP',
    });
    this.doc = doc;
    this.width = doc.page.width - this.left - 56;
    this.finished = new Promise((resolve, reject) => {
      doc.on('data', (c: Buffer) => this.chunks.push(c));
      doc.on('end', () => resolve(Buffer.concat(this.chunks)));
      doc.on('error', reject);
    });
    try {
      doc.registerFont('cjk', font.path, font.family as string);
      doc.font('cjk');
    } catch (e) {
      doc.end();
      throw fontUnavailable({ font: font.path, family: font.family, reason: (e as Error).message });
    }
  }

  title(text: string): this {
    this.doc.fontSize(20).text(text, this.left, this.doc.y, { width: this.width, align: 'center' }).moveDown(1);
    this.doc.fontSize(10.5);
    return this;
  }

  /** A line aligned right (dates, numbers, the issuer). */
  right(text: string, size = 10.5): this {
    this.doc.fontSize(size).text(text, this.left, this.doc.y, { width: this.width, align: 'right' });
    return this;
  }

  paragraph(text: string, size = 10.5): this {
    this.doc.fontSize(size).text(text, this.left, this.doc.y, { width: this.width, align: 'left', lineGap: 3 }).moveDown(0.6);
    return this;
  }

  gap(lines = 1): this {
    this.doc.moveDown(lines);
    return this;
  }

  /** A ruled two-column table of label / value rows. */
  fields(rows: readonly (readonly [string, string])[], labelWidth = 150): this {
    return this.table([labelWidth, this.width - labelWidth], rows.map(([l, v]) => [l, v]), { shadeFirstColumn: true });
  }

  /** A ruled table; the first row is a header when `header` is set. Cells wrap; rows grow to fit. */
  table(widths: readonly number[], rows: readonly (readonly string[])[], options: { header?: readonly string[]; shadeFirstColumn?: boolean; alignRight?: readonly number[] } = {}): this {
    const doc = this.doc;
    doc.fontSize(10.5);
    const pad = 5;
    const all = options.header ? [options.header, ...rows] : rows;
    all.forEach((row, r) => {
      const heights = row.map((cell, i) => doc.heightOfString(cell || ' ', { width: widths[i]! - pad * 2 }));
      const h = Math.max(...heights) + pad * 2;
      if (doc.y + h > doc.page.height - doc.page.margins.bottom) doc.addPage();
      const top = doc.y;
      let x = this.left;
      row.forEach((cell, i) => {
        const w = widths[i]!;
        const shaded = (options.header && r === 0) || (options.shadeFirstColumn && i === 0);
        if (shaded) doc.save().rect(x, top, w, h).fill('#eeeeee').restore();
        doc.rect(x, top, w, h).lineWidth(0.6).stroke('#333333');
        doc.fillColor('#000000').text(cell, x + pad, top + pad, { width: w - pad * 2, align: options.alignRight?.includes(i) && !(options.header && r === 0) ? 'right' : 'left' });
        x += w;
      });
      doc.x = this.left;
      doc.y = top + h;
    });
    doc.moveDown(0.8);
    return this;
  }

  /** Ends the document and answers its bytes. */
  end(): Promise<Buffer> {
    this.doc.end();
    return this.finished;
  }
}
