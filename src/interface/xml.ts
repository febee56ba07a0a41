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
  if (encoding === 'sjis') {
    // Strict: iconv would turn a byte sequence that is not Shift_JIS into U+FFFD and go on. The
    // table decoder stops at the first such sequence (a lead byte without a valid trail, a byte
    // that is neither a character nor a lead): the file is refused like invalid UTF-8.
    const text = decodeCp932Fast(buf);
    if (text === undefined || text.includes('\ufffd')) throw new XmlFormatError('the file is not valid Shift_JIS');
    return text;
  }
  const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(buf);
  if (text.includes('\ufffd')) throw new XmlFormatError('the file is not valid UTF-8');
  return text;
}

/**
 * What iconv decodes CP932 bytes to, learnt from iconv the first time a byte (pair) is met: a single
 * byte b ≥ 0x80 is either a character of its own (half-width katakana) or the lead byte of a pair.
 * -1 not yet asked, -2 lead byte (or not decodable alone), else the UTF-16 code unit.
 */
const CP932_LEAD = -2;
const NON_ASCII = /[^\x00-\x7f]/;
const cp932Single = new Int32Array(0x100).fill(-1);
/** Pairs: index (lead << 8) | trail; -1 not yet asked, -2 not one character (left to iconv), else the code unit. */
const cp932Pair = new Int32Array(0x10000).fill(-1);

function cp932SingleOf(b: number): number {
  let v = cp932Single[b];
  if (v !== -1) return v;
  // Alone it must give one character, and followed by "A" that character and "A": then b leads nothing.
  const alone = iconv.decode(Buffer.from([b]), 'cp932');
  const followed = iconv.decode(Buffer.from([b, 0x41]), 'cp932');
  v = alone.length === 1 && alone !== '\ufffd' && followed === `${alone}A` ? alone.charCodeAt(0) : CP932_LEAD;
  cp932Single[b] = v;
  return v;
}

function cp932PairOf(lead: number, trail: number): number {
  const k = (lead << 8) | trail;
  let v = cp932Pair[k];
  if (v !== -1) return v;
  const t = iconv.decode(Buffer.from([lead, trail]), 'cp932');
  v = t.length === 1 && t !== '\ufffd' ? t.charCodeAt(0) : -2;
  cp932Pair[k] = v;
  return v;
}

/**
 * CP932 bytes as iconv decodes them, through the tables above (iconv's decoder is per byte and much
 * slower on a large bulk upload); undefined at the first byte sequence that is not a plain ASCII
 * byte, single character or valid pair, for iconv to decode the whole text itself.
 */
export function decodeCp932Fast(buf: Buffer): string | undefined {
  const n = buf.length;
  // Most request files hold only ASCII (numbers and dates), where CP932 is ASCII.
  const latin1 = buf.toString('latin1');
  if (!NON_ASCII.test(latin1)) return latin1;
  const units = new Uint16Array(n);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const b = buf[i];
    if (b < 0x80) {
      units[o++] = b;
      continue;
    }
    const single = cp932SingleOf(b);
    if (single >= 0) {
      units[o++] = single;
      continue;
    }
    if (i + 1 >= n) return undefined;
    const pair = cp932PairOf(b, buf[i + 1]);
    if (pair < 0) return undefined;
    units[o++] = pair;
    i++;
  }
  return Buffer.from(units.buffer, 0, o * 2).toString('utf16le');
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
  if (!isPlainWellFormed(text)) {
    const valid = XMLValidator.validate(text);
    if (valid !== true) throw new XmlFormatError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  }
  const doc = buildTree(text);
  const roots = Object.keys(doc).filter((k) => k !== '#text');
  if (roots.length !== 1 || Array.isArray(doc[roots[0]])) throw new XmlFormatError('the document must have exactly one root element');
  return { root: roots[0], tree: doc[roots[0]] as XmlNode };
}

const isWhiteSpaceCode = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;
const isNameStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 48 && c <= 57) || c === 45 || c === 46;

/**
 * True only for the plain documents every request file is: an optional XML declaration at the very
 * start, then one root of elements with ASCII names, no attributes, comments, CDATA, entities or
 * other markup, properly nested, white space around the root. Such a text is well-formed by
 * fast-xml-parser's validator as well, which is left to decide (and word the error of) everything
 * else; this single pass costs a fraction of the validator's on a large bulk file.
 */
