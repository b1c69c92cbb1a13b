// The vehicle and owner of a job card, read once per screen visit.

import { call } from "../../lib/api";
import type { Customer, Vehicle } from "./types";

const cache = new Map<string, Promise<{ vehicle: Vehicle; owner: Customer }>>();

export function vehicleOf(id: string): Promise<{ vehicle: Vehicle; owner: Customer }> {
  let p = cache.get(id);
  if (!p) {
    p = call("vehicles.get", { id }).then((r) => r as { vehicle: Vehicle; owner: Customer });
    p.catch(() => cache.delete(id));
    cache.set(id, p);
  }
  return p;
}

/** Forget what was read (after a screen's data changed). */
export function forgetVehicles() {
  cache.clear();
}
