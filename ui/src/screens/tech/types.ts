// The shapes these screens read (docs/API.md section 5). They give way to
// the generated types (ui/src/lib/generated/) once those are in.

export type CardStatus = "open" | "in_progress" | "completed" | "cancelled";

export interface Line {
  id: string;
  position: number;
  kind: "labour" | "part" | "fee";
  description: string;
  item_id: string | null;
  quantity: number;
  quantity_display: string;
  unit_price: number | null;
  tax_rate_bp: number;
}

export interface JobCard {
  id: string;
  number: string;
  customer_id: string;
  vehicle_id: string;
  appointment_id: string | null;
  technician_id: string | null;
  status: CardStatus;
  odometer_in: number | null;
  complaint: string;
  findings: string;
  subtotal: number;
  tax_total: number;
  total: number;
  started_at: string | null;
  completed_at: string | null;
  cancelled_at: string | null;
  created_at: string;
  lines: Line[];
}

export interface Vehicle {
  id: string;
  customer_id: string;
  license_plate: string;
  vin: string | null;
  make: string;
  model: string;
  year: number | null;
  odometer: number | null;
}

export interface Customer {
  id: string;
  name: string;
  phone: string | null;
  email: string | null;
}

export interface Item {
  id: string;
  sku: string;
  barcode: string | null;
  name: string;
  unit: string;
  on_hand: number;
  on_hand_display: string;
  price: number;
  active: boolean;
  low_stock: boolean;
}

export interface Step {
  name: string;
  outcome: "ok" | "failed";
  duration_us: number;
}

export interface RunRecord {
  id: string;
  operation: string;
  outcome: "succeeded" | "failed";
  failed_step: string | null;
  error_code: string | null;
  attempts: number;
  started_at: string;
  finished_at: string;
  steps: Step[];
}

export interface Colleague {
  id: string;
  name: string;
  role: string;
  active: boolean;
}
