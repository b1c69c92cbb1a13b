// The route table: every screen, who may see it, and its place in the
// navigation. Each area keeps its own list (screens/<area>/routes.ts).
// Roles only shape navigation; the core checks every command again.

import type { Component } from "svelte";
import { deskRoutes } from "./screens/desk/routes";
import { techRoutes } from "./screens/tech/routes";
import { jobsRoutes } from "./screens/jobs/routes";
import { syncRoutes } from "./screens/sync/routes";

import type { Role } from "./lib/generated/types";

export type { Role };

export interface RouteDef {
  /** `/today`, `/job/:id` */
  path: string;
  title: string;
  roles: Role[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  component: () => Promise<{ default: Component<any> }>;
  /** Shown in the side navigation when set (to `nav.roles` only, when given). */
  nav?: { label: string; order: number; shortcut?: string; roles?: Role[] };
}

export const routes: RouteDef[] = [...deskRoutes, ...techRoutes, ...jobsRoutes, ...syncRoutes];

/** Where a role lands after login. */
export function homeFor(role: Role): string {
  return role === "technician" ? "/my-jobs" : "/today";
}
