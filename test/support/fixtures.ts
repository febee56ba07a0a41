// Shared helpers of the API tests: one app per store for a describe block, registration of
// insurers, facilities and credentials with numbers that never collide, a valid member body, and
// assertions on onshi's error shape.

import { afterAll, beforeAll, expect } from 'vitest';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from '../../src/app/build-app.ts';
import { makeFacilityCode, withInsurerCheckDigit, withMyNumberCheckDigit, type FacilityType, type InsurerKind } from '../../src/registry/rules.ts';
import { createTestContext, TEST_ADMIN_TOKEN, type StoreKind, type TestContext } from './stores.ts';

export type Headers = { authorization: string };

export const adminHeaders: Headers = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

export function bearer(token: string): Headers {
  return { authorization: `Bearer ${token}` };
}

export interface Harness {
  ctx: TestContext;
  app: FastifyInstance;
}

/**
 * A context and an app on one store for the enclosing describe block (created before its tests,
 * disposed after). Tests in the block share the store, so each registers its own insurer and facility.
 */
export function useApp(kind: StoreKind, options: { clock?: () => Date } = {}): Harness {
  const h = {} as Harness;
  beforeAll(async () => {
    h.ctx = await createTestContext(kind, {}, options);
    h.app = await buildApp(h.ctx);
  });
  afterAll(async () => {
    await h.app?.close();
    await h.ctx?.dispose();
  });
  return h;
}

let serial = 0;
/** A number unique within the test file, for insurer and facility numbers. */
export function nextSerial(): number {
  return ++serial;
}

/** A fresh valid insurer number: 8 digits (法別 + 13 + serial + check), 6 digits for kokuho. */
export function newInsurerNumber(kind: InsurerKind = 'kenpo_kumiai'): string {
  const n = String(nextSerial() % 1000).padStart(3, '0');
  if (kind === 'kokuho') return withInsurerCheckDigit(`13${n}`);
  const law = { kyokai_kenpo: '01', kenpo_kumiai: '06', kyosai: '31', koki_korei: '39' }[kind];
  return withInsurerCheckDigit(`${law}13${n}`);
}

/** A fresh valid facility code in Tokyo. */
export function newFacilityCode(type: FacilityType = 'clinic', prefecture = '13'): string {
  return makeFacilityCode(prefecture, type, String(nextSerial()).padStart(6, '0'));
}

export interface Issued {
  id: string;
  token: string;
  headers: Headers;
}

export async function issueCredential(app: FastifyInstance, body: Record<string, unknown>): Promise<Issued> {
  const r = await app.inject({ method: 'POST', url: '/v1/credentials', headers: adminHeaders, payload: body });
  expect(r.statusCode, r.body).toBe(201);
  const { id, token } = r.json() as { id: string; token: string };
  return { id, token, headers: bearer(token) };
}

export interface TestInsurer extends Issued {
  insurerNumber: string;
  name: string;
  kind: InsurerKind;
}

/** Registers an insurer (fresh number unless given) and issues its credential. */
export async function createInsurer(app: FastifyInstance, input: { insurerNumber?: string; name?: string; kind?: InsurerKind } = {}): Promise<TestInsurer> {
  const kind = input.kind ?? 'kenpo_kumiai';
  const insurerNumber = input.insurerNumber ?? newInsurerNumber(kind);
  const name = input.name ?? `テスト保険者${insurerNumber}`;
  const r = await app.inject({ method: 'POST', url: '/v1/insurers', headers: adminHeaders, payload: { insurerNumber, name, kind } });
  expect(r.statusCode, r.body).toBe(201);
  return { insurerNumber, name, kind, ...(await issueCredential(app, { insurerNumber })) };
}

export interface TestFacility extends Issued {
  code: string;
}

/** Registers a facility (fresh code unless given) and issues a reception credential for it. */
export async function createFacility(app: FastifyInstance, input: { code?: string; name?: string; type?: FacilityType } = {}): Promise<TestFacility> {
  const type = input.type ?? 'clinic';
  const code = input.code ?? newFacilityCode(type);
  const r = await app.inject({ method: 'POST', url: '/v1/facilities', headers: adminHeaders, payload: { code, name: input.name ?? `テスト診療所${code}`, type } });
  expect(r.statusCode, r.body).toBe(201);
  return { code, ...(await issueCredential(app, { facilityCode: code })) };
}

/** One insurer and one facility, each with a token: the usual start of an API test. */
export async function setup(app: FastifyInstance, options: { insurerKind?: InsurerKind } = {}): Promise<{ insurer: TestInsurer; facility: TestFacility }> {
  return { insurer: await createInsurer(app, { kind: options.insurerKind }), facility: await createFacility(app) };
}

