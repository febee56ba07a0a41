// Column types that differ between the dialects; capability migrations use these.

import type { Dialect } from '../platform/db.ts';

export type Types = { date: 'date' | 'text'; instant: 'timestamptz' | 'text'; dialect: Dialect };

export function typesFor(dialect: Dialect): Types {
  return dialect === 'postgres' ? { date: 'date', instant: 'timestamptz', dialect } : { date: 'text', instant: 'text', dialect };
}
