import type { Role } from "../routes";

const LABELS: Record<Role, string> = { front_desk: "Front desk", technician: "Technician", manager: "Manager", owner: "Owner" };

/** "front_desk" → "Front desk". */
export function roleLabel(role: Role | string): string {
  return LABELS[role as Role] ?? role;
}
