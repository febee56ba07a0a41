import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds } from '../../test/support/stores.ts';
import { createTestContext, type TestContext } from '../../test/support/stores.ts';
import { seedPopulation } from '../registry/seed.ts';
import { ageOn } from '../registry/rules.ts';
import { addYears } from '../platform/time.ts';
import { parseCheckupRow, parseMedicationRow, type CheckupItems } from './rules.ts';
import { seedClinical, stratify, type ClinicalSeedSummary } from './seed.ts';

const AS_OF = '2025-06-01';
const PEOPLE = 700;

async function seeded(ctx: TestContext, seed: string): Promise<ClinicalSeedSummary> {
  await seedPopulation(ctx.database.db, { people: PEOPLE, facilities: 40, seed, asOf: AS_OF });
  return seedClinical(ctx.database.db, { seed, asOf: AS_OF });
}

describe('stratify (特定保健指導の階層化)', () => {
  const lean = { waist: 78, bmi: 21, hba1c: 6.0, tg: 200, hdl: 35, systolicBp: 150, diastolicBp: 95 };
  it('needs a large waist or BMI ≥ 25 first, then counts risks', () => {
    expect(stratify(lean, 'male', 50, false)).toBe('information');
    expect(stratify({ ...lean, waist: 85 }, 'male', 50, false)).toBe('active_support');
    expect(stratify({ ...lean, waist: 85 }, 'female', 50, false)).toBe('information');
    expect(stratify({ ...lean, waist: 85, hba1c: 5.5, tg: 100, hdl: 50 }, 'male', 50, false)).toBe('motivational_support');
    expect(stratify({ ...lean, bmi: 25, hba1c: 5.5 }, 'female', 50, false)).toBe('motivational_support');
    expect(stratify({ ...lean, bmi: 25 }, 'female', 50, false)).toBe('active_support');
    expect(stratify({ ...lean, bmi: 25, hba1c: 5.5, tg: 100, hdl: 50, systolicBp: 120, diastolicBp: 70 }, 'female', 50, false)).toBe('information');
  });
  it('at 65–74 active support becomes motivational; treated people are outside 保健指導', () => {
    expect(stratify({ ...lean, waist: 90 }, 'male', 65, false)).toBe('motivational_support');
    expect(stratify({ ...lean, waist: 90 }, 'male', 50, true)).toBe('information');
  });
});

