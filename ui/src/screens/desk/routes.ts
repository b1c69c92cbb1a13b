import type { RouteDef } from "../../routes";

const desk: RouteDef["roles"] = ["front_desk", "manager", "owner"];

export const deskRoutes: RouteDef[] = [
  { path: "/today", title: "Today", roles: desk, component: () => import("./Today.svelte"), nav: { label: "Today", order: 10 } },
];
