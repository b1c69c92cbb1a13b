// Generated from the Rust code by `PITLANE_WRITE_TYPES=1 cargo test -p pitlane-core --test core generated`.
// Do not edit: change the Rust types and regenerate.

export type AcknowledgeInput = { alert_id: string, };

/**
 * The staff member a call runs as.
 */
export type Actor = { staff_id: string, code: string, name: string, role: Role, };

export type AdjustInput = { item_id: string, 
/**
 * Signed change in thousandths (give this or `counted`).
 */
quantity?: number | null, 
/**
 * For a stocktake: the quantity counted on the shelf, in thousandths.
 */
counted?: number | null, type: Movement, reference?: Reference | null, reason?: string, };

export type Adjusted = { transaction: LedgerEntry | null, item: Item, };

export type Alert = { id: string, kind: string, title: string, body: string, subject_type: string | null, subject_id: string | null, created_at: string, acknowledged_at: string | null, acknowledged_by: string | null, 
/**
 * When the cause went away by itself (a pending refund went through).
 */
resolved_at: string | null, resolved_reason: string | null, };

export type AlertList = { alerts: Array<Alert>, open_count: number, };

export type AlertListInput = { 
/**
 * Acknowledged and resolved ones too (newest first); by default only
 * open ones (neither).
 */
include_acknowledged?: boolean, limit?: number, };

export type Appointment = { id: string, customer_id: string, vehicle_id: string, service_type_id: string, bay_id: string, scheduled_date: string, scheduled_time: string, duration_minutes: number, starts_at: string, ends_at: string, status: AppointmentStatus, notes: string, vehicle_owner_mismatch: boolean, job_card_id: string | null, created_at: string, };

export type AppointmentAction = { appointment_id: string, reason?: string, };

export type AppointmentList = { appointments: Array<ListedAppointment>, };

export type AppointmentListInput = { 
/**
 * First day (YYYY-MM-DD, branch local); today by default.
 */
from?: string | null, 
/**
 * Last day, inclusive; `from` by default.
 */
to?: string | null, status?: AppointmentStatus | null, bay_id?: string | null, customer_id?: string | null, };

export type AppointmentStatus = "scheduled" | "confirmed" | "checked_in" | "cancelled" | "no_show";

/**
 * One card payment attempt: the saga's durable state.
 */
export type Attempt = { id: string, idempotency_key: string, invoice_id: string, amount: number, currency: string, status: string, charge_id: string | null, payment_id: string | null, refund_key: string, refund_id: string | null, outcome_code: string | null, outcome_message: string | null, actor_id: string | null, created_at: string, };

export type AuditEntry = { seq: number, id: string, at: string, actor_id: string | null, action: string, entity_type: string, entity_id: string | null, details: JsonValue, };

export type AuditList = { entries: Array<AuditEntry>, };

export type AuditListInput = { entity_id?: string | null, before_seq?: number | null, limit?: number, };

export type Availability = { date: string, duration_minutes: number, free: Array<FreeStart>, };

export type AvailabilityInput = { 
/**
 * YYYY-MM-DD, branch local.
 */
date: string, 
/**
 * Service type code (e.g. oil_change).
 */
service_type: string, estimated_duration?: number | null, bay_id?: string | null, branch_id?: string | null, };

export type BackupInfo = { path: string, bytes: number, schema_version: number, };

export type Bay = { id: string, name: string, capabilities: Array<string>, active: boolean, };

export type BayInput = { 
/**
 * Leave out to add a new bay.
 */
id?: string | null, name: string, capabilities?: Array<string>, active?: boolean, };

export type BookInput = { customer_id?: string | null, customer_name?: string | null, customer_email?: string | null, customer_phone?: string | null, vehicle_id?: string | null, license_plate?: string | null, vehicle_make?: string | null, vehicle_model?: string | null, vehicle_year?: number | null, branch_id?: string | null, scheduled_date: string, scheduled_time: string, service_type: string, estimated_duration?: number | null, bay_id?: string | null, notes?: string, };

export type Booked = { appointment: Appointment, customer: Customer, vehicle: Vehicle, is_new_customer: boolean, is_new_vehicle: boolean, 
/**
 * The plate belongs to another customer: linked to this visit anyway.
 */
vehicle_owner_mismatch: boolean, steps: Array<Step>, message: string, };

