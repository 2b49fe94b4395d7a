/** Roles of the control plane (DESIGN.md §4) and what each may do. */
export const ROLES = ['operator', 'kgd', 'reviewer', 'sre', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Permissions, each granted to the roles listed. */
export const PERMISSIONS = {
  /** Device status, TAC record, evidence: no personal data. */
  readDevice: ['operator', 'kgd', 'reviewer', 'sre', 'admin'],
  /** Owner IIN/BIN and phone number; always with an X-Basis and always audited. */
  readPersonalData: ['operator', 'reviewer', 'admin'],
  dryRun: ['operator', 'reviewer', 'admin'],
  loadTac: ['admin'],
  loadDeclarations: ['kgd', 'admin'],
  loadBlocklist: ['operator', 'admin'],
  review: ['reviewer', 'admin'],
  readAudit: ['admin'],
  /** Destruction on request (src/retention/purge-orders.ts). */
  purge: ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function allows(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}
