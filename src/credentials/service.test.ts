// The memory of recently checked tokens: a revocation in this process takes effect at once, one made
// by another process (the CLI, another server) once the remembered check is older than cacheMs.

import { describe, expect, it } from 'vitest';
import { migratedDatabases, storeKinds } from '../../test/support/stores.ts';
import { CredentialService } from './service.ts';

describe.each(storeKinds)('credential memory (%s)', (kind) => {
  const { open } = migratedDatabases(kind);

  it('forgets a token revoked here at once', async () => {
    const credentials = new CredentialService(await open(), undefined, 60_000);
    const { id, token } = await credentials.issue({ admin: true });
    expect(await credentials.authenticate(token)).toMatchObject({ kind: 'admin', credentialId: id });
    await credentials.revoke(id);
    expect(await credentials.authenticate(token)).toBeUndefined();
  });

  it('refuses a token revoked by another process once its remembered check is older than cacheMs', async () => {
    const db = await open();
    const server = new CredentialService(db, undefined, 300);
    const cli = new CredentialService(db, undefined, 300);
    const { id, token } = await cli.issue({ admin: true });
    expect(await server.authenticate(token)).toMatchObject({ credentialId: id });
    await cli.revoke(id);
    // Within the window the server still answers from its memory…
    expect(await server.authenticate(token)).toMatchObject({ credentialId: id });
    await new Promise((ok) => setTimeout(ok, 350));
    // …after it, it reads the credential again and refuses it.
    expect(await server.authenticate(token)).toBeUndefined();
  });

  it('still refuses an expired patient session it remembers', async () => {
    const db = await open();
    let now = new Date('2024-12-02T00:00:00Z');
    const credentials = new CredentialService(db, () => now, 60_000);
    const person = '0193a4c2-7f00-7000-8000-000000000001';
    await db.insertInto('persons').values({ id: person, link_key: null, created_at: now.toISOString() }).execute();
    const session = await credentials.issuePatientSession(person, 1);
    expect(await credentials.authenticate(session.token)).toMatchObject({ kind: 'patient', personId: person });
    now = new Date(now.getTime() + 3_600_000);
    expect(await credentials.authenticate(session.token)).toBeUndefined();
  });
});
