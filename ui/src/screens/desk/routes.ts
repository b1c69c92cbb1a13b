import type { RouteDef } from "../../routes";

// The front desk's screens. Invoices and payments are never for technicians.
const desk: RouteDef["roles"] = ["front_desk", "manager", "owner"];

export const deskRoutes: RouteDef[] = [
  { path: "/today", title: "Today", roles: desk, component: () => import("./Today.svelte"), nav: { label: "Today", order: 10 } },
  { path: "/book", title: "New booking", roles: desk, component: () => import("./Book.svelte"), nav: { label: "New booking", order: 20 } },
  { path: "/walk-in", title: "New walk-in", roles: desk, component: () => import("./WalkIn.svelte"), nav: { label: "New walk-in", order: 25 } },
  { path: "/customers", title: "Customers", roles: desk, component: () => import("./Customers.svelte"), nav: { label: "Customers", order: 30 } },
  { path: "/customer/:id", title: "Customer", roles: desk, component: () => import("./Customer.svelte") },
  { path: "/vehicle/:id", title: "Vehicle", roles: desk, component: () => import("./Vehicle.svelte") },
  { path: "/invoices", title: "Invoices", roles: desk, component: () => import("./Invoices.svelte"), nav: { label: "Invoices", order: 40 } },
  { path: "/invoice/:id", title: "Invoice", roles: desk, component: () => import("./Invoice.svelte") },
];
