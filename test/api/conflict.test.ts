// Two requests racing to create the same record: the services check first, so only a concurrent
// writer reaches the database's unique key; the error handler answers 409 ONSHI_CONFLICT, not 500.

import { describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../../src/platform/errors.ts';
import { buildApp } from '../../src/app/build-app.ts';
import { storeKinds } from '../support/stores.ts';
import { createInsurer, expectError, useApp } from '../support/fixtures.ts';

describe.each(storeKinds)('unique-key races (%s)', (kind) => {
  const h = useApp(kind);

  it('recognises a unique violation of this dialect and nothing else', async () => {
    const insurer = await createInsurer(h.app);
    const row = { insurer_number: insurer.insurerNumber, name: '重複', kind: 'kenpo_kumiai', created_at: new Date().toISOString() };
    const duplicate = await h.ctx.database.db.insertInto('insurers').values(row).execute().catch((e: unknown) => e);
    expect(isUniqueViolation(duplicate)).toBe(true);
    const notNull = await h.ctx.database.db.insertInto('insurers').values({ ...row, insurer_number: '99999999', name: null as unknown as string }).execute().catch((e: unknown) => e);
    expect(notNull).toBeInstanceOf(Error);
    expect(isUniqueViolation(notNull)).toBe(false);
    expect(isUniqueViolation(new Error('plain'))).toBe(false);
  });

  it('answers 409 ONSHI_CONFLICT when a write loses the race at the unique key', async () => {
    const insurer = await createInsurer(h.app);
    // A route whose service lost the race: the same insert the winner already made.
    const app = await buildApp(h.ctx);
    app.post('/test-race', async () => {
      await h.ctx.database.db.insertInto('insurers').values({ insurer_number: insurer.insurerNumber, name: '後着', kind: 'kenpo_kumiai', created_at: new Date().toISOString() }).execute();
      return { ok: true };
    });
    const r = await app.inject({ method: 'POST', url: '/test-race' });
    await app.close();
    const body = expectError(r, 409, 'ONSHI_CONFLICT');
    expect(body.messageJa).toContain('競合');
  });
});
