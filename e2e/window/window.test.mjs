// The real window: the desktop app as it ships (WebKitGTK, the embedded UI,
// the one `call` command) driven over WebDriver in a virtual display, on a
// fresh demo database. The manager logs in with the PIN, opens an
// in-progress job card from the today board, completes it and opens its
// invoice; then the app's log directory must hold JSON lines, and neither
// the PIN nor a session token in them.
//
// Run by e2e/window/run.sh (it builds the binaries and starts Xvfb):
// PITLANE_APP, PITLANE_CLI and TAURI_DRIVER name the binaries. Screenshots
// go to WINDOW_SHOTS when set.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { remote } from "webdriverio";

const APP = required("PITLANE_APP");
const CLI = required("PITLANE_CLI");
const DRIVER = process.env.TAURI_DRIVER || "tauri-driver";
const SHOTS = process.env.WINDOW_SHOTS || null;
const PIN = "1234";

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run e2e/window/run.sh)`);
  return v;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what, f, ms = 20_000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const step = (what) => console.log(`window: ${what}`);

const tmp = mkdtempSync(join(tmpdir(), "pitlane-window-"));
const db = join(tmp, "demo.db");
const logDir = join(tmp, "logs");
// The app's own directories (data, config, WebKit's cache) in the temp dir too.
const env = {
  ...process.env,
  XDG_DATA_HOME: join(tmp, "data"),
  XDG_CONFIG_HOME: join(tmp, "config"),
  XDG_CACHE_HOME: join(tmp, "cache"),
  XDG_STATE_HOME: join(tmp, "state"),
  PITLANE_LOG_DIR: logDir,
};
for (const d of [env.XDG_DATA_HOME, env.XDG_CONFIG_HOME, env.XDG_CACHE_HOME, env.XDG_STATE_HOME]) mkdirSync(d, { recursive: true });

let driver = null;
let browser = null;
try {
  // A fresh demo database, and a job card in progress on it.
  execFileSync(CLI, ["--db", db, "demo"], { env, stdio: "ignore" });
  const cli = (command, input) =>
    JSON.parse(
      execFileSync(CLI, ["--db", db, "--user", "manager", "call", command, JSON.stringify(input)], {
        env: { ...env, PITLANE_PIN: PIN },
      }).toString(),
    );
  const listed = cli("job_cards.list", { status: "in_progress", limit: 50 });
  assert.ok(listed.success, JSON.stringify(listed));
  const card = listed.data.job_cards[0];
  assert.ok(card, "the demo has a job card in progress");
  step(`demo database ready, job card ${card.number} in progress`);

  const port = await freePort();
  const nativePort = await freePort();
  driver = spawn(DRIVER, ["--port", String(port), "--native-port", String(nativePort)], {
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  await waitFor("tauri-driver", async () => (await fetch(`http://127.0.0.1:${port}/status`)).ok);

  const started = Date.now();
  browser = await remote({
    hostname: "127.0.0.1",
    port,
    logLevel: "warn",
    connectionRetryCount: 0,
    capabilities: {
      "wdio:enforceWebDriverClassic": true,
      "tauri:options": { application: APP, args: ["--db", db] },
    },
  });
  // The whole virtual display, once painted (WebKitWebDriver's own snapshot can lag behind).
  const shot = async (name) => {
    if (!SHOTS) return;
    await new Promise((r) => setTimeout(r, 700));
    execFileSync("import", ["-window", "root", join(SHOTS, `window-${name}.png`)]);
  };

  // The login: the staff list (or the staff code field), the PIN typed on the keyboard.
  await waitFor("the login screen", () => browser.$("#pin-input").isExisting());
  step(`login screen after ${Date.now() - started} ms`);
  const person = await browser.$("button*=Marcus Manager");
  await waitFor("the staff list", async () => (await person.isExisting()) || browser.$('input[name="code"]').isExisting());
  await shot("login");
  if (await person.isExisting()) await person.click();
  else await browser.$('input[name="code"]').setValue("manager");
  const pin = await browser.$("#pin-input");
  await waitFor("the PIN field enabled", () => pin.isEnabled());
  await pin.setValue(PIN);
  await browser.keys("Enter");
  await waitFor("the manager logged in", async () => (await browser.$("header").getText()).includes("Marcus Manager"));
  step("logged in");

  // The today board lists the cars in the workshop: open the job card there.
  const link = await browser.$(`a=${card.number}`);
  await waitFor(`job card ${card.number} on the today board`, () => link.isDisplayed());
  await shot("today");
  await link.click();
  await waitFor("the job card screen", async () => (await browser.getUrl()).includes(`#/job/${card.id}`));
  const complete = await browser.$("button*=Complete job");
  await waitFor("the Complete job button", () => complete.isClickable());
  await shot("job-card");
  await complete.click();
  step("completed");

  // The invoice made by the completion.
  const open = await browser.$("a*=Open invoice");
  await waitFor("the link to the invoice", () => open.isDisplayed());
  await open.click();
  const number = await waitFor("the invoice screen", async () => {
    if (!(await browser.getUrl()).includes("#/invoice/")) return null;
    const h1 = await browser.$("h1").getText();
    return /^INV-/.test(h1) ? h1 : null;
  });
  // Its PDF drawn by pdf.js (a worker under the CSP) on a canvas: ink on the page.
  await waitFor("the PDF preview drawn", () =>
    browser.execute(() =>
      [...document.querySelectorAll('[aria-label="PDF preview"] canvas')].some((c) => {
        if (c.width === 0) return false;
        const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && px[i] < 128) return true;
        return false;
      }),
    ),
  );
  await shot("invoice");
  step(`invoice ${number} shown with its PDF`);
  const done = cli("job_cards.get", { id: card.id });
  assert.equal(done.data.status, "completed", "the job card is completed in the database");

  // Booking in WebKit: the customer search's list drawn under the box, a
  // customer taken with the keyboard (Enter takes the highlighted one, else the first).
  await browser.execute(() => (window.location.hash = "#/book"));
  const search = await browser.$("#customer-search");
  await waitFor("the booking screen", () => search.isDisplayed());
  await search.click();
  await browser.keys([..."Mat"]);
  await waitFor("customers in the search list", () => browser.$(".lk-item").isDisplayed());
  await shot("booking");
  const wanted = await browser.execute(() => {
    const item = document.querySelector(".lk-content [data-highlighted]") ?? document.querySelector(".lk-item");
    return item?.querySelector("strong")?.textContent ?? "";
  });
  assert.match(wanted, /mat/i, `the list answers "Mat" (${wanted})`);
  await browser.keys(["Enter"]);
  const chosen = await waitFor("the customer chosen", async () => {
    const c = await browser.$(".chosen strong");
    return (await c.isExisting()) ? c.getText() : null;
  });
  assert.equal(chosen, wanted, "Enter took the customer the list showed");
  step(`booking: "${chosen}" found and taken with the keyboard`);

  // A session token made through the same IPC path, used once: it must not reach the log either.
  const token = await browser.execute(async (pin) => {
    const invoke = window.__TAURI_INTERNALS__.invoke;
    const login = await invoke("call", { command: "auth.login", input: { code: "manager", pin }, session: null });
    await invoke("call", { command: "auth.whoami", input: {}, session: login.data.token });
    // A refused login writes a log line (its code, not its input).
    await invoke("call", { command: "auth.login", input: { code: "manager", pin: "987654" }, session: null });
    return login.data.token;
  }, PIN);
  assert.ok(typeof token === "string" && token.length >= 16, "a session token");
  // The capability grants `call` and showing the window, nothing else: another core plugin command is refused.
  const denied = await browser.execute(async () => {
    try {
      await window.__TAURI_INTERNALS__.invoke("plugin:app|version", {});
      return null;
    } catch (e) {
      return String(e);
    }
  });
  assert.ok(denied && /not allowed/i.test(denied), `plugin:app|version is refused (${denied})`);

  // SIGTERM (a logout, a shutdown) ends the app as closing its window does:
  // the worker stops, the log is flushed. The app logs its pid at start.
  const startLine = await waitFor("the start-up line", () => {
    const f = existsSync(logDir) ? readdirSync(logDir).filter((n) => /^pitlane\..+\.log$/.test(n)) : [];
    const lines = f.flatMap((n) => readFileSync(join(logDir, n), "utf8").split("\n"));
    return lines.find((l) => l.includes('"app started"'));
  });
  process.kill(JSON.parse(startLine).fields.pid, "SIGTERM");

  // The log: JSON lines, the start-up and the refused login in them, no PIN, no token.
  const files = await waitFor("a log file", () => {
    const f = existsSync(logDir) ? readdirSync(logDir).filter((n) => /^pitlane\..+\.log$/.test(n)) : [];
    return f.length > 0 ? f : null;
  });
  const text = await waitFor("the app's last line in the log", () => {
    const t = files.map((f) => readFileSync(join(logDir, f), "utf8")).join("");
    return t.includes('"app stopped"') ? t : null;
  }, 10_000);
  await browser.deleteSession().catch(() => {});
  browser = null;
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const records = lines.map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      assert.fail(`a log line that is not JSON: ${l}`);
    }
  });
  assert.ok(records.every((r) => r.timestamp && r.level), "each line has a timestamp and a level");
  assert.ok(records.some((r) => r.fields?.message === "app started"), "the start-up is logged");
  // The window opens hidden; the login shows it once drawn, not the shell's fallback after 3 s.
  assert.ok(!records.some((r) => /did not show the window/.test(r.fields?.message ?? "")), "the login showed the window itself");
  const refused = records.find((r) => r.fields?.message === "command refused");
  assert.equal(refused.span?.command, "auth.login", "a refusal names its command");
  const values = [];
  const walk = (v, key) => {
    if (key && /(^|_)(pin|token|secret|password|session)(_|$)/i.test(key)) assert.fail(`a log field named ${key}`);
    if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, Array.isArray(v) ? null : k);
    else values.push(String(v));
  };
  records.forEach((r) => walk(r, null));
  for (const secret of [PIN, "987654", token]) {
    assert.ok(!values.some((v) => v === secret || v.includes(`"${secret}"`)), `${secret === token ? "the token" : "a PIN"} is not a logged value`);
  }
  assert.ok(!text.includes(token), "the token is nowhere in the log");
  step(`${lines.length} JSON log lines in ${files.join(", ")}: no PIN, no token; clean stop on SIGTERM`);
  assert.ok(records.some((r) => r.fields?.message === "background worker stopped"), "the worker stopped at exit");
  assert.ok(records.some((r) => r.fields?.message === "app stopped"), "the app stopped cleanly");
  console.log("window: ok");
} finally {
  if (browser) await browser.deleteSession().catch(() => {});
  if (driver) driver.kill();
  rmSync(tmp, { recursive: true, force: true });
}
