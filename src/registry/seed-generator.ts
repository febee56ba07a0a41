// The synthetic population of onshi seed, generated without a database: insurers, facilities, then
// people in batches of flat row values (no object per row), ready for insertFlat. Everything comes from
// one seeded stream, consumed in a fixed order, so the same seed and as-of date give the same rows.
// 47 prefectures weighted by population; the insurer mix (協会けんぽ per prefecture, 健保組合, 共済,
// municipal 国保 with 6-digit numbers, 後期高齢者医療 for 75+); households whose dependants share the
// symbol and number with their own branch; job changes (one person, two memberships over time); lost
// eligibility; address changes (two periods); expired paper cards; twins; valid check digits everywhere.

import { addDays as addDaysSlow, addYears } from '../platform/time.ts';
import { ageOn, defaultCopayRate, makeFacilityCode, prefectures, withInsurerCheckDigit, type FacilityType, type InsurerKind } from './rules.ts';
import { citiesOf, facilityNameParts, familyNames, femaleGivenNames, maleGivenNames, prefecturePopulation, townParts } from './seed-data.ts';

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

const hexCodes = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** The draws every seeded generator makes (registry and clinical demo data), from one deterministic stream. */
export class SeededRandom {
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
}

class Random extends SeededRandom {
  private counter = 0;
  private readonly text = Buffer.alloc(36, '-');
  /**
   * A version-7-shaped UUID: a counter in place of time (ordered, like live ids), random bits from
   * the stream. The text formatUuidV7 makes of the same bytes, written as ASCII into one buffer and
   * read back as one flat string: a template of a dozen pieces made a chain of strings per id, and
   * ids are a third of all values.
   */
  uuid(): string {
    const t = this.text;
    const ms = SEED_EPOCH_MS + this.counter++;
    // 48 bits of time: the high 16 and the low 32, hex digits 0–7 and 9–12 ("xxxxxxxx-xxxx").
    let hi = Math.floor(ms / 0x100000000);
    let lo = ms >>> 0;
    for (let i = 12; i >= 9; i--, lo >>>= 4) t[i] = hexCodes[lo & 15];
    for (let i = 7; i >= 4; i--, lo >>>= 4) t[i] = hexCodes[lo & 15];
    for (let i = 3; i >= 0; i--, hi >>>= 4) t[i] = hexCodes[hi & 15];
    // 20 hex digits of random bits r0…r19 from five 16-bit draws; r3 gives the variant, r19 is unused.
    const v0 = Math.floor(this.next() * 65536);
    const v1 = Math.floor(this.next() * 65536);
    const v2 = Math.floor(this.next() * 65536);
    const v3 = Math.floor(this.next() * 65536);
    const v4 = Math.floor(this.next() * 65536);
    t[14] = 0x37; // '7'
    t[15] = hexCodes[v0 >> 12];
    t[16] = hexCodes[(v0 >> 8) & 15];
    t[17] = hexCodes[(v0 >> 4) & 15];
    t[19] = hexCodes[(v0 & 0x3) | 0x8];
    t[20] = hexCodes[v1 >> 12];
    t[21] = hexCodes[(v1 >> 8) & 15];
    t[22] = hexCodes[(v1 >> 4) & 15];
    t[24] = hexCodes[v1 & 15];
    t[25] = hexCodes[v2 >> 12];
    t[26] = hexCodes[(v2 >> 8) & 15];
    t[27] = hexCodes[(v2 >> 4) & 15];
    t[28] = hexCodes[v2 & 15];
    t[29] = hexCodes[v3 >> 12];
    t[30] = hexCodes[(v3 >> 8) & 15];
    t[31] = hexCodes[(v3 >> 4) & 15];
    t[32] = hexCodes[v3 & 15];
    t[33] = hexCodes[v4 >> 12];
    t[34] = hexCodes[(v4 >> 8) & 15];
    t[35] = hexCodes[(v4 >> 4) & 15];
    return t.toString('latin1', 0, 36);
  }
}

