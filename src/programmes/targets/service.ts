// Insurer targets: set by an insurer for months, reported against the actual rate of its insured
// persons (the insurer rollup of usage events).

import type { Kysely } from 'kysely';
import '../../statistics/tables.ts';
import { nowIso, type Database } from '../../platform/db.ts';
import { OnshiError } from '../../platform/errors.ts';
import type { StatisticsService } from '../../statistics/service.ts';
import { requireMonth } from '../../statistics/service.ts';
import { ratePercent } from '../../statistics/rules.ts';
import { meetsTarget, rewardedAbove50, validateTargets } from './rules.ts';

export interface TargetRow {
  insurerNumber: string;
  name: string;
  kind: string;
  month: string;
  targetPercent: number | null;
  confirmations: number;
  cardUses: number;
  actualPercent: number | null;
  met: boolean | null;
  /** A municipal insurer above 50% in November 2024. */
  rewardedAbove50: boolean;
}

export class TargetService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly statistics: StatisticsService,
  ) {}

  async setTargets(insurerNumber: string, body: unknown): Promise<{ insurerNumber: string; targets: { month: string; targetPercent: number }[] }> {
    const v = validateTargets(body);
    if ('errors' in v) throw new OnshiError('ONSHI_REQUEST_INVALID', { errors: v.errors });
    const insurer = await this.db.selectFrom('insurers').select('insurer_number').where('insurer_number', '=', insurerNumber).executeTakeFirst();
    if (!insurer) throw new OnshiError('ONSHI_REGISTRY_INSURER_NOT_FOUND', { insurerNumber });
    const now = nowIso();
    await this.db
      .insertInto('insurer_targets')
      .values(v.targets.map((t) => ({ insurer_number: insurerNumber, month: t.month, target_basis_points: t.basisPoints, updated_at: now })))
      .onConflict((oc) => oc.columns(['insurer_number', 'month']).doUpdateSet((eb) => ({ target_basis_points: eb.ref('excluded.target_basis_points'), updated_at: eb.ref('excluded.updated_at') })))
      .execute();
    return this.getTargets(insurerNumber);
  }

  async getTargets(insurerNumber: string) {
    const rows = await this.db.selectFrom('insurer_targets').select(['month', 'target_basis_points']).where('insurer_number', '=', insurerNumber).orderBy('month').execute();
    return { insurerNumber, targets: rows.map((r) => ({ month: r.month, targetPercent: r.target_basis_points / 100 })) };
  }

  /** Every insurer with a target or figures in the month: actual vs target, and the November 2024 flag. */
  async report(month: unknown, insurerNumber?: string): Promise<TargetRow[]> {
    const m = requireMonth(month);
    await this.statistics.rollup();
    let q = this.db
      .selectFrom('insurers as i')
      .leftJoin('insurer_targets as t', (j) => j.onRef('t.insurer_number', '=', 'i.insurer_number').on('t.month', '=', m))
      .leftJoin('insurer_month_stats as s', (j) => j.onRef('s.insurer_number', '=', 'i.insurer_number').on('s.month', '=', m))
      .select(['i.insurer_number', 'i.name', 'i.kind', 't.target_basis_points', 's.confirmations', 's.card_uses'])
      .where((eb) => eb.or([eb('t.target_basis_points', 'is not', null), eb('s.confirmations', 'is not', null)]))
      .orderBy('i.insurer_number');
    if (insurerNumber) q = q.where('i.insurer_number', '=', insurerNumber);
    const rows = await q.execute();
    return rows.map((r) => {
      const confirmations = Number(r.confirmations ?? 0);
      const cardUses = Number(r.card_uses ?? 0);
      const bp = r.target_basis_points === null ? null : Number(r.target_basis_points);
      return {
        insurerNumber: r.insurer_number,
        name: r.name,
        kind: r.kind,
        month: m,
        targetPercent: bp === null ? null : bp / 100,
        confirmations,
        cardUses,
        actualPercent: ratePercent(cardUses, confirmations),
        met: bp === null || confirmations === 0 ? null : meetsTarget(cardUses, confirmations, bp),
        rewardedAbove50: rewardedAbove50(r.kind, m, cardUses, confirmations),
      };
    });
  }
}
