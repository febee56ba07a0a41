// Storage of the card issuer and the reader protocol. The per-confirmation statements (challenge,
// card, a person's memberships) are compiled once per dialect with runStatement.

import { sql } from 'kysely';
import type { Db } from '../platform/db.ts';
import { runRead, runStatement } from '../platform/db.ts';
import { MAX_PIN_TRIES } from './rules.ts';

export interface CardsTable {
  serial: string;
  person_id: string;
  /** The user certificate (public): the server compares what the reader presents with it. */
  certificate: string;
  not_after: string;
  status: 'active' | 'suspended';
  /** scrypt$salt$hash of the PIN (see service: the server plays the chip's PIN check). */
  pin_hash: string;
  pin_failures: number;
  pin_locked_at: string | null;
  /** 保険証利用登録: when the card was registered for insurance use; null until then. */
  registered_at: string | null;
  issued_at: string;
  issued_by: string;
  status_changed_at: string | null;
}

/** Challenges already answered (replay protection; see challenges.ts). Rows past expiry are pruned. */
export interface CardUsedChallengesTable {
  /** The challenge's nonce (random, bound to its purpose, audience and expiry by the server's MAC). */
  id: string;
  expires_at: string;
}

declare module '../platform/db.ts' {
  interface Database {
    cards: CardsTable;
    card_used_challenges: CardUsedChallengesTable;
  }
}

export async function insertCard(db: Db, row: CardsTable): Promise<void> {
  await db.insertInto('cards').values(row).execute();
}

export async function findCard(db: Db, serial: string): Promise<CardsTable | undefined> {
  const [row] = await runRead<CardsTable>(db, 'cards.bySerial', (d) => d.selectFrom('cards').selectAll().where('serial', '=', ''), [serial]);
  return row;
}

export async function cardsOfPerson(db: Db, personId: string): Promise<CardsTable[]> {
  return db.selectFrom('cards').selectAll().where('person_id', '=', personId).orderBy('issued_at').execute();
}

export async function setStatus(db: Db, serial: string, status: CardsTable['status'], at: string): Promise<void> {
  await db.updateTable('cards').set({ status, status_changed_at: at }).where('serial', '=', serial).execute();
}

export async function unlockPin(db: Db, serial: string): Promise<void> {
  await db.updateTable('cards').set({ pin_failures: 0, pin_locked_at: null }).where('serial', '=', serial).execute();
}

/** Registers for insurance use unless already registered; true when this call registered it. */
export async function markRegistered(db: Db, serial: string, at: string): Promise<boolean> {
  const rows = await db.updateTable('cards').set({ registered_at: at }).where('serial', '=', serial).where('registered_at', 'is', null).returning('serial').execute();
  return rows.length === 1;
}

/**
 * Counts a wrong PIN in one statement (two nodes cannot both read 2 and write 3): the count goes up
 * by one, and reaching MAX_PIN_TRIES sets the lock. Answers the new state; undefined when the card
 * was locked already.
 */
export async function countWrongPin(db: Db, serial: string, at: string): Promise<{ pin_failures: number; pin_locked_at: string | null } | undefined> {
  const rows = await db
    .updateTable('cards')
    .set({
      pin_failures: sql<number>`pin_failures + 1`,
      // The column in the first branch gives the CASE its type (timestamptz on PostgreSQL, which would
      // otherwise read the bare parameter as text); it is null here (see the where clause).
      pin_locked_at: sql<string | null>`case when pin_failures + 1 < ${MAX_PIN_TRIES} then pin_locked_at else ${at} end`,
    })
    .where('serial', '=', serial)
    .where('pin_locked_at', 'is', null)
    .returning(['pin_failures', 'pin_locked_at'])
    .execute();
  return rows[0];
}

/** A correct PIN resets the count (only written when there was one). */
export async function resetPinFailures(db: Db, serial: string): Promise<void> {
  await db.updateTable('cards').set({ pin_failures: 0 }).where('serial', '=', serial).where('pin_locked_at', 'is', null).where('pin_failures', '>', 0).execute();
}

// Challenges

/** Above this many rows a consume batch is split (bounds the statement texts runStatement keeps). */
const USED_CHALLENGES_PER_STATEMENT = 256;

/**
 * Marks challenges used: one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING id, on both
 * dialects. Answers the ids this call inserted; an id missing from the answer was used already
 * (by an earlier batch, or by another node). The ids must be distinct (the caller dedupes a batch).
 */
export async function insertUsedChallenges(db: Db, rows: readonly CardUsedChallengesTable[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (let start = 0; start < rows.length; start += USED_CHALLENGES_PER_STATEMENT) {
    const chunk = rows.slice(start, start + USED_CHALLENGES_PER_STATEMENT);
    const parameters: string[] = [];
    for (const r of chunk) parameters.push(r.id, r.expires_at);
    const found = await runStatement<{ id: string }>(
      db,
      `cards.useChallenges.${chunk.length}`,
      (d) =>
        d
          .insertInto('card_used_challenges')
          .values(chunk.map(() => ({ id: '', expires_at: '' })))
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id'),
      parameters,
    );
    for (const r of found) inserted.add(r.id);
  }
  return inserted;
}

/** Forgets used challenges that expired before `before`: an expired challenge is refused before its id is looked up. */
export async function deleteUsedChallenges(db: Db, before: string): Promise<number> {
  const r = await db.deleteFrom('card_used_challenges').where('expires_at', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}

// The person's memberships for the card path: `candidatesOfPerson` in src/confirmation/repository.ts.
export { candidatesOfPerson } from '../confirmation/repository.ts';
