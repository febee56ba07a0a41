// Synthetic population (onshi seed): deterministic for a given seed, realistic in shape. 47
// prefectures weighted by population; the insurer mix (協会けんぽ per prefecture, 健保組合, 共済,
// municipal 国保 with 6-digit numbers, 後期高齢者医療 for 75+); households whose dependants share the
// symbol and number with their own branch; job changes (one person, two memberships over time);
// lost eligibility; address changes (two periods); expired paper cards; twins; valid check digits
// everywhere. Rows are written in batches through the registry repository, so a million people take
// well under a minute on SQLite.

import type { Kysely } from 'kysely';
import type { Database, EligibilityPeriodsTable, MembershipsTable } from '../platform/db.ts';
import { addDays, addYears, todayJst } from '../platform/time.ts';
import { OnshiError } from '../platform/errors.ts';
import { formatUuidV7 } from '../platform/ids.ts';
import * as repo from './repository.ts';
import { ageOn, defaultCopayRate, makeFacilityCode, prefectures, withInsurerCheckDigit, type FacilityType, type InsurerKind } from './rules.ts';
import { citiesOf, facilityNameParts, familyNames, femaleGivenNames, maleGivenNames, prefecturePopulation, townParts } from './seed-data.ts';

export interface SeedOptions {
  people: number;
  facilities: number;
  seed: string | number;
  /** The date the population is "as of" (default: today in JST). */
  asOf?: string;
  /** People per write transaction. */
  batchSize?: number;
  onProgress?: (phase: 'facilities' | 'people', done: number, total: number) => void;
}

export interface SeedSample {
  label: string;
  insurerNumber: string;
  symbol: string;
  number: string;
  branch: string;
  birthDate: string;
  expected: 'valid' | 'invalid';
  reason?: string;
}

export interface SeedSummary {
  insurers: number;
  facilities: number;
  persons: number;
  memberships: number;
  periods: number;
  seconds: number;
  asOf: string;
  /** Card numbers to try, one of each kind of case. */
  samples: SeedSample[];
  /** The first facility codes (for demo credentials). */
  facilityCodes: string[];
}

