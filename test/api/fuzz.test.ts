// Property-based fuzz of the whole HTTP surface: every operation of /openapi.json gets hostile bodies,
// query and path parameters and headers, under each kind of credential. Whatever the request, onshi
// answers below 500, every 4xx is its catalogue shape, and the server still answers /health after.
// Bounded to about a minute on SQLite; ONSHI_FUZZ_RUNS (per operation) and ONSHI_FUZZ_SEED override.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { SimulatedPatient } from '../../src/reader/simulator.ts';
import { actions } from '../../src/itfund/lifecycle.ts';
import { adminHeaders, bearer, createFacility, createInsurer, issueCredential, staffCredential, useApp } from '../support/fixtures.ts';
import { injectTransport, personWithCard } from '../support/cards.ts';

const RUNS = Number(process.env.ONSHI_FUZZ_RUNS ?? 200);
const SEED = process.env.ONSHI_FUZZ_SEED === undefined ? undefined : Number(process.env.ONSHI_FUZZ_SEED);

interface Operation {
  method: string;
  path: string;
  query: string[];
  jsonBody: string[] | undefined;
}

/** Every operation of the OpenAPI document: its query parameters and, for a JSON body, its property names. */
function operationsOf(spec: { paths: Record<string, Record<string, any>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, byMethod] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(byMethod)) {
      const query = ((op.parameters ?? []) as { in: string; name: string }[]).filter((p) => p.in === 'query').map((p) => p.name);
      const schema = op.requestBody?.content?.['application/json']?.schema;
      const jsonBody = op.requestBody ? Object.keys(schema?.properties ?? schema?.items?.properties ?? {}) : undefined;
      ops.push({ method: method.toUpperCase(), path, query, jsonBody });
    }
  }
  return ops;
}

// Values

const nasty = [
  '', ' ', 'NaN', 'Infinity', 'true', 'false', 'null', 'undefined', '-1', '0', '1e3', '0x10', '2024-02-30', '2024-13-01', '9999-12-31', '0001-01-01',
  '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '%', '%ZZ', '%FF', '../../etc/passwd', "'; drop table members; --", '" OR 1=1 --',
  '=1+1', "=cmd|' /C calc'!A0", '@2', '\u0000', '\u0007', '\u001b[31m', '\u0085', '\u202e', '\u2066', '\ud800', '\udfff', '山田\u0000DROP', '😀𠮷', '\ufeff',
  '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', '{"$ref":"#"}', '[object Object]',
];

/** Text for a URL: short, or long enough to pass any field's length (a URL carries no megabytes). */
const shortText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...nasty) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(300), '9'.repeat(1_000), 'あ'.repeat(2_000)) },
);

/** Text for a body value: the same, or huge. */
const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 9, arbitrary: shortText },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(100_000), 'あ'.repeat(300_000)) },
);

function deep(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

const deepJson = fc.tuple(fc.constantFrom(64, 2_000, 100_000), fc.constantFrom('array' as const, 'object' as const)).map(([d, k]) => deep(d, k));

/** Values that fit some field of some route (filled with the fixtures' numbers): requests get past the first check. */
const plausible: unknown[] = [
  '12', '3456', '00', '01', '1980-04-01', '2024-11-25', '2024-12-01', '2024-11', '2021', 'self', 'family', 'male', 'female', 'clinic', 'pharmacy', 'hospital',
  'dental_clinic', 'reception', 'doctor', 'pharmacist', 'facility_admin', 'pin', 'face', 'visual', 'paper_card', 'certificate', 'death', 'other', '13', '1234',
  'shift_jis', 'utf-8', '0', '1', 0, 1, 3, 30, 100, true, false, null, [], {},
];
const plausibleValue = fc.nat().map((i) => plausible[i % plausible.length]);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileText },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(-0), fc.constant(2 ** 53 + 1)) },
  { weight: 1, arbitrary: fc.array(hostileText, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(shortText, hostileText, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** A JSON object over the operation's property names (and some others), every value hostile. */
function jsonObject(names: string[]): fc.Arbitrary<string> {
  const key = names.length ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: shortText }) : shortText;
  const value = fc.oneof({ weight: 3, arbitrary: plausibleValue }, { weight: 2, arbitrary: hostileValue });
  return fc.array(fc.tuple(key, value), { maxLength: 10 }).map((entries) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return JSON.stringify(o);
  });
}

