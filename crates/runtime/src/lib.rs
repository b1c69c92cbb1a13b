//! What every front end of the core (the `pitlane` CLI, browser mode, the
//! desktop app) sets it up with, in one place: secrets in the OS keyring,
//! card payments through the gateway the settings name, invoices printed
//! by `pitlane-pdf`, cloud sync (`pitlane-sync`), and the background work
//! (jobs, the settlement of unfinished card payments, the sync watch loop)
//! that a long-running front end keeps going.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pitlane_core::jobs::RetryPolicy;
use pitlane_core::Api;
use pitlane_worker::Worker;

/// Opens (creating and migrating as needed) the database at `path` and
/// equips the core as [`equip`] does.
pub fn open(path: &Path) -> pitlane_core::Result<Api> {
    let api = Api::open(path)?;
    equip(&api);
    Ok(api)
}

/// Gives the core its real outside world: the OS keyring for secrets, the
/// gateway connector (address from the settings, key from the keyring), the
/// PDF printer, and the seen marks in [`state_dir`] (checked now: a database
/// older than this computer last saw it becomes `restored`).
pub fn equip(api: &Api) {
    api.set_secret_store(Arc::new(pitlane_secrets::KeyringStore::os()));
    api.set_gateway_connector(pitlane_gateway::connector());
    api.set_printer(Arc::new(pitlane_pdf::PdfPrinter));
    match state_dir() {
        Some(dir) => {
            // Never blocks opening: a failed check is logged.
            if let Err(e) = api.set_seen_dir(dir) {
                tracing::warn!(error = %e, "could not check the database against its seen mark");
            }
        }
        None => tracing::warn!("no PITLANE_STATE_DIR, XDG_STATE_HOME or HOME: the seen mark is not kept"),
    }
}

/// Where this computer keeps what lives outside the database (the seen
/// marks): `PITLANE_STATE_DIR`, else `$XDG_STATE_HOME/pitlane`, else
/// `$HOME/.local/state/pitlane`.
pub fn state_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    state_dir_from(var("PITLANE_STATE_DIR"), var("XDG_STATE_HOME"), var("HOME"))
}

/// [`state_dir`] from the three variables. Pure. A relative XDG_STATE_HOME
/// is ignored, as the XDG specification says.
pub fn state_dir_from(pitlane: Option<PathBuf>, xdg_state: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    pitlane
        .or_else(|| xdg_state.filter(|d| d.is_absolute()).map(|d| d.join("pitlane")))
        .or_else(|| home.map(|h| h.join(".local/state/pitlane")))
}

/// Installs the cloud sync engine (tuned by the `PITLANE_SYNC_*_MS`
/// variables, `SyncConfig::from_env`) as the core's sync runner, so
/// `sync.run_now` works; answers it for a watch loop. It needs the shared
/// core ([`equip`] takes a plain one): every front end that shares it calls this.
pub fn equip_sync(api: &Arc<Api>) -> Arc<pitlane_sync::Engine> {
    pitlane_sync::install(api, pitlane_sync::SyncConfig::from_env())
}

/// The worker with the default retry policy and the PDF printer.
pub fn worker(api: Arc<Api>) -> Worker {
    Worker::new(api, RetryPolicy::default(), Arc::new(pitlane_pdf::PdfPrinter))
}

/// How often the background worker looks for due jobs when none is scheduled.
pub const POLL: Duration = Duration::from_secs(5);

/// The background work on the current tokio runtime: the worker settles
/// unfinished card payments at once (and every few minutes), then works off
/// due jobs; the sync watch loop drains the outbox to the cloud whenever
/// the backoff allows (from start-up). [`Background::stop`] ends both, the
/// worker between two jobs, sync after the batch in hand.
pub struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    sync: tokio::task::JoinHandle<()>,
}

impl Background {
    /// Starts the worker and the sync loop on `runtime` (the app's own
    /// tokio runtime), after installing the sync engine ([`equip_sync`]).
    pub fn start(api: Arc<Api>, runtime: &tokio::runtime::Handle) -> Self {
        Self::start_after(api, runtime, Duration::ZERO)
    }