// addDays through day numbers kept in tables: the seed adds days millions of times, and a Date and an
// ISO string per call were its largest cost after the inserts. Same results as time.ts's addDays.
const DAY_MS = 86_400_000;
const dayNumbers = new Map<string, number>();
const dateTexts: string[] = [];
function dayOf(date: string): number {
  let d = dayNumbers.get(date);
  if (d === undefined) {
    d = Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
    if (Number.isNaN(d)) return d;
    if (dayNumbers.size > 200_000) dayNumbers.clear();
    dayNumbers.set(date, d);
  }
  return d;
}
/** Day 0 of the table is 1800-01-01 (−62,091), the last 2200-12-31: every date the seed makes. */
const TABLE_FIRST_DAY = -62_091;
const TABLE_DAYS = 146_827;
function dateOfDay(day: number): string {
  const i = day - TABLE_FIRST_DAY;
  if (i < 0 || i >= TABLE_DAYS) return new Date(day * DAY_MS).toISOString().slice(0, 10);
  let s = dateTexts[i];
  if (s === undefined) s = dateTexts[i] = new Date(day * DAY_MS).toISOString().slice(0, 10);
  return s;
}
function addDays(date: string, days: number): string {
  const d = dayOf(date);
  return Number.isNaN(d) ? addDaysSlow(date, days) : dateOfDay(d + days);
}
const later = (a: string, b: string) => (a < b ? b : a);

/** Cumulative weights for picking a prefecture in proportion to its population. */
const prefectureCumulative = (() => {
  const total = prefecturePopulation.reduce((a, b) => a + b, 0);
  let acc = 0;
  return prefecturePopulation.map((p) => (acc += p / total));
})();
const prefectureCodes = Array.from({ length: 47 }, (_, i) => String(i + 1).padStart(2, '0'));

