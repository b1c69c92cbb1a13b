//! The command table (SPEC 7). Adding a command: write its function in its
//! area (`fn(&mut Ctx, Input) -> Result<Output>`), add one line here, and
//! document it in docs/API.md.
//!
//! Each line also gives the command's TypeScript input and output types
//! (ts-rs, [`TypeSet`]): the test `generated` in `tests/core/generated.rs`
//! compares ui/src/lib/generated/ with them and fails on any difference.
//! After changing a command's input or output, regenerate with
//! `PITLANE_WRITE_TYPES=1 cargo test -p pitlane-core --test core generated`.

use std::any::TypeId;
use std::collections::BTreeMap;

use serde_json::Value;
use ts_rs::{TypeVisitor, TS};

use super::dispatch;
use crate::ctx::{Ctx, NoInput};
use crate::error::Result;
use crate::roles::Permission;
use crate::{
    alerts, appointments, audit, auth, backup, customers, device, inventory, invoices, job_cards, jobs, payments,
    printing, reports, secrets, settings, setup, staff, sync, vehicles,
};

pub struct Command {
    pub name: &'static str,
    pub permission: Permission,
    pub run: fn(&mut Ctx, Value) -> Result<Value>,
    /// Declares the input and output types (and the types they use) in the
    /// set and answers their TypeScript names.
    pub types: fn(&mut TypeSet) -> (String, String),
}

macro_rules! commands {
    ($($name:literal => $perm:ident, $f:path;)*) => {
        pub const COMMANDS: &[Command] = &[
            $(Command {
                name: $name,
                permission: Permission::$perm,
                run: |ctx, v| dispatch(ctx, v, $f),
                types: |set| describe(set, $f),
            },)*
        ];
    };
}

/// The TypeScript names of a command function's input and output.
fn describe<I: TS + 'static, O: TS + 'static>(set: &mut TypeSet, _f: fn(&mut Ctx, I) -> Result<O>) -> (String, String) {
    (set.add::<I>(), set.add::<O>())
}

/// The TypeScript declarations of a group of Rust types and of every type
/// they use, one declaration per name (64-bit integers as `number`: every
/// amount and count fits in 2^53).
pub struct TypeSet {
    cfg: ts_rs::Config,
    decls: BTreeMap<String, (TypeId, String)>,
    clashes: Vec<String>,
}

impl Default for TypeSet {
    fn default() -> Self {
        TypeSet { cfg: ts_rs::Config::new().with_large_int("number"), decls: BTreeMap::new(), clashes: Vec::new() }
    }
}

impl TypeSet {
    /// Declares `T` (when it is a named type) and what it uses; answers how
    /// TypeScript names it (`JobCard`, `Array<Item>`).
    pub fn add<T: TS + 'static + ?Sized>(&mut self) -> String {
        if T::output_path().is_some() {
            self.declare::<T>();
        } else {
            T::visit_dependencies(&mut Visit(self));
        }
        T::name(&self.cfg)
    }

    fn declare<T: TS + 'static + ?Sized>(&mut self) {
        if T::output_path().is_none() {
            return;
        }
        let name = T::ident(&self.cfg);
        match self.decls.get(&name) {
            // A shadowed type (serde_json::Value as ts-rs's JsonValue) comes twice.
            Some((id, decl)) if *id == TypeId::of::<T>() || *decl == Self::decl_of::<T>(&self.cfg) => {}
            Some(_) => self.clashes.push(format!("{name} ({})", std::any::type_name::<T>())),
            None => {
                let decl = Self::decl_of::<T>(&self.cfg);
                self.decls.insert(name, (TypeId::of::<T>(), decl));
                T::visit_dependencies(&mut Visit(self));
            }
        }
    }

    fn decl_of<T: TS + 'static + ?Sized>(cfg: &ts_rs::Config) -> String {
        format!("{}export {}", T::docs().unwrap_or_default(), T::decl(cfg))
    }

    /// Rust types that would take a name another type already has: each
    /// needs `#[ts(rename = "…")]`.
    pub fn clashes(&self) -> &[String] {
        &self.clashes
    }

    /// The declarations, ordered by name, as one TypeScript module.
    pub fn declarations(&self) -> String {
        self.decls.values().map(|(_, d)| format!("{d}\n")).collect::<Vec<_>>().join("\n")
    }
}

struct Visit<'a>(&'a mut TypeSet);

impl TypeVisitor for Visit<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        self.0.declare::<T>();
    }
}

commands! {
    "setup.init"             => Public,          setup::init_cmd;
    "auth.login"             => Public,          auth::login_cmd;
    "auth.logout"            => AnyStaff,        auth::logout_cmd;
    "auth.whoami"            => AnyStaff,        auth::whoami_cmd;
    "auth.staff"             => Public,          auth::staff_cmd;
    "customers.search"       => CustomersRead,   customers::search_cmd;
    "customers.get"          => CustomersRead,   vehicles::customer_detail_cmd;
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
    "sync.status"            => AnyStaff,        sync::status_cmd;
    "sync.run_now"           => OwnerOnly,       sync::run_now_cmd;
    "sync.configure"         => OwnerOnly,       sync::configure_cmd;
    "sync.retry_quarantined" => OwnerOnly,       sync::retry_quarantined_cmd;
    "device.identity"        => AnyStaff,        device::identity_cmd;
    "device.confirm_move"    => OwnerOnly,       device::confirm_move_cmd;
    "device.new_identity"    => OwnerOnly,       device::new_identity_cmd;
}

pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

#[derive(Debug, serde::Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct AuditListInput {
    #[serde(default)]
    #[ts(optional = nullable)]
    pub entity_id: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub before_seq: Option<i64>,
    #[serde(default = "default_limit")]
    #[ts(optional = nullable)]
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

#[derive(serde::Serialize, ts_rs::TS)]
pub struct AuditList {
    pub entries: Vec<audit::AuditEntry>,
}

fn audit_list_cmd(ctx: &mut Ctx, input: AuditListInput) -> Result<AuditList> {
    Ok(AuditList { entries: audit::list(ctx.conn(), input.entity_id.as_deref(), input.before_seq, input.limit)? })
}

fn audit_verify_cmd(ctx: &mut Ctx, _input: NoInput) -> Result<audit::Verification> {
    audit::verify(ctx.conn())
}