/** JSON text naming a prototype key somewhere (what a merge would turn into prototype pollution). */
const prototypeJson = fc
  .tuple(fc.constantFrom('{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}', '{"a":{"__proto__":{"x":1}},"b":1}', '[{"__proto__":null}]', '{"rows":[{"constructor":{"prototype":{}}}]}'))
  .map(([t]) => t);

const contentTypes = [
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=shift_jis', 'text/csv', 'text/csv; charset=Shift_JIS', 'application/x-ndjson',
  'application/xml', 'text/xml', 'text/plain', 'application/octet-stream', 'application/pdf', 'image/png', 'image/jpeg', 'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded', 'application/json; charset=bogus', ';;;', 'application/', '*/*', 'text/csv; charset=', 'application/json\u0000',
];

interface Body {
  payload?: string | Buffer;
  contentType?: string;
}

function bodyFor(op: Operation): fc.Arbitrary<Body> {
  const json = (text: fc.Arbitrary<string>) => text.map((payload) => ({ payload, contentType: 'application/json' }));
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant<Body>({}) },
    { weight: 3, arbitrary: json(jsonObject(op.jsonBody ?? [])) },
    { weight: 1, arbitrary: json(fc.array(jsonObject(op.jsonBody ?? []), { maxLength: 3 }).map((items) => `[${items.join(',')}]`)) },
    { weight: 1, arbitrary: json(prototypeJson) },
    { weight: 1, arbitrary: json(deepJson) },
    { weight: 1, arbitrary: json(fc.constantFrom('', '{"a":', '{', 'null', '1', '"x"', '{"a":1}{"b":2}', '\ufeff{}', '{"a":"\\ud800"}', '{"a":1,"a":2}')) },
    { weight: 1, arbitrary: json(fc.string({ unit: 'binary', maxLength: 200 })) },
    {
      weight: 2,
      arbitrary: fc.record({
        payload: fc.oneof(fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)), hostileText, fc.constant('a,b,c\n=1+1,@2,"x\n'), fc.constant('<?xml version="1.0" encoding="Shift_JIS"?><a>\x82</a>')),
        contentType: fc.constantFrom(...contentTypes),
      }),
    },
  );
}

