// Bulk applications by an organisation (取りまとめ者, 実施要領 第8の2): a medical corporation or a
// chain pharmacy registers its member facilities first (一括申請様式1), an administrator confirms
// them, then it submits one bulk application (一括申請様式2) covering them. Each member's
// application goes through the ordinary life cycle (apply_subsidy) and is computed and decided
// individually; the organisation sees all of them.
//
// Authentication (decision, kept minimal): an organisation has no credential kind of its own. It
// acts through the facility_admin credential of its representative facility, which is itself one
// of the members; the representative is the facility whose facility_admin registered the form 1.

import type { Kysely } from 'kysely';
import { actorOf, type Principal } from '../platform/auth.ts';
import type { Database } from '../platform/db.ts';
import { fieldError, OnshiError, type FieldError } from '../platform/errors.ts';
import { newId } from '../platform/ids.ts';
import { todayJst } from '../platform/time.ts';
import { checkText, TEXT_MAX } from '../platform/text.ts';
import type { CaseView, ItFundService } from './service.ts';

export interface ItFundOrganisationsTable {
  id: string;
  name: string;
  kind: string;
  representative_facility_code: string;
  state: string;
  registered_by: string;
  registered_at: string;
  confirmed_by: string | null;
  confirmed_at: string | null;
  version: number;
}

export interface ItFundOrganisationMembersTable {
  organisation_id: string;
  facility_code: string;
}

export interface ItFundBulkApplicationsTable {
  id: string;
  organisation_id: string;
  submitted_on: string;
  submitted_by: string;
  submitted_at: string;
}

export interface ItFundBulkItemsTable {
  bulk_id: string;
  case_id: string;
}

declare module '../platform/db.ts' {
  interface Database {
    itfund_organisations: ItFundOrganisationsTable;
    itfund_organisation_members: ItFundOrganisationMembersTable;
    itfund_bulk_applications: ItFundBulkApplicationsTable;
    itfund_bulk_items: ItFundBulkItemsTable;
  }
}

export const organisationKinds = ['medical_corporation', 'chain_pharmacy', 'other'] as const;

export interface OrganisationView {
  id: string;
  name: string;
  kind: string;
  representativeFacilityCode: string;
  state: 'registered' | 'confirmed';
  registeredAt: string;
  confirmedAt: string | null;
  members: { facilityCode: string; facilityName: string; facilityType: string; case: CaseView | null }[];
  bulkApplications: { id: string; submittedOn: string; submittedBy: string; caseIds: string[] }[];
}

export interface MemberRefusal {
  index: number;
  facilityCode: string | null;
  code: string;
  details: Record<string, unknown>;
}

