// Which staff roles a facility of each type may hold. A credential's role decides what clinical
// information it may view, so a role the facility cannot have (a doctor at a pharmacy) is refused
// when the credential is issued rather than left for each view to catch.

import type { FacilityRole } from '../platform/auth.ts';
import type { FacilityType } from '../registry/rules.ts';

/**
 * Doctors work at hospitals and clinics, dentists at hospitals and dental clinics, pharmacists at
 * pharmacies and hospitals (hospital pharmacies); reception and the facility's administrator anywhere.
 */
export const rolesOfFacilityType: Readonly<Record<FacilityType, readonly FacilityRole[]>> = {
  hospital: ['reception', 'doctor', 'dentist', 'pharmacist', 'facility_admin'],
  clinic: ['reception', 'doctor', 'facility_admin'],
  dental_clinic: ['reception', 'dentist', 'facility_admin'],
  pharmacy: ['reception', 'pharmacist', 'facility_admin'],
};

export function roleFitsFacility(role: FacilityRole, facilityType: string): boolean {
  const allowed = rolesOfFacilityType[facilityType as FacilityType] as readonly FacilityRole[] | undefined;
  return allowed !== undefined && allowed.includes(role);
}