/** A valid new-member body (an adult, the insured person himself); override any field. */
export function memberBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    symbol: '12',
    number: '3456',
    branch: '00',
    name: '山田　太郎',
    nameKana: 'ヤマダ　タロウ',
    birthDate: '1980-04-01',
    sex: 'male',
    address: '東京都千代田区千代田1-1',
    relationship: 'self',
    qualifiedFrom: '2020-04-01',
    ...overrides,
  };
}

export interface MemberJson {
  memberId: string;
  personId: string;
  [field: string]: unknown;
}

/** Adds a member (expects 201) and returns its body. */
export async function addMember(app: FastifyInstance, insurer: TestInsurer, overrides: Record<string, unknown> = {}): Promise<MemberJson> {
  const r = await app.inject({ method: 'POST', url: `/v1/insurers/${insurer.insurerNumber}/members`, headers: insurer.headers, payload: memberBody(overrides) });
  expect(r.statusCode, r.body).toBe(201);
  return r.json() as MemberJson;
}

export function memberUrl(insurerNumber: string, memberId?: string): string {
  return `/v1/insurers/${insurerNumber}/members${memberId ? `/${memberId}` : ''}`;
}

export async function changeMember(app: FastifyInstance, insurer: TestInsurer, memberId: string, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'PATCH', url: memberUrl(insurer.insurerNumber, memberId), headers: insurer.headers, payload: body });
}

export async function terminateMember(app: FastifyInstance, insurer: TestInsurer, memberId: string, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: `${memberUrl(insurer.insurerNumber, memberId)}/terminate`, headers: insurer.headers, payload: body });
}

export async function confirm(app: FastifyInstance, facility: { headers: Headers }, body: unknown, extra: Partial<InjectOptions> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/v1/confirmations', headers: facility.headers, payload: body as InjectOptions['payload'], ...extra });
}

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/u;

/** Asserts onshi's error shape (code, English message, Japanese message) and returns the body. */
export function expectError(r: LightMyRequestResponse, status: number, code: string): Record<string, any> {
  expect(r.statusCode, r.body).toBe(status);
  const body = r.json() as Record<string, any>;
  expect(body.code).toBe(code);
  expectMessages(body);
  return body;
}

/** `message` is English (no Japanese script), `messageJa` Japanese. */
export function expectMessages(body: { message?: unknown; messageJa?: unknown }): void {
  expect(typeof body.message).toBe('string');
  expect(body.message).not.toBe('');
  expect(body.message).not.toMatch(JAPANESE);
  expect(body.messageJa).toMatch(JAPANESE);
}

/** field:code pairs of a field-error list, sorted. */
export function fieldProblems(errors: readonly { field: string; code: string }[] | undefined): string[] {
  return (errors ?? []).map((e) => `${e.field}:${e.code}`).sort();
}

/** Every row of every table (including migration bookkeeping), as JSON text, for leak checks. */
export async function dumpDatabase(ctx: TestContext): Promise<Record<string, string>> {
  const db = ctx.database.db;
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  expect(tables.length).toBeGreaterThan(5);
  const dump: Record<string, string> = {};
  for (const t of tables) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(t.name)}`.execute(db);
    dump[t.name] = JSON.stringify(rows.rows);
  }
  return dump;
}

/** Number of memberships an insurer has in the store. */
export async function countMemberships(ctx: TestContext, insurerNumber: string): Promise<number> {
  const r = await ctx.database.db
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('insurer_number', '=', insurerNumber)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** A valid 12-digit My Number for 11 given digits. */
export const myNumberFor = withMyNumberCheckDigit;

/** A credential for a staff member of a facility with the given role (doctor, pharmacist, …). */
export async function staffCredential(app: FastifyInstance, facility: { code: string }, role: string): Promise<Issued> {
  return issueCredential(app, { facilityCode: facility.code, role });
}

/** Query string naming fixtures' default member at an insurer, as a facility does after confirmation. */
export function patientQuery(insurerNumber: string, overrides: Record<string, string> = {}): string {
  return new URLSearchParams({ insurerNumber, symbol: '12', number: '3456', branch: '00', birthDate: '1980-04-01', ...overrides }).toString();
}

/** A medication row of the claims feed for fixtures' default member. */
export function medicationRow(insurerNumber: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    insurerNumber,
    symbol: '12',
    number: '3456',
    branch: '00',
    dispensedOn: '2024-11-01',
    facilityCode: makeFacilityCode('13', 'pharmacy', '999999'),
    drugCode: '2171022F1020',
    drugName: 'アムロジピン錠5mg',
    quantity: 28,
    unit: '錠',
    days: 28,
    ...overrides,
  };
}
