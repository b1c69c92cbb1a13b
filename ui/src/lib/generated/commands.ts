// Generated from the Rust code by `PITLANE_WRITE_TYPES=1 cargo test -p pitlane-core --test core generated`.
// Do not edit: change the Rust types and regenerate.

import type { AcknowledgeInput, Actor, AdjustInput, Adjusted, Alert, AlertList, AlertListInput, Appointment, AppointmentAction, AppointmentList, AppointmentListInput, AuditList, AuditListInput, Availability, AvailabilityInput, BackupInfo, BookInput, Booked, BulkAdjustInput, BulkAdjusted, CancelInput, CheckedIn, CompleteInput, Completed, ConfigureInput, ConfigureOutput, Customer, CustomerDetail, CustomerPatch, DailySales, DayInput, DeviceIdentity, EmailInput, EmailQueued, FailedInput, FailedJobs, History, IdInput, InitInput, InitOutput, Invoice, InvoiceList, InvoiceListInput, Item, ItemList, ItemPatch, ItemsInput, Job, JobCard, JobCardList, JobCardListInput, JobCardUpdateInput, JobInput, JobsListInput, Ledger, LedgerInput, LoggedOut, LoginChoices, LoginInput, LoginOutput, NewCustomer, NewIdentityInput, NewIdentityOutput, NewItem, NewJobCard, NewLine, NewStaff, NewVehicle, NoInput, OrchestrationStatus, Outstanding, Paid, PathInput, PaymentInput, PaymentList, PaymentListInput, PdfInput, PdfWritten, Productivity, RangeInput, RefundInput, Refunded, RemoveLine, Restored, RetryQuarantinedInput, RetryQuarantinedOutput, RunNowOutput, SearchInput, SearchOutput, SecretState, SetSecretInput, Settings, StaffList, StaffListInput, StaffMember, StaffPatch, StartInput, Stats, StatusInput, SyncStatus, UpdateSettings, Vehicle, VehicleDetail, VehiclePatch, VehicleSearch, Verification, VoidInput } from "./types";

