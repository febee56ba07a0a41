// Disaster mode (災害時): an administrator declares which facilities (prefectures or listed codes)
// and which period; inside both, those facilities may view medication and check-ups without the
// card and without consent. Every such view is audited with the disaster's id as its basis.

import type { Db } from '../platform/db.ts';
import { newId } from '../platform/ids.ts';
import { fieldError, OnshiError, type ErrorCode, type FieldError } from '../platform/errors.ts';
import { isPrefectureCode, validateFacilityCode } from '../registry/rules.ts';
import { checkText, TEXT_MAX } from '../platform/text.ts';
import '../clinical/tables.ts';

export interface Disaster {
  id: string;
  name: string;
  prefectures: string[];
  facilityCodes: string[];
  startsAt: string;
  endsAt: string;
  declaredBy: string;
  declaredAt: string;
}

const INSTANT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export function validateDisaster(input: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  checkText(errors, 'name', input.name, { max: TEXT_MAX.organisationName, required: true });
  const prefectures = input.prefectures ?? [];
  const facilityCodes = input.facilityCodes ?? [];
  if (!Array.isArray(prefectures)) errors.push(fieldError('prefectures', 'format', 'an array of 2-digit codes'));
  else prefectures.forEach((p, i) => isPrefectureCode(p) || errors.push(fieldError(`prefectures.${i}`, 'format', '01–47')));
  if (!Array.isArray(facilityCodes)) errors.push(fieldError('facilityCodes', 'format', 'an array of facility codes'));
  else
    facilityCodes.forEach((c, i) => {
      const e = validateFacilityCode(c, `facilityCodes.${i}`);
      if (e) errors.push(e);
    });
  if (Array.isArray(prefectures) && Array.isArray(facilityCodes) && prefectures.length + facilityCodes.length === 0) {
    errors.push(fieldError('prefectures', 'required', 'prefectures or facilityCodes'));
  }
  let instantsOk = true;
  for (const key of ['startsAt', 'endsAt'] as const) {
    const v = input[key];
    if (v === undefined) errors.push(fieldError(key, 'required'));
    else if (typeof v !== 'string' || !INSTANT_RE.test(v) || Number.isNaN(Date.parse(v))) errors.push(fieldError(key, 'format', 'ISO instant with offset'));
    else continue;
    instantsOk = false;
  }
  if (instantsOk && Date.parse(input.endsAt as string) <= Date.parse(input.startsAt as string)) {
    errors.push(fieldError('endsAt', 'out_of_range', 'after startsAt'));
  }
  return errors;
}

/**
 * Pure: which declared disaster lets a facility view now. Scope first: none covering the facility →
 * OUT_OF_SCOPE; some covering it but none whose [startsAt, endsAt) holds `now` → OUT_OF_PERIOD.
 */
export function decideDisaster(
  disasters: readonly Disaster[],
  facility: { code: string; prefecture: string },
  now: Date,
): { ok: true; disaster: Disaster } | { ok: false; code: ErrorCode } {
  const covering = disasters.filter((d) => d.prefectures.includes(facility.prefecture) || d.facilityCodes.includes(facility.code));
  if (covering.length === 0) return { ok: false, code: 'ONSHI_DISASTER_OUT_OF_SCOPE' };
  const t = now.getTime();
  const active = covering.find((d) => Date.parse(d.startsAt) <= t && t < Date.parse(d.endsAt));
  return active ? { ok: true, disaster: active } : { ok: false, code: 'ONSHI_DISASTER_OUT_OF_PERIOD' };
}

export class DisasterService {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async declare(input: Record<string, unknown>, actor: string): Promise<Disaster> {
    const errors = validateDisaster(input);
    if (errors.length > 0) throw new OnshiError('ONSHI_REQUEST_INVALID', { errors });
    const now = this.clock();
    const d: Disaster = {
      id: newId(now.getTime()),
      name: (input.name as string).trim(),
      prefectures: [...new Set((input.prefectures as string[] | undefined) ?? [])].sort(),
      facilityCodes: [...new Set((input.facilityCodes as string[] | undefined) ?? [])].sort(),
      startsAt: new Date(Date.parse(input.startsAt as string)).toISOString(),
      endsAt: new Date(Date.parse(input.endsAt as string)).toISOString(),
      declaredBy: actor,
      declaredAt: now.toISOString(),
    };
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('disasters')
        .values({ id: d.id, name: d.name, starts_at: d.startsAt, ends_at: d.endsAt, declared_by: actor, declared_at: d.declaredAt })
        .execute();
      const scope = [...d.prefectures.map((value) => ({ disaster_id: d.id, kind: 'prefecture', value })), ...d.facilityCodes.map((value) => ({ disaster_id: d.id, kind: 'facility', value }))];
      await trx.insertInto('disaster_scope').values(scope).execute();
    });
    return d;
  }

  async list(): Promise<Disaster[]> {
    return this.load();
  }

  async get(id: string): Promise<Disaster> {
    const [d] = await this.load([id]);
    if (!d) throw new OnshiError('ONSHI_DISASTER_NOT_FOUND', { id });
    return d;
  }

  /** The disaster that lets this facility view now, or the refusal that says why none does. */
  async require(facility: { code: string; prefecture: string }): Promise<Disaster> {
    const ids = await this.db
      .selectFrom('disaster_scope')
      .select('disaster_id')
      .where((eb) => eb.or([eb.and([eb('kind', '=', 'prefecture'), eb('value', '=', facility.prefecture)]), eb.and([eb('kind', '=', 'facility'), eb('value', '=', facility.code)])]))
      .execute();
    const disasters = ids.length === 0 ? [] : await this.load([...new Set(ids.map((r) => r.disaster_id))]);
    const decision = decideDisaster(disasters, facility, this.clock());
    if (!decision.ok) throw new OnshiError(decision.code, { facilityCode: facility.code });
    return decision.disaster;
  }

  private async load(ids?: string[]): Promise<Disaster[]> {
    let q = this.db.selectFrom('disasters').selectAll();
    if (ids) q = q.where('id', 'in', ids);
    const rows = await q.orderBy('starts_at', 'desc').orderBy('id', 'desc').execute();
    if (rows.length === 0) return [];
    const scope = await this.db
      .selectFrom('disaster_scope')
      .selectAll()
      .where(
        'disaster_id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      prefectures: scope.filter((s) => s.disaster_id === r.id && s.kind === 'prefecture').map((s) => s.value).sort(),
      facilityCodes: scope.filter((s) => s.disaster_id === r.id && s.kind === 'facility').map((s) => s.value).sort(),
      startsAt: r.starts_at,
      endsAt: r.ends_at,
      declaredBy: r.declared_by,
      declaredAt: r.declared_at,
    }));
  }
}