/** mulberry32: small, fast, good enough for synthetic data, and the same on every machine. */
export function prng(seed: string | number): () => number {
  let h = 1779033703 ^ String(seed).length;
  for (const ch of String(seed)) {
    h = Math.imul(h ^ ch.charCodeAt(0), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded ids count up from here (2020-01-01), so they sort before ids made live. */
const SEED_EPOCH_MS = Date.UTC(2020, 0, 1);

class Random {
  readonly next: () => number;
  constructor(seed: string | number) {
    this.next = prng(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  private counter = 0;
  private readonly bytes = new Uint8Array(10);
  /** A version-7-shaped UUID: a counter in place of time (ordered, like live ids), random bits from the stream. */
  uuid(): string {
    for (let i = 0; i < 10; i += 2) {
      const v = Math.floor(this.next() * 65536);
      this.bytes[i] = v >> 8;
      this.bytes[i + 1] = v & 0xff;
    }
    return formatUuidV7(SEED_EPOCH_MS + this.counter++, this.bytes);
  }
}

/** Cumulative weights for picking a prefecture in proportion to its population. */
const prefectureCumulative = (() => {
  const total = prefecturePopulation.reduce((a, b) => a + b, 0);
  let acc = 0;
  return prefecturePopulation.map((p) => (acc += p / total));
})();

function pickPrefecture(r: Random): string {
  const x = r.next();
  let i = prefectureCumulative.findIndex((c) => x < c);
  if (i < 0) i = 46;
  return String(i + 1).padStart(2, '0');
}

interface SeedInsurer {
  insurerNumber: string;
  name: string;
  kind: InsurerKind;
  prefecture: string;
  /** Symbols (記号) this insurer hands out: employers or NHI districts. */
  symbols: string[];
  nextNumber: number;
  numberWidth: number;
}

/** The insurers of a prefecture, by kind. */
interface PrefectureInsurers {
  kyokai: SeedInsurer;
  kumiai: SeedInsurer[];
  kyosai: SeedInsurer[];
  kokuho: SeedInsurer[];
  koki: SeedInsurer;
}

const kokiLimitCategories = ['B04', 'B05', 'B06', 'B09', 'B10'];
const workingAgeLimitCategories = ['A03', 'A04', 'A05'];

const industries = ['電機', '自動車', '商事', '銀行', '建設', '食品', '鉄道', '化学', '印刷', '情報', '製薬', '運輸'];

function buildInsurers(r: Random): { all: SeedInsurer[]; byPrefecture: Map<string, PrefectureInsurers> } {
  const all: SeedInsurer[] = [];
  const byPrefecture = new Map<string, PrefectureInsurers>();
  const make = (body: string, name: string, kind: InsurerKind, prefecture: string, symbols: string[], numberWidth: number): SeedInsurer => {
    const insurer = { insurerNumber: withInsurerCheckDigit(body), name, kind, prefecture, symbols, nextNumber: 1, numberWidth };
    all.push(insurer);
    return insurer;
  };
  for (let i = 0; i < 47; i++) {
    const p = String(i + 1).padStart(2, '0');
    const pref = prefectures[i];
    const cities = citiesOf[p];
    const employerSymbols = (n: number, width: number) => Array.from({ length: n }, () => String(r.int(10 ** (width - 1), 10 ** width - 1)));
    const kyokai = make(`01${p}001`, `全国健康保険協会 ${pref.replace(/[都道府県]$/, '')}支部`, 'kyokai_kenpo', p, [...new Set(employerSymbols(40, 8))], 7);
    const unions = 1 + Math.floor(prefecturePopulation[i] / 1500);
    const kumiai = Array.from({ length: unions }, (_, u) =>
      make(`06${p}${String(101 + u).padStart(3, '0')}`, `${pref.replace(/[都道府県]$/, '')}${industries[u % industries.length]}健康保険組合`, 'kenpo_kumiai', p, [...new Set(employerSymbols(5, 3))], 6),
    );
    const kyosai = [
      make(`32${p}001`, `地方職員共済組合 ${pref}支部`, 'kyosai', p, ['10', '20', '30'], 6),
      make(`33${p}001`, `${pref}警察職員共済組合`, 'kyosai', p, ['11', '12'], 6),
    ];
    // Municipal NHI: 6-digit numbers (都道府県 2 + 保険者別 3 + 検証番号), one per city; symbols carry kanji.
    const kokuho = cities.map((city, c) => make(`${p}${String(10 + c * 7).padStart(3, '0')}`, `${city.replace(/区$/, '')}国民健康保険`, 'kokuho', p, [`${city.slice(0, 2)}01`, `${city.slice(0, 2)}02`, `${city.slice(0, 2)}03`], 6));
    const koki = make(`39${p}001`, `${pref}後期高齢者医療広域連合`, 'koki_korei', p, [''], 8);
    byPrefecture.set(p, { kyokai, kumiai, kyosai, kokuho, koki });
  }
  return { all, byPrefecture };
}

interface Person {
  id: string;
  sex: 'male' | 'female';
  birthDate: string;
  name: string;
  nameKana: string;
}

interface Writer {
  persons: { id: string; linkKey: null; createdAt: string }[];
  memberships: MembershipsTable[];
  periods: EligibilityPeriodsTable[];
}

/** Seeds an empty database. Refuses a database that already has members (nothing is mixed in). */
export async function seedPopulation(db: Kysely<Database>, options: SeedOptions): Promise<SeedSummary> {
  const started = performance.now();
  const asOf = options.asOf ?? todayJst();
  const existing = await repo.countMembers(db);
  if (existing > 0) throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors: [{ field: 'database', code: 'not_allowed', ja: 'database: 既に被保険者が登録されています。空のデータベースに投入してください。', en: `database already has ${existing} members; seed an empty database` }] });
  const r = new Random(options.seed);
  const { all: insurers, byPrefecture } = buildInsurers(r);
  const createdAt = `${asOf}T00:00:00.000Z`;
  await db.transaction().execute(async (trx) => {
    await repo.insertInsurers(trx, insurers.map((i) => ({ insurerNumber: i.insurerNumber, name: i.name, kind: i.kind, createdAt })));
  });

  const facilityCodes = await seedFacilities(db, r, options.facilities, asOf, options.onProgress);

  const samples = new Map<string, SeedSample>();
  const sample = (label: string, m: MembershipsTable, birthDate: string, expected: SeedSample['expected'], reason?: string) => {
    if (!samples.has(label)) samples.set(label, { label, insurerNumber: m.insurer_number, symbol: m.symbol, number: m.number, branch: m.branch, birthDate, expected, ...(reason ? { reason } : {}) });
  };

  const counts = { persons: 0, memberships: 0, periods: 0 };
  const batchSize = options.batchSize ?? 20_000;
  let w: Writer = { persons: [], memberships: [], periods: [] };
  const flush = async () => {
    if (w.persons.length === 0) return;
    const batch = w;
    w = { persons: [], memberships: [], periods: [] };
    await db.transaction().execute(async (trx) => {
      await repo.insertPersons(trx, batch.persons);
      await repo.insertMemberships(trx, batch.memberships);
      await repo.insertPeriods(trx, batch.periods);
    });
    counts.persons += batch.persons.length;
    counts.memberships += batch.memberships.length;
    counts.periods += batch.periods.length;
    options.onProgress?.('people', counts.persons, options.people);
  };

  const newPerson = (sex: 'male' | 'female', birthDate: string, family: readonly [string, string]): Person => {
    const given = r.pick(sex === 'male' ? maleGivenNames : femaleGivenNames);
    const p = { id: r.uuid(), sex, birthDate, name: `${family[0]}　${given[0]}`, nameKana: `${family[1]}　${given[1]}` };
    w.persons.push({ id: p.id, linkKey: null, createdAt });
    return p;
  };

  const birthDateForAge = (age: number) => addDays(addYears(asOf, -age), -r.int(1, 364));
  const dateBetween = (from: string, to: string) => {
    const span = Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000));
    return addDays(from, r.int(0, span));
  };

  const address = (p: string) => {
    const city = r.pick(citiesOf[p]);
    return { address: `${prefectures[Number(p) - 1]}${city}${r.pick(townParts)}${r.int(1, 9)}丁目${r.int(1, 30)}番${r.int(1, 20)}号`, postalCode: `${r.int(100, 999)}-${String(r.int(0, 9999)).padStart(4, '0')}` };
  };

  /** Adds one membership with its periods; returns it. */
  const addMembership = (
    insurer: SeedInsurer,
    symbol: string,
    number: string,
    branch: string,
    person: Person,
    relationship: 'self' | 'family',
    qualifiedFrom: string,
    home: { address: string; postalCode: string },
    prefecture: string,
    opts: { lostOn?: string; lossReason?: string; addressChangeOn?: string } = {},
  ): MembershipsTable => {
    const id = r.uuid();
    const m: MembershipsTable = {
      id,
      person_id: person.id,
      insurer_number: insurer.insurerNumber,
      symbol,
      number,
      branch,
      relationship,
      qualified_from: qualifiedFrom,
      lost_on: opts.lostOn ?? null,
      loss_reason: opts.lossReason ?? null,
      loss_recorded_at: opts.lostOn ? `${opts.lostOn}T00:00:00.000Z` : null,
      loss_recorded_by: opts.lostOn ? 'seed' : null,
      created_at: `${qualifiedFrom}T00:00:00.000Z`,
    };
    w.memberships.push(m);
    // Paper cards: none issued from 2024-12-02. Municipal NHI and 後期高齢 cards carry an expiry; some have passed.
    const paperCardIssuedOn = qualifiedFrom < '2024-12-02' ? qualifiedFrom : null;
    let paperCardExpiresOn: string | null = null;
    if (paperCardIssuedOn && (insurer.kind === 'kokuho' || insurer.kind === 'koki_korei')) {
      paperCardExpiresOn = r.chance(0.12) ? addDays(asOf, -r.int(1, 300)) : addDays(asOf, r.int(30, 400));
      if (paperCardExpiresOn < paperCardIssuedOn) paperCardExpiresOn = addYears(paperCardIssuedOn, 1);
    }
    const copayRate = defaultCopayRate(person.birthDate, asOf, insurer.kind);
    const limitCategory = r.chance(0.08) ? r.pick(insurer.kind === 'koki_korei' ? kokiLimitCategories : workingAgeLimitCategories) : null;
    // Literal objects with a fixed shape: spreading a base object here made V8 build slow dictionary objects.
    const period = (validFrom: string, validUntil: string | null, place: { address: string; postalCode: string }): EligibilityPeriodsTable => ({
      id: r.uuid(),
      membership_id: id,
      valid_from: validFrom,
      valid_until: validUntil,
      name: person.name,
      name_kana: person.nameKana,
      birth_date: person.birthDate,
      sex: person.sex,
      address: place.address,
      postal_code: place.postalCode,
      copay_rate: copayRate,
      limit_category: limitCategory,
      paper_card_issued_on: paperCardIssuedOn,
      paper_card_expires_on: paperCardExpiresOn,
      recorded_at: `${validFrom}T00:00:00.000Z`,
      recorded_by: 'seed',
    });
    const end = opts.lostOn ?? null;
    const changeOn = opts.addressChangeOn && opts.addressChangeOn > qualifiedFrom && (end === null || opts.addressChangeOn < end) ? opts.addressChangeOn : undefined;
    if (changeOn) {
      w.periods.push(period(qualifiedFrom, changeOn, address(prefecture)));
      w.periods.push(period(changeOn, end, home));
    } else {
      w.periods.push(period(qualifiedFrom, end, home));
    }
    return m;
  };

  const nextNumber = (insurer: SeedInsurer) => String(insurer.nextNumber++).padStart(insurer.numberWidth, '0');

  let made = 0;
  while (made < options.people) {
    const p = pickPrefecture(r);
    const ins = byPrefecture.get(p)!;
    const family = r.pick(familyNames);
    const home = address(p);
    const headAge = r.chance(0.2) ? r.int(75, 99) : r.int(19, 74);
    const headSex = r.chance(0.7) ? 'male' : 'female';
    const head = newPerson(headSex, birthDateForAge(headAge), family);
    made++;
    const spouse = headAge >= 24 && r.chance(0.6) && made < options.people ? newPerson(headSex === 'male' ? 'female' : 'male', birthDateForAge(Math.max(19, headAge + r.int(-4, 4))), family) : undefined;
    if (spouse) made++;
    const children: Person[] = [];
    if (headAge >= 25 && headAge <= 58 && r.chance(0.55)) {
      const n = r.int(1, 3);
      const twins = n >= 2 && r.chance(0.05);
      for (let c = 0; c < n && made < options.people; c++) {
        const birth = twins && c === 1 ? children[0].birthDate : birthDateForAge(r.int(0, Math.min(22, headAge - 23)));
        children.push(newPerson(r.chance(0.5) ? 'male' : 'female', birth, family));
        made++;
      }
    }
    const lossFor = () => (r.chance(0.02) ? { lostOn: addDays(asOf, -r.int(1, 700)), lossReason: r.chance(0.3) ? 'death' : 'other' } : {});
    const addressChange = () => (r.chance(0.05) ? { addressChangeOn: addDays(asOf, -r.int(1, 900)) } : {});

    // 後期高齢者医療: everyone 75+ has their own number (no dependants), from the 75th birthday.
    const koki = (person: Person) => {
      const from = [addYears(person.birthDate, 75), '2008-04-01'].sort()[1];
      const m = addMembership(ins.koki, '', nextNumber(ins.koki), '00', person, 'self', from, home, p, { ...lossFor(), ...addressChange() });
      sample(m.lost_on ? 'koki_korei, eligibility lost' : 'koki_korei (後期高齢者), valid', m, person.birthDate, m.lost_on ? 'invalid' : 'valid', m.lost_on ? 'eligibility_lost' : undefined);
    };

    if (headAge >= 75) {
      koki(head);
      if (spouse) {
        if (ageOn(spouse.birthDate, asOf) >= 75) koki(spouse);
        else {
          const kokuho = r.pick(ins.kokuho);
          addMembership(kokuho, r.pick(kokuho.symbols), nextNumber(kokuho), '00', spouse, 'self', dateBetween(addYears(asOf, -10), addDays(asOf, -1)), home, p);
        }
      }
      if (w.persons.length >= batchSize) await flush();
      continue;
    }

    const retired = headAge >= 65 && r.chance(0.7);
    const x = r.next();
    const insurer = retired || x < 0.17 ? r.pick(ins.kokuho) : x < 0.6 ? ins.kyokai : x < 0.9 ? r.pick(ins.kumiai) : r.pick(ins.kyosai);
    const symbol = r.pick(insurer.symbols);
    const number = nextNumber(insurer);
    const earliest = addYears(head.birthDate, 18);
    const notYet = r.chance(0.01);
    const qualifiedFrom = notYet ? addDays(asOf, r.int(1, 60)) : dateBetween([earliest, addYears(asOf, -25)].sort()[1], addDays(asOf, -1));
    const headLoss = lossFor();

    // Job change: the head held an earlier membership elsewhere, lost when this one began.
    if (!notYet && insurer.kind !== 'kokuho' && r.chance(0.04) && qualifiedFrom > addDays(earliest, 400)) {
      const previous = insurer === ins.kyokai ? r.pick(ins.kumiai) : ins.kyokai;
      const prevFrom = dateBetween(earliest, addDays(qualifiedFrom, -365));
      const old = addMembership(previous, r.pick(previous.symbols), nextNumber(previous), '00', head, 'self', prevFrom, home, p, { lostOn: qualifiedFrom, lossReason: 'other_insurance' });
      if (qualifiedFrom <= asOf && !headLoss.lostOn) sample('old card after a job change (無効・新しい資格あり)', old, head.birthDate, 'invalid', 'eligibility_lost');
    }

    const headMembership = addMembership(insurer, symbol, number, '00', head, 'self', qualifiedFrom, home, p, { ...headLoss, ...addressChange() });
    if (notYet) sample('qualification starts later (資格取得日前)', headMembership, head.birthDate, 'invalid', 'not_yet_started');
    else if (headLoss.lostOn) sample('eligibility lost (資格喪失)', headMembership, head.birthDate, 'invalid', 'eligibility_lost');
    else if (insurer.kind === 'kokuho') {
      const expired = w.periods[w.periods.length - 1].paper_card_expires_on;
      if (expired && expired < asOf) sample('expired paper card (有効期限切れ)', headMembership, head.birthDate, 'invalid', 'paper_card_expired');
      else sample('municipal NHI, 6-digit insurer (国保), valid', headMembership, head.birthDate, 'valid');
    } else sample(`${insurer.kind}, insured person (本人), valid`, headMembership, head.birthDate, 'valid');

    // Dependants share symbol and number with their own branch (国保: every member is insured, relationship self).
    let branch = 1;
    const relationship = insurer.kind === 'kokuho' ? 'self' : 'family';
    const dependants = [...(spouse ? [spouse] : []), ...children];
    for (const d of dependants) {
      if (ageOn(d.birthDate, asOf) >= 75) {
        koki(d);
        continue;
      }
      const from = [qualifiedFrom, d.birthDate].sort()[1];
      const m = addMembership(insurer, symbol, number, String(branch++).padStart(2, '0'), d, relationship, from, home, p, headLoss.lostOn ? { lostOn: headLoss.lostOn, lossReason: 'other' } : {});
      if (!notYet && !headLoss.lostOn && relationship === 'family') sample('dependant (家族), valid', m, d.birthDate, 'valid');
    }
    if (children.length >= 2 && children[0].birthDate === children[1].birthDate && !notYet && !headLoss.lostOn) {
      sample('twins without branch number (複数該当)', { ...headMembership, branch: '' }, children[0].birthDate, 'invalid', 'several_match');
    }
    if (w.persons.length >= batchSize) await flush();
  }
  await flush();

  return {
    insurers: insurers.length,
    facilities: facilityCodes.length,
    ...counts,
    seconds: Math.round(performance.now() - started) / 1000,
    asOf,
    samples: [...samples.values()],
    facilityCodes: facilityCodes.slice(0, 5),
  };
}

const facilityTypeShares: [FacilityType, number][] = [
  ['hospital', 0.04],
  ['clinic', 0.48],
  ['dental_clinic', 0.26],
  ['pharmacy', 0.22],
];

/** Facilities with valid codes, spread by population, with claims counts from 2023-10 to 2024-08. */
async function seedFacilities(db: Kysely<Database>, r: Random, n: number, asOf: string, onProgress: SeedOptions['onProgress']): Promise<string[]> {
  const serial = new Map<string, number>();
  const codes: string[] = [];
  const months = ['2023-10', '2023-11', '2023-12', '2024-01', '2024-02', '2024-03', '2024-04', '2024-05', '2024-06', '2024-07', '2024-08'];
  const createdAt = `${asOf}T00:00:00.000Z`;
  for (let start = 0; start < n; start += 10_000) {
    const rows: repo.FacilityRow[] = [];
    const claims: { facilityCode: string; month: string; claims: number }[] = [];
    for (let i = start; i < Math.min(n, start + 10_000); i++) {
      const p = pickPrefecture(r);
      const x = r.next();
      let acc = 0;
      const type = facilityTypeShares.find(([, s]) => x < (acc += s))?.[0] ?? 'pharmacy';
      const key = `${p}${type === 'hospital' || type === 'clinic' ? '1' : type === 'dental_clinic' ? '3' : '4'}`;
      const next = (serial.get(key) ?? 0) + 1;
      serial.set(key, next);
      // 郡市区番号 (2 digits) + 医療機関等番号 (4 digits): enough room for 990,000 per prefecture and table.
      const six = String(100_000 + next).slice(-6);
      const code = makeFacilityCode(p, type, six);
      const city = r.pick(citiesOf[p]);
      rows.push({ code, name: `${r.chance(0.5) ? r.pick(familyNames)[0] : city.replace(/[市区町村]$/, '')}${r.pick(facilityNameParts[type])}`, type, prefecture: p, createdAt });
      const base = type === 'hospital' ? r.int(1200, 9000) : type === 'pharmacy' ? r.int(300, 3000) : type === 'dental_clinic' ? r.int(60, 900) : r.int(80, 2200);
      for (const month of months) claims.push({ facilityCode: code, month, claims: Math.max(0, Math.round(base * (0.9 + r.next() * 0.2))) });
      codes.push(code);
    }
    await db.transaction().execute(async (trx) => {
      await repo.insertFacilities(trx, rows);
      await repo.upsertMonthlyClaims(trx, claims);
    });
    onProgress?.('facilities', codes.length, n);
  }
  return codes;
}