export function isPlainWellFormed(xml: string): boolean {
  const n = xml.length;
  // An entity or a stray ampersand anywhere: the validator decides.
  if (xml.includes('&')) return false;
  let i = 0;
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>', 5);
    if (end === -1) return false;
    const lt = xml.indexOf('<', 1);
    if (lt !== -1 && lt < end) return false;
    i = end + 2;
  }
  const stack: string[] = [];
  let rootClosed = false;
  while (i < n) {
    let lt = xml.indexOf('<', i);
    if (lt === -1) lt = n;
    if (stack.length === 0) {
      for (let k = i; k < lt; k++) if (!isWhiteSpaceCode(xml.charCodeAt(k))) return false;
    }
    if (lt === n) break;
    let k = lt + 1;
    const closing = xml.charCodeAt(k) === 47; /* / */
    if (closing) k++;
    const nameStart = k;
    if (!isNameStart(xml.charCodeAt(k))) return false; // also !, ? and the end of the text
    k++;
    while (k < n && isNameChar(xml.charCodeAt(k))) k++;
    const name = xml.slice(nameStart, k);
    const c = xml.charCodeAt(k);
    if (closing) {
      if (c !== 62 /* > */ || stack.length === 0 || stack.pop() !== name) return false;
      if (stack.length === 0) rootClosed = true;
      i = k + 1;
    } else if (c === 62) {
      if (rootClosed) return false;
      stack.push(name);
      i = k + 1;
    } else if (c === 47 && xml.charCodeAt(k + 1) === 62) {
      if (stack.length === 0) return false; // a self-closed root: the validator decides
      i = k + 2;
    } else return false;
  }
  return rootClosed && stack.length === 0;
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
  return parsePlainBytes(bytes) ?? parseXmlBytesGeneral(bytes);
}

/** The general reading of parseXmlBytes: decode the whole text, check it, build its tree (any XML). */
export function parseXmlBytesGeneral(bytes: Uint8Array): { root: string; tree: XmlNode; encoding: 'utf8' | 'sjis' } {
  const encoding = detectEncoding(bytes);
  return { ...parseXmlText(decodeXml(bytes)), encoding };
}

/**
 * A strict XML declaration (version, encoding, standalone, in that order, each optional), from the
 * start of the head: whatever matches, detectEncoding's pattern reads the same encoding name in it
 * (or none), and isPlainWellFormed accepts it as the declaration.
 */
