// First-run demo data: a small synthetic population with its medication history and check-ups, a
// reception and a doctor token for one clinic, and an insurer token, printed once (only their
// hashes are kept), with card numbers to try.

import type { AppContext } from './context.ts';
import { countMembers, findMembershipByNumbers } from '../registry/repository.ts';
import { seedPopulation } from '../registry/seed.ts';
import { seedClinical } from '../clinical/seed.ts';

export const DEMO_PEOPLE = 3_000;
export const DEMO_FACILITIES = 60;

/** Loads the demo set into an empty database; returns the lines to print, or undefined if not empty. */
export async function loadDemoDataIfEmpty(ctx: AppContext): Promise<string[] | undefined> {
  if ((await countMembers(ctx.database.db)) > 0) return undefined;
  const summary = await seedPopulation(ctx.database.db, { people: DEMO_PEOPLE, facilities: DEMO_FACILITIES, seed: 'demo' });
  // Everyone in the demo gets clinical history (3,000 people: well under a second).
  const clinical = await seedClinical(ctx.database.db, { seed: 'demo', asOf: summary.asOf });
  // The demo facility is a clinic or hospital, so that its doctor may view check-ups too (never at a pharmacy).
  const medical = await ctx.database.db.selectFrom('facilities').select(['code', 'name', 'type']).where('type', 'in', ['clinic', 'hospital']).orderBy('code').execute();
  const facility = medical.find((f) => summary.facilityCodes.includes(f.code)) ?? medical[0];
  const facilityCode = facility?.code ?? summary.facilityCodes[0];
  const reception = await ctx.credentials.issue({ facilityCode, role: 'reception', label: 'demo reception terminal' });
  const doctor = await ctx.credentials.issue({ facilityCode, role: 'doctor', label: 'demo doctor' });
  const sample = summary.samples.find((s) => s.expected === 'valid')!;
  // Since 2025-12-02 a paper card confirms nothing: a patient without a My Number card shows a
  // 資格確認書. Each valid sample member is given one, so that its numbers confirm as they would at a
  // reception today (asked with document: certificate).
  for (const s of summary.samples.filter((x) => x.expected === 'valid')) {
    const member = await findMembershipByNumbers(ctx.database.db, s);
    if (member) await ctx.transition.issueOnRequest(s.insurerNumber, member.memberId, { reason: 'no_card' }, 'demo');
  }
  const insurer = await ctx.credentials.issue({ insurerNumber: sample.insurerNumber, label: 'demo insurer system' });
  const port = ctx.config.port;
  const lines = [
    '',
    `Demo data loaded: ${summary.persons} people, ${summary.insurers} insurers, ${summary.facilities} facilities (as of ${summary.asOf}); ` +
      `${clinical.medications} medication records and ${clinical.checkups} check-ups.`,
    'These tokens are shown only now (onshi keeps only their hashes); issue more with `npx onshi credentials issue`.',
    `  facility ${facilityCode} ${facility ? `${facility.name} ` : ''}(reception): ${reception.token}`,
    `  facility ${facilityCode} (doctor):    ${doctor.token}`,
    `  insurer  ${sample.insurerNumber}:            ${insurer.token}`,
    'Card numbers to try (POST /v1/confirmations; the valid ones hold a 資格確認書 issued for the demo: ask with "document":"certificate",',
    'as a paper card no longer confirms anything since 2025-12-02):',
    ...summary.samples.map((s) => `  ${s.expected.padEnd(7)} insurerNumber=${s.insurerNumber} symbol=${s.symbol || '""'} number=${s.number} branch=${s.branch || '(none)'} birthDate=${s.birthDate}  — ${s.label}`),
    'For example:',
    `  curl -s localhost:${port}/v1/confirmations -H 'authorization: Bearer ${reception.token}' -H 'content-type: application/json' \\`,
    `    -d '${JSON.stringify({ insurerNumber: sample.insurerNumber, symbol: sample.symbol, number: sample.number, branch: sample.branch, birthDate: sample.birthDate, document: 'certificate' })}'`,
  ];
  const c = clinical.sample;
  if (c) {
    // A patient consents on the reader at the visit; for the demo, a written consent taken now.
    const consent = await ctx.consent.grant({ personId: c.personId, facilityCode, scopes: ['medication', 'checkups', 'limit_info'], method: 'written', attestedBy: 'demo' });
    const query = new URLSearchParams({ insurerNumber: c.insurerNumber, symbol: c.symbol, number: c.number, branch: c.branch, birthDate: c.birthDate }).toString();
    lines.push(
      `A patient with medication (${c.medications} records in 3 years) and check-ups (${c.checkups} in 5 years): insurerNumber=${c.insurerNumber} symbol=${c.symbol || '""'} number=${c.number} branch=${c.branch} birthDate=${c.birthDate}`,
      `  consent (written, for the demo) at ${facilityCode} until ${consent.expiresAt}; the doctor's token may view (the patient sees each view in GET /v1/me/access-log):`,
      `  curl -s 'localhost:${port}/v1/patients/medications?${query}' -H 'authorization: Bearer ${doctor.token}'`,
      `  curl -s 'localhost:${port}/v1/patients/checkups?${query}' -H 'authorization: Bearer ${doctor.token}'`,
    );
  }
  return lines;
}