    /// As [`Background::start`], the worker and the sync loop beginning
    /// `delay` later (the desktop app lets its first screen come first).
    /// The sync engine is installed at once; a stop during the delay ends
    /// both before they begin.
    pub fn start_after(api: Arc<Api>, runtime: &tokio::runtime::Handle, delay: Duration) -> Self {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let engine = equip_sync(&api);
        let mut sync_stop = stopped.clone();
        let sync = runtime.spawn(async move {
            if waited(delay, &mut sync_stop).await {
                pitlane_sync::watch(engine, sync_stop).await;
            }
        });
        let mut worker_stop = stopped;
        let task = runtime.spawn(async move {
            if waited(delay, &mut worker_stop).await {
                worker(api).run(POLL, worker_stop).await;
            }
        });
        tracing::info!(delay_ms = delay.as_millis() as u64, "background worker and sync started");
        Background { stop, task, sync }
    }

    /// Asks the worker and sync to stop and waits up to `grace` for both
    /// (a job cut short is retried at the next start: its lease runs out;
    /// a batch cut short is sent again: the cloud keeps each event once).
    /// Answers whether they stopped in time.
    pub async fn stop(self, grace: Duration) -> bool {
        let _ = self.stop.send(true);
        let both = async {
            let _ = self.task.await;
            let _ = self.sync.await;
        };
        let stopped = tokio::time::timeout(grace, both).await.is_ok();
        if stopped {
            tracing::info!("background worker stopped");
        } else {
            tracing::warn!(grace_secs = grace.as_secs(), "background worker still busy at exit");
        }
        stopped
    }
}

/// Sleeps `delay` unless a stop comes first: answers whether to go on.
async fn waited(delay: Duration, stop: &mut tokio::sync::watch::Receiver<bool>) -> bool {
    if delay.is_zero() {
        return !*stop.borrow();
    }
    tokio::select! {
        _ = tokio::time::sleep(delay) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_the_seen_marks_live() {
        let p = |s: &str| Some(PathBuf::from(s));
        let cases = [
            ("the variable wins", p("/srv/state"), p("/x"), p("/home/a"), p("/srv/state")),
            ("the XDG state home", None, p("/x"), p("/home/a"), p("/x/pitlane")),
            ("a relative XDG state home is ignored", None, p("rel"), p("/home/a"), p("/home/a/.local/state/pitlane")),
            ("the home directory", None, None, p("/home/a"), p("/home/a/.local/state/pitlane")),
            ("nowhere", None, None, None, None),
        ];
        for (scenario, pitlane, xdg, home, expected) in cases {
            assert_eq!(state_dir_from(pitlane, xdg, home), expected, "{scenario}");
        }
    }

    /// The worker starts on a migrated database, runs its first pass and
    /// stops when asked, well within the grace.
    #[test]
    fn background_worker_starts_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let api = Arc::new(Api::open(&dir.path().join("w.db")).unwrap());
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let background = Background::start(api.clone(), runtime.handle());
        std::thread::sleep(Duration::from_millis(200));
        let started = std::time::Instant::now();
        assert!(runtime.block_on(background.stop(Duration::from_secs(10))));
        assert!(started.elapsed() < Duration::from_secs(5));
        // The database is still usable (no lock left held).
        assert!(pitlane_core::db::version(&api.lock_conn()).unwrap() > 0);
    }

    /// Stopped during its delay, the background work ends at once (it
    /// does not sit out the delay first).
    #[test]
    fn background_work_stopped_in_its_delay_ends_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let api = Arc::new(Api::open(&dir.path().join("w.db")).unwrap());
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let background = Background::start_after(api.clone(), runtime.handle(), Duration::from_secs(60));
        let started = std::time::Instant::now();
        assert!(runtime.block_on(background.stop(Duration::from_secs(10))));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
