//! `pitlane serve` as a browser reaches it: a real process on loopback,
//! spoken to over real HTTP (reqwest, or a raw socket to forge a Host).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A running `pitlane serve`, stopped with SIGTERM when dropped.
struct Served {
    child: Child,
    stdout: BufReader<ChildStdout>,
    url_line: String,
    port: u16,
    token: String,
    stderr: PathBuf,
    http: reqwest::blocking::Client,
}

/// A demo database in `dir`.
fn demo(dir: &Path) -> PathBuf {
    let db = dir.join("shop.db");
    let out = super::pitlane(&db, &["demo"], None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    db
}

impl Served {
    fn start(db: &Path, cwd: &Path, args: &[&str]) -> Served {
        let stderr = cwd.join("serve.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_pitlane"))
            .arg("--db")
            .arg(db)
            .args(["serve", "--port", "0"])
            .args(args)
            .current_dir(cwd)
            .env("PITLANE_LOG", "trace")
            .env("PITLANE_STATE_DIR", super::state_dir(db))
            .env_remove("PITLANE_DB")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start pitlane serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut url_line = String::new();
        stdout.read_line(&mut url_line).unwrap();
        let url_line = url_line.trim_end().to_string();
        let rest = url_line
            .strip_prefix("http://127.0.0.1:")
            .unwrap_or_else(|| panic!("the first line is the URL: {url_line:?}; log: {}", read(&stderr)));
        let (port, token) = rest.split_once("/#token=").expect("the URL carries the token in its fragment");
        assert!(token.len() >= 32 && token.chars().all(|c| c.is_ascii_hexdigit()), "at least 128 bits: {token}");
        Served {
            port: port.parse().unwrap(),
            token: token.to_string(),
            child,
            stdout,
            url_line,
            stderr,
            http: reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `POST /api/{command}` with the serve token `token` and a session.
    fn post(&self, command: &str, token: Option<&str>, session: Option<&str>, input: &Value) -> (u16, Value) {
        let mut req = self.http.post(self.url(&format!("/api/{command}"))).body(input.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(s) = session {
            req = req.header("X-Pitlane-Session", s);
        }
        let res = req.send().expect("the server answers");
        assert!(res.headers().get("access-control-allow-origin").is_none(), "no CORS header, ever");
        (res.status().as_u16(), res.json().expect("an envelope"))
    }

    /// A call with the right serve token.
    fn call(&self, command: &str, session: Option<&str>, input: &Value) -> (u16, Value) {
        self.post(command, Some(&self.token.clone()), session, input)
    }

    fn login(&self, code: &str) -> String {
        let (status, env) = self.call("auth.login", None, &json!({ "code": code, "pin": "1234" }));
        assert_eq!(status, 200, "{env}");
        env["data"]["token"].as_str().unwrap().to_string()
    }

    /// Stops it with SIGTERM; answers its exit code and the rest of its stdout.
    fn stop(mut self) -> (Option<i32>, String) {
        let kill = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        assert!(kill.success());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "SIGTERM stops the server within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        (status.code(), rest)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A raw HTTP/1.1 request with the given Host (and Origin): status and body.
fn raw(port: u16, method: &str, path: &str, host: &str, extra: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[test]
fn serve_refuses_any_address_but_loopback_before_opening_anything() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    for bind in ["0.0.0.0", "192.168.1.20", "::", "127.0.0.2"] {
        let out = super::pitlane(&db, &["serve", "--bind", bind, "--port", "0"], None);
        assert_eq!(out.status.code(), Some(2), "--bind {bind} is a usage error");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("127.0.0.1 only"), "the message says why: {stderr}");
        assert!(out.stdout.is_empty(), "no URL printed: nothing listens");
        assert!(!db.exists(), "nothing was opened: no database file made for --bind {bind}");
    }
    let no_ui = super::pitlane(&db, &["serve", "--ui", dir.path().to_str().unwrap()], None);
    assert_eq!(no_ui.status.code(), Some(2), "a --ui without index.html is a usage error");
    assert!(!db.exists());
}

#[test]
fn the_api_needs_the_serve_token_then_a_session_and_keeps_the_roles() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let served = Served::start(&db, dir.path(), &["--bind", "localhost"]);

    let (status, env) = served.post("auth.whoami", None, None, &json!({}));
    assert_eq!((status, env["code"].as_str()), (401, Some("not_authorized")), "no token: {env}");
    assert_eq!(env["status_code"], 401);
    assert_eq!(env["success"], false);
    assert_eq!(env["details"], json!({}));
    let last = if served.token.ends_with('0') { "1" } else { "0" };
    let wrong = format!("{}{last}", &served.token[..served.token.len() - 1]);
    let (status, env) = served.post("auth.whoami", Some(&wrong), None, &json!({}));
    assert_eq!((status, env["code"].as_str()), (401, Some("not_authorized")), "a wrong token: {env}");
    let (status, env) = served.post("auth.login", Some(""), None, &json!({ "code": "desk", "pin": "1234" }));
    assert_eq!((status, env["code"].as_str()), (401, Some("not_authorized")), "an empty token: {env}");

    let (status, env) = served.call("auth.whoami", None, &json!({}));
    assert_eq!((status, env["code"].as_str()), (401, Some("not_logged_in")), "the token is not a login: {env}");

    let desk = served.login("desk");
    let (status, env) = served.call("auth.whoami", Some(&desk), &json!({}));
    assert_eq!(status, 200, "{env}");
    assert_eq!(env["data"]["code"], "desk", "the session names who calls: {env}");
    let (status, env) = served.call("customers.search", Some(&desk), &json!({ "query": "a" }));
    assert_eq!(status, 200, "{env}");
    assert!(!env["data"]["customers"].as_array().unwrap().is_empty(), "the demo's customers: {env}");
    let (status, env) = served.call("customers.create", Some(&desk), &json!({ "name": "" }));
    assert_eq!((status, env["code"].as_str()), (422, Some("validation_failed")), "the envelope's status: {env}");

    let tech = served.login("tech1");
    let (status, env) = served.call("payments.process", Some(&tech), &json!({}));
    assert_eq!((status, env["code"].as_str()), (403, Some("forbidden")), "{env}");
    let cli = super::pitlane(&db, &["--user", "tech1", "call", "payments.process", "{}"], Some("1234"));
    let cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(env, cli, "the same envelope as the command line");

    let (status, env) = served.call("no.such_command", Some(&desk), &json!({}));
    assert_eq!((status, env["code"].as_str()), (400, Some("bad_request")), "{env}");

    let (code, _) = served.stop();
    assert_eq!(code, Some(0), "SIGTERM is a clean stop");
}

#[test]
fn foreign_hosts_and_origins_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let served = Served::start(&db, dir.path(), &[]);
    let (port, token) = (served.port, served.token.clone());
    let auth = format!("Authorization: Bearer {token}\r\n");

    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let (status, body) = raw(port, "POST", "/api/auth.whoami", &host, &auth, "{}");
        assert_eq!(status, 401, "our own Host reaches the command table: {body}");
        assert!(body.contains("not_logged_in"), "{body}");
    }
    let foreign = [
        format!("evil.example:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        "127.0.0.1".to_string(),
        format!("attacker.localhost:{port}"),
    ];
    for host in &foreign {
        for (method, path) in [("POST", "/api/auth.whoami"), ("GET", "/"), ("GET", "/index.html")] {
            let (status, body) = raw(port, method, path, host, &auth, "{}");
            assert_eq!(status, 403, "Host {host} on {method} {path}: {body}");
            let env: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(env["code"], "forbidden_origin");
            assert_eq!(env["status_code"], 403);
        }
    }

    let ours = format!("127.0.0.1:{port}");
    for origin in [format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}")] {
        let (status, body) = raw(port, "POST", "/api/auth.whoami", &ours, &format!("{auth}Origin: {origin}\r\n"), "{}");
        assert_eq!(status, 401, "our own page's Origin {origin}: {body}");
    }
    for origin in ["http://evil.example", "null", &format!("https://127.0.0.1:{port}"), "http://127.0.0.1:1"] {
        let (status, body) = raw(port, "POST", "/api/auth.login", &ours, &format!("{auth}Origin: {origin}\r\n"), "{}");
        assert_eq!(status, 403, "Origin {origin}: {body}");
        assert!(body.contains("forbidden_origin"), "{body}");
        assert!(!body.to_lowercase().contains("access-control"), "no CORS");
    }
    let res =
        served.http.post(served.url("/api/auth.whoami")).bearer_auth(&token).header("Origin", "http://evil.example");
    let res = res.send().unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert!(res.headers().get("access-control-allow-origin").is_none(), "no CORS headers");
}

#[test]
fn neither_token_reaches_the_output_or_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let served = Served::start(&db, dir.path(), &[]);
    let token = served.token.clone();
    let desk = served.login("desk");
    let tech = served.login("tech1");
    served.call("auth.whoami", Some(&desk), &json!({}));
    served.call("payments.process", Some(&tech), &json!({}));
    served.call("customers.create", Some(&desk), &json!({ "name": "" }));
    served.post("auth.whoami", Some(&desk), Some(&token), &json!({}));
    served.post("auth.whoami", Some(&format!("{token}x")), None, &json!({}));
    raw(served.port, "POST", "/api/auth.whoami", "evil.example", &format!("Authorization: Bearer {token}\r\n"), "");
    // A PIN no timestamp or id in the log can hold by chance ("9999" once
    // matched a timestamp's fraction of a second).
    let pin = "7q-never-logged";
    served.call("auth.login", None, &json!({ "code": "desk", "pin": pin }));
    let url_line = served.url_line.clone();
    let stderr = served.stderr.clone();
    let (code, rest) = served.stop();
    assert_eq!(code, Some(0));
    let log = read(&stderr);
    assert!(log.contains("api call") && log.contains("payments.process"), "the log has the calls: {log}");
    for (what, secret) in [("serve token", &token), ("desk session", &desk), ("technician session", &tech)] {
        assert!(!rest.contains(secret.as_str()), "the {what} is not on stdout after the URL line: {rest}");
        assert!(!log.contains(secret.as_str()), "the {what} is not in the log");
    }
    assert!(!log.contains(pin) && !log.contains("\"pin\""), "request bodies are not logged");
    assert!(url_line.ends_with(&token), "only the URL line carries it");
}

