//! `pitlane`: the command-line face of the core. Every verb is a thin
//! adapter over the command table; the envelope is printed on stdout.
//! Exit codes: 0 success, 1 business failure, 2 usage error. The exit code
//! is the command's outcome: a closed stdout or stderr (`pitlane … | head`)
//! is not a failure of a command that already ran, so output is written
//! with [`out`], never with `println!`, which panics on a closed pipe.

mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pitlane_core::wording::plural;
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
    /// This database's device identity: its id, series letter and whether
    /// it may issue numbers and sync (docs/SYNC.md section 6); `confirm-move`
    /// and `new-identity` are the owner's ways out of a doubted identity.
    Device {
        #[command(subcommand)]
        action: Option<DeviceAction>,
    },
    /// The background job queue: counts, the jobs waiting to run and the
    /// failed ones, as a table; `work` runs the worker (emails, texts,
    /// alerts) until nothing is due, or for good with --watch; `retry` and
    /// `discard` act on a failed job (managers).
    Jobs {
        /// Print the envelope ({stats, waiting, failed}) instead of the table.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<JobsAction>,
    },
    /// Browser mode: serve the UI and the command table on 127.0.0.1 (prints
    /// the address with its secret token; runs the job worker too) until
    /// Ctrl-C.
    Serve {
        /// 0: any free port.
        #[arg(long, default_value_t = serve::DEFAULT_PORT)]
        port: u16,
        /// Only 127.0.0.1 (or localhost) is accepted.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// The built UI (default: ui/dist under the current directory or the program's).
        #[arg(long)]
        ui: Option<PathBuf>,
    },
    /// Sync the outbox to the cloud endpoint (`call sync.configure` first):
    /// one drain, then the status (the `sync.status` envelope). The
    /// device's own tool, like `serve`: no --user. With --watch: keep
    /// syncing until SIGTERM or SIGINT.
    Sync {
        #[arg(long)]
        watch: bool,
    },
    /// Store a secret in the OS keyring (owner), read from standard input so
    /// it never shows in the process list or shell history. Names:
    /// payment_gateway_key, smtp_password, sms_api_key, sync_token.
    Secret {
        name: String,
        /// Remove it instead.
        #[arg(long)]
        remove: bool,
    },
}

