// npm run bench:programmes — statistics and programmes at national scale, on SQLite.
//
//   1. 250,000 facilities with 12 months of aggregates (Sep 2023 – Aug 2024, 3,000,000 rows)
//      generated with insertMany in big transactions; then timed: the prefecture report of a
//      month (statistics) and every programme for every facility (incentive + reader subsidy,
//      payout CSV rows and totals by prefecture and type). Target: under 10 s.
//   2. 10,000,000 usage events (generated inside SQLite by a recursive query, the fastest way to
//      write them), then timed: the first rollup of all of them, and an incremental rollup after
//      10,000 late events. Target: under 30 s.
//
// Options (environment): BENCH_FACILITIES (250000), BENCH_EVENTS (10000000), BENCH_KEEP=1 keeps .bench/.
// Figures depend on the machine. Nothing here is asserted.

import { join } from 'node:path';
import { sql } from 'kysely';
import { insertMany } from '../src/platform/db.ts';
import { makeFacilityCode, type FacilityType } from '../src/registry/rules.ts';
import { StatisticsService } from '../src/statistics/service.ts';
import { ProgrammeService, payoutLines } from '../src/programmes/incentive/service.ts';
import { addMonths } from '../src/statistics/rules.ts';
import { benchFolder, cpuSecondsSince, envNumber, fmt, freshDatabase, removeUnlessKept, rng, secondsSince } from './support.ts';

const FACILITIES = envNumber('BENCH_FACILITIES', 250_000);
const EVENTS = envNumber('BENCH_EVENTS', 10_000_000);
const dir = benchFolder('.bench', 'programmes');

async function programmesBench() {
  const h = await freshDatabase(join(dir, 'programmes.db'));
  const random = rng(42);
  const types: FacilityType[] = ['clinic', 'clinic', 'clinic', 'pharmacy', 'pharmacy', 'dental_clinic', 'hospital'];
  const months = Array.from({ length: 12 }, (_, i) => addMonths('2023-09', i));
  const now = new Date().toISOString();
  let t0 = performance.now();
  // Generated and written 10,000 facilities at a time in one transaction, so that no array of
  // millions of rows stays on the heap (its garbage collection would be measured with the run).
  let aggregateRows = 0;
  await h.db.transaction().execute(async (trx) => {
    for (let start = 0; start < FACILITIES; start += 10_000) {
      const facilities: { code: string; name: string; type: string; prefecture: string; created_at: string }[] = [];
      const aggregates: { facility_code: string; month: string; confirmations: number; card_uses: number; card_users: number; claims: number; source: 'import' }[] = [];
      const profiles: { facility_code: string; poster: number; ask_patients: number; flyers: number; free_readers: number; updated_at: string }[] = [];
      for (let i = start; i < Math.min(FACILITIES, start + 10_000); i++) {
        const type = types[i % types.length];
        const code = makeFacilityCode(String((i % 47) + 1).padStart(2, '0'), type, String(i).padStart(6, '0'));
        facilities.push({ code, name: `施設${i}`, type, prefecture: code.slice(0, 2), created_at: now });
        const claims = type === 'hospital' ? 2000 + Math.floor(random() * 8000) : 50 + Math.floor(random() * 2000);
        const baseRate = 0.02 + random() * 0.1;
        months.forEach((month, m) => {
          const confirmations = Math.floor(claims * 1.2);
          const rate = Math.min(0.9, baseRate + m * 0.008 * random() * 2);
          const cardUses = Math.floor(confirmations * rate);
          aggregates.push({ facility_code: code, month, confirmations, card_uses: cardUses, card_users: Math.floor(cardUses * 0.8), claims, source: 'import' as const });
        });
        const attested = random() < 0.9;
        profiles.push({ facility_code: code, poster: attested ? 1 : 0, ask_patients: 1, flyers: 1, free_readers: type === 'hospital' ? 1 + (i % 3) : 1, updated_at: now });
      }
      await insertMany(trx, 'facilities', facilities);
      await insertMany(trx, 'facility_programme_profiles', profiles);
      await insertMany(trx, 'facility_month_stats', aggregates);
      aggregateRows += aggregates.length;
    }
  });
  await sql`pragma wal_checkpoint(truncate)`.execute(h.db);
  console.log(`generated ${fmt(FACILITIES)} facilities, ${fmt(aggregateRows)} monthly aggregates in ${secondsSince(t0).toFixed(1)} s`);

  const statistics = new StatisticsService(h.db, h.dialect);
  const programmes = new ProgrammeService(h.db, h.dialect, statistics);
  t0 = performance.now();
  let c0 = process.cpuUsage();
  const report = await statistics.prefectureReport('2024-07');
  const statsSeconds = secondsSince(t0);
  const statsCpu = cpuSecondsSince(c0);
  t0 = performance.now();
  c0 = process.cpuUsage();
  let csvBytes = 0;
  const totals = await programmes.run({ onPage: (rows) => void (csvBytes += payoutLines(rows).length) });
  const programmesSeconds = secondsSince(t0);
  const programmesCpu = cpuSecondsSince(c0);
  console.log(`statistics: prefecture report for 2024-07 (national ${report.national.ratePercent}%) in ${statsSeconds.toFixed(2)} s (CPU ${statsCpu.toFixed(2)} s)`);
  console.log(
    `programmes: ${fmt(totals.total.facilities)} facilities (incentive ¥${fmt(totals.total.amountYen)} to ${fmt(totals.total.paidFacilities)}, ` +
      `${fmt(totals.total.readerEligible)} reader-subsidy eligible, payout CSV ${fmt(csvBytes)} chars) in ${programmesSeconds.toFixed(2)} s (CPU ${programmesCpu.toFixed(2)} s)`,
  );
  console.log(`statistics + all programmes: ${(statsSeconds + programmesSeconds).toFixed(2)} s (target < 10 s)`);
  await h.close();
}

