import { describe, expect, it } from 'vitest';
import { useApp } from '../support/fixtures.ts';
import { loadDemoDataIfEmpty } from '../../src/app/demo.ts';

describe('first-run demo data (sqlite)', () => {
  const h = useApp('sqlite');

  it('prints a reception token and an example confirmation that answers valid today, and loads nothing twice', async () => {
    const lines = (await loadDemoDataIfEmpty(h.ctx))!;
    expect(lines).toBeDefined();
    const token = /\(reception\): (\S+)/.exec(lines.join('\n'))![1];
    const body = /-d '(.+)'$/.exec(lines.find((l) => l.trim().startsWith("-d '"))!)![1];
    const r = await h.app.inject({ method: 'POST', url: '/v1/confirmations', headers: { authorization: `Bearer ${token}` }, payload: JSON.parse(body) });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ result: 'valid', certificate: { number: expect.any(String) } });
    // Every sample printed as valid is valid when asked the way the lines say.
    for (const line of lines.filter((l) => l.trim().startsWith('valid '))) {
      const f = Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2] === '""' ? '' : m[2] === '(none)' ? undefined : m[2]]));
      const a = await h.app.inject({ method: 'POST', url: '/v1/confirmations', headers: { authorization: `Bearer ${token}` }, payload: { ...f, document: 'certificate' } });
      expect(a.json().result, line).toBe('valid');
    }
    expect(await loadDemoDataIfEmpty(h.ctx)).toBeUndefined();
  }, 120_000);
});
