//! The command table (SPEC 7). Adding a command: write its function in its
//! area (`fn(&mut Ctx, Input) -> Result<Output>`), add one line here, and
//! document it in docs/API.md.

use serde_json::Value;

use super::{dispatch, Ctx, Permission};
use crate::error::Result;
use crate::{
    alerts, appointments, audit, auth, backup, customers, inventory, invoices, job_cards, jobs, payments, printing,
    reports, secrets, settings, setup, staff, vehicles,
};

pub struct Command {
    pub name: &'static str,
    pub permission: Permission,
    pub run: fn(&mut Ctx, Value) -> Result<Value>,
}

macro_rules! commands {
    ($($name:literal => $perm:ident, $f:path;)*) => {
        pub const COMMANDS: &[Command] = &[
            $(Command { name: $name, permission: Permission::$perm, run: |ctx, v| dispatch(ctx, v, $f) },)*
        ];
    };
}

commands! {
    "setup.init"             => Public,          setup::init_cmd;
    "auth.login"             => Public,          auth::login_cmd;
    "auth.logout"            => AnyStaff,        auth::logout_cmd;
    "auth.whoami"            => AnyStaff,        auth::whoami_cmd;
    "customers.search"       => CustomersRead,   customers::search_cmd;
    "customers.get"          => CustomersRead,   customers::get_cmd;
    "customers.create"       => CustomersWrite,  customers::create_cmd;
    "customers.update"       => CustomersWrite,  customers::update_cmd;
    "vehicles.search"        => CustomersRead,   vehicles::search_cmd;
    "vehicles.get"           => CustomersRead,   vehicles::get_cmd;
    "vehicles.register"      => CustomersWrite,  vehicles::register_cmd;
    "vehicles.update"        => CustomersWrite,  vehicles::update_cmd;
    "vehicles.history"       => CustomersRead,   vehicles::history_cmd;
    "appointments.availability" => CustomersRead, appointments::availability_cmd;
    "appointments.book"      => CustomersWrite,  appointments::book::book_cmd;
    "appointments.confirm"   => CustomersWrite,  appointments::confirm_cmd;
    "appointments.cancel"    => CustomersWrite,  appointments::cancel_cmd;
    "appointments.check_in"  => JobCardDesk,     appointments::check_in::check_in_cmd;
    "appointments.list"      => CustomersRead,   appointments::list_cmd;
    "inventory.items"        => InventoryRead,   inventory::items_cmd;
    "inventory.create_item"  => InventoryManage, inventory::create_item_cmd;
    "inventory.update_item"  => InventoryManage, inventory::update_item_cmd;
    "inventory.adjust"       => InventoryManage, inventory::adjust_cmd;
    "inventory.bulk_adjust"  => InventoryManage, inventory::bulk_adjust_cmd;
    "inventory.ledger"       => InventoryRead,   inventory::ledger_cmd;
    "inventory.low_stock"    => InventoryRead,   inventory::low_stock_cmd;
    "job_cards.create"       => JobCardDesk,     job_cards::create_cmd;
    "job_cards.get"          => AnyStaff,        job_cards::get_cmd;
    "job_cards.list"         => AnyStaff,        job_cards::list_cmd;
    "job_cards.add_line"     => JobCardWork,     job_cards::add_line_cmd;
    "job_cards.remove_line"  => JobCardWork,     job_cards::remove_line_cmd;
    "job_cards.start"        => JobCardWork,     job_cards::start_cmd;
    "job_cards.update"       => JobCardWork,     job_cards::update::update_cmd;
    "job_cards.complete"     => JobCardWork,     job_cards::complete::complete_cmd;
    "job_cards.cancel"       => JobCardDesk,     job_cards::cancel_cmd;
    "job_cards.orchestration_status" => AnyStaff, job_cards::orchestration_status_cmd;
    "invoices.get"           => InvoicesRead,    invoices::get_cmd;
    "invoices.list"          => InvoicesRead,    invoices::list_cmd;
    "invoices.pdf"           => InvoicesRead,    printing::pdf_cmd;
    "invoices.email"         => InvoicesRead,    printing::email_cmd;
    "invoices.void"          => PaymentsRefund,  payments::void_cmd;
    "payments.process"       => PaymentsTake,    payments::process_cmd;
    "payments.refund"        => PaymentsRefund,  payments::refund_cmd;
    "payments.list"          => InvoicesRead,    payments::list_cmd;
    "reports.daily_sales"    => Reports,         reports::daily_sales_cmd;
    "reports.technician_productivity" => Reports, reports::technician_productivity_cmd;
    "reports.outstanding"    => Reports,         reports::outstanding_cmd;
    "alerts.list"            => Reports,         alerts::list_cmd;
    "alerts.acknowledge"     => Reports,         alerts::acknowledge_cmd;
    "jobs.failed"            => Jobs,            jobs::failed_cmd;
    "jobs.retry"             => Jobs,            jobs::retry_cmd;
    "jobs.discard"           => Jobs,            jobs::discard_cmd;
    "jobs.stats"             => Jobs,            jobs::stats_cmd;
    "jobs.list"              => Jobs,            jobs::list_cmd;
    "staff.list"             => StaffRead,       staff::list_cmd;
    "staff.create"           => OwnerOnly,       staff::create_cmd;
    "staff.update"           => OwnerOnly,       staff::update_cmd;
    "settings.get"           => AnyStaff,        settings::get_cmd;
    "settings.update"        => OwnerOnly,       settings::update_cmd;
    "settings.set_secret"    => OwnerOnly,       secrets::set_cmd;
    "audit.list"             => AuditRead,       audit_list_cmd;
    "audit.verify"           => AuditRead,       audit_verify_cmd;
    "backup.create"          => OwnerOnly,       backup::create_cmd;
    "backup.restore"         => OwnerOnly,       backup::restore_cmd;
}

pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditListInput {
    #[serde(default)]
    pub entity_id: Option<String>,
    #[serde(default)]
    pub before_seq: Option<i64>,
    #[serde(default = "default_limit")]
    pub limit: i64,
}

fn default_limit() -> i64 {
    50
}

impl crate::validate::Validate for AuditListInput {
    fn validate(&self, v: &mut crate::validate::Violations) {
        v.range("limit", self.limit, 1, 500);
        v.optional("entity_id", self.entity_id.as_deref(), 100);
        if let Some(s) = self.before_seq {
            v.range("before_seq", s, 1, i64::MAX);
        }
    }
}

#[derive(serde::Serialize)]
pub struct AuditList {
    pub entries: Vec<audit::AuditEntry>,
}

fn audit_list_cmd(ctx: &mut Ctx, input: AuditListInput) -> Result<AuditList> {
    Ok(AuditList { entries: audit::list(ctx.conn(), input.entity_id.as_deref(), input.before_seq, input.limit)? })
}

fn audit_verify_cmd(ctx: &mut Ctx, _input: super::NoInput) -> Result<audit::Verification> {
    audit::verify(ctx.conn())
}
