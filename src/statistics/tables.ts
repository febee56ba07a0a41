// Row types of the statistics and programme tables (migration 0004), added to the one schema type.

export interface FacilityMonthStatsTable {
  facility_code: string;
  /** YYYY-MM */
  month: string;
  confirmations: number;
  card_uses: number;
  /** Distinct persons who used the card (利用人数). */
  card_users: number;
  /** Claims (レセプト件数) of the month, when imported. */
  claims: number | null;
  source: 'events' | 'import';
}

export interface InsurerMonthStatsTable {
  insurer_number: string;
  month: string;
  confirmations: number;
  card_uses: number;
}

export interface StatsRollupStateTable {
  name: string;
  last_event_id: number;
  updated_at: string;
}

export interface StatsDirtyMonthsTable {
  kind: 'facility' | 'insurer';
  key: string;
  month: string;
  first_day: string;
  next_first_day: string;
}

export interface FacilityProgrammeProfilesTable {
  facility_code: string;
  poster: number;
  ask_patients: number;
  flyers: number;
  free_readers: number;
  updated_at: string;
}

export interface InsurerTargetsTable {
  insurer_number: string;
  month: string;
  target_basis_points: number;
  updated_at: string;
}

declare module '../platform/db.ts' {
  interface Database {
    facility_month_stats: FacilityMonthStatsTable;
    insurer_month_stats: InsurerMonthStatsTable;
    stats_rollup_state: StatsRollupStateTable;
    stats_dirty_months: StatsDirtyMonthsTable;
    facility_programme_profiles: FacilityProgrammeProfilesTable;
    insurer_targets: InsurerTargetsTable;
  }
}
