//! `pitlane serve`: browser mode, the third adapter over the command table
//! (beside the CLI and the Tauri shell). `POST /api/{command}` with the input
//! JSON as body answers the core's envelope (HTTP 200 on success, else the
//! envelope's status code); everything else is the built UI (`ui/dist`).
//!
//! Only this machine may talk to it: it listens on 127.0.0.1 only, every
//! request must name `127.0.0.1:PORT` or `localhost:PORT` as its Host (no
//! DNS rebinding) and carry no foreign Origin (403 `forbidden_origin`), and
//! every API call carries the secret made at start
//! (`Authorization: Bearer TOKEN`, else 401 `not_authorized`). The staff
//! member's session token comes in `X-Pitlane-Session`. No CORS headers are
//! ever sent. Neither token nor any request body is logged.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use pitlane_core::api::MAX_INPUT_BYTES;
use pitlane_core::{Api, Envelope};
use serde_json::json;
use subtle::ConstantTimeEq;
use tower_http::services::{ServeDir, ServeFile};

/// The port when none is given.
pub const DEFAULT_PORT: u16 = 7878;

/// How long a stop waits for the job worker to finish what it runs.
const WORKER_GRACE: Duration = Duration::from_secs(20);

/// Checks `--bind` before anything is opened: loopback only.
pub fn check_bind(bind: &str) -> Result<(), String> {
    match bind {
        "127.0.0.1" | "localhost" => Ok(()),
        other => Err(format!(
            "--bind {other} is refused: browser mode listens on 127.0.0.1 only, so that no other machine can reach the shop's data"
        )),
    }
}

/// The built UI: `ui/dist` (with an index.html) under the current
/// directory, else under one of the executable's ancestors.
pub fn find_ui() -> Option<PathBuf> {
    let built = |dir: &Path| {
        let dist = dir.join("ui").join("dist");
        dist.join("index.html").is_file().then_some(dist)
    };
    let cwd = std::env::current_dir().ok();
    let exe = std::env::current_exe().ok();
    cwd.as_deref().and_then(built).or_else(|| exe.as_deref().and_then(|e| e.ancestors().skip(1).find_map(built)))
}

struct Served {
    api: Arc<Api>,
    /// The secret made at start; never logged.
    token: String,
    hosts: [String; 2],
    origins: [String; 2],
}

/// At least 128 random bits: two v4 UUIDs (122 random bits each).
fn new_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn envelope(status: StatusCode, code: &str, message: &str) -> Response {
    let env = Envelope::Failure {
        success: false,
        code: code.into(),
        message: message.into(),
        status_code: status.as_u16(),
        details: json!({}),
    };
    answer(&env)
}

fn answer(env: &Envelope) -> Response {
    let status = StatusCode::from_u16(env.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], env.to_json()).into_response()
}

/// Every request: the Host must be our loopback address and port, an
/// Origin (when sent) our own. Every answer: not framed, not sniffed, not
/// cached, no referrer.
async fn guard(State(s): State<Arc<Served>>, req: Request, next: Next) -> Response {
    let (host_ok, origin_ok) = {
        let headers = req.headers();
        let ours = |name, allowed: &[String; 2]| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .is_some_and(|v| allowed.iter().any(|a| a.eq_ignore_ascii_case(v)))
        };
        (ours(header::HOST, &s.hosts), !headers.contains_key(header::ORIGIN) || ours(header::ORIGIN, &s.origins))
    };
    let mut res = if host_ok && origin_ok {
        next.run(req).await
    } else {
        tracing::warn!(host_ok, origin_ok, "request from a foreign host or origin refused");
        envelope(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "Only Pitlane's own page on this computer may use this address.",
        )
    };
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `POST /api/{command}`: the serve token, then the body (capped), then
/// the command table as the staff member of `X-Pitlane-Session`.
async fn call(
    State(s): State<Arc<Served>>,
    axum::extract::Path(command): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(bearer.as_bytes().ct_eq(s.token.as_bytes())) {
        tracing::warn!(command, "API call without the serve token refused");
        return envelope(
            StatusCode::UNAUTHORIZED,
            "not_authorized",
            "This page is not connected to Pitlane: open the address `pitlane serve` printed.",
        );
    }
    let input: Bytes = match axum::body::to_bytes(body, MAX_INPUT_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return envelope(
                StatusCode::PAYLOAD_TOO_LARGE,
                "bad_request",
                &format!("The input is larger than {} MB.", MAX_INPUT_BYTES / 1024 / 1024),
            )
        }
    };
    let Ok(input) = String::from_utf8(input.to_vec()) else {
        return envelope(StatusCode::BAD_REQUEST, "bad_request", "The input is not valid UTF-8 JSON.");
    };
    let session =
        headers.get("x-pitlane-session").and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()).map(str::to_string);
    let api = s.api.clone();
    let started = std::time::Instant::now();
    let name = command.clone();
    let env = match tokio::task::spawn_blocking(move || api.call(session.as_deref(), &name, &input)).await {
        Ok(env) => env,
        Err(e) => {
            tracing::error!(command, error = %e, "command task");
            return envelope(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Something unexpected went wrong.");
        }
    };
    tracing::info!(command, status = env.status_code(), ms = started.elapsed().as_millis() as u64, "api call");
    answer(&env)
}

