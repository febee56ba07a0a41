// Synthetic clinical information for a seeded population (onshi seed, the demo): medication history
// "derived from claims" and specific health check-ups (特定健診), deterministic for a given seed and
// population, plausible in shape.
//
// Medication: a chronic patient (a share that grows with age and with a latent metabolic risk) gets
// 1–3 drugs of distinct classes (antihypertensives, diabetes, lipids, acid, sleep, bladder, bones, …),
// dispensed together every 4 or 8 weeks (or 30/60/84 days) at one regular pharmacy (院外処方) or
// clinic (院内処方) of the person's prefecture; anyone may have a few acute episodes (pain, cold,
// infection, allergy, skin). Records span the last 4 years, so the 3-year viewing window cuts them.
// A record exists only on days the person was insured (claims come from an insurer).
//
// Check-ups: only at ages 40–74 on the exam day and only under an insurer other than 後期高齢者医療
// (特定健診 is the 医療保険者' duty for 40–74); regular attenders come most years, others now and
// then, over the last 6 years (so the 5-year window cuts them). Values follow age, sex and the
// person's metabolic risk, and drugs in force change them (a treated diabetic's HbA1c, a treated
// hypertensive's blood pressure). The judgement is the 階層化 of 特定保健指導 (stratify below).
//
// Cost: a covered person writes ~19 medication rows and ~1 check-up on average (realistic: most
// people over 50 collect a prescription every month or two), and writing them dominates (SQLite:
// ~130,000 rows/s). Covering everyone made `onshi seed --people 100000` take 19 s instead of 4 s, so
// the CLI covers a deterministic share of people (DEFAULT_CLINICAL_SHARE = 5 %, about +25 % seed
// time; --clinical-share to change it, --no-clinical to skip); the demo and the tests cover everyone
// (share 1). The share is drawn from its own stream, one draw per person in id order: a larger share
// covers the same people and more, and each person's history is drawn from a stream of its own.

import type { Kysely } from 'kysely';
import type { Database } from '../platform/db.ts';
import { insertMany } from '../platform/db.ts';
import { formatUuidV7 } from '../platform/ids.ts';
import { OnshiError } from '../platform/errors.ts';
import { addYears, todayJst } from '../platform/time.ts';
import { ageOn, prefectures } from '../registry/rules.ts';
import { SeededRandom, prng } from '../registry/seed-generator.ts';
import { checkupNumericItems, type CheckupItems, type checkupJudgements } from './rules.ts';
import type { CheckupsTable, MedicationsTable } from './tables.ts';

/** Share of people the CLI gives clinical history by default (see the cost note above). */
export const DEFAULT_CLINICAL_SHARE = 0.05;
/** Medication records reach this many years back (the viewing window is 3). */
export const MEDICATION_SEED_YEARS = 4;
/** Check-ups reach this many years back (the viewing window is 5). */
export const CHECKUP_SEED_YEARS = 6;

