import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { storeKinds } from '../support/stores.ts';
import {
  addMember,
  confirm,
  countMemberships,
  createInsurer,
  expectError,
  fieldProblems,
  memberBody,
  memberUrl,
  setup,
  useApp,
  type TestInsurer,
} from '../support/fixtures.ts';

const MEMBER_COLUMNS = ['symbol', 'number', 'branch', 'name', 'nameKana', 'birthDate', 'sex', 'address', 'relationship', 'qualifiedFrom'];
const OP_COLUMNS = ['op', ...MEMBER_COLUMNS, 'effectiveFrom', 'lostOn', 'lossReason'];

/** A CSV text: header of field names, then one line per row (absent fields are empty cells). */
function csvOf(rows: Record<string, unknown>[], columns = MEMBER_COLUMNS, eol = '\n'): string {
  const cell = (v: unknown) => {
    const s = v === undefined || v === null ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join(eol) + eol;
}

const ndjsonOf = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Members of a small household-free file: distinct numbers, Japanese names. */
const people = [
  memberBody({ number: '101', name: '山田　太郎', nameKana: 'ヤマダ　タロウ' }),
  memberBody({ number: '102', name: '鈴木　一郎', nameKana: 'スズキ　イチロウ', birthDate: '1975-12-31', address: '神奈川県横浜市中区1-1' }),
  memberBody({ number: '103', name: '髙橋　花子', nameKana: 'タカハシ　ハナコ', birthDate: '1990-02-28', sex: 'female', address: '大阪府大阪市北区梅田1-1' }),
];

describe.each(storeKinds)('POST /v1/insurers/:n/members/import on %s', (kind) => {
  const h = useApp(kind);

  const importFile = (insurer: TestInsurer, payload: string | Buffer | Readable, contentType: string, headers: Record<string, string> = insurer.headers) =>
    h.app.inject({ method: 'POST', url: `${memberUrl(insurer.insurerNumber)}/import`, headers: { ...headers, 'content-type': contentType }, payload });

  /** name of every member of the insurer, by card number. */
  async function namesByNumber(insurer: TestInsurer): Promise<Record<string, string>> {
    const r = await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber)}?limit=1000`, headers: insurer.headers });
    expect(r.statusCode, r.body).toBe(200);
    return Object.fromEntries((r.json().members as { number: string; name: string }[]).map((m) => [m.number, m.name]));
  }

  async function memberByNumber(insurer: TestInsurer, number: string) {
    const r = await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber)}?number=${number}`, headers: insurer.headers });
    const [m] = r.json().members as { memberId: string }[];
    const full = await h.app.inject({ method: 'GET', url: memberUrl(insurer.insurerNumber, m.memberId), headers: insurer.headers });
    return full.json();
  }

  const expectedNames = { '101': '山田　太郎', '102': '鈴木　一郎', '103': '髙橋　花子' };

  describe('formats', () => {
    it('imports a UTF-8 CSV and reports rows, added, changed, terminated and seconds', async () => {
      const { insurer } = await setup(h.app);
      const r = await importFile(insurer, csvOf(people), 'text/csv');
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({ rows: 3, added: 3, changed: 0, terminated: 0, seconds: expect.any(Number) });
      expect(await namesByNumber(insurer)).toEqual(expectedNames);
      const m = await memberByNumber(insurer, '103');
      expect(m).toMatchObject({ nameKana: 'タカハシ　ハナコ', birthDate: '1990-02-28', sex: 'female', address: '大阪府大阪市北区梅田1-1', copayRate: 30, qualifiedFrom: '2020-04-01', branch: '00' });
    });

    it('imports a UTF-8 CSV with a byte-order mark and CRLF line ends (as spreadsheets write it)', async () => {
      const { insurer } = await setup(h.app);
      const r = await importFile(insurer, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csvOf(people, MEMBER_COLUMNS, '\r\n'))]), 'text/csv; charset=utf-8');
      expect(r.statusCode, r.body).toBe(200);
      expect(await namesByNumber(insurer)).toEqual(expectedNames);
    });

    it('imports a Shift_JIS CSV declared with charset=Shift_JIS, storing the kanji correctly', async () => {
      const { insurer } = await setup(h.app);
      const r = await importFile(insurer, iconv.encode(csvOf(people, MEMBER_COLUMNS, '\r\n'), 'Shift_JIS'), 'text/csv; charset=Shift_JIS');
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json().added).toBe(3);
      expect(await namesByNumber(insurer)).toEqual(expectedNames);
      expect((await memberByNumber(insurer, '102')).address).toBe('神奈川県横浜市中区1-1');
    });

    it('detects a Shift_JIS CSV sent without a charset', async () => {
      const { insurer } = await setup(h.app);
      const bytes = iconv.encode(csvOf(people), 'Shift_JIS');
      expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toThrow(); // really not UTF-8
      const r = await importFile(insurer, bytes, 'text/csv');
      expect(r.statusCode, r.body).toBe(200);
      expect(await namesByNumber(insurer)).toEqual(expectedNames);
      expect((await memberByNumber(insurer, '101')).nameKana).toBe('ヤマダ　タロウ');
    });

    it('detects Shift_JIS that starts only after an all-ASCII first chunk (a long header, a streamed body)', async () => {
      const { insurer } = await setup(h.app);
      const csv = csvOf(people);
      const headerEnd = csv.indexOf('\n') + 1;
      const chunks = [Buffer.from(csv.slice(0, headerEnd)), iconv.encode(csv.slice(headerEnd), 'Shift_JIS')];
      const r = await importFile(insurer, Readable.from(chunks), 'text/csv');
      expect(r.statusCode, r.body).toBe(200);
      expect(await namesByNumber(insurer)).toEqual(expectedNames);
    });

    it('imports NDJSON (application/x-ndjson), skipping blank lines', async () => {
      const { insurer } = await setup(h.app);
      const r = await importFile(insurer, ndjsonOf(people).replace('\n', '\n\n'), 'application/x-ndjson');
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ rows: 3, added: 3 });
      expect(await namesByNumber(insurer)).toEqual(expectedNames);
    });
  });

  describe('op column: add, change and terminate in one file', () => {
    it('applies changes and terminations by symbol/number/branch, including of a member added earlier in the same file', async () => {
      const { insurer } = await setup(h.app);
      await addMember(h.app, insurer, { number: '100', name: '既存　会員', nameKana: 'キゾン　カイイン' });
      const rows = [
        { ...people[0] }, // op defaults to add
        { op: 'add', ...people[1] },
        { op: 'change', symbol: '12', number: '101', branch: '00', effectiveFrom: '2024-04-01', address: '東京都新宿区西新宿2-8-1' },
        { op: 'terminate', symbol: '12', number: '102', branch: '00', lostOn: '2024-06-01', lossReason: 'other_insurance' },
        { op: 'change', symbol: '12', number: '100', branch: '00', effectiveFrom: '2024-05-01', address: '東京都港区芝公園4-2-8' },
      ];
      const r = await importFile(insurer, csvOf(rows, OP_COLUMNS), 'text/csv');
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ rows: 5, added: 2, changed: 2, terminated: 1 });

      const changed = await memberByNumber(insurer, '101');
      expect(changed.history.map((p: { validFrom: string; validUntil: string | null; address: string }) => [p.validFrom, p.validUntil, p.address])).toEqual([
        ['2020-04-01', '2024-04-01', '東京都千代田区千代田1-1'],
        ['2024-04-01', null, '東京都新宿区西新宿2-8-1'],
      ]);
      expect(await memberByNumber(insurer, '102')).toMatchObject({ lostOn: '2024-06-01', lossReason: 'other_insurance' });
      expect((await memberByNumber(insurer, '100')).address).toBe('東京都港区芝公園4-2-8');
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(3);
    });

    it('applies op rows given as NDJSON', async () => {
      const { insurer } = await setup(h.app);
      const r = await importFile(
        insurer,
        ndjsonOf([people[0], { op: 'terminate', symbol: '12', number: '101', branch: '00', lostOn: '2024-01-01', lossReason: 'death' }]),
        'application/x-ndjson',
      );
      expect(r.json()).toMatchObject({ rows: 2, added: 1, changed: 0, terminated: 1 });
      expect(await memberByNumber(insurer, '101')).toMatchObject({ lostOn: '2024-01-01', lossReason: 'death' });
    });
  });

  describe('all or nothing', () => {
    it('rejects a file with a bad field and a duplicate row (422), listing both lines and writing nothing', async () => {
      const { insurer } = await setup(h.app);
      await addMember(h.app, insurer, { number: '100' });
      const before = await countMemberships(h.ctx, insurer.insurerNumber);
      const rows = [
        people[0], // line 2
        memberBody({ number: '104', birthDate: '2023-02-29' }), // line 3: impossible date
        people[1], // line 4
        memberBody({ number: '101', name: '重複　太郎', nameKana: 'ジュウフク　タロウ' }), // line 5: same card numbers as line 2
        people[2], // line 6
      ];
      const r = await importFile(insurer, csvOf(rows), 'text/csv');
      const body = expectError(r, 422, 'ONSHI_IMPORT_REJECTED');
      expect(body).toMatchObject({ rows: 5, rejectedRows: 2, errorsTruncated: false });
      expect(body.errors.map((e: { line: number }) => e.line)).toEqual([3, 5]);
      expect(fieldProblems(body.errors[0].errors)).toEqual(['birthDate:invalid_date']);
      expect(fieldProblems(body.errors[1].errors)).toEqual(['number:duplicate']);
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(before);
      expect(before).toBe(1);
    });

    it('rejects a row that duplicates a member already registered', async () => {
      const { insurer } = await setup(h.app);
      await addMember(h.app, insurer, { number: '101' });
      const r = await importFile(insurer, csvOf(people), 'text/csv');
      const body = expectError(r, 422, 'ONSHI_IMPORT_REJECTED');
      expect(body.errors).toEqual([{ line: 2, errors: [expect.objectContaining({ field: 'number', code: 'duplicate' })] }]);
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(1);
    });

    it('rolls back adds and changes when a later change or terminate row is refused', async () => {
      const { insurer } = await setup(h.app);
      const existing = await addMember(h.app, insurer, { number: '100' });
      const rows = [
        people[0],
        { op: 'change', symbol: '12', number: '100', branch: '00', effectiveFrom: '2024-05-01', address: '変更後' },
        { op: 'change', symbol: '12', number: '999', branch: '00', effectiveFrom: '2024-05-01', address: '不明' }, // line 4: no such member
        { op: 'terminate', symbol: '12', number: '101', branch: '00', lostOn: '2024-06-01', lossReason: 'moved' }, // line 5: unknown reason
        { op: 'remove', symbol: '12', number: '100', branch: '00' }, // line 6: unknown op
      ];
      const body = expectError(await importFile(insurer, csvOf(rows, OP_COLUMNS), 'text/csv'), 422, 'ONSHI_IMPORT_REJECTED');
      expect(body.errors.map((e: { line: number; errors: { field: string; code: string }[] }) => [e.line, fieldProblems(e.errors)])).toEqual([
        [4, ['number:not_allowed']],
        [5, ['lossReason:not_allowed']],
        [6, ['op:not_allowed']],
      ]);
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(1);
      const got = await h.app.inject({ method: 'GET', url: memberUrl(insurer.insurerNumber, existing.memberId), headers: insurer.headers });
      expect(got.json().history).toHaveLength(1);
      expect(got.json().address).toBe('東京都千代田区千代田1-1');
    });

    it('rejects a malformed NDJSON line (422 naming that line) and one that is not an object', async () => {
      const { insurer } = await setup(h.app);
      const text = [JSON.stringify(people[0]), '{"symbol": "12", "number": ', JSON.stringify(people[1]), '["not", "an", "object"]'].join('\n');
      const body = expectError(await importFile(insurer, text, 'application/x-ndjson'), 422, 'ONSHI_IMPORT_REJECTED');
      expect(body.errors.map((e: { line: number; errors: { field: string; code: string }[] }) => [e.line, fieldProblems(e.errors)])).toEqual([
        [2, ['line:format']],
        [4, ['line:format']],
      ]);
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(0);
    });

    it('rejects a CSV row with more cells than the header (422 naming the line)', async () => {
      const { insurer } = await setup(h.app);
      const text = csvOf(people.slice(0, 1)) + '12,105,00,山田,ヤマダ,1980-01-01,male,東京,self,2020-01-01,extra\n';
      const body = expectError(await importFile(insurer, text, 'text/csv'), 422, 'ONSHI_IMPORT_REJECTED');
      expect(body.errors).toEqual([{ line: 3, errors: [expect.objectContaining({ field: 'csv', code: 'format' })] }]);
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(0);
    });
  });

  describe('refusals', () => {
    it('answers 400 ONSHI_IMPORT_EMPTY for an empty body and for a CSV with only a header', async () => {
      const { insurer } = await setup(h.app);
      expectError(await importFile(insurer, '', 'text/csv'), 400, 'ONSHI_IMPORT_EMPTY');
      expectError(await importFile(insurer, '', 'application/x-ndjson'), 400, 'ONSHI_IMPORT_EMPTY');
      expectError(await importFile(insurer, `${MEMBER_COLUMNS.join(',')}\n`, 'text/csv'), 400, 'ONSHI_IMPORT_EMPTY');
    });

    it('answers 415 for application/json', async () => {
      const { insurer } = await setup(h.app);
      const body = expectError(await importFile(insurer, JSON.stringify([people[0]]), 'application/json'), 415, 'ONSHI_REQUEST_UNSUPPORTED_MEDIA_TYPE');
      expect(body.accepted).toEqual(['text/csv', 'application/x-ndjson']);
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(0);
    });

    it('answers 400 ONSHI_IMPORT_ENCODING for a charset other than UTF-8 and Shift_JIS', async () => {
      const { insurer } = await setup(h.app);
      const body = expectError(await importFile(insurer, iconv.encode(csvOf(people), 'EUC-JP'), 'text/csv; charset=EUC-JP'), 400, 'ONSHI_IMPORT_ENCODING');
      expect(body.charset).toBe('EUC-JP');
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(0);
    });

    it("answers 403 for another insurer's token", async () => {
      const { insurer } = await setup(h.app);
      const other = await createInsurer(h.app);
      expectError(await importFile(insurer, csvOf(people), 'text/csv', other.headers), 403, 'ONSHI_AUTH_FORBIDDEN');
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(0);
    });
  });

  describe('streaming', () => {
    it('imports 20,000 NDJSON rows sent as a stream, and each is then confirmable', { timeout: 180_000 }, async () => {
      const { insurer, facility } = await setup(h.app);
      const total = 20_000;
      function* lines() {
        for (let i = 1; i <= total; i++) {
          yield `${JSON.stringify({
            symbol: String(1000 + (i % 50)),
            number: String(i).padStart(6, '0'),
            branch: '00',
            name: `被保険者　${i}`,
            nameKana: 'ヒホケンシャ',
            birthDate: `19${String(50 + (i % 50))}-0${1 + (i % 9)}-1${i % 10}`,
            sex: i % 2 ? 'male' : 'female',
            address: `東京都千代田区${i}`,
            relationship: 'self',
            qualifiedFrom: '2020-04-01',
          })}\n`;
        }
      }
      const r = await importFile(insurer, Readable.from(lines()), 'application/x-ndjson');
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ rows: total, added: total, changed: 0, terminated: 0 });
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(total);

      const i = 12_345;
      const answer = await confirm(h.app, facility, {
        insurerNumber: insurer.insurerNumber,
        symbol: String(1000 + (i % 50)),
        number: String(i).padStart(6, '0'),
        branch: '00',
        birthDate: `19${String(50 + (i % 50))}-0${1 + (i % 9)}-1${i % 10}`,
        asOf: '2024-11-25',
      });
      expect(answer.json()).toMatchObject({ result: 'valid', member: { name: `被保険者　${i}`, address: `東京都千代田区${i}`, sex: 'male' } });
    });
  });
});