export type Branch = { id: string, code: string, name: string, address: string, phone: string, email: string, tax_number: string, country: string, time_zone: string, currency: string, default_tax_rate_bp: number, payment_terms_days: number, labour_rate: number, invoice_footer: string, paper_size: string, 
/**
 * `km` or `mi`: as set, else from the country (mi in the US and GB).
 */
odometer_unit: string, 
/**
 * Printed on invoices: bank details, how to pay.
 */
payment_instructions: string, 
/**
 * Minutes without input before the app locks the screen (1..=240).
 */
idle_lock_minutes: number, };

export type BranchPatch = { name?: string | null, address?: string | null, phone?: string | null, email?: string | null, tax_number?: string | null, country?: string | null, time_zone?: string | null, currency?: string | null, default_tax_rate_bp?: number | null, payment_terms_days?: number | null, labour_rate?: number | null, invoice_footer?: string | null, paper_size?: string | null, 
/**
 * `km` or `mi`; empty: the country's (mi in the US and GB, else km).
 */
odometer_unit?: string | null, payment_instructions?: string | null, 
/**
 * Minutes without input before the app locks the screen, 1..=240.
 */
idle_lock_minutes?: number | null, 
/**
 * A PNG or JPEG, base64-encoded (a `data:` URL too), at most 256 KB and
 * 4000 pixels a side; `null` removes it.
 */
logo?: string | null | null, };

export type BulkAdjustInput = { adjustments: Array<Change>, type: Movement, reference?: Reference | null, reason?: string, };

export type BulkAdjusted = { transactions: Array<LedgerEntry>, };

export type CancelInput = { job_card_id: string, reason?: string, };

export type CannedLine = { kind: string, description: string, 
/**
 * Thousandths: hours for labour, the item's unit for parts.
 */
quantity: number, item_id?: string | null, 
/**
 * Minor units; none means the item's price or the branch labour rate.
 */
unit_price?: number | null, };

/**
 * One line of a (bulk) adjustment: a signed change in thousandths.
 */
export type Change = { item_id: string, quantity: number, };

export type CheckedIn = { appointment: Appointment, job_card: JobCard, steps: Array<Step>, };

export type Closure = { 
/**
 * "YYYY-MM-DD", branch local date.
 */
date: string, reason?: string, };

/**
 * A colleague as the front desk and technicians see them: who, and in
 * which role. No staff code (half a login), pay or lock.
 */
export type Colleague = { id: string, name: string, role: Role, active: boolean, };

export type CompleteInput = { job_card_id: string, skip_invoice?: boolean, skip_inventory?: boolean, invoice_data?: InvoiceData, };

export type Completed = { job_card: JobCard, invoice: Invoice | null, inventory_transactions_count: number, service_record: ServiceRecord, steps: Array<Step>, message: string, };

export type ConfigureInput = { 
/**
 * The cloud's base URL: https, or http to this computer.
 */
endpoint: string, 
/**
 * The device's bearer token (`pitlane-cloud device add`); kept in the OS keyring.
 */
token: string, };

export type ConfigureOutput = { endpoint: string, };

export type Customer = { id: string, name: string, email: string | null, phone: string | null, address: string, notes: string, marketing_consent: boolean, created_at: string, updated_at: string, };

export type CustomerDetail = { customer: Customer, vehicles: Array<Vehicle>, };

export type CustomerPatch = { id: string, name?: string | null, email?: string | null | null, phone?: string | null | null, address?: string | null, notes?: string | null, marketing_consent?: boolean | null, };

export type DailySales = { date: string, currency: string, invoices: number, subtotal: number, discount: number, tax_total: number, total: number, 
/**
 * Paid so far on the day's invoices.
 */
collected: number, outstanding: number, tax_summary: Array<RateTotal>, job_cards_completed: number, voided: number, };

export type DayInput = { 
/**
 * YYYY-MM-DD, branch local; today by default.
 */
date?: string | null, };

export type Device = { id: string, tenant_id: string, branch_id: string, series_letter: string, };

/**
 * `device.identity`: who this database speaks as, and whether it may.
 */
export type DeviceIdentity = { device_id: string, tenant_id: string, branch_id: string, series_letter: string, state: DeviceIdentityState, 
/**
 * What put it in doubt (empty when `ok`).
 */
note: string, 
/**
 * When the state last changed.
 */
since: string | null, 
/**
 * What the owner does about it (empty when `ok`).
 */
what_to_do: string, 
/**
 * Oldest first.
 */
previous: Array<PreviousIdentity>, };