export interface ClinicalSeedOptions {
  seed: string | number;
  /** The date the data is "as of" (default: today in JST); nothing is dated after it. */
  asOf?: string;
  /** Share (0–1] of people given clinical history, chosen deterministically; default 1. */
  share?: number;
  /** People read and written per transaction. */
  pageSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ClinicalSample {
  personId: string;
  insurerNumber: string;
  symbol: string;
  number: string;
  branch: string;
  birthDate: string;
  medications: number;
  checkups: number;
}

export interface ClinicalSeedSummary {
  people: number;
  covered: number;
  medications: number;
  checkups: number;
  seconds: number;
  asOf: string;
  /** A person insured today with medication in the 3-year window and check-ups in the 5-year one. */
  sample: ClinicalSample | null;
}

type Judgement = (typeof checkupJudgements)[number];
type Sex = 'male' | 'female';

// --- Drugs ----------------------------------------------------------------------------------------

export interface SeedDrug {
  /** 薬価基準収載医薬品コード (YJ), 12 characters. */
  code: string;
  name: string;
  unit: string;
  /** Units a day (weekly drugs: a week). */
  perDay: number;
  /** Taken once a week: quantity and days count the doses. */
  weekly?: boolean;
  /** Topical: quantity per prescription, no days. */
  topical?: number;
  /** 投与日数制限 (e.g. 30 days for 向精神薬). */
  maxDays?: number;
}

const d = (code: string, name: string, unit: string, perDay: number, extra: Partial<SeedDrug> = {}): SeedDrug => ({ code, name, unit, perDay, ...extra });

interface Profile {
  age: number;
  sex: Sex;
  /** Latent metabolic risk, standard normal. */
  met: number;
}

/** Classes of long-term drugs: one drug of a class per patient; weight by age, sex and risk. */
interface ChronicClass {
  cls: string;
  /** Counts as 服薬中 for 特定保健指導 (blood pressure, glucose, lipids). */
  treats?: 'bp' | 'glucose' | 'lipids';
  drugs: readonly SeedDrug[];
  weight: (p: Profile) => number;
}

const over = (age: number, from: number, per: number) => Math.max(0, (age - from) / per);

export const chronicClasses: readonly ChronicClass[] = [
  {
    cls: 'arb',
    treats: 'bp',
    drugs: [d('2149044F2026', 'オルメサルタン錠20mg', '錠', 1), d('2149042F2024', 'テルミサルタン錠40mg', '錠', 1), d('2149040F3023', 'カンデサルタン錠8mg', '錠', 1), d('2149048F2023', 'アジルサルタン錠20mg', '錠', 1)],
    weight: (p) => (p.age < 35 ? 0.1 : 0.6 + over(p.age, 40, 12)) * Math.exp(0.5 * p.met),
  },
  {
    cls: 'ccb',
    treats: 'bp',
    drugs: [d('2171022F2020', 'アムロジピン錠5mg', '錠', 1), d('2171022F1024', 'アムロジピン錠2.5mg', '錠', 1), d('2171021F2020', 'ニフェジピンCR錠20mg', '錠', 1)],
    weight: (p) => (p.age < 35 ? 0.1 : 0.5 + over(p.age, 40, 12)) * Math.exp(0.5 * p.met),
  },
  { cls: 'beta', treats: 'bp', drugs: [d('2123016F2029', 'ビソプロロールフマル酸塩錠2.5mg', '錠', 1)], weight: (p) => 0.1 + over(p.age, 55, 40) },
  { cls: 'biguanide', treats: 'glucose', drugs: [d('3962002F1046', 'メトホルミン塩酸塩錠250mgMT', '錠', 4)], weight: (p) => (p.age < 30 ? 0.02 : 0.25 + over(p.age, 40, 60)) * Math.exp(0.8 * p.met) },
  {
    cls: 'dpp4',
    treats: 'glucose',
    drugs: [d('3969010F1025', 'シタグリプチン錠50mg', '錠', 1), d('3969019F1023', 'テネリグリプチン錠20mg', '錠', 1), d('3969017F1024', 'リナグリプチン錠5mg', '錠', 1)],
    weight: (p) => (p.age < 30 ? 0.02 : 0.3 + over(p.age, 40, 40)) * Math.exp(0.8 * p.met),
  },
  { cls: 'sglt2', treats: 'glucose', drugs: [d('3969023F1027', 'エンパグリフロジン錠10mg', '錠', 1), d('3969022F1022', 'ダパグリフロジン錠5mg', '錠', 1)], weight: (p) => (p.age < 30 ? 0.02 : 0.15 + over(p.age, 40, 80)) * Math.exp(0.8 * p.met) },
  { cls: 'sulfonylurea', treats: 'glucose', drugs: [d('3961008F2020', 'グリメピリド錠1mg', '錠', 1)], weight: (p) => (p.age < 50 ? 0.02 : 0.08) * Math.exp(0.8 * p.met) },
  {
    cls: 'statin',
    treats: 'lipids',
    drugs: [d('2189017F1025', 'ロスバスタチン錠2.5mg', '錠', 1), d('2189015F2022', 'アトルバスタチン錠10mg', '錠', 1), d('2189016F2027', 'ピタバスタチンCa錠2mg', '錠', 1), d('2189011F1029', 'プラバスタチンNa錠10mg', '錠', 1)],
    weight: (p) => (p.age < 35 ? 0.1 : 0.6 + over(p.age, 40, 25)) * (p.sex === 'female' && p.age >= 55 ? 1.4 : 1) * Math.exp(0.4 * p.met),
  },
  { cls: 'ezetimibe', treats: 'lipids', drugs: [d('2189018F1021', 'エゼチミブ錠10mg', '錠', 1)], weight: (p) => (p.age < 40 ? 0.02 : 0.12) * Math.exp(0.4 * p.met) },
  { cls: 'urate', drugs: [d('3949003F2022', 'フェブキソスタット錠20mg', '錠', 1), d('3943001F1020', 'アロプリノール錠100mg', '錠', 2)], weight: (p) => (p.sex === 'male' ? 0.35 : 0.03) * (p.age < 30 ? 0.2 : 1) * Math.exp(0.4 * p.met) },
  {
    cls: 'acid',
    drugs: [d('2329023F2020', 'ランソプラゾールOD錠15mg', '錠', 1), d('2329029M2020', 'エソメプラゾールカプセル20mg', 'カプセル', 1), d('2329028F1020', 'ラベプラゾールNa錠10mg', '錠', 1), d('2325003F2020', 'ファモチジン錠20mg', '錠', 2)],
    weight: (p) => 0.25 + over(p.age, 40, 30),
  },
  { cls: 'mucosal', drugs: [d('2329021F1021', 'レバミピド錠100mg', '錠', 3)], weight: (p) => 0.05 + over(p.age, 60, 100) },
  { cls: 'laxative', drugs: [d('2344009F1020', '酸化マグネシウム錠330mg', '錠', 3), d('2354003F2020', 'センノシド錠12mg', '錠', 2)], weight: (p) => (p.age < 60 ? 0.05 : 0.2 + over(p.age, 70, 10)) * (p.sex === 'female' ? 1.3 : 1) },
  {
    cls: 'osteoporosis',
    drugs: [d('3999018F2020', 'アレンドロン酸錠35mg', '錠', 1, { weekly: true }), d('3112004M1020', 'エルデカルシトールカプセル0.75μg', 'カプセル', 1)],
    weight: (p) => (p.sex === 'female' ? (p.age < 55 ? 0.02 : 0.3 + over(p.age, 60, 10)) : p.age < 70 ? 0 : 0.08),
  },
  { cls: 'prostate', drugs: [d('2590008F2020', 'タムスロシン塩酸塩OD錠0.2mg', '錠', 1), d('2590010F2022', 'シロドシンOD錠4mg', '錠', 2)], weight: (p) => (p.sex === 'male' && p.age >= 55 ? 0.2 + over(p.age, 60, 12) : 0) },
  { cls: 'bladder', drugs: [d('2590013F2020', 'ミラベグロン錠50mg', '錠', 1)], weight: (p) => (p.age < 60 ? 0.01 : 0.12 + over(p.age, 70, 40)) },
  { cls: 'hypnotic', drugs: [d('1129009F1020', 'ゾルピデム酒石酸塩錠5mg', '錠', 1, { maxDays: 30 }), d('1124009F1020', 'ブロチゾラム錠0.25mg', '錠', 1, { maxDays: 30 })], weight: (p) => 0.12 + over(p.age, 50, 60) },
  { cls: 'anxiolytic', drugs: [d('1179025F1020', 'エチゾラム錠0.5mg', '錠', 2, { maxDays: 30 })], weight: (p) => 0.06 + (p.sex === 'female' ? 0.04 : 0) },
  { cls: 'leukotriene', drugs: [d('4490026F2020', 'モンテルカスト錠10mg', '錠', 1)], weight: (p) => (p.age < 15 ? 0.4 : 0.12) },
  { cls: 'antihistamine', drugs: [d('4490023F1020', 'フェキソフェナジン塩酸塩錠60mg', '錠', 2), d('4490027F1020', 'ビラスチン錠20mg', '錠', 1)], weight: (p) => (p.age < 60 ? 0.18 : 0.06) },
  { cls: 'thyroid', drugs: [d('2431004F1020', 'レボチロキシンNa錠50μg', '錠', 1)], weight: (p) => (p.sex === 'female' ? 0.12 : 0.02) * (p.age < 30 ? 0.3 : 1) },
  { cls: 'antiplatelet', drugs: [d('3399008F1020', 'クロピドグレル錠75mg', '錠', 1), d('3399007H1021', 'アスピリン腸溶錠100mg', '錠', 1)], weight: (p) => (p.age < 50 ? 0.01 : 0.08 + over(p.age, 60, 40)) * Math.exp(0.3 * p.met) },
  { cls: 'anticoagulant', drugs: [d('3339004F1020', 'アピキサバン錠2.5mg', '錠', 2), d('3332001F1020', 'ワルファリンK錠1mg', '錠', 3)], weight: (p) => (p.age < 60 ? 0.005 : 0.04 + over(p.age, 70, 40)) },
  { cls: 'diuretic', drugs: [d('2139005F1020', 'フロセミド錠20mg', '錠', 1)], weight: (p) => (p.age < 65 ? 0.01 : 0.04 + over(p.age, 75, 50)) },
  { cls: 'dementia', drugs: [d('1190012F2020', 'ドネペジル塩酸塩OD錠5mg', '錠', 1)], weight: (p) => (p.age < 75 ? 0 : 0.05 + over(p.age, 80, 20)) },
];

/** Short courses: a few drugs dispensed once, for a few days. */
export const acuteEpisodes: readonly { drugs: readonly (SeedDrug & { days: readonly [number, number] })[]; weight: number }[] = [
  { weight: 3, drugs: [{ ...d('1149019F1560', 'ロキソプロフェンNa錠60mg', '錠', 3), days: [3, 7] }, { ...d('2329021F1021', 'レバミピド錠100mg', '錠', 3), days: [3, 7] }] },
  { weight: 1.5, drugs: [{ ...d('2649729S2020', 'ロキソプロフェンNaテープ100mg', '枚', 0, { topical: 21 }), days: [1, 1] }] },
  { weight: 1, drugs: [{ ...d('2649734S1025', 'ケトプロフェンテープ40mg', '枚', 0, { topical: 28 }), days: [1, 1] }] },
  {
    weight: 4,
    drugs: [
      { ...d('1141007F1063', 'アセトアミノフェン錠200mg', '錠', 6), days: [3, 5] },
      { ...d('2233002F2020', 'カルボシステイン錠500mg', '錠', 3), days: [5, 7] },
      { ...d('2223001F1020', 'デキストロメトルファン臭化水素酸塩錠15mg', '錠', 6), days: [5, 7] },
    ],
  },
  { weight: 1.5, drugs: [{ ...d('6131001M2020', 'アモキシシリンカプセル250mg', 'カプセル', 3), days: [5, 7] }, { ...d('2316004B1036', 'ビフィズス菌製剤錠', '錠', 3), days: [5, 7] }] },
  { weight: 1, drugs: [{ ...d('6149003F2020', 'クラリスロマイシン錠200mg', '錠', 2), days: [7, 7] }] },
  { weight: 1, drugs: [{ ...d('6241013F1020', 'レボフロキサシン錠500mg', '錠', 1), days: [5, 7] }] },
  { weight: 2, drugs: [{ ...d('4490023F1020', 'フェキソフェナジン塩酸塩錠60mg', '錠', 2), days: [14, 28] }, { ...d('1319744Q1020', 'オロパタジン点眼液0.1%', 'mL', 0, { topical: 5 }), days: [1, 1] }] },
  { weight: 1.5, drugs: [{ ...d('3339950M1020', 'ヘパリン類似物質油性クリーム0.3%', 'g', 0, { topical: 50 }), days: [1, 1] }] },
  { weight: 1, drugs: [{ ...d('2646724M1020', 'ベタメタゾン吉草酸エステル軟膏0.12%', 'g', 0, { topical: 10 }), days: [1, 1] }] },
  { weight: 0.8, drugs: [{ ...d('6250021F1020', 'バラシクロビル錠500mg', '錠', 6), days: [5, 7] }] },
];

const acuteTotalWeight = acuteEpisodes.reduce((a, e) => a + e.weight, 0);

// --- Check-up judgement -----------------------------------------------------------------------------

/**
 * 特定保健指導の階層化: step 1 by waist (≥ 85 cm men, ≥ 90 cm women) or else BMI ≥ 25; step 2 counts
 * risks — glucose (HbA1c ≥ 5.6 %), lipids (TG ≥ 150 or HDL < 40 mg/dL), blood pressure (≥ 130 or
 * ≥ 85 mmHg); step 3: waist + 2 risks, or BMI + 3 risks → 積極的支援; fewer but at least one →
 * 動機付け支援; at 65–74 積極的 becomes 動機付け. Someone on drugs for blood pressure, glucose or lipids
 * is outside 保健指導 (情報提供). Smoking, a risk only in addition to another, is not measured here.
 */
export function stratify(items: Pick<CheckupItems, 'waist' | 'bmi' | 'hba1c' | 'tg' | 'hdl' | 'systolicBp' | 'diastolicBp'>, sex: Sex, age: number, treated: boolean): Judgement {
  if (treated) return 'information';
  const waistOver = (items.waist ?? 0) >= (sex === 'male' ? 85 : 90);
  const bmiOver = (items.bmi ?? 0) >= 25;
  if (!waistOver && !bmiOver) return 'information';
  let risks = 0;
  if ((items.hba1c ?? 0) >= 5.6) risks++;
  if ((items.tg ?? 0) >= 150 || (items.hdl ?? Infinity) < 40) risks++;
  if ((items.systolicBp ?? 0) >= 130 || (items.diastolicBp ?? 0) >= 85) risks++;
  if (risks === 0) return 'information';
  const active = waistOver ? risks >= 2 : risks >= 3;
  return active && age < 65 ? 'active_support' : 'motivational_support';
}

// --- Generator ------------------------------------------------------------------------------------

const CLINICAL_EPOCH_MS = Date.UTC(2021, 0, 1);
const DAY_MS = 86_400_000;

class Random extends SeededRandom {
  private spare: number | undefined;
  /** `ids` is shared by every stream of one run, so that ids never repeat. */
  constructor(
    seed: string | number,
    private readonly ids: { n: number },
  ) {
    super(seed);
  }
  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.next();
    const v = this.next();
    const m = Math.sqrt(-2 * Math.log(u));
    this.spare = m * Math.sin(2 * Math.PI * v);
    return m * Math.cos(2 * Math.PI * v);
  }
  private readonly bytes = new Uint8Array(10);
  uuid(): string {
    for (let i = 0; i < 10; i += 2) {
      const v = Math.floor(this.next() * 65536);
      this.bytes[i] = v >> 8;
      this.bytes[i + 1] = v & 0xff;
    }
    return formatUuidV7(CLINICAL_EPOCH_MS + this.ids.n++, this.bytes);
  }
}

