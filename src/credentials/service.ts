// Credentials for terminals, insurer systems and administrators. A token is shown once, when it is
// issued; only its hash is kept. ONSHI_ADMIN_TOKEN, when set, is an administrator credential so
// that scripts can bootstrap a fresh installation.

import { newId } from '../platform/ids.ts';
import type { Db } from '../platform/db.ts';
import { nowIso, runRead } from '../platform/db.ts';

interface AuthRow {
  id: string;
  kind: string;
  role: string;
  facility_code: string | null;
  insurer_number: string | null;
  revoked_at: string | null;
  person_id: string | null;
  expires_at: string | null;
}
import { facilityRoles, hashToken, newToken, type FacilityRole, type Principal } from '../platform/auth.ts';
import { fieldError, OnshiError } from '../platform/errors.ts';
import { textError, TEXT_MAX } from '../platform/text.ts';
import { findFacility, findInsurer } from '../registry/repository.ts';
import { roleFitsFacility } from './rules.ts';

export const BOOTSTRAP_ADMIN_ID = 'bootstrap-admin';
export const ADMIN_TOKEN_VARIABLE = 'ONSHI_ADMIN_TOKEN';

export interface CredentialView {
  id: string;
  kind: Principal['kind'];
  role: string;
  facilityCode: string | null;
  insurerNumber: string | null;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface IssueInput {
  facilityCode?: unknown;
  insurerNumber?: unknown;
  role?: unknown;
  admin?: unknown;
  label?: unknown;
}

/**
 * How long an authenticated credential is remembered (by token hash) before it is read again. A
 * revocation through this process (API) takes effect at once; one made by another process (the CLI
 * on the same database, another server) within this time.
 */
export const CREDENTIAL_CACHE_MS = 2000;
const CREDENTIAL_CACHE_SIZE = 10_000;

export class CredentialService {
  /** token hash → the credential row and when it was read (every request authenticates). */
  private readonly recent = new Map<string, { row: AuthRow | undefined; readAt: number }>();

  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
    private readonly cacheMs = CREDENTIAL_CACHE_MS,
  ) {}

  /**
   * A patient session after the card sign-in (the cards service checks card, PIN and signature first).
   * Short-lived: `hours` (default 1). The token is answered once; only its hash is kept.
   */
  async issuePatientSession(personId: string, hours = 1): Promise<{ id: string; token: string; expiresAt: string }> {
    const id = newId();
    const token = newToken();
    const now = this.clock();
    const expiresAt = new Date(now.getTime() + hours * 3_600_000).toISOString();
    await this.db
      .insertInto('credentials')
      .values({ id, token_hash: hashToken(token), kind: 'patient', facility_code: null, insurer_number: null, role: 'patient', label: 'card sign-in', created_at: now.toISOString(), revoked_at: null, person_id: personId, expires_at: expiresAt })
      .execute();
    return { id, token, expiresAt };
  }

