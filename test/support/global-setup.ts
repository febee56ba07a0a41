// Decides once per run whether PostgreSQL is reachable. CI must run the store tests on both
// dialects, so there an unreachable PostgreSQL fails the run; a developer without one sees a
// visible message and the PostgreSQL variants are skipped.

import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string | null;
  }
}

export default async function setup(project: TestProject) {
  const url = process.env.ONSHI_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  let reachable = false;
  try {
    await client.connect();
    await client.query('select 1');
    reachable = true;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${url.replace(/:[^:@/]*@/, ':***@')} (${why}); CI runs the store tests on PostgreSQL too.`);
    process.stderr.write(`\n*** PostgreSQL not reachable (${why}): the PostgreSQL variants of the store tests are SKIPPED. ***\n\n`);
  } finally {
    await client.end().catch(() => {});
  }
  project.provide('postgresAdminUrl', reachable ? url : null);
}
