import { describe, expect, it } from 'vitest';
import { facilityRoles, type FacilityRole } from '../platform/auth.ts';
import { facilityTypes, type FacilityType } from '../registry/rules.ts';
import { roleFitsFacility } from './rules.ts';

// Every cell of the table: role × facility type → may a credential with this role be issued there.
const expected: Record<FacilityRole, Record<FacilityType, boolean>> = {
  reception: { hospital: true, clinic: true, dental_clinic: true, pharmacy: true },
  doctor: { hospital: true, clinic: true, dental_clinic: false, pharmacy: false },
  dentist: { hospital: true, clinic: false, dental_clinic: true, pharmacy: false },
  pharmacist: { hospital: true, clinic: false, dental_clinic: false, pharmacy: true },
  facility_admin: { hospital: true, clinic: true, dental_clinic: true, pharmacy: true },
};

describe('staff roles by facility type', () => {
  const cells = facilityRoles.flatMap((role) => facilityTypes.map((type) => [role, type, expected[role][type]] as const));

  it('covers every role and every facility type', () => {
    expect(cells).toHaveLength(facilityRoles.length * facilityTypes.length);
    expect(Object.keys(expected).sort()).toEqual([...facilityRoles].sort());
  });

  it.each(cells)('%s at a %s: %s', (role, type, allowed) => {
    expect(roleFitsFacility(role, type)).toBe(allowed);
  });

  it('fits no role to an unknown facility type', () => {
    for (const role of facilityRoles) expect(roleFitsFacility(role, 'spa')).toBe(false);
  });
});
