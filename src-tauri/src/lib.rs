//! Pitlane's desktop app: a Tauri 2 shell over the core's command table.
//!
//! The webview calls ONE command, [`call`], with a command name, its JSON
//! input and the session token; the answer is the core's envelope, a
//! business failure included (never a rejected promise). The shell opens
//! the database in the app data directory (or `--db FILE` / `PITLANE_DB`),
//! migrated as it opens, on a thread of its own while the window loads
//! (a command waits until it is open); equips the core as every front end does
//! (`pitlane_runtime`: OS keyring, card gateway, PDF printer); runs the
//! background worker (2 s after the database opens, so the first screen
//! comes first: settles unfinished card payments, then works off due jobs)
//! until the app exits; opens the window hidden and lets the page show it
//! as its script starts (or after 3 s); and writes JSON log lines, rotated
//! daily, to the app log directory (or `--log-dir DIR` / `PITLANE_LOG_DIR`).
//! The core logs command names and error codes only: never an input, a
//! PIN, a token or a secret, and this shell logs none either.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pitlane_core::{Api, Envelope, IdSource};
use pitlane_runtime::Background;
use serde_json::Value;
use tauri::{Manager, RunEvent};
use tracing_appender::non_blocking::WorkerGuard;

/// What the shell holds while the app runs.
struct Shell {
    /// The core once the database is open (`None` until then), or the
    /// envelope every call answers when it could not be opened (its
    /// details are in the log). The database is opened beside the window,
    /// not before it: the page loads meanwhile, and a call waits for it.
    api: tokio::sync::watch::Receiver<Option<Opened>>,
    background: Mutex<Worker>,
    log: Mutex<Option<WorkerGuard>>,
}

type Opened = Result<Arc<Api>, Envelope>;

/// The background work: started once the database is open, unless the app
/// is already exiting.
enum Worker {
    Starting,
    Running(Background),
    Stopped,
}

/// The one command: runs `command` of the core's table as the holder of
/// `session`, on the blocking pool (SQLite never holds up the UI thread).
/// The first calls wait for the database to be open (and migrated).
#[tauri::command]
async fn call(app: tauri::AppHandle, command: String, input: Value, session: Option<String>) -> Value {
    let ids = pitlane_core::UuidV7Ids;
    let mut opened = app.state::<Shell>().api.clone();
    let api = match opened.wait_for(Option::is_some).await.as_deref() {
        Ok(Some(Ok(api))) => api.clone(),
        Ok(Some(Err(unavailable))) => return unavailable.to_value(),
        _ => {
            let e = pitlane_core::Error::Internal("the database was never opened".into());
            return pitlane_core::api::envelope::failure(&e, || ids.new_id()).to_value();
        }
    };
    tauri::async_runtime::spawn_blocking(move || api.call_value(session.as_deref(), &command, &input))
        .await
        .unwrap_or_else(|e| {
            let e = pitlane_core::Error::Internal(format!("command task: {e}"));
            pitlane_core::api::envelope::failure(&e, || ids.new_id())
        })
        .to_value()
}

/// `--flag VALUE` or `--flag=VALUE` on the command line, else the variable `env`.
fn setting(flag: &str, env: &str) -> Option<PathBuf> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let inline = format!("{flag}=");
    args.windows(2)
        .find(|w| w[0] == flag)
        .map(|w| PathBuf::from(&w[1]))
        .or_else(|| args.iter().find_map(|a| a.strip_prefix(&inline).map(PathBuf::from)))
        .or_else(|| std::env::var_os(env).filter(|v| !v.is_empty()).map(PathBuf::from))
}

/// JSON lines in `dir/pitlane.YYYY-MM-DD.log`, a new file each day, the
/// last 7 kept. Levels from `PITLANE_LOG` (default: info for Pitlane,
/// warnings for the libraries).
fn start_logging(dir: &std::path::Path) -> Result<WorkerGuard, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("log directory {}: {e}", dir.display()))?;
    let files = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("pitlane")
        .filename_suffix("log")
        .max_log_files(7)
        .build(dir)
        .map_err(|e| format!("log file in {}: {e}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(files);
    let filter = tracing_subscriber::EnvFilter::try_from_env("PITLANE_LOG").unwrap_or_else(|_| {
        "warn,pitlane_app=info,pitlane_core=info,pitlane_runtime=info,pitlane_worker=info,pitlane_gateway=info".into()
    });
    tracing_subscriber::fmt()
        .json()
        .with_span_list(false)
        .with_writer(writer)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| format!("logging: {e}"))?;
    Ok(guard)
}

/// How long after the database opens the background work begins: the
/// first screen comes first, not sharing the database and the CPU with
/// the worker's first pass.
const BACKGROUND_AFTER: Duration = Duration::from_secs(2);

