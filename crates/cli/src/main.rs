//! `pitlane`: the command-line face of the core. Every verb is a thin
//! adapter over the command table; the envelope is printed on stdout.
//! Exit codes: 0 success, 1 business failure, 2 usage error. The exit code
//! is the command's outcome: a closed stdout or stderr (`pitlane … | head`)
//! is not a failure of a command that already ran, so output is written
//! with [`out`], never with `println!`, which panics on a closed pipe.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pitlane_core::{Api, Envelope};
use serde_json::json;

#[derive(Parser)]
#[command(name = "pitlane", version, about = "Pitlane workshop app: command line")]
struct Cli {
    /// The database file.
    #[arg(long, env = "PITLANE_DB", default_value = "pitlane.db", global = true)]
    db: PathBuf,
    /// Act as this staff member (their PIN in PITLANE_PIN).
    #[arg(long, global = true)]
    user: Option<String>,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Create a database with its branch and owner (the owner's PIN from PITLANE_PIN).
    Init {
        #[arg(long)]
        branch_name: String,
        #[arg(long)]
        owner_name: String,
        #[arg(long)]
        owner_code: String,
        #[arg(long, default_value = "UTC")]
        timezone: String,
        #[arg(long, default_value = "USD")]
        currency: String,
        /// ISO country code, the default for phone numbers.
        #[arg(long, default_value = "US")]
        country: String,
        /// This device's letter in number series (INV-2026-A000001).
        #[arg(long, default_value = "A")]
        series_letter: String,
    },
    /// Create a realistic demo branch (staff PINs are printed).
    Demo,
    /// Run one command of the command table with a JSON input.
    Call {
        command: String,
        #[arg(default_value = "{}")]
        json: String,
    },
    /// List the commands.
    Commands,
    /// Copy the database to FILE (owner).
    Backup { file: PathBuf },
    /// Replace the database with the backup in FILE (owner).
    Restore { file: PathBuf },
    /// Bring the database's schema up to date and print its version.
    Migrate,
    /// The background job queue: counts and failed jobs; `work` runs the
    /// worker (emails, texts, alerts) until nothing is due, or for good
    /// with --watch; `retry` and `discard` act on a failed job (managers).
    Jobs {
        #[command(subcommand)]
        action: Option<JobsAction>,
    },
    /// Store a secret in the OS keyring (owner), read from standard input so
    /// it never shows in the process list or shell history. Names:
    /// payment_gateway_key, smtp_password, sms_api_key.
    Secret {
        name: String,
        /// Remove it instead.
        #[arg(long)]
        remove: bool,
    },
}

#[derive(Subcommand)]
enum JobsAction {
    /// Run due jobs until none is due (with --watch: keep running).
    Work {
        #[arg(long)]
        watch: bool,
        /// Tries per job before it goes to the failed list.
        #[arg(long, default_value_t = 3)]
        max_attempts: u32,
        /// The first pause before a retry, in seconds; doubled each time, with jitter.
        #[arg(long, default_value_t = 60)]
        backoff_secs: u64,
    },
    /// Put a failed job back in the queue.
    Retry { job_id: String },
    /// Give up a failed job.
    Discard { job_id: String },
}

/// Writes one line to stdout. A reader that went away (EPIPE) or any other
/// write error is not the command's failure: the line is dropped.
fn out(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn usage(message: &str) -> ExitCode {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "pitlane: {message}");
    ExitCode::from(2)
}

fn print(env: &Envelope) -> ExitCode {
    out(env.to_json());
    match env {
        Envelope::Success { .. } => ExitCode::SUCCESS,
        Envelope::Failure { code, .. } if code == "bad_request" => ExitCode::from(2),
        Envelope::Failure { .. } => ExitCode::from(1),
    }
}

fn pin_from_env() -> Option<String> {
    std::env::var("PITLANE_PIN").ok().filter(|p| !p.is_empty())
}

fn open(db: &std::path::Path) -> Result<Api, ExitCode> {
    let api = Api::open(db).map_err(|e| {
        let env = pitlane_core::api::envelope::failure(&e, || "open".into());
        print(&env);
        ExitCode::from(1)
    })?;
    api.set_secret_store(std::sync::Arc::new(pitlane_secrets::KeyringStore::os()));
    api.set_gateway_connector(pitlane_gateway::connector());
    api.set_printer(std::sync::Arc::new(pitlane_pdf::PdfPrinter));
    // Start-up: card payments a crash left between charge and record are
    // settled with the gateway before anything else (SPEC 4.6 step 5).
    match api.resolve_card_attempts(false) {
        Ok(r) if r.examined > 0 => tracing::warn!(?r, "settled unfinished card payments"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not settle unfinished card payments"),
    }
    Ok(api)
}

/// Logs in as `--user` with `PITLANE_PIN`; a failed login is printed as its envelope.
fn session(api: &Api, user: Option<&str>) -> Result<Option<String>, ExitCode> {
    let Some(code) = user else { return Ok(None) };
    let Some(pin) = pin_from_env() else {
        return Err(usage("--user needs the PIN in the PITLANE_PIN environment variable"));
    };
    let env = api.call_value(None, "auth.login", &json!({ "code": code, "pin": pin }));
    match env.data().and_then(|d| d.get("token")).and_then(|t| t.as_str()) {
        Some(t) => Ok(Some(t.to_string())),
        None => Err(print(&env)),
    }
}

fn run(cli: Cli) -> Result<ExitCode, ExitCode> {
    match cli.verb {
        Verb::Commands => {
            for c in pitlane_core::api::COMMANDS {
                out(c.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        Verb::Init { branch_name, owner_name, owner_code, timezone, currency, country, series_letter } => {
            let Some(pin) = pin_from_env() else {
                return Err(usage("init needs the owner's PIN in the PITLANE_PIN environment variable"));
            };
            let api = open(&cli.db)?;
            Ok(print(&api.call_value(
                None,
                "setup.init",
                &json!({
                    "branch_name": branch_name, "owner_name": owner_name, "owner_code": owner_code,
                    "owner_pin": pin, "time_zone": timezone, "currency": currency, "country": country,
                    "series_letter": series_letter,
                }),
            )))
        }
        Verb::Demo => {
            let api = open(&cli.db)?;
            match pitlane_core::demo::seed(&api) {
                Ok(s) => {
                    out(format_args!("Demo branch created in {}", cli.db.display()));
                    out(format_args!("Staff (PIN {} for everyone):", s.pin));
                    for (code, name) in &s.staff {
                        out(format_args!("  {code:<8} {name}"));
                    }
                    out(format_args!(
                        "{} bays, {} service types, {} parts, {} customers, {} vehicles",
                        s.bays, s.service_types, s.parts, s.customers, s.vehicles
                    ));
                    out(format_args!(
                        "{} appointments from today on; job cards: {} open, {} in progress, {} completed and invoiced (some paid in full, some in part)",
                        s.appointments, s.open_job_cards, s.in_progress_job_cards, s.completed_job_cards
                    ));
                    out(format_args!("Try: PITLANE_PIN=1234 pitlane --db {} --user desk call customers.search '{{\"query\":\"jo\"}}'", cli.db.display()));
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(print(&pitlane_core::api::envelope::failure(&e, || "demo".into()))),
            }
        }
        Verb::Call { command, json } => {
            let api = open(&cli.db)?;
            let token = session(&api, cli.user.as_deref())?;
            Ok(print(&api.call(token.as_deref(), &command, &json)))
        }
        Verb::Backup { file } => {
            let api = open(&cli.db)?;
            let token = session(&api, cli.user.as_deref())?;
            Ok(print(&api.call_value(token.as_deref(), "backup.create", &json!({ "path": file }))))
        }
        Verb::Restore { file } => {
            let api = open(&cli.db)?;
            let token = session(&api, cli.user.as_deref())?;
            Ok(print(&api.call_value(token.as_deref(), "backup.restore", &json!({ "path": file }))))
        }
        Verb::Jobs { action } => {
            let api = open(&cli.db)?;
            let token = session(&api, cli.user.as_deref())?;
            match action {
                None => {
                    let stats = api.call_value(token.as_deref(), "jobs.stats", &json!({}));
                    if !stats.is_success() {
                        return Ok(print(&stats));
                    }
                    let failed = api.call_value(token.as_deref(), "jobs.failed", &json!({}));
                    let data = json!({ "stats": stats.data(), "failed": failed.data().map(|d| d["jobs"].clone()) });
                    Ok(print(&Envelope::ok(data)))
                }
                Some(JobsAction::Retry { job_id }) => {
                    Ok(print(&api.call_value(token.as_deref(), "jobs.retry", &json!({ "job_id": job_id }))))
                }
                Some(JobsAction::Discard { job_id }) => {
                    Ok(print(&api.call_value(token.as_deref(), "jobs.discard", &json!({ "job_id": job_id }))))
                }
                Some(JobsAction::Work { watch, max_attempts, backoff_secs }) => {
                    if max_attempts == 0 {
                        return Err(usage("--max-attempts must be at least 1"));
                    }
                    // Running the worker changes data: managers and owners only.
                    let allowed = api.call_value(token.as_deref(), "jobs.stats", &json!({}));
                    if !allowed.is_success() {
                        return Ok(print(&allowed));
                    }
                    let api = std::sync::Arc::new(api);
                    let worker = pitlane_worker::Worker::new(
                        api.clone(),
                        pitlane_core::jobs::RetryPolicy {
                            max_attempts,
                            backoff: std::time::Duration::from_secs(backoff_secs),
                            ..pitlane_core::jobs::RetryPolicy::default()
                        },
                        std::sync::Arc::new(pitlane_pdf::PdfPrinter),
                    );
                    if watch {
                        let runtime = tokio::runtime::Runtime::new().map_err(|_| ExitCode::from(1))?;
                        let (stop, stopped) = tokio::sync::watch::channel(false);
                        runtime.block_on(worker.run(std::time::Duration::from_secs(5), stopped));
                        drop(stop);
                        return Ok(ExitCode::SUCCESS);
                    }
                    match worker.run_until_idle() {
                        Ok(ran) => {
                            let ran: Vec<_> = ran.iter().map(pitlane_worker::Ran::to_json).collect();
                            Ok(print(&Envelope::ok(json!({ "ran": ran }))))
                        }
                        Err(e) => Ok(print(&pitlane_core::api::envelope::failure(&e, || "jobs".into()))),
                    }
                }
            }
        }
        Verb::Secret { name, remove } => {
            let api = open(&cli.db)?;
            let token = session(&api, cli.user.as_deref())?;
            let value = if remove {
                None
            } else {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map_err(|_| usage("could not read the secret from stdin"))?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            };
            Ok(print(&api.call_value(
                token.as_deref(),
                "settings.set_secret",
                &json!({ "name": name, "value": value }),
            )))
        }
        Verb::Migrate => {
            let api = open(&cli.db)?;
            let version = pitlane_core::db::version(&api.lock_conn()).map_err(|_| ExitCode::from(1))?;
            out(json!({ "success": true, "data": { "schema_version": version } }));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PITLANE_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let cli = Cli::parse();
    run(cli).unwrap_or_else(|code| code)
}