async function rollupBench() {
  const h = await freshDatabase(join(dir, 'events.db'));
  const facilities = Math.max(1, Math.min(100_000, Math.floor(EVENTS / 100)));
  let t0 = performance.now();
  // 10M rows through SQLite itself, in key order (ids, confirmation ids and each facility's days
  // ascending, as a live system appends them): a day of a year per event, 1 in 9 by card.
  const perFacility = Math.ceil(EVENTS / facilities);
  await sql`with recursive n(i) as (select 0 union all select i + 1 from n where i < ${EVENTS - 1})
    insert into usage_events (confirmation_id, occurred_at, occurred_on, facility_code, method, result, reason, insurer_number, person_id)
    select printf('c%010d', i), '2024-01-01T00:00:00.000Z', date('2023-09-01', '+' || ((i % ${perFacility}) * 365 / ${perFacility}) || ' days'),
      printf('%010d', i / ${perFacility}),
      case when i % 9 = 0 then 'my_number_card' else 'insurance_card' end, 'valid', null,
      printf('%08d', i % 3000), 'p' || ((i * 104729) % 2000000)
    from n`.execute(h.db);
  console.log(`generated ${fmt(EVENTS)} usage events over ${fmt(facilities)} facilities in ${secondsSince(t0).toFixed(1)} s`);
  const statistics = new StatisticsService(h.db, h.dialect);
  t0 = performance.now();
  const c0 = process.cpuUsage();
  const first = await statistics.rollup();
  console.log(`rollup of ${fmt(first.events)} events → ${fmt(first.facilityMonths)} facility-months, ${fmt(first.insurerMonths)} insurer-months in ${secondsSince(t0).toFixed(2)} s (CPU ${cpuSecondsSince(c0).toFixed(2)} s) (target < 30 s)`);
  await sql`insert into usage_events (confirmation_id, occurred_at, occurred_on, facility_code, method, result, reason, insurer_number, person_id)
    select 'late' || id, occurred_at, occurred_on, facility_code, 'my_number_card', result, reason, insurer_number, 'late' || id from usage_events where id <= 10000`.execute(h.db);
  t0 = performance.now();
  const late = await statistics.rollup();
  console.log(`incremental rollup of ${fmt(late.events)} late events → ${fmt(late.facilityMonths)} facility-months recomputed in ${secondsSince(t0).toFixed(2)} s`);
  await h.close();
}

if (FACILITIES > 0) await programmesBench();
if (EVENTS > 0) await rollupBench();
removeUnlessKept(dir);