interface Coverage {
  from: number;
  /** Exclusive; Infinity while in force. */
  to: number;
  insurerNumber: string;
  kind: string;
  symbol: string;
  number: string;
  branch: string;
  paperCardExpiresOn: string | null;
}

interface SeedPerson {
  id: string;
  birthDate: string;
  sex: Sex;
  prefecture: string | undefined;
  coverage: Coverage[];
}

interface Regimen {
  drugs: SeedDrug[];
  treats: Set<string>;
  /** Day indices: started, stopped (exclusive; Infinity if still taken). */
  start: number;
  stop: number;
  interval: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
function clampItem(key: keyof typeof checkupNumericItems, x: number, decimals: 0 | 1): number {
  const [min, max] = checkupNumericItems[key];
  const v = Math.min(max, Math.max(min, x));
  return decimals === 1 ? round1(v) : Math.round(v);
}

const intervals = [28, 28, 28, 30, 56, 56, 60, 84] as const;

/** People's memberships with their periods and insurer kind, in a stable order. */
function membershipsQuery(db: Kysely<Database>) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('insurers as i', 'i.insurer_number', 'm.insurer_number')
    .innerJoin('eligibility_periods as p', 'p.membership_id', 'm.id')
    .select(['m.id as membership_id', 'm.person_id', 'm.insurer_number', 'i.kind', 'm.symbol', 'm.number', 'm.branch', 'm.qualified_from', 'm.lost_on', 'p.birth_date', 'p.sex', 'p.address', 'p.paper_card_expires_on'])
    .orderBy('m.person_id')
    .orderBy('m.qualified_from')
    .orderBy('m.id')
    .orderBy('p.valid_from');
}

