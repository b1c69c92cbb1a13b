import type { RouteDef } from "../../routes";

export const jobsRoutes: RouteDef[] = [
  { path: "/jobs/failed", title: "Failed jobs", roles: ["manager", "owner"], component: () => import("./FailedJobs.svelte"), nav: { label: "Failed jobs", order: 90 } },
];