#[test]
fn the_ui_is_served_with_index_html_for_unknown_paths() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let ui = dir.path().join("dist");
    std::fs::create_dir_all(ui.join("assets")).unwrap();
    std::fs::write(ui.join("index.html"), "<!doctype html><title>Pitlane test UI</title>").unwrap();
    std::fs::write(ui.join("assets/app.js"), "console.log('pitlane')").unwrap();
    let served = Served::start(&db, dir.path(), &["--ui", ui.to_str().unwrap()]);
    for path in ["/", "/index.html", "/job/42", "/assets/missing.js"] {
        let res = served.http.get(served.url(path)).send().unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
        assert_eq!(res.headers()["x-frame-options"], "DENY", "{path} may not be framed");
        assert_eq!(res.text().unwrap(), "<!doctype html><title>Pitlane test UI</title>", "{path} is index.html");
    }
    let js = served.http.get(served.url("/assets/app.js")).send().unwrap();
    assert!(js.headers()["content-type"].to_str().unwrap().contains("javascript"));
    assert_eq!(js.text().unwrap(), "console.log('pitlane')");
    let (status, _) = served.call("auth.whoami", None, &json!({}));
    assert_eq!(status, 401, "the API beside the UI");
}

#[test]
fn without_a_built_ui_the_page_says_how_to_build_it_and_the_api_works() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    // The current directory and the program's ancestors have no ui/dist.
    let served = Served::start(&db, dir.path(), &[]);
    let res = served.http.get(served.url("/")).send().unwrap();
    assert_eq!(res.status().as_u16(), 503);
    let page = res.text().unwrap();
    assert!(page.contains("not built") && page.contains("npm run build"), "{page}");
    let desk = served.login("desk");
    let (status, _) = served.call("auth.whoami", Some(&desk), &json!({}));
    assert_eq!(status, 200);

    // With ui/dist in the current directory, it is found.
    std::fs::create_dir_all(dir.path().join("ui/dist")).unwrap();
    std::fs::write(dir.path().join("ui/dist/index.html"), "found next to the repo").unwrap();
    drop(served);
    let served = Served::start(&db, dir.path(), &[]);
    assert_eq!(served.http.get(served.url("/#/today")).send().unwrap().text().unwrap(), "found next to the repo");
}

