// Statistics count what was confirmed: an エラー answer (a malformed request, no eligibility looked
// up) stays recorded as a usage event, but is not a confirmation in rates, reports or programmes.

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { storeKinds } from '../support/stores.ts';
import { addMember, adminHeaders, confirm, createFacility, createInsurer, newFacilityCode, useApp } from '../support/fixtures.ts';
import { insertUsageEvents } from '../../src/confirmation/repository.ts';

const NOW = new Date('2024-07-10T01:00:00Z');

describe.each(storeKinds)('エラー answers in statistics on %s', (kind) => {
  const h = useApp(kind, { clock: () => NOW });

  it('five POST /v1/confirmations with {} change neither the count nor the rate; valid and invalid answers do', async () => {
    const insurer = await createInsurer(h.app);
    // Its own prefecture, so that the prefecture's figures are this facility's alone.
    const facility = await createFacility(h.app, { code: newFacilityCode('clinic', '47') });
    await addMember(h.app, insurer);
    // One My Number card use this month, so that the rate is not zero.
    await insertUsageEvents(h.ctx.database.db, [
      { confirmation_id: randomUUID(), occurred_at: NOW.toISOString(), occurred_on: '2024-07-10', facility_code: facility.code, method: 'my_number_card', result: 'valid', reason: null, insurer_number: insurer.insurerNumber, person_id: 'p1', consent_id: null },
    ]);
    const numbers = { insurerNumber: insurer.insurerNumber, symbol: '12', branch: '00', birthDate: '1980-04-01' };
    expect((await confirm(h.app, facility, { ...numbers, number: '3456' })).json().result).toBe('valid');
    expect((await confirm(h.app, facility, { ...numbers, number: '9999' })).json().result).toBe('invalid');

    const figures = async () => {
      const own = (await h.app.inject({ method: 'GET', url: `/v1/facilities/${facility.code}/statistics`, headers: facility.headers })).json().months[0];
      const ranked = (await h.app.inject({ method: 'GET', url: '/v1/statistics/facilities?month=2024-07&prefecture=47', headers: adminHeaders })).json().rows;
      const prefecture = (await h.app.inject({ method: 'GET', url: '/v1/statistics/prefectures?month=2024-07', headers: adminHeaders })).json().prefectures.find((p: { prefecture: string }) => p.prefecture === '47');
      const byInsurer = (await h.app.inject({ method: 'GET', url: '/v1/statistics/insurers?month=2024-07', headers: adminHeaders })).json().rows.find((r: { key: string }) => r.key === insurer.insurerNumber);
      return {
        own: [own.confirmations, own.cardUses, own.ratePercent],
        ranked: ranked.map((r: { confirmations: number; ratePercent: number }) => [r.confirmations, r.ratePercent]),
        prefecture: [prefecture.confirmations, prefecture.ratePercent],
        insurer: [byInsurer.confirmations, byInsurer.ratePercent],
      };
    };
    const before = await figures();
    expect(before).toEqual({ own: [3, 1, 33.33], ranked: [[3, 33.33]], prefecture: [3, 33.33], insurer: [3, 33.33] });

    // Five malformed requests, each answered エラー (HTTP 400); one names the insurer, as a request
    // with only some fields wrong does.
    for (const body of [{}, {}, {}, {}, { insurerNumber: insurer.insurerNumber }]) {
      const r = await confirm(h.app, facility, body);
      expect(r.statusCode).toBe(400);
      expect(r.json().result).toBe('error');
    }
    expect(await figures()).toEqual(before);
    // A rebuild from the events agrees.
    expect((await h.app.inject({ method: 'POST', url: '/v1/statistics/rollup?rebuild=true', headers: adminHeaders })).statusCode).toBe(200);
    expect(await figures()).toEqual(before);

    // They stay recorded, each with its own id, for the audit of what the facility sent.
    const events = await h.ctx.database.db.selectFrom('usage_events').select(['result', 'reason', 'insurer_number']).where('facility_code', '=', facility.code).orderBy('id').execute();
    expect(events.map((e) => e.result)).toEqual(['valid', 'valid', 'invalid', 'error', 'error', 'error', 'error', 'error']);
    expect(events.filter((e) => e.result === 'error').map((e) => e.reason)).toEqual(['input', 'input', 'input', 'input', 'input']);

    // A further valid answer still counts.
    await confirm(h.app, facility, { ...numbers, number: '3456' });
    expect((await figures()).own).toEqual([4, 1, 25]);
  });

  it('an installation rolled up before this rule recounts its months without the エラー answers at its next rollup', async () => {
    const facility = await createFacility(h.app, { code: newFacilityCode('clinic', '46') });
    for (let i = 0; i < 3; i++) await confirm(h.app, facility, {});
    const db = h.ctx.database.db;
    // What a rollup before the エラー rule left: its progress row (and none of the current one), and a month that
    // counted the three errors.
    await db.deleteFrom('stats_rollup_state').execute();
    const last = await db.selectFrom('usage_events').select((eb) => eb.fn.max('id').as('max')).executeTakeFirstOrThrow();
    await db.insertInto('stats_rollup_state').values({ name: 'usage_events', last_event_id: Number(last.max), updated_at: NOW.toISOString() }).onConflict((oc) => oc.column('name').doNothing()).execute();
    await db.insertInto('facility_month_stats').values({ facility_code: facility.code, month: '2024-07', confirmations: 3, card_uses: 0, card_users: 0, claims: null, source: 'events' }).execute();
    const r = await h.app.inject({ method: 'GET', url: `/v1/facilities/${facility.code}/statistics`, headers: facility.headers });
    expect(r.json().months).toEqual([]);
  });
});
