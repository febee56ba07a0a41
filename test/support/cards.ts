// Helpers of the card tests: the simulator's transport over Fastify inject (recording every response
// body, for the "no My Number in any answer" check), and a person with a My Number and a card.

import type { FastifyInstance } from 'fastify';
import { randomInt } from 'node:crypto';
import { SimulatedCard, type Transport } from '../../src/reader/simulator.ts';
import { TEST_ADMIN_TOKEN } from './stores.ts';
import { addMember, myNumberFor, type MemberJson, type TestInsurer } from './fixtures.ts';

export interface RecordingTransport extends Transport {
  /** Every response body text seen so far. */
  bodies: string[];
}

export function injectTransport(app: FastifyInstance, bodies: string[] = []): RecordingTransport {
  const transport = (async ({ method, path, token, body }) => {
    const r = await app.inject({ method, url: path, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(body !== undefined ? { payload: body as object } : {}) });
    bodies.push(r.body);
    return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
  }) as RecordingTransport;
  transport.bodies = bodies;
  return transport;
}

let counter = randomInt(1_000_000);
/** A fresh valid My Number (unique within a run). */
export function newMyNumber(): string {
  counter++;
  return myNumberFor(`7${String(counter).padStart(10, '0')}`);
}

let numberSerial = 0;

export interface CardHolder {
  myNumber: string;
  member: MemberJson;
  card: SimulatedCard;
}

/** Adds a member with a My Number at the insurer and issues a card for that person (PIN 1234). */
export async function personWithCard(app: FastifyInstance, transport: Transport, insurer: TestInsurer, overrides: Record<string, unknown> = {}, cardInput: { validYears?: number; pin?: string } = {}): Promise<CardHolder> {
  const myNumber = newMyNumber();
  const member = await addMember(app, insurer, { number: String(5000 + ++numberSerial), myNumber, ...overrides });
  const card = await SimulatedCard.issue(transport, TEST_ADMIN_TOKEN, { myNumber, name: String(member.name), birthDate: String(member.birthDate), pin: cardInput.pin ?? '1234', ...(cardInput.validYears ? { validYears: cardInput.validYears } : {}) });
  return { myNumber, member, card };
}