/**
 * Whether this database may speak as its device.
 */
export type DeviceIdentityState = "ok" | "moved" | "restored" | "conflict";

/**
 * How a drain ended.
 */
export type DrainOutcome = "done" | "waiting" | "halted" | "not_configured" | "stopped";

/**
 * What one drain did.
 */
export type DrainReport = { outcome: DrainOutcome, 
/**
 * Batches the cloud answered.
 */
batches: number, 
/**
 * Events the cloud now holds (accepted or duplicate).
 */
delivered: number, 
/**
 * Events quarantined during this drain.
 */
quarantined: number, 
/**
 * Why it stopped, when not `done` (no token, the last error).
 */
message: string | null, };

export type EmailInput = { invoice_id: string, 
/**
 * Send to this address instead of the customer's.
 */
to?: string | null, };

export type EmailQueued = { job_id: string, to: string, invoice_number: string, };

export type Envelope = { success: true, data: JsonValue, } | { success: false, code: string, message: string, status_code: number, details: JsonValue, };

export type FailedInput = { limit?: number, };

export type FailedJobs = { jobs: Array<Job>, };

/**
 * One bad input field: the field's path (`customer.email`, `adjustments[2].quantity`)
 * and a sentence a person can act on.
 */
export type FieldError = { field: string, message: string, };

/**
 * A free start: date, local time and the bay.
 */
export type FreeStart = { date: string, time: string, bay_id: string, };

export type History = { vehicle: Vehicle, records: Array<ServiceRecord>, };

export type IdInput = { id: string, };

export type InitInput = { branch_name: string, branch_code?: string | null, owner_name: string, owner_code: string, owner_pin: Pin, time_zone?: string, currency?: string, country?: string, default_tax_rate_bp?: number, payment_terms_days?: number, 
/**
 * This device's letter in every number series (INV-2026-A000001).
 */
series_letter?: string, 
/**
 * The company this device reports to; a new one when left out.
 */
tenant_id?: string | null, };

export type InitOutput = { branch: Branch, owner: StaffMember, device: Device, };

/**
 * Where the device reaches outside services. Addresses only: their keys
 * are secrets, in the keyring.
 */
export type Integrations = { payment_gateway_url: string | null, smtp_host: string | null, 
/**
 * A number on the wire (1..=65535).
 */
smtp_port: number | null, smtp_username: string | null, 
/**
 * The sender: `Garage Name <service@garage.example>`.
 */
smtp_from: string | null, 
/**
 * `starttls` (default), `tls`, or `none` (this machine only).
 */
smtp_security: string | null, sms_gateway_url: string | null, sms_sender: string | null, 
/**
 * Where manager alerts (low stock, refunded card charges) are emailed.
 */
alerts_email: string | null, };

export type IntegrationsPatch = { 
/**
 * The card payment gateway's address (https; plain http only on
 * loopback). For every field an empty string removes the setting.
 */
payment_gateway_url?: string | null, smtp_host?: string | null, 
/**
 * A number; a numeric string is taken too (older callers sent one).
 */
smtp_port?: PortInput | null, smtp_username?: string | null, smtp_from?: string | null, smtp_security?: string | null, sms_gateway_url?: string | null, sms_sender?: string | null, alerts_email?: string | null, };

export type Invoice = { id: string, number: string, job_card_id: string, customer_id: string, vehicle_id: string, currency: string, lines: JsonValue, subtotal: number, discount: number, tax_summary: JsonValue, tax_total: number, total: number, amount_paid: number, balance_due: number, status: string, issued_at: string, due_date: string, notes: string, };

export type InvoiceData = { 
/**
 * YYYY-MM-DD; by default the issue date plus the branch's payment terms.
 */
due_date?: string | null, notes?: string, };

export type InvoiceList = { invoices: Array<ListedInvoice>, };

export type InvoiceListInput = { status?: string | null, customer_id?: string | null, limit?: number, offset?: number, };

export type Item = { id: string, sku: string, barcode: string | null, name: string, unit: string, 
/**
 * Thousandths of the unit.
 */
on_hand: number, 
/**
 * For people: "5", "2.5".
 */
on_hand_display: string, reorder_level: number, cost: number, price: number, tax_rate_bp: number, active: boolean, low_stock: boolean, };

export type ItemList = { items: Array<Item>, };

