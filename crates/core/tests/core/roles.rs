//! Every command against every role: the whole matrix of SPEC 8, written
//! out here independently of the core's own table.

use serde_json::json;

use crate::support::{failure, shop};

const F: bool = false;
const T: bool = true;

/// (command, [front_desk, technician, manager, owner]) – may the role call it?
const MATRIX: &[(&str, [bool; 4])] = &[
    ("setup.init", [T, T, T, T]),
    ("auth.login", [T, T, T, T]),
    ("auth.logout", [T, T, T, T]),
    ("auth.whoami", [T, T, T, T]),
    ("auth.staff", [T, T, T, T]),
    ("customers.search", [T, T, T, T]),
    ("customers.get", [T, T, T, T]),
    ("customers.create", [T, F, T, T]),
    ("customers.update", [T, F, T, T]),
    ("vehicles.search", [T, T, T, T]),
    ("vehicles.get", [T, T, T, T]),
    ("vehicles.register", [T, F, T, T]),
    ("vehicles.update", [T, F, T, T]),
    ("vehicles.history", [T, T, T, T]),
    ("appointments.availability", [T, T, T, T]),
    ("appointments.book", [T, F, T, T]),
    ("appointments.confirm", [T, F, T, T]),
    ("appointments.cancel", [T, F, T, T]),
    ("appointments.check_in", [T, F, T, T]),
    ("appointments.list", [T, T, T, T]),
    ("inventory.items", [T, T, T, T]),
    ("inventory.create_item", [F, F, T, T]),
    ("inventory.update_item", [F, F, T, T]),
    ("inventory.adjust", [F, F, T, T]),
    ("inventory.bulk_adjust", [F, F, T, T]),
    ("inventory.ledger", [T, T, T, T]),
    ("inventory.low_stock", [T, T, T, T]),
    ("job_cards.create", [T, F, T, T]),
    ("job_cards.get", [T, T, T, T]),
    ("job_cards.list", [T, T, T, T]),
    ("job_cards.add_line", [F, T, T, T]),
    ("job_cards.remove_line", [F, T, T, T]),
    ("job_cards.start", [F, T, T, T]),
    ("job_cards.update", [F, T, T, T]),
    ("job_cards.complete", [F, T, T, T]),
    ("job_cards.cancel", [T, F, T, T]),
    ("job_cards.orchestration_status", [T, T, T, T]),
    ("invoices.get", [T, F, T, T]),
    ("invoices.list", [T, F, T, T]),
    ("invoices.pdf", [T, F, T, T]),
    ("invoices.email", [T, F, T, T]),
    ("invoices.void", [F, F, T, T]),
    ("payments.process", [T, F, T, T]),
    ("payments.refund", [F, F, T, T]),
    ("payments.list", [T, F, T, T]),
    ("reports.daily_sales", [F, F, T, T]),
    ("reports.technician_productivity", [F, F, T, T]),
    ("reports.outstanding", [F, F, T, T]),
    ("alerts.list", [F, F, T, T]),
    ("alerts.acknowledge", [F, F, T, T]),
    ("jobs.failed", [F, F, T, T]),
    ("jobs.retry", [F, F, T, T]),
    ("jobs.discard", [F, F, T, T]),
    ("jobs.stats", [F, F, T, T]),
    ("jobs.list", [F, F, T, T]),
    ("staff.list", [T, T, T, T]),
    ("staff.create", [F, F, F, T]),
    ("staff.update", [F, F, F, T]),
    ("settings.get", [T, T, T, T]),
    ("settings.update", [F, F, F, T]),
    ("settings.set_secret", [F, F, F, T]),
    ("audit.list", [F, F, T, T]),
    ("audit.verify", [F, F, T, T]),
    ("backup.create", [F, F, F, T]),
    ("backup.restore", [F, F, F, T]),
    ("sync.status", [T, T, T, T]),
    ("sync.run_now", [F, F, F, T]),
    ("sync.configure", [F, F, F, T]),
    ("sync.retry_quarantined", [F, F, F, T]),
    ("device.identity", [T, T, T, T]),
    ("device.confirm_move", [F, F, F, T]),
    ("device.new_identity", [F, F, F, T]),
];

const PUBLIC: &[&str] = &["setup.init", "auth.login", "auth.staff"];

#[test]
fn the_matrix_covers_every_command() {
    let table: Vec<&str> = pitlane_core::api::COMMANDS.iter().map(|c| c.name).collect();
    let matrix: Vec<&str> = MATRIX.iter().map(|(c, _)| *c).collect();
    assert_eq!(table, matrix, "every command in the table has a row in this matrix, in order");
}

