// 0013: the hot appends move to their own SQLite file. On SQLite one writer at a time holds a file,
// so a member import's transaction (seconds for a large file) held up every confirmation's usage event.
// Usage events, consents, the access log, used card challenges and stored interface results now
// live in the file attached as EVENTS_SCHEMA (see platform/db.ts), written by their own connection;
// queries name them unqualified, and SQLite finds them there. PostgreSQL (row locks, no single
// writer) and in-memory stores keep them where they are.

import { sql, type Kysely, type Migration } from 'kysely';
import { EVENTS_SCHEMA } from '../platform/db.ts';
import type { Types } from './types.ts';

export const HOT_APPEND_TABLES = ['usage_events', 'consents', 'access_log', 'card_used_challenges', 'interface_idempotency'] as const;

/** A CREATE statement of the main schema, made to create the same object in the events schema. */
function inEventsSchema(text: string, kind: 'TABLE' | 'INDEX' | 'UNIQUE INDEX' | 'TRIGGER'): string {
  const m = new RegExp(`^CREATE\\s+${kind.replace(' ', '\\s+')}\\s+`, 'i').exec(text);
  if (!m) throw new Error(`0013: unexpected ${kind} definition: ${text.slice(0, 80)}`);
  return `${m[0]}${EVENTS_SCHEMA}.${text.slice(m[0].length)}`;
}

/** Foreign keys cannot cross files; the services check what they named (persons, facilities). */
function withoutReferences(text: string): string {
  return text.replace(/\s+references\s+("[^"]+"|\w+)\s*\(\s*("[^"]+"|\w+)\s*\)/gi, '');
}

export function eventsFileMigrations(t: Types): Record<string, Migration> {
  return {
    '0013_hot_appends_own_file': {
      async up(db: Kysely<any>) {
        if (t.dialect !== 'sqlite') return;
        const attached = await sql<{ name: string }>`pragma database_list`.execute(db);
        if (!attached.rows.some((r) => r.name === EVENTS_SCHEMA)) return;
        for (const table of HOT_APPEND_TABLES) {
          const objects = (await sql<{ type: string; name: string; sql: string | null }>`select type, name, sql from main.sqlite_master where tbl_name = ${table}`.execute(db)).rows;
          const definition = objects.find((o) => o.type === 'table');
          if (!definition?.sql) continue;
          const columns = (await sql<{ name: string; pk: number; type: string }>`select name, pk, type from pragma_table_info(${table})`.execute(db)).rows;
          // A table whose key is not an INTEGER PRIMARY KEY keeps its rowids too (the person history refers to consents' rowids).
          const integerKey = columns.filter((c) => c.pk > 0).length === 1 && columns.some((c) => c.pk > 0 && c.type.toLowerCase() === 'integer');
          const names = columns.map((c) => `"${c.name}"`).join(', ');
          const list = integerKey ? names : `rowid, ${names}`;
          await sql.raw(withoutReferences(inEventsSchema(definition.sql, 'TABLE'))).execute(db);
          await sql.raw(`insert into ${EVENTS_SCHEMA}."${table}" (${list}) select ${list} from main."${table}"`).execute(db);
          await sql.raw(`drop table main."${table}"`).execute(db);
          for (const o of objects) {
            if (!o.sql || o.type === 'table') continue;
            if (o.type === 'index') await sql.raw(inEventsSchema(o.sql, /^create\s+unique/i.test(o.sql) ? 'UNIQUE INDEX' : 'INDEX')).execute(db);
            else if (o.type === 'trigger') await sql.raw(inEventsSchema(o.sql, 'TRIGGER')).execute(db);
          }
        }
      },
    },
  };
}
