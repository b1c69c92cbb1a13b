import type { RouteDef } from "../../routes";

export const techRoutes: RouteDef[] = [
  {
    path: "/my-jobs",
    title: "My jobs",
    roles: ["technician", "manager", "owner"],
    component: () => import("./MyJobs.svelte"),
    nav: { label: "My jobs", order: 50 },
  },
  // Every role opens a job card (the front desk from the today board); the actions follow the role.
  { path: "/job/:id", title: "Job card", roles: ["front_desk", "technician", "manager", "owner"], component: () => import("./JobCard.svelte") },
];