/** Percent-encodes as a client would; text that is not well-formed UTF-16 goes out as bytes that are not UTF-8. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}

const rawMalformed = fc.constantFrom('%', '%E0%A4%A', '%FF', '%C0%AF', '%ZZ');

function queryFor(op: Operation): fc.Arbitrary<string> {
  const name = fc.oneof(
    { weight: op.query.length ? 4 : 0, arbitrary: op.query.length ? fc.constantFrom(...op.query) : fc.constant('x') },
    { weight: 1, arbitrary: fc.constantFrom('foo', '__proto__', 'constructor', 'toString', 'limit', 'asOf', '') },
  );
  const value = fc.oneof({ weight: 4, arbitrary: plausibleValue.map((v) => encode(String(v))) }, { weight: 4, arbitrary: shortText.map(encode) }, { weight: 1, arbitrary: rawMalformed });
  const pair = fc.tuple(name, value).map(([n, v]) => `${encode(n)}=${v}`);
  const declared = op.query.length ? fc.constantFrom(...op.query) : fc.constant('x');
  // Mostly no query or the route's own parameters, so that the body and the route's logic are reached too.
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant('') },
    { weight: op.query.length ? 3 : 0, arbitrary: fc.array(fc.tuple(declared, value).map(([n, v]) => `${n}=${v}`), { minLength: 1, maxLength: 3 }).map((p) => `?${p.join('&')}`) },
    { weight: 2, arbitrary: fc.array(pair, { minLength: 1, maxLength: 4 }).map((p) => `?${p.join('&')}`) },
  );
}

interface Pools {
  [param: string]: string[];
}

function pathFor(op: Operation, pools: Pools): fc.Arbitrary<string> {
  const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  if (names.length === 0) return fc.constant(op.path);
  // A credential id is never drawn from the pool: a revoked fixture credential would blind the rest of the run.
  const valid = (n: string) => (op.path.startsWith('/v1/credentials') ? [] : (pools[n] ?? []));
  const value = (n: string) =>
    fc.oneof(
      { weight: valid(n).length ? 8 : 0, arbitrary: valid(n).length ? fc.constantFrom(...valid(n)) : fc.constant('x') },
      { weight: 3, arbitrary: shortText.map(encode) },
      { weight: 1, arbitrary: rawMalformed },
    );
  return fc.tuple(...names.map(value)).map((values) => names.reduce((p, n, i) => p.replace(`{${n}}`, values[i]), op.path));
}

function headersFor(credentials: Record<string, string>): fc.Arbitrary<Record<string, string>> {
  const authorization = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...Object.values(credentials)) },
    { weight: 1, arbitrary: fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic YWRtaW46YWRtaW4=', 'Bearer ' + 'x'.repeat(10_000), 'Bearer a b', 'bearer revoked-token') },
  );
  const printable = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('../../etc/passwd', '%E0%A4%A', 'x'.repeat(5_000), '"; filename=evil.sh', '%00'));
  return fc.record(
    {
      authorization,
      'idempotency-key': printable,
      'x-file-name': printable,
      accept: fc.constantFrom('application/json', 'text/csv', '*/*', 'application/xml', 'x/y;q=bogus'),
      'accept-language': printable,
    },
    { requiredKeys: ['authorization'] },
  );
}

function describeRequest(req: InjectOptions): string {
  const payload = req.payload === undefined ? '' : Buffer.isBuffer(req.payload) ? `<${req.payload.length} bytes>` : String(req.payload).slice(0, 300);
  const headers = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k, String(v).slice(0, 80)]));
  return `${req.method} ${String(req.url).slice(0, 300)} ${JSON.stringify(headers)} ${payload}`;
}

const fieldErrorShape = (e: any) => typeof e?.field === 'string' && typeof e?.code === 'string' && typeof e?.ja === 'string' && typeof e?.en === 'string';

/** Onshi's error shape: code, English and Japanese messages, field errors (or an import's rejected rows, each with its field errors). */
function catalogueProblem(r: LightMyRequestResponse): string | undefined {
  if (!/^application\/json/.test(String(r.headers['content-type']))) return `content-type ${r.headers['content-type']}`;
  let body: any;
  try {
    body = JSON.parse(r.body);
  } catch {
    return 'body is not JSON';
  }
  if (typeof body?.code !== 'string' || !/^ONSHI_[A-Z_]+$/.test(body.code)) return 'no ONSHI_ code';
  if (typeof body.message !== 'string' || body.message === '' || typeof body.messageJa !== 'string' || body.messageJa === '') return 'no message or messageJa';
  if (body.errors !== undefined) {
    if (!Array.isArray(body.errors)) return 'errors is not an array';
    const rowReport = (e: any) => Number.isInteger(e?.line) && Array.isArray(e?.errors) && e.errors.every(fieldErrorShape);
    if (!body.errors.every((e: any) => fieldErrorShape(e) || rowReport(e))) return 'an errors[] entry is not {field, code, ja, en}';
  }
  return undefined;
}