describe.each(storeKinds)('clinical seed on %s', (kind) => {
  let a: TestContext;
  let b: TestContext;
  let summary: ClinicalSeedSummary;
  let other: ClinicalSeedSummary;

  beforeAll(async () => {
    a = await createTestContext(kind);
    b = await createTestContext(kind);
    summary = await seeded(a, 'clinical-test');
    other = await seeded(b, 'clinical-test');
  }, 120_000);
  afterAll(async () => {
    await a?.dispose();
    await b?.dispose();
  });

  it('is deterministic: the same seed gives the same rows', async () => {
    const strip = ({ seconds: _s, ...rest }: ClinicalSeedSummary) => rest;
    expect(strip(other)).toEqual(strip(summary));
    expect(summary.people).toBe(PEOPLE);
    expect(summary.covered).toBe(PEOPLE);
    expect(summary.medications).toBeGreaterThan(PEOPLE * 5);
    expect(summary.checkups).toBeGreaterThan(PEOPLE / 5);
    for (const table of ['medications', 'checkups'] as const) {
      const first = (ctx: TestContext) => ctx.database.db.selectFrom(table).selectAll().orderBy('id').limit(50).execute();
      const count = async (ctx: TestContext) => Number((await ctx.database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      expect(await count(a)).toBe(summary[table]);
      expect(await count(b)).toBe(summary[table]);
      expect(await first(b)).toEqual(await first(a));
    }
  });

  it('refuses to seed a store that already has clinical records', async () => {
    await expect(seedClinical(a.database.db, { seed: 'again', asOf: AS_OF })).rejects.toMatchObject({ code: 'ONSHI_REGISTRY_INVALID_FIELDS' });
  });

  it('covers a deterministic share of people: a larger share covers the same people, with the same history, and more', async () => {
    const c = await createTestContext(kind);
    try {
      await seedPopulation(c.database.db, { people: PEOPLE, facilities: 40, seed: 'clinical-test', asOf: AS_OF });
      const part = await seedClinical(c.database.db, { seed: 'clinical-test', asOf: AS_OF, share: 0.3 });
      expect(part.covered).toBeGreaterThan(PEOPLE * 0.2);
      expect(part.covered).toBeLessThan(PEOPLE * 0.4);
      const people = async (ctx: TestContext) =>
        new Set((await ctx.database.db.selectFrom('medications').select('person_id').union(ctx.database.db.selectFrom('checkups').select('person_id')).execute()).map((r) => r.person_id));
      const partial = await people(c);
      const full = await people(a);
      expect(partial.size).toBeGreaterThan(0);
      expect(partial.size).toBeLessThan(full.size);
      for (const id of partial) expect(full.has(id)).toBe(true);
      const history = async (ctx: TestContext) =>
        (await ctx.database.db.selectFrom('medications').select(['person_id', 'dispensed_on', 'drug_code', 'facility_code', 'quantity', 'days']).where('person_id', 'in', [...partial]).orderBy('person_id').orderBy('dispensed_on').orderBy('drug_code').execute()).map((m) => ({ ...m, quantity: Number(m.quantity) }));
      const checkups = async (ctx: TestContext) => ctx.database.db.selectFrom('checkups').select(['person_id', 'exam_date', 'items', 'judgement']).where('person_id', 'in', [...partial]).orderBy('person_id').orderBy('exam_date').execute();
      expect(await history(c)).toEqual(await history(a));
      expect(await checkups(c)).toEqual(await checkups(a));
    } finally {
      await c.dispose();
    }
  }, 60_000);

  /** Every person's memberships (card numbers, insurer kind, coverage dates) and latest birth date and sex. */
  async function registry(ctx: TestContext) {
    const rows = await ctx.database.db
      .selectFrom('memberships as m')
      .innerJoin('insurers as i', 'i.insurer_number', 'm.insurer_number')
      .innerJoin('eligibility_periods as p', 'p.membership_id', 'm.id')
      .select(['m.person_id', 'm.insurer_number', 'i.kind', 'm.symbol', 'm.number', 'm.branch', 'm.qualified_from', 'm.lost_on', 'p.birth_date', 'p.sex'])
      .execute();
    const byPerson = new Map<string, typeof rows>();
    for (const r of rows) byPerson.set(r.person_id, [...(byPerson.get(r.person_id) ?? []), r]);
    const coveringOn = (personId: string, date: string) => (byPerson.get(personId) ?? []).find((m) => m.qualified_from <= date && (m.lost_on === null || m.lost_on > date));
    return { byPerson, coveringOn };
  }

  it('medication: every row passes the claims feed rules, names a person insured that day and a seeded pharmacy or clinic, within 4 years', async () => {
    const db = a.database.db;
    const { coveringOn } = await registry(a);
    const facilities = new Map((await db.selectFrom('facilities').select(['code', 'type']).execute()).map((f) => [f.code, f.type]));
    const persons = new Set((await db.selectFrom('persons').select('id').execute()).map((p) => p.id));
    const rows = await db.selectFrom('medications').selectAll().execute();
    expect(rows.length).toBe(summary.medications);
    const oldest = addYears(AS_OF, -4);
    let outsideWindow = 0;
    for (const m of rows) {
      expect(persons.has(m.person_id)).toBe(true);
      expect(['pharmacy', 'clinic', 'hospital']).toContain(facilities.get(m.facility_code));
      const cover = coveringOn(m.person_id, m.dispensed_on);
      expect(cover, `${m.person_id} insured on ${m.dispensed_on}`).toBeDefined();
      const parsed = parseMedicationRow(
        { insurerNumber: cover!.insurer_number, symbol: cover!.symbol, number: cover!.number, branch: cover!.branch, dispensedOn: m.dispensed_on, facilityCode: m.facility_code, drugCode: m.drug_code, drugName: m.drug_name, quantity: Number(m.quantity), unit: m.unit, days: m.days, claimRef: m.claim_ref },
        AS_OF,
      );
      expect(parsed, JSON.stringify(m)).not.toHaveProperty('errors');
      expect(m.dispensed_on >= oldest && m.dispensed_on <= AS_OF).toBe(true);
      if (m.dispensed_on < addYears(AS_OF, -3)) outsideWindow++;
    }
    // The 3-year viewing window matters: some records fall before it, most inside.
    expect(outsideWindow).toBeGreaterThan(0);
    expect(outsideWindow).toBeLessThan(rows.length / 2);
    // Chronic prescriptions repeat: some person has the same drug on many dates.
    const repeats = new Map<string, number>();
    for (const m of rows) repeats.set(`${m.person_id}|${m.drug_code}`, (repeats.get(`${m.person_id}|${m.drug_code}`) ?? 0) + 1);
    expect(Math.max(...repeats.values())).toBeGreaterThanOrEqual(12);
  });

  it('check-ups: only at 40–74 on the exam day, from the insurer covering that day (not 後期高齢), passing the feed rules, judged consistently', async () => {
    const { byPerson, coveringOn } = await registry(a);
    const rows = await a.database.db.selectFrom('checkups').selectAll().execute();
    expect(rows.length).toBe(summary.checkups);
    const judgements = new Set<string>();
    let beforeWindow = 0;
    let stratified = 0;
    for (const c of rows) {
      const memberships = byPerson.get(c.person_id)!;
      const { birth_date: birthDate, sex } = memberships[memberships.length - 1];
      const age = ageOn(birthDate, c.exam_date);
      expect(age, `${c.person_id} on ${c.exam_date}`).toBeGreaterThanOrEqual(40);
      expect(age).toBeLessThanOrEqual(74);
      const cover = coveringOn(c.person_id, c.exam_date)!;
      expect(cover.insurer_number).toBe(c.insurer_number);
      expect(cover.kind).not.toBe('koki_korei');
      const items = JSON.parse(c.items) as CheckupItems;
      const parsed = parseCheckupRow({ symbol: cover.symbol, number: cover.number, branch: cover.branch, examDate: c.exam_date, items, judgement: c.judgement }, AS_OF);
      expect(parsed, c.items).not.toHaveProperty('errors');
      expect(Object.keys(items).sort()).toEqual(['alt', 'ast', 'bmi', 'diastolicBp', 'ggt', 'hba1c', 'hdl', 'height', 'ldl', 'systolicBp', 'tg', 'urineProtein', 'waist', 'weight']);
      expect(Math.abs(items.bmi! - items.weight! / (items.height! / 100) ** 2)).toBeLessThan(0.06);
      // Untreated: the 階層化 of the items; treated (BP, glucose or lipid drugs): information.
      const untreated = stratify(items, sex as 'male' | 'female', age, false);
      expect([untreated, 'information']).toContain(c.judgement);
      if (c.judgement === untreated && untreated !== 'information') stratified++;
      judgements.add(c.judgement);
      expect(c.exam_date > addYears(AS_OF, -6) && c.exam_date <= AS_OF).toBe(true);
      if (c.exam_date < addYears(AS_OF, -5)) beforeWindow++;
    }
    expect([...judgements].sort()).toEqual(['active_support', 'information', 'motivational_support']);
    expect(stratified).toBeGreaterThan(0);
    expect(beforeWindow).toBeGreaterThan(0);
    // Men weigh more than women at the same ages, on average.
    const mean = (sex: string) => {
      const w = rows.filter((c) => byPerson.get(c.person_id)!.at(-1)!.sex === sex).map((c) => (JSON.parse(c.items) as CheckupItems).weight!);
      return w.reduce((x, y) => x + y, 0) / w.length;
    };
    expect(mean('male')).toBeGreaterThan(mean('female') + 5);
  });

  it('names a sample patient insured today with medication and check-ups in their windows', async () => {
    const s = summary.sample!;
    expect(s).not.toBeNull();
    const db = a.database.db;
    const m = await db.selectFrom('memberships').select(['person_id', 'lost_on']).where('insurer_number', '=', s.insurerNumber).where('symbol', '=', s.symbol).where('number', '=', s.number).where('branch', '=', s.branch).executeTakeFirstOrThrow();
    expect(m.person_id).toBe(s.personId);
    expect(m.lost_on).toBeNull();
    const meds = await db.selectFrom('medications').select('id').where('person_id', '=', s.personId).where('dispensed_on', '>=', addYears(AS_OF, -3)).execute();
    const checks = await db.selectFrom('checkups').select('id').where('person_id', '=', s.personId).where('exam_date', '>=', addYears(AS_OF, -5)).execute();
    expect(meds.length).toBe(s.medications);
    expect(checks.length).toBe(s.checkups);
    expect(s.checkups).toBeGreaterThan(0);
  });
});