export type ItemPatch = { id: string, sku?: string | null, barcode?: string | null | null, name?: string | null, unit?: string | null, reorder_level?: number | null, cost?: number | null, price?: number | null, tax_rate_bp?: number | null, active?: boolean | null, };

export type ItemsInput = { 
/**
 * Part of the name, or the start of the SKU or barcode.
 */
query?: string | null, low_stock_only?: boolean, include_inactive?: boolean, limit?: number, offset?: number, };

export type Job = { id: string, event_id: string, event_type: string, listener: string, state: string, attempts: number, max_attempts: number, run_at: string, last_error: string | null, outcome: string | null, created_at: string, first_started_at: string | null, finished_at: string | null, 
/**
 * What the job is about, in words (the invoice, the appointment, to
 * whom): filled by the commands, for people ([`describe`]).
 */
subject: string | null, 
/**
 * The earlier message to the same customer by the same channel that
 * this one waits for: filled by the commands.
 */
waits_for: string | null, };

export type JobCard = { id: string, number: string, customer_id: string, vehicle_id: string, appointment_id: string | null, technician_id: string | null, status: JobCardStatus, odometer_in: number | null, complaint: string, findings: string, discount: number, subtotal: number, tax_total: number, total: number, started_at: string | null, completed_at: string | null, cancelled_at: string | null, created_at: string, lines: Array<Line>, };

export type JobCardList = { job_cards: Array<ListedJobCard>, };

export type JobCardListInput = { status?: JobCardStatus | null, technician_id?: string | null, 
/**
 * Cards with no technician; with `technician_id`, that technician's
 * cards and the unassigned ones ("my jobs").
 */
unassigned?: boolean, vehicle_id?: string | null, limit?: number, offset?: number, };

export type JobCardStatus = "open" | "in_progress" | "completed" | "cancelled";

export type JobCardUpdateInput = { job_card_id: string, odometer_in?: number | null, complaint?: string | null, findings?: string | null, };

export type JobInput = { job_id: string, };