const PLAIN_DECLARATION =
  /^<\?xml(?:[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])1\.[0-9]{1,3}\1)?(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])([A-Za-z][A-Za-z0-9._-]{0,39})\2)?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(["'])(?:yes|no)\4)?[ \t\r\n]*\?>/;

const NAME_CHAR = new Uint8Array(0x80);
for (let c = 0; c < 0x80; c++) NAME_CHAR[c] = isNameStart(c) ? 1 : isNameChar(c) ? 2 : 0;

interface PlainFrame {
  name: string;
  /** Where the name stands in the text. */
  at: number;
  children: Children | null;
  text: string;
}

/** Node's own slicing methods behind Buffer#toString (no encoding lookup, no argument checks). */
interface SliceableBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** Code units of one Shift_JIS text (reused: reading is synchronous). */
let sjisUnits = new Uint16Array(1024);

/**
 * parseXmlBytes for the plain request file (the one every client writes): an optional UTF-8 BOM, an
 * optional plain declaration, one root of elements with ASCII names and no attributes, comments,
 * CDATA, PIs or DOCTYPE, white space around the root, text with only the predefined entities and
 * numeric character references. Read in one pass over the bytes, each text decoded on its own:
 * the same root, tree and encoding as parseXmlBytesGeneral. Undefined for anything else, and for
 * whatever the general reading refuses or decodes in a way of its own (bad UTF-8, a U+FFFD,
 * Shift_JIS that iconv would have to decode, an unknown encoding name): the general reading then
 * answers it, with its own error.
 */
export function parsePlainBytes(bytes: Uint8Array): { root: string; tree: XmlNode; encoding: 'utf8' | 'sjis' } | undefined {
  const buf = (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as SliceableBuffer;
  const n = buf.length;
  let i = 0;
  const bom = n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
  if (bom) i = 3;
  if (i >= n || buf[i] !== 0x3c /* < */) return undefined;
  // The whole file as one byte per character: the markup (ASCII) is read in it, and every ASCII text sliced from it.
  const s = buf.latin1Slice(0, n);
  let encoding: 'utf8' | 'sjis' = 'utf8';
  if (buf[i + 1] === 0x3f /* ? */) {
    // Within detectEncoding's 200 bytes (with a BOM, the declaration does not decide).
    const m = PLAIN_DECLARATION.exec(bom ? s.slice(3, 203) : s.length > 200 ? s.slice(0, 200) : s);
    if (m === null) return undefined;
    const name = m[3];
    if (!bom && name !== undefined) {
      if (SJIS_NAMES.test(name)) encoding = 'sjis';
      else if (!UTF8_NAMES.test(name)) return undefined;
    }
    i += m[0].length;
  }
  const sjis = encoding === 'sjis';
  const ascii = !NON_ASCII.test(s);
  const stack: PlainFrame[] = [];
  let top: PlainFrame | undefined;
  let root: PlainFrame | undefined;
  let tree: XmlNode | undefined;
  while (i < n) {
    let lt = s.indexOf('<', i);
    if (lt === -1) lt = n;
    if (top === undefined) {
      // Outside the root: white space only (kept by the general reading outside the tree).
      for (let k = i; k < lt; k++) {
        const c = s.charCodeAt(k);
        if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return undefined;
      }
      if (lt === n) break;
    } else if (lt > i) {
      if (lt === n) return undefined;
      let t: string | undefined;
      if (ascii) t = s.slice(i, lt);
      else {
        let k = i;
        while (k < lt && s.charCodeAt(k) < 0x80) k++;
        t = k === lt ? s.slice(i, lt) : sjis ? sjisText(buf, i, lt) : utf8Text(buf, i, lt);
      }
      if (t === undefined) return undefined;
      if (t.includes('&')) {
        t = plainEntities(t);
        if (t === undefined) return undefined;
      }
      top.text += t;
    }
    let k = lt + 1;
    if (s.charCodeAt(k) === 47 /* / */) {
      // The open element's name and ">" (a longer name would go on with a name character, not ">").
      if (top === undefined) return undefined;
      // Compared where the name stands in the text (cheaper than startsWith on the sliced name).
      const len = top.name.length;
      const at = top.at;
      k++;
      if (k + len >= n) return undefined;
      for (let j = 0; j < len; j++) if (s.charCodeAt(k + j) !== s.charCodeAt(at + j)) return undefined;
      k += len;
      if (s.charCodeAt(k) !== 62 /* > */) return undefined;
      const frame = top;
      stack.pop();
      const value: XmlNode = frame.children === null ? frame.text : closedChildren(frame);
      top = stack.length === 0 ? undefined : stack[stack.length - 1];
      if (top === undefined) tree = value;
      else addPlainChild(top, frame.name, value);
      i = k + 1;
      continue;
    }
    const nameStart = k;
    let c = s.charCodeAt(k);
    if (!(c < 0x80 && NAME_CHAR[c] === 1)) return undefined;
    k++;
    while (k < n && (c = s.charCodeAt(k)) < 0x80 && NAME_CHAR[c] !== 0) k++;
    c = s.charCodeAt(k);
    if (c === 62) {
      if (root !== undefined && top === undefined) return undefined; // a second root
      const frame: PlainFrame = { name: s.slice(nameStart, k), at: nameStart, children: null, text: '' };
      root ??= frame;
      stack.push(frame);
      top = frame;
      i = k + 1;
    } else if (c === 47 && s.charCodeAt(k + 1) === 62) {
      if (top === undefined) return undefined; // a self-closed root
      addPlainChild(top, s.slice(nameStart, k), '');
      i = k + 2;
    } else return undefined;
  }
  if (root === undefined || tree === undefined || top !== undefined) return undefined;
  return { root: root.name, tree, encoding };
}

function addPlainChild(frame: PlainFrame, name: string, value: XmlNode): void {
  const c = (frame.children ??= Object.create(null) as Children);
  const existing = c[name];
  if (existing === undefined) c[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else c[name] = [existing, value];
}

function closedChildren(frame: PlainFrame): Children {
  const c = frame.children!;
  if (frame.text !== '') c['#text'] = frame.text;
  return c;
}

/** One UTF-8 text (not all ASCII) as TextDecoder decodes it within the whole file; undefined when not valid UTF-8 (or holding U+FFFD). */
function utf8Text(buf: SliceableBuffer, from: number, to: number): string | undefined {
  const t = buf.utf8Slice(from, to);
  return t.includes('\ufffd') ? undefined : t;
}

/** One Shift_JIS text (not all ASCII) as decodeCp932Fast decodes it within the whole file; undefined where it would leave the file to iconv. */
function sjisText(buf: SliceableBuffer, from: number, to: number): string | undefined {
  const units = to - from <= sjisUnits.length ? sjisUnits : new Uint16Array(to - from);
  let o = 0;
  for (let k = from; k < to; k++) {
    const b = buf[k];
    if (b < 0x80) {
      units[o++] = b;
      continue;
    }
    // Nothing but ASCII bytes may decode to markup or "&" (else the general reading decides).
    const single = cp932SingleOf(b);
    if (single >= 0x80) {
      units[o++] = single;
      continue;
    }
    if (single >= 0) return undefined;
    // A lead byte: its trail must be in this text (one before "<" leaves the whole file to iconv).
    if (k + 1 >= to) return undefined;
    const pair = cp932PairOf(b, buf[k + 1]);
    if (pair < 0x80) return undefined;
    units[o++] = pair;
    k++;
  }
  if (o <= 2048) return String.fromCharCode.apply(null, units.subarray(0, o) as unknown as number[]);
  return Buffer.from(units.buffer, units.byteOffset, o * 2).toString('utf16le');
}

const PLAIN_ENTITY = /&(?:lt|gt|amp|quot|apos|#[0-9]{1,8}|#x[0-9a-fA-F]{1,8});/g;

/**
 * A text's entities decoded as buildTree decodes them, when every "&" starts a predefined entity or
 * a numeric character reference (each one fast-xml-parser's validator accepts); else undefined.
 */
function plainEntities(t: string): string | undefined {
  let amps = 0;
  for (let k = t.indexOf('&'); k !== -1; k = t.indexOf('&', k + 1)) amps++;
  const known = t.match(PLAIN_ENTITY);
  if (known === null || known.length !== amps) return undefined;
  return decodeEntities(t);
}

const ASCII_WS = /^[ \t\r\n]+|[ \t\r\n]+$/g;
const LINE_BREAKS_AROUND = /^[\r\n]+|[\r\n]+$/g;

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
  // Most texts have nothing to trim: no regular expression for them.
  const s = c.length === 0 || isWhiteSpaceCode(c.charCodeAt(0)) || isWhiteSpaceCode(c.charCodeAt(c.length - 1)) ? c.replace(ASCII_WS, '') : c;
  return s === '' ? undefined : s;
}

/** Like text() but keeps leading and trailing spaces (fixed-width fields such as a padded InsurerNumber). */
export function rawText(node: XmlNode | undefined, name: string): string | undefined {
  const c = child(node, name);
  if (c === undefined || typeof c !== 'string') return undefined;
  const first = c.charCodeAt(0);
  const last = c.charCodeAt(c.length - 1);
  if (c.length === 0 || first === 10 || first === 13 || last === 10 || last === 13) return c.replace(LINE_BREAKS_AROUND, '');
  return c;
}

// ---------------------------------------------------------------- writing

/** An element to write: [name, text] or [name, children]; undefined entries are skipped. */
export type OutElement = readonly [string, string | readonly (OutElement | undefined)[]];

const NEEDS_ESCAPE = /[&<>"]/;

export function escapeXml(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
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

/** The XML declaration, naming the encoding of the character code. */
export function xmlDeclaration(characterCode: CharacterCode): string {
  return `<?xml version="1.0" encoding="${characterCode === '1' ? 'Shift_JIS' : 'UTF-8'}" standalone="no"?>\n`;
}

/** The document's text, its declaration naming the encoding of the character code. */
export function renderXml(root: OutElement, characterCode: CharacterCode): string {
  const out = [xmlDeclaration(characterCode)];
  writeElement(out, root, '');
  return out.join('');
}

/** Writes a document in the given character code: the declaration names the encoding actually used. */
export function writeXml(root: OutElement, characterCode: CharacterCode): Buffer {
  return encodeText(renderXml(root, characterCode), characterCode);
}

/** Text in the character code's encoding (Shift_JIS as Windows-31J/CP932, what Windows clients read as "Shift_JIS"). */
export function encodeText(s: string, characterCode: CharacterCode): Buffer {
  return characterCode === '1' ? iconv.encode(s, 'cp932') : Buffer.from(s, 'utf8');
}

/**
 * CP932 bytes of each UTF-16 code unit, learnt from iconv one character at a time (the first time a
 * character is met): -1 not yet asked, -2 no CP932 code (iconv would write "?"), else the byte
 * (< 0x100) or 0x10000 | the two bytes. Encoding a large result through this table writes exactly
 * the bytes iconv writes, at a fraction of its cost (iconv's encoder works character by character
 * through generic state).
 */
const CP932_UNKNOWN = -1;
const CP932_NONE = -2;
const cp932Table = new Int32Array(0x10000).fill(CP932_UNKNOWN);

function cp932Code(unit: number): number {
  let v = cp932Table[unit];
  if (v !== CP932_UNKNOWN) return v;
  if (unit >= 0xd800 && unit <= 0xdfff) v = CP932_NONE; // surrogates: CP932 has nothing beyond the BMP
  else {
    const b = iconv.encode(String.fromCharCode(unit), 'cp932');
    if (b.length === 1) v = b[0] === 0x3f && unit !== 0x3f ? CP932_NONE : b[0];
    else if (b.length === 2) v = 0x10000 | (b[0] << 8) | b[1];
    else v = CP932_NONE;
  }
  cp932Table[unit] = v;
  return v;
}

/** Text in CP932, or undefined when some character has no CP932 code (iconv would write it as "?"). */
export function encodeShiftJisStrict(s: string): Buffer | undefined {
  const n = s.length;
  const out = Buffer.allocUnsafe(n * 2);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const v = cp932Code(s.charCodeAt(i));
    if (v < 0x100) {
      if (v < 0) return undefined;
      out[o++] = v;
    } else {
      out[o++] = (v >> 8) & 0xff;
      out[o++] = v & 0xff;
    }
  }
  // A large document is copied out of its worst-case buffer rather than keep twice its size alive.
  return n > 65536 ? Buffer.from(out.subarray(0, o)) : out.subarray(0, o);
}

/** True when a Shift_JIS (CP932) file can carry the text. */
export function fitsShiftJis(s: string): boolean {
  return encodeShiftJisStrict(s) !== undefined;
}

/**
 * Writes a document straight into bytes (UTF-8, or CP932 through the table above), so that a large
 * result is never held as one string to be encoded afterwards. Tags are ASCII: their bytes are made
 * once per name and depth. The bytes are exactly those of encoding the rendered text.
 */
/** The writers' shared scratch buffer (writing is synchronous: one document at a time), kept while small. */
let scratch = Buffer.allocUnsafe(1 << 16);
const SCRATCH_KEPT = 1 << 20;

export class XmlByteWriter {
  private buf: Buffer;
  private n = 0;
  /** False once a character had no CP932 code (the caller then writes UTF-8 instead). */
  fits = true;

  /**
   * With `initialBytes`, the writer has a buffer of its own (a document written across awaits, such
   * as the bulk result, must not share the scratch buffer with another written meanwhile).
   */
  constructor(
    readonly characterCode: CharacterCode,
    private readonly initialBytes?: number,
  ) {
    this.buf = initialBytes === undefined ? scratch : Buffer.allocUnsafe(initialBytes);
  }

  private ensure(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
    if (this.initialBytes === undefined && next.length <= SCRATCH_KEPT) scratch = next;
  }

  /** ASCII bytes made once (tags, declaration). */
  raw(b: Buffer): void {
    this.ensure(b.length);
    const buf = this.buf;
    let o = this.n;
    // TypedArray#set is a memmove; a loop only wins for a few bytes.
    if (b.length < 8) for (let i = 0; i < b.length; i++) buf[o++] = b[i];
    else {
      buf.set(b, o);
      o += b.length;
    }
    this.n = o;
  }

  /** Text (already escaped) in the writer's encoding. */
  text(s: string): void {
    const len = s.length;
    if (this.characterCode !== '1') {
      this.ensure(len * 3);
      this.n += this.buf.write(s, this.n, 'utf8');
      return;
    }
    this.ensure(len * 2);
    const buf = this.buf;
    let o = this.n;
    for (let i = 0; i < len; i++) {
      const u = s.charCodeAt(i);
      const v = u < 0x80 ? cp932Ascii[u] : cp932Code(u);
      if (v < 0x100) {
        if (v < 0) {
          this.fits = false;
          return;
        }
        buf[o++] = v;
      } else {
        buf[o++] = (v >> 8) & 0xff;
        buf[o++] = v & 0xff;
      }
    }
    this.n = o;
  }

  /**
   * `open`, the text s escaped as escapeXml does and in the writer's encoding, then `close`: the
   * same bytes as raw(open); text(escapeXml(s)); raw(close), in one pass over s (the bulk result
   * writes millions of elements).
   */
  element(open: Buffer, s: string, close: Buffer): void {
    const len = s.length;
    // Worst case: every unit an escape (6 bytes) or 3 bytes of UTF-8.
    this.ensure(open.length + close.length + len * 6);
    const buf = this.buf;
    let o = this.n;
    buf.set(open, o);
    o += open.length;
    const sjis = this.characterCode === '1';
    for (let i = 0; i < len; i++) {
      const u = s.charCodeAt(i);
      if (u < 0x80) {
        // ASCII is itself in CP932 (cp932Ascii is the identity) and in UTF-8.
        if (u === 0x26 /* & */) o = put(buf, o, AMP);
        else if (u === 0x3c /* < */) o = put(buf, o, LT);
        else if (u === 0x3e /* > */) o = put(buf, o, GT);
        else if (u === 0x22 /* " */) o = put(buf, o, QUOT);
        else buf[o++] = u;
      } else if (sjis) {
        const v = cp932Code(u);
        if (v < 0) {
          this.fits = false;
          return;
        }
        if (v < 0x100) buf[o++] = v;
        else {
          buf[o++] = (v >> 8) & 0xff;
          buf[o++] = v & 0xff;
        }
      } else if (u < 0x800) {
        buf[o++] = 0xc0 | (u >> 6);
        buf[o++] = 0x80 | (u & 0x3f);
      } else if (u >= 0xd800 && u <= 0xdfff) {
        const next = i + 1 < len ? s.charCodeAt(i + 1) : 0;
        if (u <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const c = 0x10000 + ((u - 0xd800) << 10) + (next - 0xdc00);
          buf[o++] = 0xf0 | (c >> 18);
          buf[o++] = 0x80 | ((c >> 12) & 0x3f);
          buf[o++] = 0x80 | ((c >> 6) & 0x3f);
          buf[o++] = 0x80 | (c & 0x3f);
          i++;
        } else {
          // A lone surrogate: U+FFFD, as Buffer.write writes it.
          buf[o++] = 0xef;
          buf[o++] = 0xbf;
          buf[o++] = 0xbd;
        }
      } else {
        buf[o++] = 0xe0 | (u >> 12);
        buf[o++] = 0x80 | ((u >> 6) & 0x3f);
        buf[o++] = 0x80 | (u & 0x3f);
      }
    }
    buf.set(close, o);
    this.n = o + close.length;
  }

  /** The bytes written (a copy, sized to fit: the scratch buffer is the next document's). */
  bytes(): Buffer {
    // A buffer of its own is handed over as it is when mostly used (a bulk result: no copy of 100s of MiB).
    if (this.initialBytes !== undefined && this.n * 2 >= this.buf.length) return this.buf.subarray(0, this.n);
    return Buffer.from(this.buf.subarray(0, this.n));
  }
}

/** CP932 of the ASCII range, as iconv writes it (looked up once). */
const cp932Ascii = Int32Array.from({ length: 0x80 }, (_, u) => cp932Code(u));
for (let u = 0; u < 0x80; u++) if (cp932Ascii[u] !== u) throw new Error(`CP932 of U+${u.toString(16)} is not itself`);

const AMP = Buffer.from('&amp;', 'latin1');
const LT = Buffer.from('&lt;', 'latin1');
const GT = Buffer.from('&gt;', 'latin1');
const QUOT = Buffer.from('&quot;', 'latin1');

function put(buf: Buffer, o: number, b: Buffer): number {
  for (let i = 0; i < b.length; i++) buf[o++] = b[i];
  return o;
}
