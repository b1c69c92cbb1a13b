//! Roles and what each may do (SPEC 8). Deny by default: a permission not
//! listed for a role here is refused.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    FrontDesk,
    Technician,
    Manager,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::FrontDesk, Role::Technician, Role::Manager, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::FrontDesk => "front_desk",
            Role::Technician => "technician",
            Role::Manager => "manager",
            Role::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// No login needed (setup on an empty database, logging in).
    Public,
    /// Any logged-in staff member.
    AnyStaff,
    /// Look up customers and vehicles.
    CustomersRead,
    /// Create and change customers and vehicles.
    CustomersWrite,
    /// Look at stock.
    InventoryRead,
    /// Change stock and the item list.
    InventoryManage,
    /// See the staff list: everyone (the front desk assigns technicians,
    /// technicians see who is who); only managers and owners see staff
    /// codes, pay and locks (`staff::list_cmd`).
    StaffRead,
    /// Read and verify the audit log.
    AuditRead,
    /// Open (and cancel) job cards, check cars in.
    JobCardDesk,
    /// Start job cards, add and remove lines, complete them (technicians:
    /// their own or unassigned cards only, checked by the command).
    JobCardWork,
    /// Read, print and email invoices.
    InvoicesRead,
    /// Sales, productivity and outstanding-money reports.
    Reports,
    /// Take payments.
    PaymentsTake,
    /// Refund payments and void invoices.
    PaymentsRefund,
    /// See, retry and discard failed background jobs; diagnostics.
    Jobs,
    /// Settings, staff, sync, backup.
    OwnerOnly,
}

/// Whether `role` holds `permission`.
pub fn allows(role: Role, permission: Permission) -> bool {
    use Permission::*;
    use Role::*;
    match permission {
        Public | AnyStaff | CustomersRead | InventoryRead | StaffRead => true,
        CustomersWrite | JobCardDesk | InvoicesRead | PaymentsTake => matches!(role, FrontDesk | Manager | Owner),
        JobCardWork => matches!(role, Technician | Manager | Owner),
        InventoryManage | AuditRead | Reports | PaymentsRefund | Jobs => matches!(role, Manager | Owner),
        OwnerOnly => role == Owner,
    }
}