#[test]
fn every_command_against_every_role() {
    let s = shop();
    let tokens =
        [s.staff("desk", "front_desk"), s.staff("tech", "technician"), s.staff("mgr", "manager"), s.owner.clone()];
    let roles = ["front_desk", "technician", "manager", "owner"];
    for (command, allowed) in MATRIX {
        for (i, role) in roles.iter().enumerate() {
            // Input that fails validation: it shows the permission check
            // without changing anything (auth.logout takes none, so it runs).
            let input = if *command == "auth.logout" { json!({}) } else { json!({ "not_a_field": 1 }) };
            let env = s.call(&tokens[i], command, input);
            let status = env.status_code();
            if allowed[i] {
                assert_ne!(status, 403, "{role} may call {command}: {}", env.to_json());
                assert_ne!(status, 401, "{role} is logged in for {command}");
            } else {
                assert_eq!(failure(&env), (403, "forbidden".into()), "{role} may not call {command}");
            }
        }
        if *command == "auth.logout" {
            // Everyone logged out: log back in for the commands that follow.
            break;
        }
    }
    // The rest of the matrix with fresh sessions (auth.logout ended them).
    let tokens: Vec<String> = ["desk", "tech", "mgr", "owner"]
        .iter()
        .map(|c| s.api.login(c, crate::support::PIN).expect("log in again"))
        .collect();
    let after_logout = MATRIX.iter().skip_while(|(c, _)| *c != "auth.logout").skip(1);
    for (command, allowed) in after_logout {
        for (i, role) in roles.iter().enumerate() {
            let env = s.call(&tokens[i], command, json!({ "not_a_field": 1 }));
            if allowed[i] {
                assert_ne!(env.status_code(), 403, "{role} may call {command}: {}", env.to_json());
            } else {
                assert_eq!(failure(&env), (403, "forbidden".into()), "{role} may not call {command}");
            }
        }
    }
}

#[test]
fn without_a_session_only_public_commands_answer() {
    let s = shop();
    for (command, _) in MATRIX {
        let env = s.api.call(None, command, "{}");
        if PUBLIC.contains(command) {
            assert_ne!(env.status_code(), 401, "{command} is public");
        } else {
            assert_eq!(failure(&env), (401, "not_logged_in".into()), "{command} needs a login");
        }
        let env = s.api.call(Some("forged-token"), command, "{}");
        assert_eq!(env.status_code(), 401, "{command} with a forged token");
    }
}

#[test]
fn setup_runs_once() {
    let s = shop();
    let env = s.api.call_value(
        None,
        "setup.init",
        &json!({
            "branch_name": "Second", "owner_name": "Eve", "owner_code": "eve", "owner_pin": "9999",
        }),
    );
    assert_eq!(failure(&env), (409, "already_set_up".into()), "a set-up database cannot be taken over");
}

#[test]
fn the_staff_list_shows_the_desk_and_technicians_names_and_roles_only() {
    let s = shop();
    let tokens = [s.staff("desk", "front_desk"), s.staff("tech", "technician"), s.staff("mgr", "manager")];
    s.ok(
        &s.owner,
        "staff.update",
        json!({ "id": s.ok(&tokens[1], "auth.whoami", json!({}))["staff_id"], "hourly_rate": 4500 }),
    );
    // (scenario, who asks, the keys of each entry)
    let names_only = ["active", "id", "name", "role"];
    let everything = ["active", "code", "hourly_rate", "id", "locked_until", "name", "role"];
    let cases: [(&str, &str, &[&str]); 4] = [
        ("the front desk picks a technician for a new job card", &tokens[0], &names_only),
        ("a technician sees who is who, not their pay or login codes", &tokens[1], &names_only),
        ("a manager sees rates and codes", &tokens[2], &everything),
        ("the owner sees rates and codes", &s.owner, &everything),
    ];
    for (scenario, who, keys) in cases {
        let staff = s.ok(who, "staff.list", json!({ "include_inactive": true }))["staff"].as_array().unwrap().clone();
        assert_eq!(staff.len(), 4, "{scenario}: everyone is listed");
        for member in &staff {
            let mut got: Vec<&str> = member.as_object().unwrap().keys().map(String::as_str).collect();
            got.sort_unstable();
            assert_eq!(got, keys.to_vec(), "{scenario}: {member}");
            assert!(!member.to_string().contains("argon2"), "{scenario}: never PIN data");
        }
        assert!(staff.iter().any(|m| m["role"] == "technician"), "{scenario}: roles are shown");
    }
}

#[test]
fn the_login_screen_lists_active_staff_by_name_with_code_name_and_role_only() {
    let s = shop();
    let desk = s.staff("desk", "front_desk");
    s.staff("tech", "technician");
    let gone = s.ok(&desk, "auth.whoami", json!({}))["staff_id"].clone();
    s.ok(&s.owner, "staff.update", json!({ "id": gone, "active": false }));
    let env = s.api.call(None, "auth.staff", "{}");
    let staff = env.data().expect("public: answers without a session")["staff"].as_array().unwrap().clone();
    let codes: Vec<&str> = staff.iter().map(|m| m["code"].as_str().unwrap()).collect();
    assert!(!codes.contains(&"desk"), "an inactive account is not offered: {codes:?}");
    let names: Vec<&str> = staff.iter().map(|m| m["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "ordered by name");
    assert_eq!(staff.len(), 2, "the owner and the technician: {staff:?}");
    for member in &staff {
        let mut keys: Vec<&str> = member.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "name", "role"], "{member}");
    }
    assert!(staff.iter().any(|m| m["code"] == "tech" && m["role"] == "technician"));
    assert_eq!(failure(&s.api.call(None, "auth.staff", r#"{"x":1}"#)), (422, "validation_failed".into()));
}