export type JobsListInput = { 
/**
 * `waiting` (queued or running: the default), or one state.
 */
state?: string, limit?: number, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

export type Ledger = { item: Item, transactions: Array<LedgerEntry>, };

export type LedgerEntry = { seq: number, id: string, item_id: string, delta: number, type: string, reference: Reference | null, reason: string, balance_before: number, balance_after: number, actor_id: string | null, at: string, };

export type LedgerInput = { item_id: string, before_seq?: number | null, limit?: number, };

export type Line = { id: string, position: number, kind: string, description: string, item_id: string | null, quantity: number, quantity_display: string, 
/**
 * `h` for labour, the item's unit for parts (`pcs`, `L`…), empty for fees.
 */
unit: string, 
/**
 * The quantity with its unit, as the invoice prints it: "0.5 h", "2 pcs", "1 pc".
 */
quantity_text: string, unit_price: number | null, tax_rate_bp: number, };

/**
 * An appointment as a list shows it: the appointment, and who and which car
 * it is for (read-only display fields, as the customer and vehicle are now).
 */
export type ListedAppointment = { 
/**
 * The appointment's customer (who booked), not necessarily the
 * vehicle's owner: see `vehicle_owner_mismatch`.
 */
customer_name: string, 
/**
 * E.164, or `None` when the customer has none.
 */
customer_phone: string | null, license_plate: string, make: string, model: string, year: number | null, id: string, customer_id: string, vehicle_id: string, service_type_id: string, bay_id: string, scheduled_date: string, scheduled_time: string, duration_minutes: number, starts_at: string, ends_at: string, status: AppointmentStatus, notes: string, vehicle_owner_mismatch: boolean, job_card_id: string | null, created_at: string, };

/**
 * An invoice as a list shows it: the invoice, and who it was billed to and
 * for which car (read-only display fields, as the customer and vehicle are
 * now).
 */
export type ListedInvoice = { 
/**
 * The invoice's customer (`customer_id`).
 */
customer_name: string, 
/**
 * The invoice's vehicle (`vehicle_id`).
 */
license_plate: string, id: string, number: string, job_card_id: string, customer_id: string, vehicle_id: string, currency: string, lines: JsonValue, subtotal: number, discount: number, tax_summary: JsonValue, tax_total: number, total: number, amount_paid: number, balance_due: number, status: string, issued_at: string, due_date: string, notes: string, };

/**
 * A card as a list shows it: the card, and who and what it is for
 * (read-only display fields, as they are now).
 */
export type ListedJobCard = { customer_name: string, license_plate: string, make: string, model: string, 
/**
 * `None` while unassigned.
 */
technician_name: string | null, id: string, number: string, customer_id: string, vehicle_id: string, appointment_id: string | null, technician_id: string | null, status: JobCardStatus, odometer_in: number | null, complaint: string, findings: string, discount: number, subtotal: number, tax_total: number, total: number, started_at: string | null, completed_at: string | null, cancelled_at: string | null, created_at: string, lines: Array<Line>, };

export type LoggedOut = { logged_out: boolean, };

/**
 * Someone the login screen offers to pick: the code to log in with, the
 * name and the role. Nothing else (no pay, no lock): the PIN and its
 * lockout are what keep an account.
 */
export type LoginChoice = { code: string, name: string, role: Role, };

export type LoginChoices = { staff: Array<LoginChoice>, };

export type LoginInput = { code: string, pin: Pin, };

export type LoginOutput = { token: string, staff: Actor, };

/**
 * What settings show of the logo (never the bytes).
 */
export type LogoInfo = { media_type: string, width: number, height: number, bytes: number, };

export type Movement = "purchase" | "job_card" | "adjustment" | "return" | "stocktake";

export type NewCustomer = { name: string, email?: string | null, phone?: string | null, address?: string, notes?: string, marketing_consent?: boolean, };

export type NewIdentityInput = { 
/**
 * The new device's letter in every number series: A-Z, neither the
 * current one nor one this database used before.
 */
series_letter: string, };

export type NewIdentityOutput = { identity: DeviceIdentity, previous_device_id: string, 
/**
 * Events not yet at the cloud, now numbered 2.. under the new id (the
 * `DeviceIdentityChanged` event is number 1).
 */
events_restamped: number, 
/**
 * Secrets copied to the new device in the keyring (the sync token is
 * not: the new device is registered at the cloud and gets its own).
 */
secrets_copied: Array<string>, next_steps: string, };

export type NewItem = { sku: string, barcode?: string | null, name: string, unit?: string, reorder_level?: number, cost?: number, price?: number, 
/**
 * Basis points; the branch's default rate when left out.
 */
tax_rate_bp?: number | null, 
/**
 * Stock on the shelf when the item is added, in thousandths.
 */
opening_stock?: number, };

export type NewJobCard = { customer_id: string, vehicle_id: string, technician_id?: string | null, complaint?: string, odometer_in?: number | null, };

export type NewLine = { job_card_id: string, kind: string, description?: string | null, 
/**
 * Thousandths: hours for labour, the item's unit for parts.
 */
quantity: number, item_id?: string | null, 
/**
 * Minor units; by default the item's price (part), the technician's or
 * branch's labour rate (labour); a fee without one stays unpriced.
 */
unit_price?: number | null, tax_rate_bp?: number | null, };

export type NewStaff = { code: string, name: string, role: Role, pin: Pin, hourly_rate?: number, };

export type NewVehicle = { customer_id: string, license_plate: string, vin?: string | null, make: string, model: string, year?: number | null, odometer?: number | null, };

/**
 * A command that takes no input: `{}` (or nothing).
 */
export type NoInput = Record<symbol, never>;

export type OpeningInterval = { 
/**
 * ISO weekday: 1 = Monday … 7 = Sunday.
 */
weekday: number, 
/**
 * "HH:MM", branch local time.
 */
opens: string, closes: string, };

export type OrchestrationStatus = { job_card_id: string, status: JobCardStatus, runs: Array<RunRecord>, };

export type Outstanding = { as_of: string, currency: string, total_due: number, 
/**
 * Balance by age past the due date: not yet due, 1–30, 31–60, over 60 days.
 */
current: number, overdue_1_30: number, overdue_31_60: number, overdue_over_60: number, invoices: Array<OutstandingInvoice>, };

export type OutstandingInvoice = { invoice_id: string, number: string, customer_id: string, customer_name: string, total: number, balance_due: number, due_date: string, days_overdue: number, };

export type Paid = { payment: Payment, invoice: Invoice, 
/**
 * True when this answers a repeated request with the first result.
 */
replayed: boolean, };

export type PathInput = { path: string, };

export type Payment = { id: string, invoice_id: string, amount: number, refunded_amount: number, method: string, reference: string, status: string, idempotency_key: string, created_at: string, };

export type PaymentInput = { invoice_id: string, 
/**
 * Minor units, more than zero and at most the balance due.
 */
amount: number, method: string, 
/**
 * Sent again with a retried request, it returns the first result.
 */
idempotency_key: string, 
/**
 * A bank transfer's reference, a cheque number…
 */
reference?: string, };

export type PaymentList = { payments: Array<Payment>, 
/**
 * Card payment attempts on the invoice, settled or not (declined,
 * refunded after a failed recording...), for the payment history.
 */
card_attempts: Array<Attempt>, };

export type PaymentListInput = { invoice_id: string, };

export type PdfInput = { invoice_id: string, 
/**
 * Also answer the PDF itself (`content_base64`), for a preview where
 * the file's path is of no use (browser mode).
 */
inline?: boolean, };

export type PdfWritten = { path: string, pages: number, bytes: number, 
/**
 * The PDF, standard base64: only when asked for with `inline`.
 */
content_base64?: string, };

/**
 * A PIN, kept out of Debug output and logs.
 */
export type Pin = string;

/**
 * A port as sent: a JSON number, or the same as a string; `""` removes it.
 */
export type PortInput = number | string;

/**
 * An identity this database had before its current one.
 */
export type PreviousIdentity = { device_id: string, series_letter: string, replaced_by: string, 
/**
 * The state that led to it (`moved`, `restored`, `conflict`), or
 * `owner` when the owner chose it with nothing in doubt.
 */
reason: string, at: string, };

export type Productivity = { from: string, to: string, technicians: Array<TechnicianOutput>, };

export type QuarantinedEvent = { id: string, type: string, aggregate_type: string, aggregate_id: string, device_seq: number, occurred_at: string, quarantined_at: string, reason: string, };

export type RangeInput = { 
/**
 * First day, branch local; 6 days before `to` by default.
 */
from?: string | null, 
/**
 * Last day, inclusive; today by default.
 */
to?: string | null, };

export type RateTotal = { rate_bp: number, net: number, tax: number, };

/**
 * What a stock movement refers to (a job card, a supplier delivery…).
 */
export type Reference = { type: string, id: string, };

export type RefundInput = { payment_id: string, 
/**
 * Minor units; the whole unrefunded amount by default.
 */
amount?: number | null, idempotency_key: string, reason?: string, };

export type Refunded = { refund_id: string, amount: number, payment: Payment, invoice: Invoice, replayed: boolean, };

export type RemoveLine = { job_card_id: string, line_id: string, };

export type Restored = { restored_from: string, schema_version: number, };

export type RetryQuarantinedInput = { event_id: string, };

export type RetryQuarantinedOutput = { event_id: string, };

export type Role = "front_desk" | "technician" | "manager" | "owner";

export type RunNowOutput = { drain: DrainReport, status: SyncStatus, };

export type RunRecord = { id: string, operation: string, outcome: string, failed_step: string | null, error_code: string | null, attempts: number, started_at: string, finished_at: string, steps: JsonValue, };

export type SearchInput = { query: string, limit?: number, };

/**
 * Search results are the customers' cards: id, name, email, phone and
 * vehicles (id, license_plate, make, model, year). `customers.get` gives the rest.
 */
export type SearchOutput = { customers: Array<JsonValue>, };

export type SecretState = { name: string, 
/**
 * `set`, `not_set`, `locked` (the keyring is locked), or
 * `unavailable` (no keyring, or it failed).
 */
state: string, };

export type ServiceRecord = { id: string, vehicle_id: string, job_card_id: string | null, date: string, odometer: number | null, summary: string, parts_used: JsonValue, };

export type ServiceType = { id: string, code: string, name: string, duration_minutes: number, required_capability: string | null, active: boolean, lines: Array<CannedLine>, };

export type ServiceTypeInput = { code: string, name: string, duration_minutes: number, required_capability?: string | null, active?: boolean, lines?: Array<CannedLine>, };

export type SetSecretInput = { name: string, 
/**
 * The secret; `null` removes it.
 */
value?: string | null, };

export type Settings = { branch: Branch, opening_hours: Array<OpeningInterval>, closures: Array<Closure>, bays: Array<Bay>, service_types: Array<ServiceType>, device: Device, 
/**
 * The invoice logo (its type and size; the file is not sent back).
 */
logo: LogoInfo | null, integrations: Integrations, 
/**
 * Which secrets the keyring holds (never their values).
 */
secrets: Array<SecretState>, };

/**
 * `staff.list`: managers and owners get every [`StaffMember`] field, the
 * front desk and technicians [`Colleague`]s.
 */
export type StaffList = { staff: Array<StaffMember>, } | { staff: Array<Colleague>, };

export type StaffListInput = { include_inactive?: boolean, };

export type StaffMember = { id: string, code: string, name: string, role: Role, active: boolean, 
/**
 * Minor units per hour, for technicians' labour lines.
 */
hourly_rate: number, locked_until: string | null, };

export type StaffPatch = { id: string, name?: string | null, role?: Role | null, pin?: Pin | null, active?: boolean | null, hourly_rate?: number | null, };

export type StartInput = { job_card_id: string, 
/**
 * Leave out: a technician starts the card for themselves; a manager
 * or owner starts it for the technician it is assigned to.
 */
technician_id?: string | null, odometer?: number | null, notes?: string | null, };

export type Stats = { queued: number, 
/**
 * Of the queued jobs, those that failed before and wait to be tried again.
 */
retrying: number, running: number, succeeded: number, failed: number, discarded: number, 
/**
 * Of the jobs finished in the last 24 hours, the share that failed.
 */
failure_rate_24h: number, 
/**
 * From the event to the job's first start, over the last 24 hours.
 */
dispatch_latency_ms_p50: number | null, dispatch_latency_ms_p95: number | null, oldest_queued_at: string | null, };

export type StatusInput = { job_card_id: string, };

export type Step = { name: string, outcome: string, duration_us: number, };

/**
 * Who this device is, so the owner can register it at the cloud.
 */
export type SyncDevice = { device_id: string, tenant_id: string, branch_id: string, series_letter: string, };

/**
 * Where sync stands. Holds no secret (any staff sees it).
 */
export type SyncStatus = { 
/**
 * An endpoint is set (the token is in the keyring).
 */
configured: boolean, endpoint: string | null, 
/**
 * The last attempt reached the cloud.
 */
online: boolean, 
/**
 * Events not yet at the cloud, quarantined ones excluded.
 */
backlog: number, 
/**
 * When the oldest of them happened.
 */
oldest_pending_at: string | null, last_attempt_at: string | null, last_success_at: string | null, last_error: string | null, last_error_at: string | null, 
/**
 * Consecutive failed attempts.
 */
failures: number, next_attempt_at: string | null, 
/**
 * Set when sync stopped for an identity conflict: the owner must act.
 */
halted_reason: string | null, halted_at: string | null, 
/**
 * How many events are quarantined, and the oldest of them.
 */
quarantined_count: number, quarantined: Array<QuarantinedEvent>, device: SyncDevice, };

export type TechnicianOutput = { staff_id: string, name: string, job_cards_completed: number, 
/**
 * Thousandths of an hour.
 */
labour_hours: number, labour_revenue: number, revenue: number, };

export type UpdateSettings = { branch?: BranchPatch | null, 
/**
 * Replaces the whole week.
 */
opening_hours?: Array<OpeningInterval> | null, 
/**
 * Replaces the list of closures.
 */
closures?: Array<Closure> | null, 
/**
 * Bays to add (no id) or change (with id).
 */
bays?: Array<BayInput> | null, 
/**
 * Service types to add or change, matched by code; lines are replaced.
 */
service_types?: Array<ServiceTypeInput> | null, integrations?: IntegrationsPatch | null, };

export type Vehicle = { id: string, customer_id: string, license_plate: string, vin: string | null, make: string, model: string, year: number | null, odometer: number | null, created_at: string, updated_at: string, };

export type VehicleDetail = { vehicle: Vehicle, owner: Customer, };

/**
 * A vehicle in search results, with its owner's name.
 */
export type VehicleHit = { id: string, customer_id: string, customer_name: string, license_plate: string, make: string, model: string, year: number | null, };

export type VehiclePatch = { id: string, 
/**
 * Hands the vehicle to another customer.
 */
customer_id?: string | null, license_plate?: string | null, vin?: string | null | null, make?: string | null, model?: string | null, year?: number | null | null, odometer?: number | null, };

export type VehicleSearch = { vehicles: Array<VehicleHit>, };

export type Verification = { ok: boolean, entries_checked: number, 
/**
 * The first entry whose hash or link does not hold.
 */
broken_at_seq: number | null, broken_entry_id: string | null, reason: string | null, };

export type VoidInput = { invoice_id: string, reason: string, };
