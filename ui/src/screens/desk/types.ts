// The shapes the desk screens read: the generated types (ui/src/lib/generated/,
// from the Rust structs), plus the inner shapes that the generator leaves as
// JsonValue (a customer search card, an invoice's billed lines and tax
// summary), written here as docs/API.md ("Shared shapes") gives them.

import type {
  Invoice as GeneratedInvoice,
  ListedInvoice as GeneratedListedInvoice,
  SearchOutput,
} from "../../lib/generated/types";

export type {
  Appointment,
  AppointmentStatus,
  Attempt as CardAttempt,
  Bay,
  Customer,
  FreeStart,
  JobCard,
  ListedAppointment,
  ListedJobCard,
  Payment,
  ServiceRecord,
  ServiceType,
  Settings,
  Vehicle,
  VehicleHit,
} from "../../lib/generated/types";

export interface VehicleSummary {
  id: string;
  license_plate: string;
  make: string;
  model: string;
  year: number | null;
}

/** One hit of customers.search (`SearchOutput.customers` is JsonValue in the generated types). */
export interface CustomerCard {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  vehicles: VehicleSummary[];
}

export function customerCards(out: SearchOutput): CustomerCard[] {
  return out.customers as unknown as CustomerCard[];
}

export interface BilledLine {
  kind: "labour" | "part" | "fee";
  description: string;
  sku: string;
  unit: string;
  quantity: number;
  quantity_display: string;
  /** The quantity with its unit as the invoice prints it ("0.5 h", "1 pc"): added by the core. */
  quantity_text: string;
  unit_price: number;
  tax_rate_bp: number;
  net: number;
  tax: number;
  total: number;
}

export type InvoiceStatus = "pending" | "partially_paid" | "paid" | "void";
export type PaymentMethod = "cash" | "card" | "bank_transfer" | "other";

/** An invoice with its lines and tax summary typed (JsonValue in the generated types). */
export type Invoice = Omit<GeneratedInvoice, "lines" | "tax_summary" | "status"> & {
  lines: BilledLine[];
  tax_summary: { rate_bp: number; net: number; tax: number }[];
  status: InvoiceStatus;
};

export function invoiceView(i: GeneratedInvoice): Invoice {
  return i as unknown as Invoice;
}

/** An invoice as invoices.list gives it: typed as above, with its customer's name and its car's plate. */
export type ListedInvoice = Invoice & Pick<GeneratedListedInvoice, "customer_name" | "license_plate">;

export function listedInvoiceView(i: GeneratedListedInvoice): ListedInvoice {
  return i as unknown as ListedInvoice;
}
