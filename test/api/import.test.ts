import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { storeKinds } from '../support/stores.ts';
import { OnshiError } from '../../src/platform/errors.ts';
import type { ImportRow } from '../../src/registry/import.ts';
import {
  addMember,
  myNumberFor,
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

    it('reads quoted cells (a comma, a doubled quote, a line break) that follow plain lines, numbering lines as before', async () => {
      const { insurer } = await setup(h.app);
      const rows = [
        memberBody({ number: '101' }), // line 2
        memberBody({ number: '102', address: '大阪府大阪市北区, 梅田1-1' }), // line 3
        memberBody({ number: '103', name: '山田"太郎"' }), // line 4
        memberBody({ number: '104', address: '東京都\n千代田区' }), // lines 5-6
        memberBody({ number: '105', birthDate: '1990-02-30' }), // line 7
      ];
      const body = expectError(await importFile(insurer, csvOf(rows), 'text/csv'), 422, 'ONSHI_IMPORT_REJECTED');
      expect(body).toMatchObject({ rows: 5, rejectedRows: 2 });
      // The quoted line break is read into the cell (line numbers stay right), and the text rule then
      // refuses it: an address is one line.
      expect(body.errors.map((e: { line: number; errors: { field: string; code: string }[] }) => [e.line, fieldProblems(e.errors)])).toEqual([
        [6, ['address:forbidden_character']], // a row is numbered by the line it ends on
        [7, ['birthDate:invalid_date']],
      ]);

      const r = await importFile(insurer, csvOf(rows.slice(0, 3)), 'text/csv');
      expect(r.statusCode, r.body).toBe(200);
      expect((await memberByNumber(insurer, '102')).address).toBe('大阪府大阪市北区, 梅田1-1');
      expect((await memberByNumber(insurer, '103')).name).toBe('山田"太郎"');
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

  describe('batches: the service adds rows a batch at a time', () => {
    /** Imports rows through the service in batches of `batchSize`, so that rows fall on batch edges (row i is line i + 2). */
    async function importInBatches(insurer: TestInsurer, rows: Record<string, unknown>[], batchSize = 3) {
      async function* items(): AsyncGenerator<ImportRow> {
        for (const [i, row] of rows.entries()) yield { line: i + 2, row: { ...row } };
      }
      try {
        return { report: await h.ctx.registry.importMembers(insurer.insurerNumber, items(), 'test', { batchSize }) };
      } catch (e) {
        if (e instanceof OnshiError && e.code === 'ONSHI_IMPORT_REJECTED') return { rejected: e.details as { rows: number; rejectedRows: number; errors: { line: number; errors: { field: string; code: string }[] }[] } };
        throw e;
      }
    }
    const problems = (rejected: { errors: { line: number; errors: { field: string; code: string }[] }[] } | undefined) =>
      rejected?.errors.map((e) => [e.line, fieldProblems(e.errors)]);
    const member = (n: number, overrides: Record<string, unknown> = {}) => memberBody({ number: String(n), ...overrides });

    it('reports rejected rows on both sides of a batch edge, in line order, and writes nothing', async () => {
      const { insurer } = await setup(h.app);
      const rows = [member(1), member(2), member(3, { birthDate: '2023-02-29' }), member(4, { sex: 'x' }), member(5), member(6), member(7, { nameKana: 'やまだ' })];
      const { rejected } = await importInBatches(insurer, rows);
      expect(rejected).toMatchObject({ rows: 7, rejectedRows: 3 });
      expect(problems(rejected)).toEqual([
        [4, ['birthDate:invalid_date']], // last row of the first batch
        [5, ['sex:not_allowed']], // first row of the second batch
        [8, ['nameKana:format']], // alone in the last batch
      ]);
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(0);
    });

    it('finds duplicates within a batch, across batches and of members already registered', async () => {
      const { insurer } = await setup(h.app);
      await addMember(h.app, insurer, { number: '9' });
      const rows = [member(1), member(2), member(2), member(3), member(1), member(9), member(4)];
      const { rejected } = await importInBatches(insurer, rows);
      expect(problems(rejected)).toEqual([
        [4, ['number:duplicate']], // same batch as line 3
        [6, ['number:duplicate']], // line 2, one batch earlier
        [7, ['number:duplicate']], // registered before the import
      ]);
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(1);
    });

    it('finds a registered member among numbers in and out of order, and none where only the range or the symbol matches', async () => {
      const { insurer } = await setup(h.app);
      await addMember(h.app, insurer, { number: '10' });
      await addMember(h.app, insurer, { number: '25', symbol: '13' });
      // Batch 1: '9'..'100' holds '10' as text; batch 2: '20'..'30' holds '25' but only under symbol 13; batch 3: '7' alone.
      const rows = [member(9), member(100), member(10), member(20), member(30), member(25, { symbol: '14' }), member(7)];
      const { rejected } = await importInBatches(insurer, rows);
      expect(problems(rejected)).toEqual([[4, ['number:duplicate']]]);
      const ok = await importInBatches(insurer, [member(20), member(30), member(25, { symbol: '14' })]);
      expect(ok.report).toMatchObject({ added: 3 });
    });

    it('stores each row its own values when most columns repeat and one differs only in the last row of a batch', async () => {
      const { insurer } = await setup(h.app);
      // Batches of 3: the name differs in the first, repeats in the second, the address differs in the third.
      const rows = [member(1), member(2), member(3, { name: '佐藤　三郎', postalCode: '100-0001', copayRate: 20 }), member(4), member(5), member(6), member(7, { address: '北海道札幌市中央区1-1' }), member(8), member(9), member(10)];
      const { report } = await importInBatches(insurer, rows);
      expect(report).toMatchObject({ added: 10 });
      const names = await namesByNumber(insurer);
      expect(Object.keys(names)).toHaveLength(10);
      expect(Object.entries(names).filter(([, name]) => name !== '山田　太郎')).toEqual([['3', '佐藤　三郎']]);
      const third = await memberByNumber(insurer, '3');
      expect(third).toMatchObject({ postalCode: '100-0001', copayRate: 20, qualifiedFrom: '2020-04-01' });
      expect((await memberByNumber(insurer, '2')).postalCode).toBeNull();
      expect((await memberByNumber(insurer, '7')).address).toBe('北海道札幌市中央区1-1');
      expect((await memberByNumber(insurer, '8')).address).toBe(memberBody().address);
    });

    it('applies a change and a termination to members added in earlier batches, then adds more', async () => {
      const { insurer } = await setup(h.app);
      const rows = [
        member(1), member(2), member(3), member(4),
        { op: 'change', symbol: '12', number: '1', branch: '00', effectiveFrom: '2024-04-01', address: '東京都新宿区西新宿2-8-1' },
        { op: 'terminate', symbol: '12', number: '4', branch: '00', lostOn: '2024-06-01', lossReason: 'other' },
        member(5), { op: 'add', ...member(6) },
      ];
      const { report } = await importInBatches(insurer, rows);
      expect(report).toMatchObject({ rows: 8, added: 6, changed: 1, terminated: 1 });
      const changed = await memberByNumber(insurer, '1');
      expect(changed.history.map((p: { validFrom: string; address: string }) => [p.validFrom, p.address])).toEqual([
        ['2020-04-01', '東京都千代田区千代田1-1'],
        ['2024-04-01', '東京都新宿区西新宿2-8-1'],
      ]);
      expect(await memberByNumber(insurer, '4')).toMatchObject({ lostOn: '2024-06-01', lossReason: 'other' });
    });

    it('links rows with one My Number to one person, within a batch and across batches; personId joins a known person', async () => {
      const { insurer } = await setup(h.app);
      const known = await addMember(h.app, insurer, { number: '100' });
      const myNumber = myNumberFor('81234567890');
      const rows = [member(1, { myNumber }), member(2, { myNumber, relationship: 'family' }), member(3), member(4, { myNumber }), member(5, { personId: known.personId })];
      const { report } = await importInBatches(insurer, rows);
      expect(report).toMatchObject({ added: 5 });
      const people = await Promise.all(['1', '2', '3', '4', '5'].map(async (n) => (await memberByNumber(insurer, n)).personId as string));
      expect(new Set([people[0], people[1], people[3]]).size).toBe(1);
      expect(people[2]).not.toBe(people[0]);
      expect(people[4]).toBe(known.personId);
      expect(JSON.stringify(await memberByNumber(insurer, '1'))).not.toContain(myNumber);
    });

    it('refuses an unknown personId, and a rejected duplicate does not lend its new person to a later row', async () => {
      const { insurer } = await setup(h.app);
      await addMember(h.app, insurer, { number: '9' });
      const myNumber = myNumberFor('81234567891');
      // Line 2 duplicates a registered member; line 3 has the same My Number: it must not be linked
      // to a person that line 2 would have created (that was a foreign-key failure, not a report).
      const rows = [member(9, { myNumber }), member(1, { myNumber }), member(2, { personId: '01900000-0000-7000-8000-000000000000' })];
      const { rejected } = await importInBatches(insurer, rows);
      expect(problems(rejected)).toEqual([
        [2, ['number:duplicate']],
        [4, ['personId:not_allowed']],
      ]);
      expect(await countMemberships(h.ctx, insurer.insurerNumber)).toBe(1);
    });

    it('gives imported rows version-7 ids that sort in file order across batches', async () => {
      const { insurer } = await setup(h.app);
      const numbers = Array.from({ length: 10 }, (_, i) => 10 + i);
      const { report } = await importInBatches(insurer, numbers.map((n) => member(n)));
      expect(report?.added).toBe(10);
      const r = await h.app.inject({ method: 'GET', url: `${memberUrl(insurer.insurerNumber)}?limit=100`, headers: insurer.headers });
      const members = r.json().members as { memberId: string; personId: string; number: string }[];
      expect(members.map((m) => m.number)).toEqual(numbers.map(String)); // listed by id
      const ids = members.flatMap((m) => [m.memberId, m.personId]);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('numbers lines right when a CSV arrives a byte at a time (quoted line break, CRLF, empty line, multi-byte characters)', async () => {
      const { insurer } = await setup(h.app);
      const text = csvOf([memberBody({ number: '1', address: '東京都\n千代田区' })], MEMBER_COLUMNS, '\r\n') + '\r\n' + csvOf([memberBody({ number: '2', birthDate: '1990-13-01' })], MEMBER_COLUMNS, '\r\n').split('\r\n')[1] + '\r\n';
      const bytes = Buffer.from(text);
      const body = expectError(await importFile(insurer, Readable.from(Array.from(bytes, (b) => Buffer.from([b]))), 'text/csv'), 422, 'ONSHI_IMPORT_REJECTED');
      expect(body).toMatchObject({ rows: 2, rejectedRows: 2 });
      expect(body.errors.map((e: { line: number; errors: { field: string; code: string }[] }) => [e.line, fieldProblems(e.errors)])).toEqual([
        [3, ['address:forbidden_character']], // the quoted line break: the row ends on line 3
        [5, ['birthDate:invalid_date']],
      ]);
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
