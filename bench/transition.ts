// npm run bench:transition — the notices to all members (資格情報のお知らせ) and the 資格確認書 job at
// scale, on SQLite.
//
//   1. BENCH_MEMBERS (1,000,000) members of one insurer, written with insertMany: persons,
//      memberships, eligibility periods (paper cards issued 2020-04-01) and employer data (about
//      BENCH_MEMBERS / 50 offices of very uneven size, 3 % 任意継続, 2 % without employer data).
//   2. Timed: planning round 1 (pieces with tracking numbers, then boxes of at most 4 kg per office),
//      then the same call again (answers the finished round), then the certificate issue-due job over
//      the same population (as of 2025-10-15, 60 days' lead: everyone is due).
//
// Options (environment): BENCH_MEMBERS, BENCH_CHUNK (5000), BENCH_KEEP=1 keeps .bench/transition.
// Figures depend on the machine. Nothing here is asserted (the issue's target: round 1 under 30 s).

import { join } from 'node:path';
import { insertMany, type EligibilityPeriodsTable, type MembershipsTable, type PersonsTable } from '../src/platform/db.ts';
import type { MemberEmployersTable } from '../src/programmes/notices/repository.ts';
import { newId } from '../src/platform/ids.ts';
import { prefectures, withInsurerCheckDigit } from '../src/registry/rules.ts';
import { RegistryService } from '../src/registry/service.ts';
import { NoticeService } from '../src/programmes/notices/service.ts';
import { TransitionService } from '../src/programmes/transition/service.ts';
import { benchFolder, cpuSecondsSince, envNumber, fmt, freshDatabase, removeUnlessKept, rng, secondsSince } from './support.ts';

const MEMBERS = envNumber('BENCH_MEMBERS', 1_000_000);
const CHUNK = envNumber('BENCH_CHUNK', 5000);
const dir = benchFolder('.bench', 'transition');

async function main() {
  const handle = await freshDatabase(join(dir, 'transition.db'));
  const db = handle.db;
  const insurerNumber = withInsurerCheckDigit('0613999');
  const at = '2024-06-01T00:00:00.000Z';
  await db.insertInto('insurers').values({ insurer_number: insurerNumber, name: 'ベンチ健康保険組合', kind: 'kenpo_kumiai', created_at: at }).execute();

  const random = rng(7);
  const offices = Math.max(1, Math.round(MEMBERS / 50));
  const officePref = Array.from({ length: offices }, () => Math.floor(random() * 47));
  let t0 = performance.now();
  const BATCH = 50_000;
  for (let start = 0; start < MEMBERS; start += BATCH) {
    const persons: PersonsTable[] = [];
    const memberships: MembershipsTable[] = [];
    const periods: EligibilityPeriodsTable[] = [];
    const employers: MemberEmployersTable[] = [];
    for (let i = start; i < Math.min(MEMBERS, start + BATCH); i++) {
      const personId = newId();
      const membershipId = newId();
      persons.push({ id: personId, link_key: null, created_at: at });
      memberships.push({
        id: membershipId, person_id: personId, insurer_number: insurerNumber, symbol: String(1 + (i % 900)), number: String(i), branch: '00', relationship: 'self',
        qualified_from: '2015-04-01', lost_on: null, loss_reason: null, loss_recorded_at: null, loss_recorded_by: null, created_at: at,
      });
      const pref = prefectures[Math.floor(random() * 47)];
      periods.push({
        id: newId(), membership_id: membershipId, valid_from: '2015-04-01', valid_until: null, name: '見本　太郎', name_kana: 'ミホン　タロウ', birth_date: '1980-04-01', sex: 'male',
        address: `${pref}見本市1-${i % 100}`, postal_code: '100-0001', copay_rate: 30, limit_category: null, paper_card_issued_on: '2020-04-01', paper_card_expires_on: null, recorded_at: at, recorded_by: 'bench',
      });
      const u = random();
      if (u < 0.02) continue; // no employer data
      // Very uneven office sizes: squaring concentrates members on the first offices.
      const office = Math.floor(random() ** 2 * offices);
      employers.push({
        membership_id: membershipId, office_symbol: `E${String(office).padStart(6, '0')}`, office_name: `見本商事${office}`, office_address: `${prefectures[officePref[office]]}見本町${office}`,
        office_postal_code: '100-0001', voluntary_continuation: u < 0.05 ? 1 : 0, previous_office_symbol: null, symbol_changed_on: null, updated_at: at, updated_by: 'bench',
      });
    }
    await db.transaction().execute(async (trx) => {
      await insertMany(trx, 'persons', persons);
      await insertMany(trx, 'memberships', memberships);
      await insertMany(trx, 'eligibility_periods', periods);
      await insertMany(trx, 'member_employers', employers);
    });
  }
  console.log(`population: ${fmt(MEMBERS)} members, ${fmt(offices)} offices, written in ${secondsSince(t0).toFixed(1)} s`);

  const registry = new RegistryService(db, 'bench-link-secret');
  const notices = new NoticeService(db, registry);
  t0 = performance.now();
  let c0 = process.cpuUsage();
  let piecesDoneAt = 0;
  const report = await notices.planRound({ insurerNumber, round: 1, extractedOn: '2024-06-14', chunkSize: CHUNK }, (phase) => {
    if (phase === 'boxes' && piecesDoneAt === 0) piecesDoneAt = secondsSince(t0);
  });
  const planWall = secondsSince(t0);
  const planCpu = cpuSecondsSince(c0);
  const round = await notices.getRound(insurerNumber, report.roundId);
  console.log(
    `round 1: ${fmt(report.pieces)} pieces (employer ${fmt(round.counts.byRoute.employer)}, home ${fmt(round.counts.byRoute.home)}), ${fmt(report.boxes)} boxes ` +
      `in ${planWall.toFixed(1)} s wall (pieces ${piecesDoneAt.toFixed(1)} s, boxes ${(planWall - piecesDoneAt).toFixed(1)} s), ${planCpu.toFixed(1)} s CPU; ` +
      `${fmt(report.pieces / planWall)} pieces/s`,
  );
  const heaviest = await db.selectFrom('notice_boxes').select((eb) => eb.fn.max('weight_mg').as('w')).executeTakeFirstOrThrow();
  console.log(`heaviest box: ${Number(heaviest.w) / 1000} g; prefectures counted: ${round.counts.byPrefecture.length}`);
  t0 = performance.now();
  const again = await notices.planRound({ insurerNumber, round: 1, extractedOn: '2024-06-14' });
  console.log(`round 1 again: alreadyDone=${again.alreadyDone} in ${(secondsSince(t0) * 1000).toFixed(0)} ms`);

  const transition = new TransitionService(db, registry, () => new Date('2025-10-15T03:00:00Z'));
  t0 = performance.now();
  c0 = process.cpuUsage();
  const certs = await transition.issueDue({ insurerNumber, chunkSize: CHUNK });
  console.log(`certificates issue-due: ${fmt(certs.examined)} examined, ${fmt(certs.issued)} issued in ${secondsSince(t0).toFixed(1)} s wall, ${cpuSecondsSince(c0).toFixed(1)} s CPU`);

  await handle.close();
  removeUnlessKept(dir);
}

await main();