/** Seeds medication and check-ups for the people already in the registry. Refuses tables that already hold some. */
export async function seedClinical(db: Kysely<Database>, options: ClinicalSeedOptions): Promise<ClinicalSeedSummary> {
  const started = performance.now();
  const asOf = options.asOf ?? todayJst();
  const share = options.share ?? 1;
  if (!(share > 0 && share <= 1)) throw new RangeError('share must be in (0, 1]');
  const pageSize = options.pageSize ?? 10_000;

  const existing = await db
    .selectFrom('medications')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .unionAll(db.selectFrom('checkups').select((eb) => eb.fn.countAll<number>().as('n')))
    .execute();
  if (existing.some((r) => Number(r.n) > 0)) {
    throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors: [{ field: 'database', code: 'not_allowed', ja: 'database: 既に薬剤情報または特定健診情報が登録されています。', en: 'database already has medication or check-up records' }] });
  }

  // Facilities by prefecture: pharmacies (院外処方) and clinics/hospitals (院内処方).
  const facilities = await db.selectFrom('facilities').select(['code', 'type', 'prefecture']).orderBy('code').execute();
  const pharmacies = new Map<string, string[]>();
  const medical = new Map<string, string[]>();
  const allPharmacies: string[] = [];
  const allMedical: string[] = [];
  for (const f of facilities) {
    const [byPref, all] = f.type === 'pharmacy' ? [pharmacies, allPharmacies] : f.type === 'hospital' || f.type === 'clinic' ? [medical, allMedical] : [undefined, undefined];
    if (!byPref || !all) continue;
    let list = byPref.get(f.prefecture);
    if (!list) byPref.set(f.prefecture, (list = []));
    list.push(f.code);
    all.push(f.code);
  }
  if (allPharmacies.length + allMedical.length === 0) throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors: [{ field: 'database', code: 'required', ja: 'database: 薬局・医療機関がありません。先に seedPopulation を実行してください。', en: 'no pharmacies or clinics to dispense from; seed the population first' }] });

  // Each person's history comes from a stream of their own (seed and person id), so it does not
  // depend on who else is covered; who is covered comes from one more stream (see the note at the top).
  const ids = { n: 0 };
  let r = new Random(`${options.seed}/clinical`, ids);
  const picker = prng(`${options.seed}/clinical-share`);
  // Day indices count from `base`; date strings come from a table.
  const base = addYears(asOf, -(CHECKUP_SEED_YEARS + 1));
  const baseMs = Date.parse(`${base}T00:00:00Z`);
  const dayOf = (date: string) => Math.round((Date.parse(`${date}T00:00:00Z`) - baseMs) / DAY_MS);
  const today = dayOf(asOf);
  const dates: string[] = Array.from({ length: today + 1 }, (_, i) => new Date(baseMs + i * DAY_MS).toISOString().slice(0, 10));
  const medicationFrom = dayOf(addYears(asOf, -MEDICATION_SEED_YEARS));
  const checkupFrom = dayOf(addYears(asOf, -CHECKUP_SEED_YEARS)) + 1;
  const loadedAt = (day: number, lag: number) => `${dates[Math.min(today, day + lag)]}T00:00:00.000Z`;
  const medicationWindowStart = dayOf(addYears(asOf, -3));
  const checkupWindowStart = dayOf(addYears(asOf, -5));

  const prefectureOf = (address: string) => {
    const i = prefectures.findIndex((p) => address.startsWith(p));
    return i < 0 ? undefined : String(i + 1).padStart(2, '0');
  };
  const facilityFor = (pref: string | undefined, pharmacy: boolean) => {
    const local = pref === undefined ? undefined : (pharmacy ? pharmacies : medical).get(pref);
    if (local && local.length > 0) return r.pick(local);
    const all = pharmacy ? (allPharmacies.length > 0 ? allPharmacies : allMedical) : allMedical.length > 0 ? allMedical : allPharmacies;
    return r.pick(all);
  };
  const coverOn = (p: SeedPerson, day: number) => {
    for (const c of p.coverage) if (c.from <= day && day < c.to) return c;
    return undefined;
  };

  const total = Number((await db.selectFrom('persons').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const counts = { people: 0, covered: 0, medications: 0, checkups: 0 };
  let sample: ClinicalSample | null = null;
  let claimSerial = 0;

  let meds: MedicationsTable[] = [];
  let checks: CheckupsTable[] = [];

  const medication = (p: SeedPerson, day: number, facility: string, drug: SeedDrug, days: number, claimRef: string) => {
    let quantity: number;
    let recordedDays: number | null;
    if (drug.topical !== undefined) {
      quantity = drug.topical;
      recordedDays = null;
    } else if (drug.weekly) {
      quantity = Math.max(1, Math.round(days / 7));
      recordedDays = quantity;
    } else {
      const n = Math.min(days, drug.maxDays ?? 90);
      quantity = drug.perDay * n;
      recordedDays = n;
    }
    meds.push({
      id: r.uuid(),
      person_id: p.id,
      dispensed_on: dates[day],
      facility_code: facility,
      drug_code: drug.code,
      drug_name: drug.name,
      quantity,
      unit: drug.unit,
      days: recordedDays,
      claim_ref: claimRef,
      loaded_at: loadedAt(day, 45),
    });
  };
  const claimRefOn = (day: number) => `RX${dates[day].slice(0, 7).replace('-', '')}-${(++claimSerial).toString(36).toUpperCase().padStart(7, '0')}`;

  const chronicRegimen = (profile: Profile): Regimen | undefined => {
    const a = profile.age;
    const base = a < 20 ? 0.04 : a < 40 ? 0.1 : a < 50 ? 0.2 : a < 65 ? 0.38 : a < 75 ? 0.6 : 0.78;
    if (!r.chance(Math.min(0.95, base * Math.exp(0.3 * profile.met)))) return undefined;
    const n = a < 50 ? (r.chance(0.75) ? 1 : 2) : a < 75 ? r.int(1, 3) : r.chance(0.25) ? 2 : 3;
    const classes = chronicClasses.map((c) => ({ c, w: c.weight(profile) }));
    const drugs: SeedDrug[] = [];
    const treats = new Set<string>();
    for (let k = 0; k < n; k++) {
      const sum = classes.reduce((s, x) => s + x.w, 0);
      if (sum <= 0) break;
      let x = r.next() * sum;
      const i = classes.findIndex((e) => (x -= e.w) < 0);
      const chosen = classes[i < 0 ? classes.length - 1 : i];
      chosen.w = 0; // one drug per class
      drugs.push(r.pick(chosen.c.drugs));
      if (chosen.c.treats) treats.add(chosen.c.treats);
    }
    if (drugs.length === 0) return undefined;
    const start = r.int(0, today - 30); // up to 7 years ago: many started before the records begin
    const stop = r.chance(0.12) ? r.int(start + 60, today + 60) : Infinity;
    const interval = a >= 65 || r.chance(0.4) ? r.pick(intervals) : 28;
    return { drugs, treats, start, stop, interval };
  };

  const generate = (p: SeedPerson) => {
    r = new Random(`${options.seed}/clinical/${p.id}`, ids);
    const age = ageOn(p.birthDate, asOf);
    const profile: Profile = { age, sex: p.sex, met: r.normal() };
    let medsInWindow = 0;
    let checksInWindow = 0;
    const medsBefore = meds.length;

    // Long-term prescriptions, all drugs on one visit, at one regular place.
    const regimen = chronicRegimen(profile);
    if (regimen) {
      const facility = facilityFor(p.prefecture, r.chance(0.78));
      let day = Math.max(regimen.start, medicationFrom + r.int(0, regimen.interval - 1));
      while (day <= today && day < regimen.stop) {
        if (coverOn(p, day)) {
          const ref = claimRefOn(day);
          for (const drug of regimen.drugs) medication(p, day, facility, drug, regimen.interval, ref);
          if (day >= medicationWindowStart) medsInWindow += regimen.drugs.length;
        }
        day += regimen.interval + r.int(-3, 4);
      }
    }

    // Acute episodes: about one every 2–3 years, more for children and the old.
    const rate = age < 10 ? 0.9 : age < 65 ? 0.35 : 0.5;
    const span = today - medicationFrom;
    for (let left = rate * MEDICATION_SEED_YEARS; left > 0; left--) {
      if (!r.chance(Math.min(1, left))) continue;
      const day = medicationFrom + r.int(0, span);
      if (!coverOn(p, day)) continue;
      let x = r.next() * acuteTotalWeight;
      const episode = acuteEpisodes.find((e) => (x -= e.weight) < 0) ?? acuteEpisodes[0];
      const facility = facilityFor(p.prefecture, r.chance(0.75));
      const ref = claimRefOn(day);
      for (const drug of episode.drugs) {
        // Children get syrups and powders in life; here they get the same adult courses halved.
        medication(p, day, facility, age < 12 && drug.topical === undefined ? { ...drug, perDay: Math.max(1, Math.round(drug.perDay / 2)) } : drug, r.int(drug.days[0], drug.days[1]), ref);
        if (day >= medicationWindowStart) medsInWindow++;
      }
    }
    counts.medications += meds.length - medsBefore;

    // 特定健診: 40–74 on the exam day, under a 医療保険者 (not 後期高齢者医療).
    if (age >= 40 && age - CHECKUP_SEED_YEARS <= 74) {
      const regular = r.chance(0.55);
      const height = (p.sex === 'male' ? 171.5 : 158.3) - 0.12 * (age - 40) + (p.sex === 'male' ? 5.8 : 5.3) * r.normal();
      const bmiBase = (p.sex === 'male' ? 23.6 : 21.9) + 1.6 * profile.met + 1.4 * r.normal();
      const bpBase = 6 * r.normal();
      const ldlBase = 22 * r.normal();
      const drink = 0.5 * r.normal();
      const firstYear = Number(asOf.slice(0, 4)) - CHECKUP_SEED_YEARS;
      for (let y = firstYear; y <= Number(asOf.slice(0, 4)); y++) {
        if (!r.chance(regular ? 0.85 : 0.12)) continue;
        // Mostly May to November, the season of workplace and municipal check-ups.
        const day = dayOf(`${y}-05-01`) + r.int(0, 210);
        if (day < checkupFrom || day > today) continue;
        const examDate = dates[day];
        const a = ageOn(p.birthDate, examDate);
        if (a < 40 || a > 74) continue;
        const c = coverOn(p, day);
        if (!c || c.kind === 'koki_korei') continue;
        const on = (t: string) => regimen !== undefined && regimen.treats.has(t) && regimen.start <= day && day < regimen.stop;
        const male = p.sex === 'male';
        const h = clampItem('height', height, 1);
        const bmiTarget = bmiBase + 0.04 * (a - 40) + 0.5 * r.normal();
        const weight = clampItem('weight', bmiTarget * (h / 100) ** 2, 1);
        const bmi = clampItem('bmi', weight / (h / 100) ** 2, 1);
        const waist = clampItem('waist', male ? 2.55 * bmi + 24 + 2.5 * r.normal() : 2.4 * bmi + 27 + 3 * r.normal(), 1);
        const systolic = clampItem('systolicBp', on('bp') ? 129 + 9 * r.normal() : 111 + 0.55 * (a - 40) + 1.6 * (bmi - 22) + (male ? 4 : 0) + bpBase + 11 * r.normal(), 0);
        const diastolic = clampItem('diastolicBp', 0.55 * systolic + 8 + 7 * r.normal(), 0);
        const hba1c = clampItem('hba1c', on('glucose') ? 6.9 + 0.5 * Math.abs(r.normal()) : 5.3 + 0.008 * (a - 40) + 0.06 * (bmi - 22) + 0.06 * profile.met + 0.22 * r.normal(), 1);
        const ldl = clampItem('ldl', on('lipids') ? 98 + 18 * r.normal() : (!male && a >= 50 ? 133 : 121) + ldlBase + 18 * r.normal(), 0);
        const hdl = clampItem('hdl', (male ? 55 : 67) - 1.3 * (bmi - 22) + 11 * r.normal(), 0);
        const tg = clampItem('tg', Math.exp(Math.log(male ? 108 : 80) + 0.06 * (bmi - 22) + 0.42 * r.normal()), 0);
        const ast = clampItem('ast', Math.exp(Math.log(21) + 0.012 * (bmi - 22) + 0.22 * r.normal() + 0.3 * Math.max(0, drink)), 0);
        const alt = clampItem('alt', Math.exp(Math.log(male ? 22 : 15) + 0.05 * (bmi - 22) + 0.38 * r.normal()), 0);
        const ggt = clampItem('ggt', Math.exp(Math.log(male ? 30 : 18) + drink + 0.3 * r.normal()), 0);
        const risk = (hba1c >= 6.5 ? 0.08 : 0) + (systolic >= 140 ? 0.05 : 0);
        const u = r.next();
        const urineProtein = u < 0.84 - risk ? '-' : u < 0.93 - risk / 2 ? '±' : u < 0.985 ? '+' : u < 0.997 ? '2+' : '3+';
        const items: CheckupItems = { height: h, weight, bmi, waist, systolicBp: systolic, diastolicBp: diastolic, hba1c, ldl, hdl, tg, ast, alt, ggt, urineProtein };
        checks.push({
          id: r.uuid(),
          person_id: p.id,
          exam_date: examDate,
          insurer_number: c.insurerNumber,
          items: JSON.stringify(items),
          judgement: stratify(items, p.sex, a, on('bp') || on('glucose') || on('lipids')),
          loaded_at: loadedAt(day, 60),
        });
        counts.checkups++;
        if (day >= checkupWindowStart) checksInWindow++;
      }
    }

    if (sample === null && medsInWindow > 0 && checksInWindow > 0 && regimen) {
      const current = coverOn(p, today);
      if (current && current.kind !== 'koki_korei' && (current.paperCardExpiresOn === null || current.paperCardExpiresOn >= asOf)) {
        sample = { personId: p.id, insurerNumber: current.insurerNumber, symbol: current.symbol, number: current.number, branch: current.branch, birthDate: p.birthDate, medications: medsInWindow, checkups: checksInWindow };
      }
    }
  };

  let after: string | undefined;
  for (;;) {
    let q = db.selectFrom('persons').select('id').orderBy('id').limit(pageSize);
    if (after !== undefined) q = q.where('id', '>', after);
    const ids = (await q.execute()).map((x) => x.id);
    if (ids.length === 0) break;
    after = ids[ids.length - 1];
    // Draw for everyone, read back only the people drawn (a small share reads little).
    const picked = ids.filter(() => picker() < share);
    let rows: Awaited<ReturnType<ReturnType<typeof membershipsQuery>['execute']>> = [];
    if (picked.length === ids.length) {
      rows = await membershipsQuery(db).where('m.person_id', '>=', ids[0]).where('m.person_id', '<=', after).execute();
    } else {
      for (let i = 0; i < picked.length; i += 1000) rows = rows.concat(await membershipsQuery(db).where('m.person_id', 'in', picked.slice(i, i + 1000)).execute());
    }
    const people = new Map<string, SeedPerson>();
    let lastMembership = '';
    for (const row of rows) {
      let p = people.get(row.person_id);
      if (!p) people.set(row.person_id, (p = { id: row.person_id, birthDate: row.birth_date, sex: row.sex as Sex, prefecture: undefined, coverage: [] }));
      // The latest period of the latest membership names the person: birth date, sex, home.
      p.birthDate = row.birth_date;
      p.sex = row.sex as Sex;
      p.prefecture = prefectureOf(row.address);
      if (row.membership_id !== lastMembership) {
        lastMembership = row.membership_id;
        p.coverage.push({ from: dayOf(row.qualified_from), to: row.lost_on === null ? Infinity : dayOf(row.lost_on), insurerNumber: row.insurer_number, kind: row.kind, symbol: row.symbol, number: row.number, branch: row.branch, paperCardExpiresOn: row.paper_card_expires_on });
      } else {
        p.coverage[p.coverage.length - 1].paperCardExpiresOn = row.paper_card_expires_on;
      }
    }
    counts.people += ids.length;
    for (const id of picked) {
      const p = people.get(id);
      if (!p) continue;
      counts.covered++;
      generate(p);
    }
    const batch = { meds, checks };
    meds = [];
    checks = [];
    await db.transaction().execute(async (trx) => {
      await insertMany(trx, 'medications', batch.meds);
      await insertMany(trx, 'checkups', batch.checks);
    });
    options.onProgress?.(counts.people, total);
  }

  return { ...counts, seconds: Math.round(performance.now() - started) / 1000, asOf, sample };
}