// Every command: its input and output.
export type Commands = {
  "setup.init": { input: InitInput; output: InitOutput };
  "auth.login": { input: LoginInput; output: LoginOutput };
  "auth.logout": { input: NoInput; output: LoggedOut };
  "auth.whoami": { input: NoInput; output: Actor };
  "auth.staff": { input: NoInput; output: LoginChoices };
  "customers.search": { input: SearchInput; output: SearchOutput };
  "customers.get": { input: IdInput; output: CustomerDetail };
  "customers.create": { input: NewCustomer; output: Customer };
  "customers.update": { input: CustomerPatch; output: Customer };
  "vehicles.search": { input: SearchInput; output: VehicleSearch };
  "vehicles.get": { input: IdInput; output: VehicleDetail };
  "vehicles.register": { input: NewVehicle; output: Vehicle };
  "vehicles.update": { input: VehiclePatch; output: Vehicle };
  "vehicles.history": { input: IdInput; output: History };
  "appointments.availability": { input: AvailabilityInput; output: Availability };
  "appointments.book": { input: BookInput; output: Booked };
  "appointments.confirm": { input: AppointmentAction; output: Appointment };
  "appointments.cancel": { input: AppointmentAction; output: Appointment };
  "appointments.check_in": { input: AppointmentAction; output: CheckedIn };
  "appointments.list": { input: AppointmentListInput; output: AppointmentList };
  "inventory.items": { input: ItemsInput; output: ItemList };
  "inventory.create_item": { input: NewItem; output: Item };
  "inventory.update_item": { input: ItemPatch; output: Item };
  "inventory.adjust": { input: AdjustInput; output: Adjusted };
  "inventory.bulk_adjust": { input: BulkAdjustInput; output: BulkAdjusted };
  "inventory.ledger": { input: LedgerInput; output: Ledger };
  "inventory.low_stock": { input: NoInput; output: ItemList };
  "job_cards.create": { input: NewJobCard; output: JobCard };
  "job_cards.get": { input: IdInput; output: JobCard };
  "job_cards.list": { input: JobCardListInput; output: JobCardList };
  "job_cards.add_line": { input: NewLine; output: JobCard };
  "job_cards.remove_line": { input: RemoveLine; output: JobCard };
  "job_cards.start": { input: StartInput; output: JobCard };
  "job_cards.update": { input: JobCardUpdateInput; output: JobCard };
  "job_cards.complete": { input: CompleteInput; output: Completed };
  "job_cards.cancel": { input: CancelInput; output: JobCard };
  "job_cards.orchestration_status": { input: StatusInput; output: OrchestrationStatus };
  "invoices.get": { input: IdInput; output: Invoice };
  "invoices.list": { input: InvoiceListInput; output: InvoiceList };
  "invoices.pdf": { input: PdfInput; output: PdfWritten };
  "invoices.email": { input: EmailInput; output: EmailQueued };
  "invoices.void": { input: VoidInput; output: Invoice };
  "payments.process": { input: PaymentInput; output: Paid };
  "payments.refund": { input: RefundInput; output: Refunded };
  "payments.list": { input: PaymentListInput; output: PaymentList };
  "reports.daily_sales": { input: DayInput; output: DailySales };
  "reports.technician_productivity": { input: RangeInput; output: Productivity };
  "reports.outstanding": { input: NoInput; output: Outstanding };
  "alerts.list": { input: AlertListInput; output: AlertList };
  "alerts.acknowledge": { input: AcknowledgeInput; output: Alert };
  "jobs.failed": { input: FailedInput; output: FailedJobs };
  "jobs.retry": { input: JobInput; output: Job };
  "jobs.discard": { input: JobInput; output: Job };
  "jobs.stats": { input: NoInput; output: Stats };
  "jobs.list": { input: JobsListInput; output: FailedJobs };
  "staff.list": { input: StaffListInput; output: StaffList };
  "staff.create": { input: NewStaff; output: StaffMember };
  "staff.update": { input: StaffPatch; output: StaffMember };
  "settings.get": { input: NoInput; output: Settings };
  "settings.update": { input: UpdateSettings; output: Settings };
  "settings.set_secret": { input: SetSecretInput; output: SecretState };
  "audit.list": { input: AuditListInput; output: AuditList };
  "audit.verify": { input: NoInput; output: Verification };
  "backup.create": { input: PathInput; output: BackupInfo };
  "backup.restore": { input: PathInput; output: Restored };
  "sync.status": { input: NoInput; output: SyncStatus };
  "sync.run_now": { input: NoInput; output: RunNowOutput };
  "sync.configure": { input: ConfigureInput; output: ConfigureOutput };
  "sync.retry_quarantined": { input: RetryQuarantinedInput; output: RetryQuarantinedOutput };
  "device.identity": { input: NoInput; output: DeviceIdentity };
  "device.confirm_move": { input: NoInput; output: DeviceIdentity };
  "device.new_identity": { input: NewIdentityInput; output: NewIdentityOutput };
};

export type CommandName = keyof Commands;

export const COMMAND_NAMES = [
  "alerts.acknowledge",
  "alerts.list",
  "appointments.availability",
  "appointments.book",
  "appointments.cancel",
  "appointments.check_in",
  "appointments.confirm",
  "appointments.list",
  "audit.list",
  "audit.verify",
  "auth.login",
  "auth.logout",
  "auth.staff",
  "auth.whoami",
  "backup.create",
  "backup.restore",
  "customers.create",
  "customers.get",
  "customers.search",
  "customers.update",
  "device.confirm_move",
  "device.identity",
  "device.new_identity",
  "inventory.adjust",
  "inventory.bulk_adjust",
  "inventory.create_item",
  "inventory.items",
  "inventory.ledger",
  "inventory.low_stock",
  "inventory.update_item",
  "invoices.email",
  "invoices.get",
  "invoices.list",
  "invoices.pdf",
  "invoices.void",
  "job_cards.add_line",
  "job_cards.cancel",
  "job_cards.complete",
  "job_cards.create",
  "job_cards.get",
  "job_cards.list",
  "job_cards.orchestration_status",
  "job_cards.remove_line",
  "job_cards.start",
  "job_cards.update",
  "jobs.discard",
  "jobs.failed",
  "jobs.list",
  "jobs.retry",
  "jobs.stats",
  "payments.list",
  "payments.process",
  "payments.refund",
  "reports.daily_sales",
  "reports.outstanding",
  "reports.technician_productivity",
  "settings.get",
  "settings.set_secret",
  "settings.update",
  "setup.init",
  "staff.create",
  "staff.list",
  "staff.update",
  "sync.configure",
  "sync.retry_quarantined",
  "sync.run_now",
  "sync.status",
  "vehicles.get",
  "vehicles.history",
  "vehicles.register",
  "vehicles.search",
  "vehicles.update",
] as const satisfies readonly CommandName[];