function invalid(errors: FieldError[]): never {
  throw new OnshiError('ONSHI_REQUEST_INVALID', { errors });
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export class ItFundOrganisations {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly itfund: ItFundService,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The organisation's facility_admin (of its representative facility). */
  private representative(principal: Principal): string {
    if (principal.kind !== 'facility') throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { requiredKinds: ['facility'] });
    if (principal.role !== 'facility_admin') throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { requiredRole: 'facility_admin', role: principal.role });
    return principal.facilityCode;
  }

  /** Form 1: the organisation and its member facilities (the representative is a member). */
  async register(principal: Principal, body: Record<string, unknown>): Promise<OrganisationView> {
    const rep = this.representative(principal);
    const errors: FieldError[] = [];
    checkText(errors, 'name', body.name, { max: TEXT_MAX.organisationName, required: true });
    if (!(organisationKinds as readonly unknown[]).includes(body.kind)) errors.push(fieldError('kind', body.kind === undefined ? 'required' : 'not_allowed', organisationKinds.join('|')));
    const codes = body.memberFacilityCodes;
    if (!Array.isArray(codes) || codes.length === 0 || !codes.every((c) => typeof c === 'string' && c !== '')) errors.push(fieldError('memberFacilityCodes', 'required', 'a non-empty array of facility codes'));
    else if (new Set(codes).size !== codes.length) errors.push(fieldError('memberFacilityCodes', 'duplicate'));
    if (errors.length) invalid(errors);
    const members = [...new Set([rep, ...(codes as string[])])];
    const facilities = await this.db.selectFrom('facilities').select(['code', 'type']).where('code', 'in', members).execute();
    const missing = members.filter((c) => !facilities.some((f) => f.code === c));
    if (missing.length) throw new OnshiError('ONSHI_REGISTRY_FACILITY_NOT_FOUND', { facilityCodes: missing });
    if (body.kind === 'chain_pharmacy') {
      const notPharmacy = facilities.filter((f) => f.type !== 'pharmacy').map((f) => f.code);
      if (notPharmacy.length) invalid([fieldError('memberFacilityCodes', 'mismatch', `a chain pharmacy's members are pharmacies: ${notPharmacy.join(', ')}`)]);
    }
    const id = newId();
    await this.db.transaction().execute(async (trx) => {
      const taken = await trx.selectFrom('itfund_organisation_members').select(['facility_code', 'organisation_id']).where('facility_code', 'in', members).execute();
      if (taken.length) throw new OnshiError('ONSHI_ITFUND_MEMBER_TAKEN', { facilityCodes: taken.map((t) => t.facility_code) });
      await trx
        .insertInto('itfund_organisations')
        .values({ id, name: (body.name as string).trim(), kind: body.kind as string, representative_facility_code: rep, state: 'registered', registered_by: actorOf(principal), registered_at: this.clock().toISOString(), confirmed_by: null, confirmed_at: null, version: 1 })
        .execute();
      await trx.insertInto('itfund_organisation_members').values(members.map((facility_code) => ({ organisation_id: id, facility_code }))).execute();
    });
    return this.get(principal, id);
  }

  /** An administrator confirms the registered members (確認を受け); only then may the organisation apply. */
  async confirm(principal: Principal, id: string): Promise<OrganisationView> {
    if (principal.kind !== 'admin') throw new OnshiError('ONSHI_AUTH_FORBIDDEN', { requiredKinds: ['admin'] });
    const org = await this.row(id);
    const r = await this.db
      .updateTable('itfund_organisations')
      .set({ state: 'confirmed', confirmed_by: actorOf(principal), confirmed_at: this.clock().toISOString(), version: org.version + 1 })
      .where('id', '=', id)
      .where('state', '=', 'registered')
      .where('version', '=', org.version)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new OnshiError('ONSHI_ITFUND_ORGANISATION_STATE', { state: org.state, allowed: org.state === 'registered' ? ['confirm'] : ['submit'] });
    return this.get(principal, id);
  }

  /**
   * Form 2: one bulk application covering members, each with its own cost items. All or nothing:
   * each member's application is taken through the life cycle in one transaction, and if any is
   * refused (state, period, cost items) none is taken and every refusal is reported with its index.
   */
  async submit(principal: Principal, id: string, body: Record<string, unknown>): Promise<OrganisationView & { bulkApplicationId: string }> {
    const rep = this.representative(principal);
    const org = await this.row(id);
    if (org.representative_facility_code !== rep) throw new OnshiError('ONSHI_ITFUND_ORGANISATION_NOT_FOUND', { organisationId: id });
    if (org.state !== 'confirmed') throw new OnshiError('ONSHI_ITFUND_ORGANISATION_STATE', { state: org.state, allowed: [], detail: 'the members must be confirmed before a bulk application' });
    const apps = body.applications;
    if (!Array.isArray(apps) || apps.length === 0) invalid([fieldError('applications', 'required', 'at least one member application')]);
    const members = new Set((await this.db.selectFrom('itfund_organisation_members').select('facility_code').where('organisation_id', '=', id).execute()).map((m) => m.facility_code));
    const cases = await this.db.selectFrom('itfund_cases').select(['id', 'facility_code']).where('facility_code', 'in', [...members]).execute();
    const bulkId = newId();
    const refusals: MemberRefusal[] = [];
    const seen = new Set<string>();
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('itfund_bulk_applications').values({ id: bulkId, organisation_id: id, submitted_on: todayJst(this.clock()), submitted_by: actorOf(principal), submitted_at: this.clock().toISOString() }).execute();
      for (const [index, app] of (apps as unknown[]).entries()) {
        const code = isObject(app) && typeof app.facilityCode === 'string' ? app.facilityCode : null;
        if (!isObject(app) || code === null) {
          refusals.push({ index, facilityCode: null, code: 'ONSHI_REQUEST_INVALID', details: { errors: [fieldError('facilityCode', 'required')] } });
          continue;
        }
        if (seen.has(code)) {
          refusals.push({ index, facilityCode: code, code: 'ONSHI_REQUEST_INVALID', details: { errors: [fieldError('facilityCode', 'duplicate')] } });
          continue;
        }
        seen.add(code);
        if (!members.has(code)) {
          refusals.push({ index, facilityCode: code, code: 'ONSHI_ITFUND_ORGANISATION_NOT_FOUND', details: { detail: 'not a registered member of this organisation' } });
          continue;
        }
        const c = cases.find((x) => x.facility_code === code);
        if (!c) {
          refusals.push({ index, facilityCode: code, code: 'ONSHI_ITFUND_CASE_NOT_FOUND', details: { detail: 'the member has no fund account yet' } });
          continue;
        }
        try {
          await this.itfund.actIn(trx, principal, c.id, 'apply_subsidy', { costItems: app.costItems }, { organisationId: id, bulkId });
          await trx.insertInto('itfund_bulk_items').values({ bulk_id: bulkId, case_id: c.id }).execute();
        } catch (e) {
          if (!(e instanceof OnshiError)) throw e;
          refusals.push({ index, facilityCode: code, code: e.code, details: (e.details ?? {}) as Record<string, unknown> });
        }
      }
      if (refusals.length) throw new OnshiError('ONSHI_ITFUND_BULK_REFUSED', { applications: refusals });
    });
    return { ...(await this.get(principal, id)), bulkApplicationId: bulkId };
  }

  async list(principal: Principal): Promise<OrganisationView[]> {
    let q = this.db.selectFrom('itfund_organisations').select('id').orderBy('id');
    if (principal.kind === 'facility') q = q.where('representative_facility_code', '=', principal.facilityCode);
    else if (principal.kind !== 'admin') throw new OnshiError('ONSHI_AUTH_FORBIDDEN');
    const rows = await q.execute();
    return Promise.all(rows.map((r) => this.get(principal, r.id)));
  }

  /** The organisation with every member's case (the representative's staff, or administrators). */
  async get(principal: Principal, id: string): Promise<OrganisationView> {
    const org = await this.row(id);
    if (principal.kind === 'facility' ? principal.facilityCode !== org.representative_facility_code : principal.kind !== 'admin') throw new OnshiError('ONSHI_ITFUND_ORGANISATION_NOT_FOUND', { organisationId: id });
    const members = await this.db
      .selectFrom('itfund_organisation_members as m')
      .innerJoin('facilities as f', 'f.code', 'm.facility_code')
      .leftJoin('itfund_cases as c', 'c.facility_code', 'm.facility_code')
      .select(['m.facility_code', 'f.name', 'f.type', 'c.id as case_id'])
      .where('m.organisation_id', '=', id)
      .orderBy('m.facility_code')
      .execute();
    const bulks = await this.db.selectFrom('itfund_bulk_applications').selectAll().where('organisation_id', '=', id).orderBy('submitted_at').orderBy('id').execute();
    const items = bulks.length ? await this.db.selectFrom('itfund_bulk_items').selectAll().where('bulk_id', 'in', bulks.map((b) => b.id)).execute() : [];
    return {
      id: org.id,
      name: org.name,
      kind: org.kind,
      representativeFacilityCode: org.representative_facility_code,
      state: org.state as OrganisationView['state'],
      registeredAt: org.registered_at,
      confirmedAt: org.confirmed_at,
      members: await Promise.all(members.map(async (m) => ({ facilityCode: m.facility_code, facilityName: m.name, facilityType: m.type, case: m.case_id ? await this.itfund.caseView(this.db, m.case_id) : null }))),
      bulkApplications: bulks.map((b) => ({ id: b.id, submittedOn: b.submitted_on, submittedBy: b.submitted_by, caseIds: items.filter((i) => i.bulk_id === b.id).map((i) => i.case_id).sort() })),
    };
  }

  private async row(id: string) {
    const org = await this.db.selectFrom('itfund_organisations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!org) throw new OnshiError('ONSHI_ITFUND_ORGANISATION_NOT_FOUND', { organisationId: id });
    return org;
  }
}
