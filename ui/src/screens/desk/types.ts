// The shapes the desk screens read, as docs/API.md ("Shared shapes") gives them.
// They stand in until the generated types (ui/src/lib/generated/) name them.

export interface Customer {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  address: string;
  notes: string;
  marketing_consent: boolean;
  created_at: string;
  updated_at: string;
}

export interface VehicleSummary {
  id: string;
  license_plate: string;
  make: string;
  model: string;
  year: number | null;
}

/** One hit of customers.search. */
export interface CustomerCard {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  vehicles: VehicleSummary[];
}

/** One hit of vehicles.search. */
export interface VehicleHit extends VehicleSummary {
  customer_id: string;
  customer_name: string;
}

export interface Vehicle extends VehicleSummary {
  customer_id: string;
  vin: string | null;
  odometer: number | null;
  created_at: string;
  updated_at: string;
}

export interface ServiceRecord {
  id: string;
  vehicle_id: string;
  job_card_id: string | null;
  date: string;
  odometer: number | null;
  summary: string;
  parts_used: unknown;
}

export type AppointmentStatus = "scheduled" | "confirmed" | "checked_in" | "cancelled" | "no_show";

export interface Appointment {
  id: string;
  customer_id: string;
  vehicle_id: string;
  service_type_id: string;
  bay_id: string;
  scheduled_date: string;
  scheduled_time: string;
  duration_minutes: number;
  starts_at: string;
  ends_at: string;
  status: AppointmentStatus;
  notes: string;
  vehicle_owner_mismatch: boolean;
  job_card_id: string | null;
  created_at: string;
}

export type JobCardStatus = "open" | "in_progress" | "completed" | "cancelled";

export interface JobCard {
  id: string;
  number: string;
  customer_id: string;
  vehicle_id: string;
  appointment_id: string | null;
  technician_id: string | null;
  status: JobCardStatus;
  odometer_in: number | null;
  complaint: string;
  findings: string;
  total: number;
  started_at: string | null;
  completed_at: string | null;
  created_at: string;
  // Display fields the list may carry (wt-core); read when present.
  customer_name?: string;
  license_plate?: string;
  vehicle_make?: string;
  vehicle_model?: string;
  technician_name?: string | null;
}

export interface FreeStart {
  date: string;
  time: string;
  bay_id: string;
}

export interface ServiceType {
  id: string;
  code: string;
  name: string;
  duration_minutes: number;
  required_capability: string | null;
  active: boolean;
}

export interface Bay {
  id: string;
  name: string;
  capabilities: string[];
  active: boolean;
}

export interface Settings {
  branch: { name: string; currency: string; time_zone: string; odometer_unit: string };
  opening_hours: { weekday: number; opens: string; closes: string }[];
  closures: { date: string; reason: string }[];
  bays: Bay[];
  service_types: ServiceType[];
}

export interface BilledLine {
  kind: "labour" | "part" | "fee";
  description: string;
  sku: string;
  unit: string;
  quantity: number;
  quantity_display: string;
  unit_price: number;
  tax_rate_bp: number;
  net: number;
  tax: number;
  total: number;
}

export type InvoiceStatus = "pending" | "partially_paid" | "paid" | "void";

export interface Invoice {
  id: string;
  number: string;
  job_card_id: string;
  customer_id: string;
  vehicle_id: string;
  currency: string;
  lines: BilledLine[];
  subtotal: number;
  discount: number;
  tax_summary: { rate_bp: number; net: number; tax: number }[];
  tax_total: number;
  total: number;
  amount_paid: number;
  balance_due: number;
  status: InvoiceStatus;
  issued_at: string;
  due_date: string;
  notes: string;
  // Display fields the list may carry; read when present.
  customer_name?: string;
}

export type PaymentMethod = "cash" | "card" | "bank_transfer" | "other";

export interface Payment {
  id: string;
  invoice_id: string;
  amount: number;
  refunded_amount: number;
  method: PaymentMethod;
  reference: string;
  status: "captured" | "partially_refunded" | "refunded";
  created_at: string;
}

export interface CardAttempt {
  id: string;
  amount: number;
  status: string;
  outcome_code: string | null;
  outcome_message: string | null;
  created_at: string;
}
