//! The TypeScript types in ui/src/lib/generated/ are what the code makes
//! (ts-rs, through the command table). Regenerate after changing a
//! command's input or output:
//! `PITLANE_WRITE_TYPES=1 cargo test -p pitlane-core --test core generated`.

use std::path::{Path, PathBuf};

use pitlane_core::api::envelope::TRANSPORT_CODES;
use pitlane_core::api::{Envelope, TypeSet, COMMANDS};
use pitlane_core::error::{FieldError, CODES};

const HEADER: &str = "// Generated from the Rust code by `PITLANE_WRITE_TYPES=1 cargo test -p pitlane-core --test core generated`.\n// Do not edit: change the Rust types and regenerate.\n";

fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/generated")
}

/// The generated files, by name.
fn generate() -> Vec<(&'static str, String)> {
    let mut set = TypeSet::default();
    let mut commands = String::new();
    for c in COMMANDS {
        let (input, output) = (c.types)(&mut set);
        commands.push_str(&format!("  \"{}\": {{ input: {input}; output: {output} }};\n", c.name));
    }
    set.add::<Envelope>();
    set.add::<FieldError>();
    assert!(
        set.clashes().is_empty(),
        "two Rust types share a TypeScript name (add #[ts(rename)]): {:?}",
        set.clashes()
    );

    let types = format!("{HEADER}\n{}", set.declarations());
    let mut names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
    names.sort_unstable();
    let imports = imported_names(&commands);
    let commands = format!(
        "{HEADER}\nimport type {{ {} }} from \"./types\";\n\n\
         /// Every command: its input and output.\n\
         export type Commands = {{\n{commands}}};\n\n\
         export type CommandName = keyof Commands;\n\n\
         export const COMMAND_NAMES = [\n{}] as const satisfies readonly CommandName[];\n",
        imports.join(", "),
        names.iter().map(|n| format!("  \"{n}\",\n")).collect::<String>(),
    )
    .replace("/// ", "// ");
    let codes: Vec<&str> = CODES.iter().chain(TRANSPORT_CODES).copied().collect();
    let errors = format!(
        "{HEADER}\n// Every `code` a failed envelope can carry (pitlane_core::error::CODES and\n\
         // pitlane_core::api::envelope::TRANSPORT_CODES).\n\
         export const ERROR_CODES = [\n{}] as const;\n\n\
         export type ErrorCode = (typeof ERROR_CODES)[number];\n",
        codes.iter().map(|c| format!("  \"{c}\",\n")).collect::<String>(),
    );
    vec![("types.ts", types), ("commands.ts", commands), ("errors.ts", errors)]
}

/// The type names a `Commands` body uses (`Array<Item>` uses `Item`).
fn imported_names(body: &str) -> Vec<String> {
    let mut names: Vec<String> = body
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()) && !matches!(*w, "Array" | "Record"))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn generated_types_match_the_code() {
    let dir = out_dir();
    let write = std::env::var("PITLANE_WRITE_TYPES").is_ok_and(|v| v == "1");
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut stale = Vec::new();
    for (name, text) in generate() {
        let path = dir.join(name);
        if write {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "ui/src/lib/generated/{{{}}} differ from what the Rust types make; regenerate with \
         `PITLANE_WRITE_TYPES=1 cargo test -p pitlane-core --test core generated`",
        stale.join(",")
    );
}

/// Every `Error::rule("…")` / `Error::conflict("…")` code written in the
/// sources is in `error::CODES`, and every listed code is used somewhere.
#[test]
fn generated_error_codes_cover_the_sources() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut text = String::new();
    let mut stack = vec![src];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") && !path.ends_with("error.rs") {
                text.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    for call in ["Error::rule(", "Error::conflict("] {
        for (at, _) in text.match_indices(call) {
            let rest = text[at + call.len()..].trim_start();
            if let Some(lit) = rest.strip_prefix('"') {
                let code = &lit[..lit.find('"').unwrap()];
                assert!(CODES.contains(&code), "{code} (from {call}…) is missing from error::CODES");
            }
        }
    }
    for code in CODES {
        assert!(text.contains(&format!("\"{code}\"")), "error::CODES lists {code}, which no source file uses");
    }
}