function pickPrefecture(r: Random): string {
  const x = r.next();
  let i = prefectureCumulative.findIndex((c) => x < c);
  if (i < 0) i = 46;
  return prefectureCodes[i];
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

interface Home {
  address: string;
  postalCode: string;
}

export const personColumns = ['id', 'link_key', 'created_at'] as const;
export const membershipColumns = ['id', 'person_id', 'insurer_number', 'symbol', 'number', 'branch', 'relationship', 'qualified_from', 'lost_on', 'loss_reason', 'loss_recorded_at', 'loss_recorded_by', 'created_at'] as const;
export const periodColumns = ['id', 'membership_id', 'valid_from', 'valid_until', 'name', 'name_kana', 'birth_date', 'sex', 'address', 'postal_code', 'copay_rate', 'limit_category', 'paper_card_issued_on', 'paper_card_expires_on', 'recorded_at', 'recorded_by'] as const;

/** People of one batch: each table's rows one after another as flat values, in the column orders above. */
export interface PeopleBatch {
  people: number;
  persons: unknown[];
  memberships: unknown[];
  periods: unknown[];
}

export interface InsurerSeedRow {
  insurerNumber: string;
  name: string;
  kind: InsurerKind;
}

export interface FacilitySeedRow {
  code: string;
  name: string;
  type: FacilityType;
  prefecture: string;
}

const facilityTypeShares: [FacilityType, number][] = [
  ['hospital', 0.04],
  ['clinic', 0.48],
  ['dental_clinic', 0.26],
  ['pharmacy', 0.22],
];
const claimMonths = ['2023-10', '2023-11', '2023-12', '2024-01', '2024-02', '2024-03', '2024-04', '2024-05', '2024-06', '2024-07', '2024-08'];

/**
 * The population of one seed, made in order: insurers (at once), facilities (nextFacilities until
 * undefined), then people (nextPeople until undefined). The order is part of the determinism: the
 * calls share one random stream.
 */
export class PopulationGenerator {
  readonly insurers: InsurerSeedRow[];
  private readonly r: Random;
  private readonly byPrefecture: Map<string, PrefectureInsurers>;
  private readonly sampleMap = new Map<string, SeedSample>();
  private facilitiesMade = 0;
  private readonly facilitySerial = new Map<string, number>();
  private made = 0;
  private readonly birthYearsBack: string[] = [];
  private readonly copayRates = new Map<string, number>();
  // The batch being filled.
  private persons: unknown[] = [];
  private memberships: unknown[] = [];
  private periods: unknown[] = [];
  private lastPaperCardExpiresOn: string | null = null;

  constructor(
    private readonly options: { people: number; facilities: number; seed: string | number; asOf: string },
  ) {
    this.r = new Random(options.seed);
    const { all, byPrefecture } = buildInsurers(this.r);
    this.byPrefecture = byPrefecture;
    this.insurers = all.map((i) => ({ insurerNumber: i.insurerNumber, name: i.name, kind: i.kind }));
  }

  get samples(): SeedSample[] {
    return [...this.sampleMap.values()];
  }

  get peopleMade(): number {
    return this.made;
  }

  get facilitiesTotal(): number {
    return this.options.facilities;
  }

  /** Up to 10,000 facilities with valid codes, spread by population, with claims counts from 2023-10 to 2024-08. */
  nextFacilities(): { rows: FacilitySeedRow[]; claims: { facilityCode: string; month: string; claims: number }[] } | undefined {
    const n = this.options.facilities;
    const start = this.facilitiesMade;
    if (start >= n) return undefined;
    const r = this.r;
    const rows: FacilitySeedRow[] = [];
    const claims: { facilityCode: string; month: string; claims: number }[] = [];
    for (let i = start; i < Math.min(n, start + 10_000); i++) {
      const p = pickPrefecture(r);
      const x = r.next();
      let acc = 0;
      const type = facilityTypeShares.find(([, s]) => x < (acc += s))?.[0] ?? 'pharmacy';
      const key = `${p}${type === 'hospital' || type === 'clinic' ? '1' : type === 'dental_clinic' ? '3' : '4'}`;
      const next = (this.facilitySerial.get(key) ?? 0) + 1;
      this.facilitySerial.set(key, next);
      // 郡市区番号 (2 digits) + 医療機関等番号 (4 digits): enough room for 990,000 per prefecture and table.
      const six = String(100_000 + next).slice(-6);
      const code = makeFacilityCode(p, type, six);
      const city = r.pick(citiesOf[p]);
      rows.push({ code, name: `${r.chance(0.5) ? r.pick(familyNames)[0] : city.replace(/[市区町村]$/, '')}${r.pick(facilityNameParts[type])}`, type, prefecture: p });
      const base = type === 'hospital' ? r.int(1200, 9000) : type === 'pharmacy' ? r.int(300, 3000) : type === 'dental_clinic' ? r.int(60, 900) : r.int(80, 2200);
      for (const month of claimMonths) claims.push({ facilityCode: code, month, claims: Math.max(0, Math.round(base * (0.9 + r.next() * 0.2))) });
    }
    this.facilitiesMade = start + rows.length;
    return { rows, claims };
  }

  /** The next households, until at least `batchSize` people (or all that remain); undefined when all are made. */
  nextPeople(batchSize: number): PeopleBatch | undefined {
    if (this.made >= this.options.people) return undefined;
    // Call only after the facilities: they come first in the random stream.
    while (this.facilitiesMade < this.options.facilities) this.nextFacilities();
    const before = this.made;
    while (this.made < this.options.people && this.made - before < batchSize) this.household();
    const batch = { people: this.made - before, persons: this.persons, memberships: this.memberships, periods: this.periods };
    this.persons = [];
    this.memberships = [];
    this.periods = [];
    return batch;
  }

  private sample(label: string, insurerNumber: string, symbol: string, number: string, branch: string, birthDate: string, expected: SeedSample['expected'], reason?: string): void {
    if (!this.sampleMap.has(label)) this.sampleMap.set(label, { label, insurerNumber, symbol, number, branch, birthDate, expected, ...(reason ? { reason } : {}) });
  }

  private newPerson(sex: 'male' | 'female', birthDate: string, family: readonly [string, string]): Person {
    const r = this.r;
    const given = r.pick(sex === 'male' ? maleGivenNames : femaleGivenNames);
    const p = { id: r.uuid(), sex, birthDate, name: `${family[0]}　${given[0]}`, nameKana: `${family[1]}　${given[1]}` };
    this.persons.push(p.id, null, `${this.options.asOf}T00:00:00.000Z`);
    return p;
  }

  private birthDateForAge(age: number): string {
    let back = this.birthYearsBack[age];
    if (back === undefined) back = this.birthYearsBack[age] = addYears(this.options.asOf, -age);
    return addDays(back, -this.r.int(1, 364));
  }

  private dateBetween(from: string, to: string): string {
    const span = Math.max(0, dayOf(to) - dayOf(from));
    return addDays(from, this.r.int(0, span));
  }

  private address(p: string): Home {
    const r = this.r;
    const city = r.pick(citiesOf[p]);
    return { address: `${prefectures[Number(p) - 1]}${city}${r.pick(townParts)}${r.int(1, 9)}丁目${r.int(1, 30)}番${r.int(1, 20)}号`, postalCode: `${r.int(100, 999)}-${String(r.int(0, 9999)).padStart(4, '0')}` };
  }

  private copayRate(birthDate: string, kind: InsurerKind): number {
    if (kind === 'koki_korei') return defaultCopayRate(birthDate, this.options.asOf, kind);
    let rate = this.copayRates.get(birthDate);
    if (rate === undefined) {
      rate = defaultCopayRate(birthDate, this.options.asOf, kind);
      this.copayRates.set(birthDate, rate);
    }
    return rate;
  }

  private period(membershipId: string, validFrom: string, validUntil: string | null, person: Person, place: Home, copayRate: number, limitCategory: string | null, issuedOn: string | null, expiresOn: string | null): void {
    this.periods.push(this.r.uuid(), membershipId, validFrom, validUntil, person.name, person.nameKana, person.birthDate, person.sex, place.address, place.postalCode, copayRate, limitCategory, issuedOn, expiresOn, `${validFrom}T00:00:00.000Z`, 'seed');
  }

  /** Adds one membership with its periods; answers its 資格喪失日 (null while current). */
  private addMembership(
    insurer: SeedInsurer,
    symbol: string,
    number: string,
    branch: string,
    person: Person,
    relationship: 'self' | 'family',
    qualifiedFrom: string,
    home: Home,
    prefecture: string,
    opts: { lostOn?: string; lossReason?: string; addressChangeOn?: string } = {},
  ): string | null {
    const r = this.r;
    const asOf = this.options.asOf;
    const id = r.uuid();
    const lostOn = opts.lostOn ?? null;
    this.memberships.push(id, person.id, insurer.insurerNumber, symbol, number, branch, relationship, qualifiedFrom, lostOn, opts.lossReason ?? null, lostOn ? `${lostOn}T00:00:00.000Z` : null, lostOn ? 'seed' : null, `${qualifiedFrom}T00:00:00.000Z`);
    // Paper cards: none issued from 2024-12-02. Municipal NHI and 後期高齢 cards carry an expiry; some have passed.
    const paperCardIssuedOn = qualifiedFrom < '2024-12-02' ? qualifiedFrom : null;
    let paperCardExpiresOn: string | null = null;
    if (paperCardIssuedOn && (insurer.kind === 'kokuho' || insurer.kind === 'koki_korei')) {
      paperCardExpiresOn = r.chance(0.12) ? addDays(asOf, -r.int(1, 300)) : addDays(asOf, r.int(30, 400));
      if (paperCardExpiresOn < paperCardIssuedOn) paperCardExpiresOn = addYears(paperCardIssuedOn, 1);
    }
    this.lastPaperCardExpiresOn = paperCardExpiresOn;
    const copayRate = this.copayRate(person.birthDate, insurer.kind);
    const limitCategory = r.chance(0.08) ? r.pick(insurer.kind === 'koki_korei' ? kokiLimitCategories : workingAgeLimitCategories) : null;
    const end = lostOn;
    const changeOn = opts.addressChangeOn && opts.addressChangeOn > qualifiedFrom && (end === null || opts.addressChangeOn < end) ? opts.addressChangeOn : undefined;
    if (changeOn) {
      this.period(id, qualifiedFrom, changeOn, person, this.address(prefecture), copayRate, limitCategory, paperCardIssuedOn, paperCardExpiresOn);
      this.period(id, changeOn, end, person, home, copayRate, limitCategory, paperCardIssuedOn, paperCardExpiresOn);
    } else {
      this.period(id, qualifiedFrom, end, person, home, copayRate, limitCategory, paperCardIssuedOn, paperCardExpiresOn);
    }
    return lostOn;
  }

  private nextNumber(insurer: SeedInsurer): string {
    return String(insurer.nextNumber++).padStart(insurer.numberWidth, '0');
  }

  private lossFor(): { lostOn?: string; lossReason?: string } {
    const r = this.r;
    return r.chance(0.02) ? { lostOn: addDays(this.options.asOf, -r.int(1, 700)), lossReason: r.chance(0.3) ? 'death' : 'other' } : {};
  }

  private addressChange(): { addressChangeOn?: string } {
    return this.r.chance(0.05) ? { addressChangeOn: addDays(this.options.asOf, -this.r.int(1, 900)) } : {};
  }

  /** 後期高齢者医療: everyone 75+ has their own number (no dependants), from the 75th birthday. */
  private koki(ins: PrefectureInsurers, person: Person, home: Home, p: string): void {
    const from = later(addYears(person.birthDate, 75), '2008-04-01');
    const number = this.nextNumber(ins.koki);
    const lostOn = this.addMembership(ins.koki, '', number, '00', person, 'self', from, home, p, { ...this.lossFor(), ...this.addressChange() });
    this.sample(lostOn ? 'koki_korei, eligibility lost' : 'koki_korei (後期高齢者), valid', ins.koki.insurerNumber, '', number, '00', person.birthDate, lostOn ? 'invalid' : 'valid', lostOn ? 'eligibility_lost' : undefined);
  }

  /** One household: a head, perhaps a spouse and children, and their memberships. */
  private household(): void {
    const r = this.r;
    const asOf = this.options.asOf;
    const people = this.options.people;
    const p = pickPrefecture(r);
    const ins = this.byPrefecture.get(p)!;
    const family = r.pick(familyNames);
    const home = this.address(p);
    const headAge = r.chance(0.2) ? r.int(75, 99) : r.int(19, 74);
    const headSex = r.chance(0.7) ? 'male' : 'female';
    const head = this.newPerson(headSex, this.birthDateForAge(headAge), family);
    this.made++;
    const spouse = headAge >= 24 && r.chance(0.6) && this.made < people ? this.newPerson(headSex === 'male' ? 'female' : 'male', this.birthDateForAge(Math.max(19, headAge + r.int(-4, 4))), family) : undefined;
    if (spouse) this.made++;
    const children: Person[] = [];
    if (headAge >= 25 && headAge <= 58 && r.chance(0.55)) {
      const n = r.int(1, 3);
      const twins = n >= 2 && r.chance(0.05);
      for (let c = 0; c < n && this.made < people; c++) {
        const birth = twins && c === 1 ? children[0].birthDate : this.birthDateForAge(r.int(0, Math.min(22, headAge - 23)));
        children.push(this.newPerson(r.chance(0.5) ? 'male' : 'female', birth, family));
        this.made++;
      }
    }

    if (headAge >= 75) {
      this.koki(ins, head, home, p);
      if (spouse) {
        if (ageOn(spouse.birthDate, asOf) >= 75) this.koki(ins, spouse, home, p);
        else {
          const kokuho = r.pick(ins.kokuho);
          const symbol = r.pick(kokuho.symbols);
          this.addMembership(kokuho, symbol, this.nextNumber(kokuho), '00', spouse, 'self', this.dateBetween(addYears(asOf, -10), addDays(asOf, -1)), home, p);
        }
      }
      return;
    }

    const retired = headAge >= 65 && r.chance(0.7);
    const x = r.next();
    const insurer = retired || x < 0.17 ? r.pick(ins.kokuho) : x < 0.6 ? ins.kyokai : x < 0.9 ? r.pick(ins.kumiai) : r.pick(ins.kyosai);
    const symbol = r.pick(insurer.symbols);
    const number = this.nextNumber(insurer);
    const earliest = addYears(head.birthDate, 18);
    const notYet = r.chance(0.01);
    const qualifiedFrom = notYet ? addDays(asOf, r.int(1, 60)) : this.dateBetween(later(earliest, addYears(asOf, -25)), addDays(asOf, -1));
    const headLoss = this.lossFor();

    // Job change: the head held an earlier membership elsewhere, lost when this one began.
    if (!notYet && insurer.kind !== 'kokuho' && r.chance(0.04) && qualifiedFrom > addDays(earliest, 400)) {
      const previous = insurer === ins.kyokai ? r.pick(ins.kumiai) : ins.kyokai;
      const prevFrom = this.dateBetween(earliest, addDays(qualifiedFrom, -365));
      const prevSymbol = r.pick(previous.symbols);
      const prevNumber = this.nextNumber(previous);
      this.addMembership(previous, prevSymbol, prevNumber, '00', head, 'self', prevFrom, home, p, { lostOn: qualifiedFrom, lossReason: 'other_insurance' });
      if (qualifiedFrom <= asOf && !headLoss.lostOn) this.sample('old card after a job change (無効・新しい資格あり)', previous.insurerNumber, prevSymbol, prevNumber, '00', head.birthDate, 'invalid', 'eligibility_lost');
    }

    this.addMembership(insurer, symbol, number, '00', head, 'self', qualifiedFrom, home, p, { ...headLoss, ...this.addressChange() });
    const card = (label: string, expected: SeedSample['expected'], reason?: string) => this.sample(label, insurer.insurerNumber, symbol, number, '00', head.birthDate, expected, reason);
    if (notYet) card('qualification starts later (資格取得日前)', 'invalid', 'not_yet_started');
    else if (headLoss.lostOn) card('eligibility lost (資格喪失)', 'invalid', 'eligibility_lost');
    else if (insurer.kind === 'kokuho') {
      const expired = this.lastPaperCardExpiresOn;
      if (expired && expired < asOf) card('expired paper card (有効期限切れ)', 'invalid', 'paper_card_expired');
      else card('municipal NHI, 6-digit insurer (国保), valid', 'valid');
    } else card(`${insurer.kind}, insured person (本人), valid`, 'valid');

    // Dependants share symbol and number with their own branch (国保: every member is insured, relationship self).
    let branch = 1;
    const relationship = insurer.kind === 'kokuho' ? 'self' : 'family';
    const dependants = spouse ? [spouse, ...children] : children;
    for (const d of dependants) {
      if (ageOn(d.birthDate, asOf) >= 75) {
        this.koki(ins, d, home, p);
        continue;
      }
      const from = later(qualifiedFrom, d.birthDate);
      const branchText = String(branch++).padStart(2, '0');
      this.addMembership(insurer, symbol, number, branchText, d, relationship, from, home, p, headLoss.lostOn ? { lostOn: headLoss.lostOn, lossReason: 'other' } : {});
      if (!notYet && !headLoss.lostOn && relationship === 'family') this.sample('dependant (家族), valid', insurer.insurerNumber, symbol, number, branchText, d.birthDate, 'valid');
    }
    if (children.length >= 2 && children[0].birthDate === children[1].birthDate && !notYet && !headLoss.lostOn) {
      this.sample('twins without branch number (複数該当)', insurer.insurerNumber, symbol, number, '', children[0].birthDate, 'invalid', 'several_match');
    }
  }
}
