import type { RouteDef } from "../../routes";

export const techRoutes: RouteDef[] = [
  {
    path: "/my-jobs",
    title: "My jobs",
    roles: ["technician", "manager", "owner"],
    component: () => import("./MyJobs.svelte"),
    nav: { label: "My jobs", order: 50 },
  },
];
