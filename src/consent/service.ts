// Patient consent to show clinical information at one facility (DOMAIN §1, Decision): the scopes
// ticked on the reader (or attested in writing), in force for a configurable period. The latest
// answer at a facility replaces earlier ones: a patient who now says no has withdrawn a yes.

import { insertMany, type Db } from '../platform/db.ts';
import type { ConsentsTable } from '../clinical/tables.ts';
import { newId } from '../platform/ids.ts';
import { OnshiError } from '../platform/errors.ts';
import { byPersonHistory, personRefs } from '../audit/person-history.ts';
import '../clinical/tables.ts';

export const consentScopes = ['medication', 'checkups', 'limit_info'] as const;
export type ConsentScope = (typeof consentScopes)[number];
export type ConsentMethod = 'reader' | 'written';

export interface GrantInput {
  personId: string;
  facilityCode: string;
  scopes: ConsentScope[];
  method: ConsentMethod;
  attestedBy?: string;
}

export interface ConsentRecord {
  id: string;
  scopes: ConsentScope[];
  grantedAt: string;
  expiresAt: string;
}

export type ConsentDecision =
  | { ok: true; id: string; expiresAt: string }
  | { ok: false; code: 'ONSHI_CONSENT_REQUIRED' | 'ONSHI_CONSENT_EXPIRED' | 'ONSHI_CONSENT_SCOPE' };

/**
 * Pure: decides from a person's answers at one facility (newest first) whether a scope may be shown.
 * The newest answer counts: in force and covering the scope → yes; in force but not covering it →
 * SCOPE (the patient was asked and said no to this). Nothing in force → EXPIRED when some answer
 * once covered the scope, otherwise REQUIRED (never asked, or never agreed to this kind).
 */
export function decideConsent(answersNewestFirst: readonly ConsentRecord[], scope: ConsentScope, now: Date): ConsentDecision {
  const latest = answersNewestFirst[0];
  if (!latest) return { ok: false, code: 'ONSHI_CONSENT_REQUIRED' };
  const at = now.toISOString();
  if (latest.expiresAt > at) {
    return latest.scopes.includes(scope) ? { ok: true, id: latest.id, expiresAt: latest.expiresAt } : { ok: false, code: 'ONSHI_CONSENT_SCOPE' };
  }
  return answersNewestFirst.some((a) => a.scopes.includes(scope)) ? { ok: false, code: 'ONSHI_CONSENT_EXPIRED' } : { ok: false, code: 'ONSHI_CONSENT_REQUIRED' };
}

function parseScopes(text: string): ConsentScope[] {
  return text === '' ? [] : (text.split(',') as ConsentScope[]);
}

export class ConsentService {
  constructor(
    private readonly db: Db,
    private readonly validityHours: number,
    private readonly clock: () => Date = () => new Date(),
    /** Where answers are written (DatabaseHandle.events: never behind a long registry transaction). */
    private readonly events: Db = db,
  ) {}

  /**
   * Checks one answer and builds its row without writing it (pure but for the clock and the id):
   * the caller writes `row` in its own transaction, e.g. the card confirmation's group commit.
   * An empty scopes list is a valid "no to everything" (recorded, grants nothing).
   */
  buildGrant(input: GrantInput): { row: ConsentsTable; record: ConsentRecord } {
    const bad = input.scopes.filter((s) => !consentScopes.includes(s));
    if (bad.length > 0) throw new OnshiError('ONSHI_REQUEST_INVALID', { field: 'scopes', notAllowed: bad, allowed: consentScopes });
    if (input.method !== 'reader' && input.method !== 'written') throw new OnshiError('ONSHI_REQUEST_INVALID', { field: 'method', allowed: ['reader', 'written'] });
    // Written consent is taken by staff with a generic reader: someone must vouch for it.
    if (input.method === 'written' && !input.attestedBy) throw new OnshiError('ONSHI_REQUEST_INVALID', { field: 'attestedBy', reason: 'written consent needs the attesting staff' });
    const scopes = consentScopes.filter((s) => input.scopes.includes(s));
    const now = this.clock();
    const record: ConsentRecord = {
      id: newId(now.getTime()),
      scopes,
      grantedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.validityHours * 3_600_000).toISOString(),
    };
    const row: ConsentsTable = {
      id: record.id,
      person_id: input.personId,
      facility_code: input.facilityCode,
      scopes: scopes.join(','),
      method: input.method,
      attested_by: input.attestedBy ?? null,
      granted_at: record.grantedAt,
      expires_at: record.expiresAt,
    };
    return { row, record };
  }

  /** Records one answer. An empty scopes list is a valid "no to everything" (recorded, grants nothing). */
  async grant(input: GrantInput, db: Db = this.events): Promise<ConsentRecord> {
    const { row, record } = this.buildGrant(input);
    await insertMany(db, 'consents', [row]);
    return record;
  }

  /** The person's answers at a facility, newest first. */
  async answers(personId: string, facilityCode: string, db: Db = this.db): Promise<ConsentRecord[]> {
    const rows = await db
      .selectFrom('consents as c')
      .select(['id', 'scopes', 'granted_at', 'expires_at'])
      .where('person_id', '=', personId)
      .$if(byPersonHistory(db), (q) => q.where(personRefs('consent', 'c', personId)))
      .where('facility_code', '=', facilityCode)
      .orderBy('granted_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map((r) => ({ id: r.id, scopes: parseScopes(r.scopes), grantedAt: r.granted_at, expiresAt: r.expires_at }));
  }

  async inForce(personId: string, facilityCode: string, scope: ConsentScope): Promise<{ id: string; expiresAt: string } | undefined> {
    const d = decideConsent(await this.answers(personId, facilityCode), scope, this.clock());
    return d.ok ? { id: d.id, expiresAt: d.expiresAt } : undefined;
  }

  /** The consent in force for this scope, or the refusal that says why there is none. */
  async require(personId: string, facilityCode: string, scope: ConsentScope): Promise<{ id: string; expiresAt: string }> {
    const d = decideConsent(await this.answers(personId, facilityCode), scope, this.clock());
    if (!d.ok) throw new OnshiError(d.code, { scope });
    return { id: d.id, expiresAt: d.expiresAt };
  }
}