/// Opens the logs (Tauri's `setup`), then the database and the worker on
/// a thread of their own, so the window's page loads meanwhile.
fn start(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    let paths = app.path();
    let log_dir = setting("--log-dir", "PITLANE_LOG_DIR").map_or_else(|| paths.app_log_dir(), Ok)?;
    let log = start_logging(&log_dir).map_err(|e| eprintln!("pitlane-app: {e}")).ok();
    let db = match setting("--db", "PITLANE_DB") {
        Some(db) => db,
        None => {
            let dir = paths.app_data_dir()?;
            std::fs::create_dir_all(&dir)?;
            dir.join("pitlane.db")
        }
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), pid = std::process::id(), db = %db.display(), "app started");
    let (opened, api) = tokio::sync::watch::channel(None);
    app.manage(Shell { api, background: Mutex::new(Worker::Starting), log: Mutex::new(log) });
    let handle = app.handle().clone();
    std::thread::Builder::new().name("open-database".into()).spawn(move || {
        let began = std::time::Instant::now();
        let api = pitlane_runtime::open(&db).map(Arc::new).map_err(|e| {
            tracing::error!(error = %e, db = %db.display(), "could not open the database");
            pitlane_core::api::envelope::failure(&e, || pitlane_core::UuidV7Ids.new_id())
        });
        let core = api.as_ref().ok().cloned();
        if core.is_some() {
            tracing::info!(ms = began.elapsed().as_millis() as u64, "database open");
        }
        opened.send_replace(Some(api));
        let Some(core) = core else { return };
        let shell = handle.state::<Shell>();
        let mut worker = shell.background.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*worker, Worker::Starting) {
            let runtime = tauri::async_runtime::handle();
            *worker = Worker::Running(Background::start_after(core, runtime.inner(), BACKGROUND_AFTER));
        }
    })?;
    exit_on_signals(app.handle().clone());
    show_window_anyway(app.handle().clone());
    Ok(())
}

/// The window opens hidden and the page shows it as its script starts
/// (`showWindow` in ui/src/lib/api.ts): mapped any earlier, the window holds
/// up the page's own loading, and its first frame would be an empty page.
/// Should the page never say so (a script that failed), the window is shown
/// after this long.
const SHOW_WINDOW_ANYWAY: Duration = Duration::from_secs(3);

fn show_window_anyway(app: tauri::AppHandle) {
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(SHOW_WINDOW_ANYWAY).await;
        if let Some(window) = app.get_webview_window("main") {
            if !window.is_visible().unwrap_or(true) {
                tracing::warn!("the page did not show the window; shown anyway");
                let _ = window.show();
            }
        }
    });
}

/// SIGTERM (logout, shutdown, `kill`) and SIGINT end the app as closing
/// its window does, so the worker stops and the log is flushed.
#[cfg(unix)]
fn exit_on_signals(app: tauri::AppHandle) {
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stop signal received");
        app.exit(0);
    });
}

#[cfg(not(unix))]
fn exit_on_signals(_app: tauri::AppHandle) {}

/// On exit: the worker stops between two jobs (5 s at most), the log is flushed.
fn stop(app: &tauri::AppHandle) {
    let shell = app.state::<Shell>();
    let worker = std::mem::replace(&mut *shell.background.lock().unwrap_or_else(|e| e.into_inner()), Worker::Stopped);
    if let Worker::Running(background) = worker {
        tauri::async_runtime::block_on(background.stop(Duration::from_secs(5)));
    }
    tracing::info!("app stopped");
    drop(shell.log.lock().unwrap_or_else(|e| e.into_inner()).take());
}

/// F5 and Ctrl+R would reload the window and drop the session: the UI is
/// one page, so they do nothing.
const NO_RELOAD: &str = r#"addEventListener("keydown", (e) => {
  if (e.key === "F5" || ((e.ctrlKey || e.metaKey) && (e.key === "r" || e.key === "R"))) e.preventDefault();
}, true);"#;

pub fn run() {
    // WebKitGTK's DMA-BUF renderer leaves the window blank or stale on some
    // GPUs and on virtual displays (tauri#13899, #9394): off unless the
    // user chose otherwise. Set before any thread or webview starts.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
    let app = tauri::Builder::default()
        // First: a second start focuses this window instead of opening the database twice.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri::plugin::Builder::<tauri::Wry>::new("no-reload").js_init_script(NO_RELOAD).build())
        .invoke_handler(tauri::generate_handler![call])
        .setup(start)
        .build(tauri::generate_context!())
        .expect("the Tauri app could not be built");
    app.run(|app, event| {
        if let RunEvent::Exit = event {
            stop(app);
        }
    });
}
