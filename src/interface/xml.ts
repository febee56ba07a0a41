// Bytes ⇄ XML text ⇄ element trees for the real interface's files. Reading is liberal: the encoding
// comes from a byte-order mark or the XML declaration (UTF-8 or Shift_JIS; Windows-31J/CP932 read as
// its Shift_JIS superset), element order does not matter, values stay strings (no number coercion,
// so 0-padded codes keep their zeros). Writing is exact: one declaration, elements in the order the
// caller gives, nothing else.

import iconv from 'iconv-lite';
import { XMLValidator } from 'fast-xml-parser';

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

/**
 * Parses XML text into the root's tree; throws XmlFormatError when the text is not well-formed.
 * fast-xml-parser's validator decides well-formedness; the tree is then built by the small builder
 * below, which only ever sees well-formed text (XMLParser.parse took 4× as long per inquiry and
 * accepts unclosed elements, so the validator was needed anyway).
 */
export function parseXmlText(text: string): { root: string; tree: XmlNode } {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlFormatError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const doc = buildTree(text);
  const roots = Object.keys(doc).filter((k) => k !== '#text');
  if (roots.length !== 1 || Array.isArray(doc[roots[0]])) throw new XmlFormatError('the document must have exactly one root element');
  return { root: roots[0], tree: doc[roots[0]] as XmlNode };
}

type Children = { [name: string]: XmlNode | XmlNode[] };

interface Frame {
  name: string;
  children: Children | null;
  text: string;
}

const ENTITY = /&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (m, e: string) => {
    switch (e) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default: {
        const code = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
      }
    }
  });
}

function addChild(frame: Frame, name: string, value: XmlNode): void {
  // No prototype: an element named __proto__ is just an element.
  const c = (frame.children ??= Object.create(null) as Children);
  const existing = c[name];
  if (existing === undefined) c[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else c[name] = [existing, value];
}

function closeFrame(frame: Frame): XmlNode {
  if (frame.children === null) return frame.text;
  if (frame.text !== '') frame.children['#text'] = frame.text;
  return frame.children;
}

/** Elements and text of well-formed XML (attributes, comments, declarations and PIs are ignored). */
function buildTree(xml: string): Children {
  const doc: Frame = { name: '', children: Object.create(null) as Children, text: '' };
  const stack: Frame[] = [doc];
  const n = xml.length;
  let i = 0;
  while (i < n) {
    const top = stack[stack.length - 1];
    const lt = xml.indexOf('<', i);
    if (lt === -1) {
      top.text += decodeEntities(xml.slice(i));
      break;
    }
    if (lt > i) top.text += decodeEntities(xml.slice(i, lt));
    const c = xml.charCodeAt(lt + 1);
    if (c === 63 /* ? */) {
      i = xml.indexOf('?>', lt + 2) + 2;
    } else if (c === 33 /* ! */) {
      if (xml.startsWith('<!--', lt)) i = xml.indexOf('-->', lt + 4) + 3;
      else if (xml.startsWith('<![CDATA[', lt)) {
        const e = xml.indexOf(']]>', lt + 9);
        top.text += xml.slice(lt + 9, e);
        i = e + 3;
      } else {
        // <!DOCTYPE …> with an optional internal subset in brackets.
        const bracket = xml.indexOf('[', lt);
        const gt = xml.indexOf('>', lt);
        const from = bracket !== -1 && bracket < gt ? xml.indexOf(']', bracket) : lt;
        i = xml.indexOf('>', from) + 1;
      }
    } else if (c === 47 /* / */) {
      const frame = stack.pop()!;
      addChild(stack[stack.length - 1], frame.name, closeFrame(frame));
      i = xml.indexOf('>', lt + 2) + 1;
    } else {
      let j = lt + 1;
      let quote = 0;
      while (j < n) {
        const ch = xml.charCodeAt(j);
        if (quote !== 0) {
          if (ch === quote) quote = 0;
        } else if (ch === 34 || ch === 39) quote = ch;
        else if (ch === 62 /* > */) break;
        j++;
      }
      let k = lt + 1;
      while (k < j) {
        const ch = xml.charCodeAt(k);
        if (ch === 32 || ch === 9 || ch === 10 || ch === 13 || ch === 47) break;
        k++;
      }
      const name = xml.slice(lt + 1, k);
      if (xml.charCodeAt(j - 1) === 47 /* / */) addChild(top, name, '');
      else stack.push({ name, children: null, text: '' });
      i = j + 1;
    }
  }
  return closeFrame(doc) as Children;
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

/** The document's text, its declaration naming the encoding of the character code. */
export function renderXml(root: OutElement, characterCode: CharacterCode): string {
  const encodingName = characterCode === '1' ? 'Shift_JIS' : 'UTF-8';
  const out = [`<?xml version="1.0" encoding="${encodingName}" standalone="no"?>\n`];
  writeElement(out, root, '');
  return out.join('');
}

/** Writes a document in the given character code: the declaration names the encoding actually used. */
export function writeXml(root: OutElement, characterCode: CharacterCode): Buffer {
  const s = renderXml(root, characterCode);
  // Shift_JIS files are written as Windows-31J (CP932), what Windows clients read as "Shift_JIS".
  return characterCode === '1' ? iconv.encode(s, 'cp932') : Buffer.from(s, 'utf8');
}

/**
 * Text in CP932, or undefined when some character has no CP932 code. iconv writes such a character
 * as "?" (0x3F), a byte that is never the second byte of a double-byte code: so the text fits when
 * the output holds exactly as many 0x3F bytes as the text holds question marks.
 */
export function encodeShiftJisStrict(s: string): Buffer | undefined {
  const bytes = iconv.encode(s, 'cp932');
  let inText = 0;
  for (let i = s.indexOf('?'); i !== -1; i = s.indexOf('?', i + 1)) inText++;
  let inBytes = 0;
  for (let i = bytes.indexOf(0x3f); i !== -1; i = bytes.indexOf(0x3f, i + 1)) inBytes++;
  return inText === inBytes ? bytes : undefined;
}

/** True when a Shift_JIS (CP932) file can carry the text. */
export function fitsShiftJis(s: string): boolean {
  return encodeShiftJisStrict(s) !== undefined;
}
