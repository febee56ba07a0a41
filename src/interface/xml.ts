// Bytes ⇄ XML text ⇄ element trees for the real interface's files. Reading is liberal: the encoding
// comes from a byte-order mark or the XML declaration (UTF-8 or Shift_JIS; Windows-31J/CP932 read as
// its Shift_JIS superset), element order does not matter, values stay strings (no number coercion,
// so 0-padded codes keep their zeros). Writing is exact: one declaration, elements in the order the
// caller gives, nothing else.

import iconv from 'iconv-lite';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** 0 = UTF-8, 1 = Shift_JIS (CharacterCodeIdentifier). */
export type CharacterCode = '0' | '1';

export class XmlFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlFormatError';
  }
}

const SJIS_NAMES = /^(shift[_-]?jis|sjis|x-sjis|windows-31j|cp932|ms932|ms_kanji|csshiftjis)$/i;
const UTF8_NAMES = /^utf-?8$/i;

/** The encoding the bytes declare: a BOM first, then the XML declaration; UTF-8 when neither says. */
export function detectEncoding(bytes: Uint8Array): 'utf8' | 'sjis' {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf8';
  // The declaration is ASCII in both encodings.
  const head = Buffer.from(bytes.subarray(0, Math.min(bytes.length, 200))).toString('latin1');
  const m = /^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']+)["']/.exec(head);
  if (!m) return 'utf8';
  if (SJIS_NAMES.test(m[1].trim())) return 'sjis';
  if (UTF8_NAMES.test(m[1].trim())) return 'utf8';
  throw new XmlFormatError(`unsupported encoding "${m[1]}" (UTF-8 or Shift_JIS)`);
}

export function decodeXml(bytes: Uint8Array): string {
  const encoding = detectEncoding(bytes);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (encoding === 'sjis') return iconv.decode(buf, 'cp932');
  const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(buf);
  if (text.includes('\ufffd')) throw new XmlFormatError('the file is not valid UTF-8');
  return text;
}

/** An element: text, or children by name (repeated names become arrays). */
export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] };

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  commentPropName: false,
});

/** Parses XML text into the root's tree; throws XmlFormatError when the text is not well-formed. */
export function parseXmlText(text: string): { root: string; tree: XmlNode } {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlFormatError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const doc = parser.parse(text) as Record<string, XmlNode>;
  const roots = Object.keys(doc).filter((k) => k !== '#text');
  if (roots.length !== 1) throw new XmlFormatError('the document must have exactly one root element');
  return { root: roots[0], tree: doc[roots[0]] as XmlNode };
}

export function parseXmlBytes(bytes: Uint8Array): { root: string; tree: XmlNode; encoding: 'utf8' | 'sjis' } {
  const encoding = detectEncoding(bytes);
  return { ...parseXmlText(decodeXml(bytes)), encoding };
}

const ASCII_WS = /^[ \t\r\n]+|[ \t\r\n]+$/g;

/** The child element `name` of a node (the first when repeated); undefined when absent. */
export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  if (node === undefined || typeof node === 'string') return undefined;
  const v = node[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Every child element `name` of a node, in document order. */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  if (node === undefined || typeof node === 'string') return [];
  const v = node[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * The text of child `name` with surrounding ASCII white space removed (a full-width space inside or
 * around a name is content and stays); undefined when the element is absent or empty.
 */
export function text(node: XmlNode | undefined, name: string): string | undefined {
  const c = child(node, name);
  if (c === undefined) return undefined;
  if (typeof c !== 'string') {
    if (Object.keys(c).some((k) => k !== '#text')) return undefined;
    const t = (c['#text'] as string | undefined) ?? '';
    const s = t.replace(ASCII_WS, '');
    return s === '' ? undefined : s;
  }
  const s = c.replace(ASCII_WS, '');
  return s === '' ? undefined : s;
}

/** Like text() but keeps leading and trailing spaces (fixed-width fields such as a padded InsurerNumber). */
export function rawText(node: XmlNode | undefined, name: string): string | undefined {
  const c = child(node, name);
  if (c === undefined || typeof c !== 'string') return undefined;
  return c.replace(/^[\r\n]+|[\r\n]+$/g, '');
}

// ---------------------------------------------------------------- writing

/** An element to write: [name, text] or [name, children]; undefined entries are skipped. */
export type OutElement = readonly [string, string | readonly (OutElement | undefined)[]];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

function writeElement(out: string[], e: OutElement, indent: string): void {
  const [name, value] = e;
  if (typeof value === 'string') {
    out.push(`${indent}<${name}>${escapeXml(value)}</${name}>\n`);
    return;
  }
  out.push(`${indent}<${name}>\n`);
  for (const c of value) if (c) writeElement(out, c, `${indent}  `);
  out.push(`${indent}</${name}>\n`);
}

/** Writes a document in the given character code: the declaration names the encoding actually used. */
export function writeXml(root: OutElement, characterCode: CharacterCode): Buffer {
  const encodingName = characterCode === '1' ? 'Shift_JIS' : 'UTF-8';
  const out = [`<?xml version="1.0" encoding="${encodingName}" standalone="no"?>\n`];
  writeElement(out, root, '');
  const s = out.join('');
  // Shift_JIS files are written as Windows-31J (CP932), what Windows clients read as "Shift_JIS".
  return characterCode === '1' ? iconv.encode(s, 'cp932') : Buffer.from(s, 'utf8');
}

/** Characters a Shift_JIS (CP932) file cannot carry; the writer falls back to UTF-8 for such a result. */
export function fitsShiftJis(s: string): boolean {
  return iconv.decode(iconv.encode(s, 'cp932'), 'cp932') === s;
}