#[test]
fn bodies_over_the_input_cap_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let served = Served::start(&db, dir.path(), &[]);
    let desk = served.login("desk");
    let big = format!("{{\"query\":\"{}\"}}", "a".repeat(4 * 1024 * 1024 + 16));
    let res = served
        .http
        .post(served.url("/api/customers.search"))
        .bearer_auth(&served.token)
        .header("X-Pitlane-Session", &desk)
        .body(big)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 413, "refused before the command table");
    let env: Value = res.json().unwrap();
    assert_eq!(env["code"], "bad_request");
    assert_eq!(env["status_code"], 413);
    let (status, _) = served.call("auth.whoami", Some(&desk), &json!({}));
    assert_eq!(status, 200, "the server goes on");
}

#[test]
fn the_job_worker_runs_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let waiting = |db: &Path| -> i64 {
        let conn = pitlane_core::db::open(db).unwrap();
        conn.query_row("SELECT count(*) FROM jobs WHERE state = 'queued'", [], |r| r.get(0)).unwrap()
    };
    assert!(waiting(&db) > 0, "the demo leaves messages to send");
    let served = Served::start(&db, dir.path(), &[]);
    let started = Instant::now();
    while waiting(&db) > 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the worker works off the queue");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, _) = served.stop();
    assert_eq!(code, Some(0));
    assert!(read(&dir.path().join("serve.log")).contains("stopped"), "a clean stop, the worker too");
}
