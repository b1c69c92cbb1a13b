//! What every front end of the core (the `pitlane` CLI, browser mode, the
//! desktop app) sets it up with, in one place: secrets in the OS keyring,
//! card payments through the gateway the settings name, invoices printed
//! by `pitlane-pdf`, and the background worker (jobs and the settlement of
//! unfinished card payments) that a long-running front end keeps going.

use std::path::Path;
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
/// gateway connector (address from the settings, key from the keyring) and
/// the PDF printer.
pub fn equip(api: &Api) {
    api.set_secret_store(Arc::new(pitlane_secrets::KeyringStore::os()));
    api.set_gateway_connector(pitlane_gateway::connector());
    api.set_printer(Arc::new(pitlane_pdf::PdfPrinter));
}

/// The worker with the default retry policy and the PDF printer.
pub fn worker(api: Arc<Api>) -> Worker {
    Worker::new(api, RetryPolicy::default(), Arc::new(pitlane_pdf::PdfPrinter))
}

/// How often the background worker looks for due jobs when none is scheduled.
pub const POLL: Duration = Duration::from_secs(5);

/// The worker running in the background on the current tokio runtime: it
/// settles unfinished card payments at once (and every few minutes), then
/// works off due jobs. [`Background::stop`] ends it between two jobs.
pub struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Background {
    /// Starts the worker on `runtime` (the app's own tokio runtime).
    pub fn start(api: Arc<Api>, runtime: &tokio::runtime::Handle) -> Self {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = runtime.spawn(worker(api).run(POLL, stopped));
        tracing::info!("background worker started");
        Background { stop, task }
    }

    /// Asks the worker to stop and waits up to `grace` for the job in hand
    /// to finish (a job cut short is retried at the next start: its lease
    /// runs out). Answers whether it stopped in time.
    pub async fn stop(self, grace: Duration) -> bool {
        let _ = self.stop.send(true);
        let stopped = tokio::time::timeout(grace, self.task).await.is_ok();
        if stopped {
            tracing::info!("background worker stopped");
        } else {
            tracing::warn!(grace_secs = grace.as_secs(), "background worker still busy at exit");
        }
        stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