/// What `/` answers when there is no built UI.
async fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            "<!doctype html><meta charset=utf-8><title>Pitlane</title>\
             <h1>The Pitlane UI is not built</h1>\
             <p>Build it in the repository with <code>npm install</code> and <code>npm run build</code> \
             (it goes to <code>ui/dist</code>), then start <code>pitlane serve</code> again, \
             or point it at a built UI with <code>--ui DIR</code>. The API works meanwhile.</p>",
        ),
    )
        .into_response()
}

/// The whole service for `port`, with the UI from `ui` (none: a page
/// saying how to build it).
fn app(served: Arc<Served>, ui: Option<&Path>) -> Router {
    let router = Router::new().route("/api/{command}", post(call));
    let router = match ui {
        Some(dir) => router.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => router.fallback(not_built),
    };
    router.layer(middleware::from_fn_with_state(served.clone(), guard)).with_state(served)
}

pub(crate) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Serves until SIGINT or SIGTERM: prints the URL with the token on stdout,
/// runs the job worker (which settles unfinished card payments first) and
/// cloud sync in the background, and stops them cleanly. `Err` is a message for stderr.
pub fn serve(api: Api, port: u16, ui: Option<PathBuf>) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start: {e}"))?;
    let api = Arc::new(api);
    // The job worker and cloud sync, as the desktop app runs them. Started
    // outside `block_on`: the sync engine builds a blocking HTTP client,
    // which panics when built inside the runtime's async context.
    let background = pitlane_runtime::Background::start(api.clone(), runtime.handle());
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let served = Arc::new(Served {
            api: api.clone(),
            token: new_token(),
            hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
            origins: [format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}")],
        });
        tracing::info!(port, ui = ?ui, "serving");
        crate::out(format_args!("http://127.0.0.1:{port}/#token={}", served.token));
        let served = axum::serve(listener, app(served, ui.as_deref())).with_graceful_shutdown(shutdown_signal()).await;
        // The worker finishes the jobs it is running; one left unfinished
        // is taken up again when its lease runs out.
        if !background.stop(WORKER_GRACE).await {
            tracing::warn!("the job worker or sync was still busy at the stop; that work runs again later");
        }
        tracing::info!("stopped");
        served.map_err(|e| e.to_string())
    });
    // A settlement pass still waiting on the gateway is not waited for long.
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_may_be_bound() {
        assert!(check_bind("127.0.0.1").is_ok());
        assert!(check_bind("localhost").is_ok());
        for other in ["0.0.0.0", "::", "192.168.1.2", "::1", "127.0.0.2", ""] {
            assert!(check_bind(other).is_err(), "{other} is not 127.0.0.1");
        }
    }

    #[test]
    fn tokens_are_long_and_new_each_time() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64, "two simple UUIDs: 244 random bits");
        assert_ne!(a, b);
    }
}