#[derive(Subcommand)]
enum DeviceAction {
    /// The same till moved to this computer, the old one no longer used (owner).
    ConfirmMove,
    /// Make this database a new device with a new series letter (owner):
    /// its events not yet at the cloud are sent again under the new id.
    NewIdentity {
        #[arg(long)]
        series_letter: String,
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
    // The OS keyring, the card gateway, the PDF printer: as the app has them.
    pitlane_runtime::equip(&api);
    // Unfinished card payments are settled in the background by the worker
    // (`jobs work`), never in front of a command.
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
                    out(format_args!("Demo branch created in {}.", cli.db.display()));
                    out(format_args!("Staff (PIN {} for everyone):", s.pin));
                    for (code, name) in &s.staff {
                        out(format_args!("  {code:<8} {name}"));
                    }
                    let n = |count: usize, one: &str, many: &str| plural(count as i64, one, many);
                    out(format_args!(
                        "{}, {}, {}, {}, {}.",
                        n(s.bays, "bay", "bays"),
                        n(s.service_types, "service type", "service types"),
                        n(s.parts, "part", "parts"),
                        n(s.customers, "customer", "customers"),
                        n(s.vehicles, "vehicle", "vehicles")
                    ));
                    out(format_args!(
                        "{} from today on. Job cards: {} open, {} in progress, {} completed and invoiced (some paid in full, some in part).",
                        n(s.appointments, "appointment", "appointments"),
                        s.open_job_cards, s.in_progress_job_cards, s.completed_job_cards
                    ));
                    out(format_args!("Try: PITLANE_PIN=1234 pitlane --db {} --user desk call customers.search '{{\"query\":\"jo\"}}'", cli.db.display()));
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(print(&pitlane_core::api::envelope::failure(&e, || "demo".into()))),
            }
        }
        Verb::Call { command, json } => {
            let api = std::sync::Arc::new(open(&cli.db)?);
            // `sync.run_now` drains through the engine.
            pitlane_runtime::equip_sync(&api);
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
        Verb::Device { action } => {
            let api = open(&cli.db)?;
            let token = session(&api, cli.user.as_deref())?;
            let (command, input) = match action {
                None => ("device.identity", json!({})),
                Some(DeviceAction::ConfirmMove) => ("device.confirm_move", json!({})),
                Some(DeviceAction::NewIdentity { series_letter }) => {
                    ("device.new_identity", json!({ "series_letter": series_letter }))
                }
            };
            Ok(print(&api.call_value(token.as_deref(), command, &input)))
        }
        Verb::Jobs { json: as_json, action } => {
            let api = open(&cli.db)?;
            let token = session(&api, cli.user.as_deref())?;
            match action {
                None => {
                    let mut data = json!({});
                    for (key, command) in [("stats", "jobs.stats"), ("waiting", "jobs.list"), ("failed", "jobs.failed")]
                    {
                        let env = api.call_value(token.as_deref(), command, &json!({}));
                        let Some(answer) = env.data() else { return Ok(print(&env)) };
                        data[key] = if key == "stats" { answer.clone() } else { answer["jobs"].clone() };
                    }
                    // Messages skipped because their moment had passed, the latest first.
                    let done =
                        api.call_value(token.as_deref(), "jobs.list", &json!({ "state": "succeeded", "limit": 200 }));
                    let Some(done) = done.data() else { return Ok(print(&done)) };
                    let outdated: Vec<serde_json::Value> = done["jobs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|j| j["outcome"].as_str().is_some_and(|o| o.starts_with(OUTDATED)))
                        .take(10)
                        .cloned()
                        .collect();
                    data["outdated"] = serde_json::Value::Array(outdated);
                    if as_json {
                        return Ok(print(&Envelope::ok(data)));
                    }
                    let tz = pitlane_core::settings::branch(&api.lock_conn())
                        .ok()
                        .and_then(|b| b.time_zone.parse().ok())
                        .unwrap_or(chrono_tz::UTC);
                    let now = pitlane_core::clock::rfc3339(api.clock().now());
                    let table = jobs_table(&data, tz, &now);
                    out(table.trim_end_matches('\n'));
                    Ok(ExitCode::SUCCESS)
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
                    // Card payments and refunds left unfinished are settled first,
                    // within a bounded time (`--watch` does it in its loop).
                    worker.settle_card_payments();
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
        Verb::Serve { port, bind, ui } => {
            serve::check_bind(&bind).map_err(|m| usage(&m))?;
            let ui = match ui {
                Some(dir) if dir.join("index.html").is_file() => Some(dir),
                Some(dir) => return Err(usage(&format!("--ui {}: no index.html there", dir.display()))),
                None => serve::find_ui(),
            };
            let api = open(&cli.db)?;
            match serve::serve(api, port, ui) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(message) => {
                    use std::io::Write;
                    let _ = writeln!(std::io::stderr().lock(), "pitlane: {message}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Verb::Sync { watch } => {
            let api = std::sync::Arc::new(open(&cli.db)?);
            let engine = pitlane_runtime::equip_sync(&api);
            if watch {
                let runtime = tokio::runtime::Runtime::new().map_err(|_| ExitCode::from(1))?;
                runtime.block_on(async {
                    let (stop, stopped) = tokio::sync::watch::channel(false);
                    let sync = tokio::spawn(pitlane_sync::watch(engine, stopped));
                    serve::shutdown_signal().await;
                    let _ = stop.send(true);
                    let _ = sync.await;
                });
            } else {
                let report = engine.drain();
                tracing::info!(outcome = ?report.outcome, delivered = report.delivered, "sync drain");
            }
            let status = pitlane_core::sync::status(&api.lock_conn());
            match status.and_then(|s| Ok(serde_json::to_value(s)?)) {
                Ok(status) => Ok(print(&Envelope::ok(status))),
                Err(e) => Ok(print(&pitlane_core::api::envelope::failure(&e, || "sync".into()))),
            }
        }
        Verb::Migrate => {
            let api = open(&cli.db)?;
            let version = pitlane_core::db::version(&api.lock_conn()).map_err(|_| ExitCode::from(1))?;
            out(json!({ "success": true, "data": { "schema_version": version } }));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// "1 job", "2 jobs".
fn count(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Lines of columns, each column as wide as its widest cell; the last
/// column is not padded.
fn columns(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
        .map(|i| rows.iter().map(|r| r.get(i).map_or(0, |c| c.chars().count())).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            line.push(' ');
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 1));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `pitlane jobs` for people: the counts, then the jobs waiting to run
/// and the failed ones, each with its try, when it runs next (branch
/// time), what it is about and its last error.
/// How the worker words a message skipped because its moment had passed.
const OUTDATED: &str = "skipped: outdated, ";

fn jobs_table(data: &serde_json::Value, tz: chrono_tz::Tz, now: &str) -> String {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let number = |v: &serde_json::Value| v.as_i64().unwrap_or_default();
    let stats = &data["stats"];
    let mut out = format!(
        "Jobs: {} waiting ({} retrying), {} running, {} done, {} failed, {} given up.\n",
        number(&stats["queued"]),
        number(&stats["retrying"]),
        number(&stats["running"]),
        number(&stats["succeeded"]),
        number(&stats["failed"]),
        number(&stats["discarded"])
    );
    let empty = Vec::new();
    let waiting = data["waiting"].as_array().unwrap_or(&empty);
    if !waiting.is_empty() {
        let all = (number(&stats["queued"]) + number(&stats["running"])) as usize;
        let shown = if all > waiting.len() { format!(", the first {} shown", waiting.len()) } else { String::new() };
        out.push_str(&format!("\nWaiting to run ({}{shown}):\n", count(all.max(waiting.len()), "job")));
        let mut rows = vec![vec!["STATE".into(), "TRY".into(), "NEXT TRY".into(), "ABOUT".into()]];
        for job in waiting {
            let attempts = number(&job["attempts"]);
            let (state, next) = if job["state"] == "running" {
                ("running".to_string(), "now".to_string())
            } else if job["waits_for"].is_string() {
                ("waiting".to_string(), "after an earlier message".to_string())
            } else {
                let run_at = text(&job["run_at"]);
                let next = if run_at.as_str() <= now {
                    "now".to_string()
                } else {
                    pitlane_core::messages::local_time(&run_at, tz)
                };
                (if attempts > 0 { "retrying" } else { "queued" }.to_string(), next)
            };
            let next_try = if job["state"] == "running" { attempts } else { attempts + 1 };
            rows.push(vec![
                state,
                format!("{next_try} of {}", number(&job["max_attempts"])),
                next,
                text(&job["subject"]),
            ]);
            if let Some(error) = job["last_error"].as_str() {
                rows.push(vec![String::new(), String::new(), String::new(), format!("last error: {error}")]);
            }
        }
        out.push_str(&columns(&rows));
    }
    let failed = data["failed"].as_array().unwrap_or(&empty);
    if !failed.is_empty() {
        let all = number(&stats["failed"]) as usize;
        let shown = if all > failed.len() { format!(", the latest {} shown", failed.len()) } else { String::new() };
        out.push_str(&format!("\nFailed ({}{shown}):\n", count(all.max(failed.len()), "job")));
        let mut rows = vec![vec!["TRIES".into(), "FAILED AT".into(), "ABOUT".into()]];
        for job in failed {
            rows.push(vec![
                number(&job["attempts"]).to_string(),
                pitlane_core::messages::local_time(&text(&job["finished_at"]), tz),
                text(&job["subject"]),
            ]);
            rows.push(vec![String::new(), String::new(), format!("last error: {}", text(&job["last_error"]))]);
            rows.push(vec![String::new(), String::new(), format!("job id: {}", text(&job["id"]))]);
        }
        out.push_str(&columns(&rows));
        out.push_str(
            "\nTo try a failed job again: pitlane jobs retry JOB_ID. To give it up: pitlane jobs discard JOB_ID.\n",
        );
    }
    let outdated = data["outdated"].as_array().unwrap_or(&empty);
    if !outdated.is_empty() {
        out.push_str(&format!("\nNot sent because their moment had passed (the latest {}):\n", outdated.len()));
        let mut rows = vec![vec!["SKIPPED AT".into(), "ABOUT".into()]];
        for job in outdated {
            let why = text(&job["outcome"]);
            rows.push(vec![pitlane_core::messages::local_time(&text(&job["finished_at"]), tz), text(&job["subject"])]);
            rows.push(vec![String::new(), format!("why: {}", why.trim_start_matches(OUTDATED))]);
        }
        out.push_str(&columns(&rows));
    }
    out
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PITLANE_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let cli = Cli::parse();
    run(cli).unwrap_or_else(|code| code)
}
