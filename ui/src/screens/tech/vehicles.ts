// The vehicle and owner of a job card (vehicles.get), read once per vehicle.

import { call } from "../../lib/api";
import type { VehicleDetail } from "../../lib/generated/types";

const cache = new Map<string, Promise<VehicleDetail>>();

export function vehicleOf(id: string): Promise<VehicleDetail> {
  let p = cache.get(id);
  if (!p) {
    p = call("vehicles.get", { id });
    p.catch(() => cache.delete(id));
    cache.set(id, p);
  }
  return p;
}