  /** Issues a credential for a facility (with a staff role), an insurer, or an administrator. */
  async issue(input: IssueInput): Promise<CredentialView & { token: string }> {
    const id = newId();
    const token = newToken();
    // A label is free text like any other (platform/text.ts): refused, not cut, when it does not fit.
    const labelError = textError('label', input.label, { max: TEXT_MAX.label });
    if (labelError) throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors: [labelError] });
    const label = typeof input.label === 'string' && input.label.trim() !== '' ? input.label.trim() : null;
    const base = { id, token_hash: hashToken(token), label, created_at: nowIso(), revoked_at: null, person_id: null, expires_at: null };
    const targets = [input.facilityCode, input.insurerNumber, input.admin === true ? true : undefined].filter((x) => x !== undefined);
    if (targets.length !== 1) {
      throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors: [fieldError('facilityCode', 'required', 'exactly one of facilityCode, insurerNumber or admin: true')] });
    }
    if (input.facilityCode !== undefined) {
      const role = (input.role ?? 'reception') as FacilityRole;
      if (!facilityRoles.includes(role)) {
        throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors: [fieldError('role', 'not_allowed', facilityRoles.join('|'))] });
      }
      const facility = typeof input.facilityCode === 'string' ? await findFacility(this.db, input.facilityCode) : undefined;
      if (!facility) throw new OnshiError('ONSHI_REGISTRY_FACILITY_NOT_FOUND', { facilityCode: input.facilityCode });
      if (!roleFitsFacility(role, facility.type)) throw new OnshiError('ONSHI_CREDENTIAL_ROLE_NOT_ALLOWED', { role, facilityType: facility.type });
      await this.db.insertInto('credentials').values({ ...base, kind: 'facility', facility_code: facility.code, insurer_number: null, role }).execute();
    } else if (input.insurerNumber !== undefined) {
      if (input.role !== undefined && input.role !== 'insurer') {
        throw new OnshiError('ONSHI_REGISTRY_INVALID_FIELDS', { errors: [fieldError('role', 'not_allowed', 'insurer credentials have no staff role')] });
      }
      if (typeof input.insurerNumber !== 'string' || !(await findInsurer(this.db, input.insurerNumber))) {
        throw new OnshiError('ONSHI_REGISTRY_INSURER_NOT_FOUND', { insurerNumber: input.insurerNumber });
      }
      await this.db.insertInto('credentials').values({ ...base, kind: 'insurer', facility_code: null, insurer_number: input.insurerNumber, role: 'insurer' }).execute();
    } else {
      await this.db.insertInto('credentials').values({ ...base, kind: 'admin', facility_code: null, insurer_number: null, role: 'admin' }).execute();
    }
    const view = await this.get(id);
    return { ...view, token };
  }

  async get(id: string): Promise<CredentialView> {
    const r = await this.db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new OnshiError('ONSHI_CREDENTIAL_NOT_FOUND', { id });
    return toView(r);
  }

  async list(filter: { facilityCode?: string; insurerNumber?: string; includeRevoked?: boolean } = {}): Promise<CredentialView[]> {
    let q = this.db.selectFrom('credentials').selectAll().orderBy('created_at');
    if (filter.facilityCode) q = q.where('facility_code', '=', filter.facilityCode);
    if (filter.insurerNumber) q = q.where('insurer_number', '=', filter.insurerNumber);
    if (!filter.includeRevoked) q = q.where('revoked_at', 'is', null);
    return (await q.execute()).map(toView);
  }

  async revoke(id: string): Promise<CredentialView> {
    const existing = await this.get(id);
    // Revoked here it would come back at the next start: the variable, not the database, defines it.
    if (id === BOOTSTRAP_ADMIN_ID) throw new OnshiError('ONSHI_CREDENTIAL_FROM_ENVIRONMENT', { id, variable: ADMIN_TOKEN_VARIABLE });
    if (existing.revokedAt === null) await this.db.updateTable('credentials').set({ revoked_at: nowIso() }).where('id', '=', id).execute();
    this.recent.clear();
    return this.get(id);
  }

  /** The principal behind a bearer token, or undefined for an unknown or revoked one. */
  async authenticate(token: string): Promise<Principal | undefined> {
    const r = await this.credentialRow(hashToken(token));
    if (!r || r.revoked_at !== null) return undefined;
    if (r.expires_at !== null && r.expires_at <= this.clock().toISOString()) return undefined;
    if (r.kind === 'patient') return { kind: 'patient', credentialId: r.id, role: 'patient', personId: r.person_id! };
    if (r.kind === 'facility') return { kind: 'facility', credentialId: r.id, role: r.role as FacilityRole, facilityCode: r.facility_code! };
    if (r.kind === 'insurer') return { kind: 'insurer', credentialId: r.id, role: 'insurer', insurerNumber: r.insurer_number! };
    return { kind: 'admin', credentialId: r.id, role: 'admin' };
  }

  /** Every request authenticates: a short-lived memory of recent tokens, else one indexed lookup by hash. */
  private async credentialRow(hash: string): Promise<AuthRow | undefined> {
    const now = Date.now();
    const known = this.recent.get(hash);
    if (known && now - known.readAt < this.cacheMs) return known.row;
    const [row] = await runRead<AuthRow>(
      this.db,
      'credentials.authenticate',
      (db) => db.selectFrom('credentials').select(['id', 'kind', 'role', 'facility_code', 'insurer_number', 'revoked_at', 'person_id', 'expires_at']).where('token_hash', '=', ''),
      [hash],
    );
    if (this.cacheMs > 0) {
      if (this.recent.size >= CREDENTIAL_CACHE_SIZE) this.recent.clear();
      this.recent.set(hash, { row, readAt: now });
    }
    return row;
  }

  /** Makes the configured bootstrap token an administrator credential (replacing an earlier one). */
  async ensureBootstrapAdmin(token: string | undefined): Promise<void> {
    if (!token) return;
    const hash = hashToken(token);
    const existing = await this.db.selectFrom('credentials').select(['id', 'token_hash', 'revoked_at']).where('id', '=', BOOTSTRAP_ADMIN_ID).executeTakeFirst();
    if (existing?.token_hash === hash && existing.revoked_at === null) return;
    if (existing) await this.db.deleteFrom('credentials').where('id', '=', BOOTSTRAP_ADMIN_ID).execute();
    this.recent.clear();
    await this.db
      .insertInto('credentials')
      .values({ id: BOOTSTRAP_ADMIN_ID, token_hash: hash, kind: 'admin', facility_code: null, insurer_number: null, role: 'admin', label: ADMIN_TOKEN_VARIABLE, created_at: nowIso(), revoked_at: null, person_id: null, expires_at: null })
      .execute();
  }

  /**
   * The server started without ONSHI_ADMIN_TOKEN: the credential it once defined is revoked, so that
   * unsetting the variable and restarting (what a refused revocation asks for) retires the token.
   * Answers whether one was revoked. Only the server calls this: a CLI run without the variable must
   * not take the server's administrator token away.
   */
  async retireBootstrapAdmin(): Promise<boolean> {
    const r = await this.db.updateTable('credentials').set({ revoked_at: nowIso() }).where('id', '=', BOOTSTRAP_ADMIN_ID).where('revoked_at', 'is', null).executeTakeFirst();
    this.recent.clear();
    return Number(r.numUpdatedRows) > 0;
  }
}

function toView(r: { id: string; kind: string; role: string; facility_code: string | null; insurer_number: string | null; label: string | null; created_at: string; revoked_at: string | null }): CredentialView {
  return {
    id: r.id,
    kind: r.kind as Principal['kind'],
    role: r.role,
    facilityCode: r.facility_code,
    insurerNumber: r.insurer_number,
    label: r.label,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}
