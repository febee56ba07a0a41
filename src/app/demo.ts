// First-run demo data: a small synthetic population, a facility terminal token and an insurer
// token, printed once (only their hashes are kept), with card numbers to try.

import type { AppContext } from './context.ts';
import { countMembers } from '../registry/repository.ts';
import { seedPopulation } from '../registry/seed.ts';

export const DEMO_PEOPLE = 3_000;
export const DEMO_FACILITIES = 60;

/** Loads the demo set into an empty database; returns the lines to print, or undefined if not empty. */
export async function loadDemoDataIfEmpty(ctx: AppContext): Promise<string[] | undefined> {
  if ((await countMembers(ctx.database.db)) > 0) return undefined;
  const summary = await seedPopulation(ctx.database.db, { people: DEMO_PEOPLE, facilities: DEMO_FACILITIES, seed: 'demo' });
  const facilityCode = summary.facilityCodes[0];
  const facility = await ctx.credentials.issue({ facilityCode, role: 'reception', label: 'demo reception terminal' });
  const sample = summary.samples.find((s) => s.expected === 'valid')!;
  const insurer = await ctx.credentials.issue({ insurerNumber: sample.insurerNumber, label: 'demo insurer system' });
  const port = ctx.config.port;
  const lines = [
    '',
    `Demo data loaded: ${summary.persons} people, ${summary.insurers} insurers, ${summary.facilities} facilities (as of ${summary.asOf}).`,
    'These tokens are shown only now (onshi keeps only their hashes); issue more with `npx onshi credentials issue`.',
    `  facility ${facilityCode} (reception):  ${facility.token}`,
    `  insurer  ${sample.insurerNumber}:            ${insurer.token}`,
    'Card numbers to try (POST /v1/confirmations):',
    ...summary.samples.map((s) => `  ${s.expected.padEnd(7)} insurerNumber=${s.insurerNumber} symbol=${s.symbol || '""'} number=${s.number} branch=${s.branch || '(none)'} birthDate=${s.birthDate}  — ${s.label}`),
    'For example:',
    `  curl -s localhost:${port}/v1/confirmations -H 'authorization: Bearer ${facility.token}' -H 'content-type: application/json' \\`,
    `    -d '${JSON.stringify({ insurerNumber: sample.insurerNumber, symbol: sample.symbol, number: sample.number, branch: sample.branch, birthDate: sample.birthDate })}'`,
  ];
  return lines;
}
