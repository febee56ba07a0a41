// onshi seed: a deterministic synthetic population in the configured database.

import { InvalidArgumentError, type Command } from 'commander';
import { isIsoDate } from '../platform/time.ts';
import { seedPopulation } from '../registry/seed.ts';
import { DEFAULT_CLINICAL_SHARE, seedClinical } from '../clinical/seed.ts';
import { progressBar } from './progress.ts';
import { withContext } from './main.ts';

function shareOf(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError('expected a number in (0, 1]');
  return n;
}

export function registerSeedCommand(program: Command, positiveInt: (v: string) => number): void {
  program
    .command('seed')
    .description('load a deterministic synthetic population (insurers, facilities, people) into an empty database')
    .option('--people <n>', 'people to create', positiveInt, 10_000)
    .option('--facilities <n>', 'facilities to create', positiveInt, 1_000)
    .option('--seed <s>', 'seed: the same seed gives the same population', 'onshi')
    .option('--as-of <date>', 'the date the population is as of (default: today in JST)')
    .option('--no-clinical', 'skip the clinical information (medication history and check-ups)')
    .option('--clinical-share <x>', `share of people (0–1] given medication history and check-ups, picked deterministically`, shareOf, DEFAULT_CLINICAL_SHARE)
    .option('--json', 'print the summary as JSON')
    .action(async (opts: { people: number; facilities: number; seed: string; asOf?: string; clinical: boolean; clinicalShare: number; json?: boolean }) => {
      if (opts.asOf !== undefined && !isIsoDate(opts.asOf)) throw new Error('--as-of must be a YYYY-MM-DD date');
      await withContext(async (ctx) => {
        const bars = { facilities: progressBar('facilities'), people: progressBar('people'), clinical: progressBar('clinical') };
        const population = await seedPopulation(ctx.database.db, {
          people: opts.people,
          facilities: opts.facilities,
          seed: opts.seed,
          asOf: opts.asOf,
          onProgress: (phase, done, total) => bars[phase].update(done, total),
        });
        bars.facilities.stop();
        bars.people.stop();
        // Same seed and as-of date as the population: the same people get the same history.
        const clinical = opts.clinical
          ? await seedClinical(ctx.database.db, { seed: opts.seed, asOf: population.asOf, share: opts.clinicalShare, onProgress: (done, total) => bars.clinical.update(done, total) })
          : undefined;
        bars.clinical.stop();
        const summary = { ...population, clinical: clinical ?? null };
        if (opts.json) {
          console.log(JSON.stringify(summary, null, 2));
          return;
        }
        console.log(
          `seeded ${summary.persons.toLocaleString('en')} people (${summary.memberships.toLocaleString('en')} memberships, ${summary.periods.toLocaleString('en')} periods), ` +
            `${summary.insurers} insurers, ${summary.facilities.toLocaleString('en')} facilities in ${summary.seconds} s ` +
            `(${Math.round(summary.persons / summary.seconds).toLocaleString('en')} people/s) into ${ctx.database.description}`,
        );
        for (const s of summary.samples) {
          console.log(`  ${s.expected.padEnd(7)} ${s.insurerNumber} ${s.symbol || '-'} ${s.number} ${s.branch || '--'} born ${s.birthDate}  ${s.label}`);
        }
        if (clinical) {
          console.log(
            `clinical: ${clinical.medications.toLocaleString('en')} medication records and ${clinical.checkups.toLocaleString('en')} check-ups ` +
              `for ${clinical.covered.toLocaleString('en')} of ${clinical.people.toLocaleString('en')} people (share ${opts.clinicalShare}) in ${clinical.seconds} s`,
          );
          const c = clinical.sample;
          if (c) console.log(`  with medication and check-ups: ${c.insurerNumber} ${c.symbol || '-'} ${c.number} ${c.branch} born ${c.birthDate} (${c.medications} medication records, ${c.checkups} check-ups in their windows)`);
        }
      });
    });
}
