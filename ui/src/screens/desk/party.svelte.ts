// Who and which car, as the booking and walk-in screens pick them: an existing
// customer and vehicle found by type-ahead, or new ones typed inline.

import type { BookInput } from "../../lib/generated/types";
import { typedInt } from "./desk.svelte";
import type { CustomerCard, VehicleSummary } from "./types";

export type PartyField =
  | "customer_name"
  | "customer_email"
  | "customer_phone"
  | "license_plate"
  | "vehicle_make"
  | "vehicle_model"
  | "vehicle_year"
  | "customer_id"
  | "vehicle_id";

export interface PickedVehicle extends VehicleSummary {
  customer_id?: string;
  customer_name?: string;
}

export class PartyChoice {
  customer = $state<CustomerCard | null>(null);
  newCustomer = $state(false);
  name = $state("");
  email = $state("");
  phone = $state("");

  vehicle = $state<PickedVehicle | null>(null);
  newVehicle = $state(false);
  plate = $state("");
  make = $state("");
  model = $state("");
  year = $state("");

  /** The vehicle belongs to someone other than the chosen customer. */
  get ownerMismatch(): boolean {
    return !!(this.customer && this.vehicle?.customer_id && this.vehicle.customer_id !== this.customer.id);
  }

  chooseCustomer(c: CustomerCard) {
    this.customer = c;
    this.newCustomer = false;
    if (this.vehicle && this.vehicle.customer_id === undefined) this.vehicle = null;
    if (!this.vehicle && c.vehicles.length === 1) this.vehicle = { ...c.vehicles[0], customer_id: c.id, customer_name: c.name };
    if (!this.vehicle && c.vehicles.length === 0) this.newVehicle = true;
  }

  chooseVehicle(v: PickedVehicle) {
    this.vehicle = v;
    this.newVehicle = false;
    if (!this.customer && !this.newCustomer && v.customer_id) {
      this.customer = { id: v.customer_id, name: v.customer_name ?? "", email: null, phone: null, vehicles: [v] };
    }
  }

  reset() {
    this.customer = null;
    this.newCustomer = false;
    this.name = this.email = this.phone = "";
    this.vehicle = null;
    this.newVehicle = false;
    this.plate = this.make = this.model = this.year = "";
  }

  /** The party's part of appointments.book. */
  bookingInput(): Omit<BookInput, "scheduled_date" | "scheduled_time" | "service_type"> {
    const out: Omit<BookInput, "scheduled_date" | "scheduled_time" | "service_type"> = {};
    if (this.customer && !this.newCustomer) out.customer_id = this.customer.id;
    else {
      out.customer_name = this.name;
      if (this.email.trim()) out.customer_email = this.email;
      if (this.phone.trim()) out.customer_phone = this.phone;
    }
    if (this.vehicle && !this.newVehicle) out.vehicle_id = this.vehicle.id;
    else {
      out.license_plate = this.plate;
      out.vehicle_make = this.make;
      out.vehicle_model = this.model;
      const y = this.year.trim();
      if (y) out.vehicle_year = typedInt(y);
    }
    return out;
  }
}
