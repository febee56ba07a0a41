// A rollup works a slice at a time (facilities, or ranges of event ids) so that no statement runs for
// long beside the confirmations; the figures must not depend on where the slices fall.

import { describe, expect, it } from 'vitest';
import { insertMany } from '../../src/platform/db.ts';
import { rollup } from '../../src/statistics/repository.ts';
import { migratedDatabases, storeKinds } from '../support/stores.ts';

const facilities = ['1311000001', '1311000002', '1311000003', '2711000004', '0111000005'];
const insurers = ['06130009', '01270016', null];
const methods = ['insurance_card', 'my_number_card'];
const results = ['valid', 'invalid', 'error'];

function events(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const month = ['2024-05', '2024-06', '2024-07'][i % 3];
    const day = String(1 + (i % 28)).padStart(2, '0');
    return {
      confirmation_id: `c-${i}`,
      occurred_at: `${month}-${day}T01:00:00.000Z`,
      occurred_on: `${month}-${day}`,
      facility_code: facilities[(i * 7) % facilities.length],
      method: methods[i % 2],
      result: results[(i >> 1) % 3],
      reason: null,
      insurer_number: insurers[i % 3],
      person_id: `p-${i % 37}`,
      consent_id: null,
    };
  });
}

describe.each(storeKinds)('rollup in slices (%s)', (kind) => {
  const { open } = migratedDatabases(kind);

  it('gives the same facility and insurer months whatever the slice size, for a rebuild and for increments', async () => {
    const db = await open();
    const all = events(600);
    const snapshot = async () => ({
      facilities: await db.selectFrom('facility_month_stats').selectAll().orderBy('facility_code').orderBy('month').execute(),
      insurers: await db.selectFrom('insurer_month_stats').selectAll().orderBy('insurer_number').orderBy('month').execute(),
    });
    await insertMany(db, 'usage_events', all.slice(0, 400));
    await rollup(db, kind, '2024-08-01T00:00:00.000Z', { rebuild: true });
    const whole = await snapshot();
    expect(whole.facilities.length).toBe(facilities.length * 3);
    for (const slice of [1, 7, 100]) {
      const report = await rollup(db, kind, '2024-08-01T00:00:00.000Z', { rebuild: true, sliceEvents: slice });
      expect(report.facilityMonths).toBe(facilities.length * 3);
      expect(await snapshot()).toEqual(whole);
    }
    // Later events, rolled up as an increment in small slices, equal a rebuild of everything.
    await insertMany(db, 'usage_events', all.slice(400));
    await rollup(db, kind, '2024-08-02T00:00:00.000Z', { sliceEvents: 9 });
    const incremental = await snapshot();
    await rollup(db, kind, '2024-08-02T00:00:00.000Z', { rebuild: true });
    expect(incremental).toEqual(await snapshot());
  });
});