describe('fuzz: hostile requests to every operation of /openapi.json (SQLite)', () => {
  const h = useApp('sqlite');

  it('answers every one below 500, every 4xx in the catalogue shape, and still answers /health', async () => {
    const app = h.app;
    const insurer = await createInsurer(app);
    const clinic = await createFacility(app);
    const pharmacy = await createFacility(app, { type: 'pharmacy' });
    const transport = injectTransport(app);
    const holder = await personWithCard(app, transport, insurer);
    const patient = await new SimulatedPatient(transport).signIn(holder.card, '1234');
    const doctor = await staffCredential(app, clinic, 'doctor');
    const facilityAdmin = await staffCredential(app, clinic, 'facility_admin');
    const pharmacist = await staffCredential(app, pharmacy, 'pharmacist');
    const secondInsurer = await issueCredential(app, { insurerNumber: insurer.insurerNumber });
    const itCase = await app.inject({ method: 'POST', url: '/v1/itfund/cases', headers: facilityAdmin.headers, payload: {} });
    expect(itCase.statusCode, itCase.body).toBe(201);
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/batch-inquiries',
      headers: clinic.headers,
      payload: { rows: [{ insurerNumber: insurer.insurerNumber, symbol: '12', number: String(holder.member.number), branch: '00', birthDate: '1980-04-01' }] },
    });
    expect(batch.statusCode, batch.body).toBe(202);

    const credentials: Record<string, string> = {
      none: '',
      admin: adminHeaders.authorization,
      insurer: insurer.headers.authorization,
      insurer2: secondInsurer.headers.authorization,
      reception: clinic.headers.authorization,
      doctor: doctor.headers.authorization,
      facilityAdmin: facilityAdmin.headers.authorization,
      pharmacist: pharmacist.headers.authorization,
      patient: bearer(patient.token).authorization,
    };
    const pools: Pools = {
      insurerNumber: [insurer.insurerNumber],
      code: [clinic.code, pharmacy.code],
      memberId: [holder.member.memberId],
      serial: [holder.card.serial],
      receptionNumber: [batch.json().receptionNumber],
      id: [itCase.json().id],
      action: [...actions],
      fileName: ['OQSsiquc01req_20241125100000000.xml', 'OQSmuquc01req_20241125100000000.xml', 'OQSmuquc02req_20241125100000000.xml', 'OQSsiimm01req_20241125100000000.xml'],
    };

    plausible.push(insurer.insurerNumber, clinic.code, pharmacy.code, holder.member.memberId, holder.member.personId, String(holder.member.number), holder.card.serial, holder.myNumber);

    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const ops = operationsOf(spec);
    expect(ops.length).toBeGreaterThan(90);

    const failures: string[] = [];
    for (const op of ops) {
      const request = fc.record({ path: pathFor(op, pools), query: queryFor(op), body: bodyFor(op), headers: headersFor(credentials) }).map(({ path, query, body, headers }) => {
        const all: Record<string, string> = { ...headers };
        if (all.authorization === '') delete all.authorization;
        if (body.contentType !== undefined) all['content-type'] = body.contentType;
        return { method: op.method as InjectOptions['method'], url: path + query, headers: all, ...(body.payload !== undefined ? { payload: body.payload } : {}) } satisfies InjectOptions;
      });
      try {
        await fc.assert(
          fc.asyncProperty(request, async (req) => {
            const r = await app.inject(req);
            if (r.statusCode >= 500) throw new Error(`${r.statusCode} for ${describeRequest(req)}: ${r.body.slice(0, 300)}`);
            if (r.statusCode >= 400) {
              const problem = catalogueProblem(r);
              if (problem) throw new Error(`${r.statusCode} not in the catalogue shape (${problem}) for ${describeRequest(req)}: ${r.body.slice(0, 300)}`);
            }
          }),
          { numRuns: RUNS, endOnFailure: true, ...(SEED !== undefined ? { seed: SEED } : {}) },
        );
      } catch (e) {
        // fast-check's message names the seed and the counterexample path to replay it.
        const cause = (e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : '';
        failures.push(`${op.method} ${op.path}: ${cause}\n${(e as Error).message.slice(0, 1500)}`);
      }
    }
    expect(failures, failures.join('\n\n')).toEqual([]);

    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode, health.body).toBe(200);
  }, 300_000);
});
