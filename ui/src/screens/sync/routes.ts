import type { RouteDef } from "../../routes";

// Every role may see where sync stands (the header's pill leads here); only
// the owner acts, and only managers and owners have it in the navigation.
export const syncRoutes: RouteDef[] = [
  {
    path: "/sync",
    title: "Cloud sync",
    roles: ["front_desk", "technician", "manager", "owner"],
    component: () => import("./Sync.svelte"),
    nav: { label: "Cloud sync", order: 95, roles: ["manager", "owner"] },
  },
];
