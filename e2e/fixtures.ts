// The backend of every browser test, real and fresh: a demo database made
// by `pitlane demo` (once per run, copied for each test), the gateway double
// as its own process, and `pitlane serve` on a free port of 127.0.0.1. The
// gateway's address goes in through `settings.update` and its key into the
// real OS keyring through `settings.set_secret` (`pitlane secret`), both as
// the owner through the CLI. Everything is stopped and removed after the test.
//
// Binaries: PITLANE_BIN (default $CARGO_TARGET_DIR/debug/pitlane) and
// PITLANE_GATEWAY_DOUBLE_BIN (default: beside PITLANE_BIN).

import { test as base, expect, type Page } from "@playwright/test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, createWriteStream, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
export const PITLANE = process.env.PITLANE_BIN ?? join(TARGET, "debug", "pitlane");
const DOUBLE = process.env.PITLANE_GATEWAY_DOUBLE_BIN ?? join(PITLANE, "..", "pitlane-gateway-double");
const UI = process.env.PITLANE_UI ?? join(ROOT, "ui", "dist");
export const PIN = "1234";

export interface Envelope<T = any> {
  success: boolean;
  data?: T;
  code?: string;
  message?: string;
  status_code?: number;
  details?: any;
}

/** Runs `pitlane --db DB [--user U] ARGS…` and answers its stdout as an envelope. */
/**
 * The seen marks (docs/SYNC.md 6) of a database: beside it, so that each
 * test's copy of the template is a first sight, not an older copy.
 */
function stateDir(db: string): string {
  return join(dirname(db), "state");
}

export function cli(db: string, user: string | null, args: string[], stdin?: string): Envelope {
  const r = spawnSync(PITLANE, ["--db", db, ...(user ? ["--user", user] : []), ...args], {
    env: { ...process.env, PITLANE_PIN: PIN, PITLANE_STATE_DIR: stateDir(db) },
    input: stdin,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as Envelope;
  } catch {
    throw new Error(`pitlane ${args.join(" ")} exited ${r.status}: ${r.stdout}\n${r.stderr}`);
  }
}

/** Starts a process and waits (bounded) for the first stdout line matching `re`. */
async function startProcess(
  cmd: string,
  args: string[],
  re: RegExp,
  logFile: string,
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PITLANE_LOG: process.env.PITLANE_LOG ?? "info", ...extraEnv } });
  const log = createWriteStream(logFile);
  child.stderr!.pipe(log);
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`${cmd} printed no ${re} within 60 s; stdout so far: ${seen}`)), 60_000);
    child.stdout!.on("data", (b: Buffer) => {
      seen += b.toString();
      const m = seen.match(re);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(" ")} exited (${code}) before it was ready; see ${logFile}`));
    });
  });
  child.stdout!.resume();
  return { child, match };
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const late = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await gone;
  clearTimeout(late);
}

export interface Backend {
  /** The printed URL, `http://127.0.0.1:PORT/#token=TOKEN`. */
  url: string;
  origin: string;
  token: string;
  db: string;
  gatewayUrl: string;
  /** `POST /api/{command}` as a staff member's session (or none); answers the HTTP status and envelope. */
  api<T = any>(command: string, input?: unknown, session?: string | null): Promise<{ status: number; body: Envelope<T> }>;
  /** A session token for a demo staff code (auth.login over HTTP). */
  login(code: string): Promise<string>;
  /** The data of a call that must succeed. */
  ok<T = any>(command: string, input: unknown, session: string | null): Promise<T>;
  /** What the gateway double holds. */
  ledger(): Promise<{ charges: any[]; refunds: any[] }>;
}

const GATEWAY_KEY = `sk_e2e_${randomBytes(12).toString("hex")}`;

export const test = base.extend<{ backend: Backend }, { template: string }>({
  // The demo database, made once per run (a debug `pitlane demo` takes a few
  // seconds), with the gateway key in the keyring under its device id.
  template: [
    async ({}, use) => {
      for (const bin of [PITLANE, DOUBLE]) if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/e2e.sh (it builds it)`);
      if (!existsSync(join(UI, "index.html"))) throw new Error(`${UI} has no index.html: npm run build`);
      const dir = mkdtempSync(join(tmpdir(), "pitlane-e2e-template-"));
      const db = join(dir, "demo.db");
      const demo = spawnSync(PITLANE, ["--db", db, "demo"], { encoding: "utf8", timeout: 300_000, env: { ...process.env, PITLANE_STATE_DIR: stateDir(db) } });
      if (demo.status !== 0) throw new Error(`pitlane demo failed: ${demo.stdout}\n${demo.stderr}`);
      const secret = cli(db, "owner", ["secret", "payment_gateway_key"], GATEWAY_KEY + "\n");
      if (!secret.success) throw new Error(`pitlane secret payment_gateway_key: ${JSON.stringify(secret)} (is the keyring unlocked? run through scripts/e2e.sh)`);
      await use(db);
      rmSync(dir, { recursive: true, force: true });
    },
    { scope: "worker", timeout: 300_000 },
  ],

  backend: async ({ template }, use, testInfo) => {
    const dir = mkdtempSync(join(tmpdir(), "pitlane-e2e-"));
    const db = join(dir, "shop.db");
    const base = template.split("/").pop()!;
    for (const f of readdirSync(join(template, ".."))) {
      if (f.startsWith(base)) copyFileSync(join(template, "..", f), join(dir, "shop.db" + f.slice(base.length)));
    }
    const children: ChildProcess[] = [];
    try {
      const gw = await startProcess(DOUBLE, ["--key", GATEWAY_KEY], /(http:\/\/127\.0\.0\.1:\d+)/, testInfo.outputPath("gateway-double.log"));
      children.push(gw.child);
      const gatewayUrl = gw.match[1];
      const set = cli(db, "owner", ["call", "settings.update", JSON.stringify({ integrations: { payment_gateway_url: gatewayUrl } })]);
      expect(set.success, JSON.stringify(set)).toBe(true);
      expect(set.data.secrets?.find?.((s: any) => s.name === "payment_gateway_key")?.state ?? "set").toBe("set");

      const srv = await startProcess(
        PITLANE,
        ["--db", db, "serve", "--port", "0", "--ui", UI],
        /(http:\/\/127\.0\.0\.1:(\d+))\/#token=([A-Za-z0-9_-]+)/,
        testInfo.outputPath("serve.log"),
        { PITLANE_STATE_DIR: stateDir(db) },
      );
      children.push(srv.child);
      const [url, origin, , token] = srv.match;

      const api: Backend["api"] = async (command, input = {}, session = null) => {
        const headers: Record<string, string> = { "Content-Type": "application/json", Authorization: `Bearer ${token}` };
        if (session) headers["X-Pitlane-Session"] = session;
        const res = await fetch(`${origin}/api/${command}`, { method: "POST", headers, body: JSON.stringify(input) });
        return { status: res.status, body: (await res.json()) as Envelope };
      };
      const ok: Backend["ok"] = async (command, input, session) => {
        const r = await api(command, input, session);
        expect(r.body.success, `${command}: ${JSON.stringify(r.body)}`).toBe(true);
        return r.body.data;
      };
      const login = async (code: string) => (await ok("auth.login", { code, pin: PIN }, null)).token as string;
      const ledger = async () => {
        const res = await fetch(`${gatewayUrl}/v1/ledger`, { headers: { Authorization: `Bearer ${GATEWAY_KEY}` } });
        expect(res.status).toBe(200);
        return (await res.json()) as { charges: any[]; refunds: any[] };
      };
      await use({ url, origin, token, db, gatewayUrl, api, ok, login, ledger });
    } finally {
      for (const c of children.reverse()) await stop(c);
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

export { expect };

/** Opens the app (the printed URL; `query` goes before the #) and logs in with the PIN. */
export async function openAndLogin(page: Page, backend: Backend, code: string, opts: { query?: string; usePad?: boolean } = {}) {
  const u = new URL(backend.url);
  if (opts.query) u.search = opts.query;
  await page.goto(u.toString());
  await loginAs(page, code, opts.usePad ?? false);
}

/** On the login screen: picks the person (or types the code) and enters the PIN. */
export async function loginAs(page: Page, code: string, usePad: boolean) {
  const names: Record<string, string> = {
    owner: "Olivia Owner", manager: "Marcus Manager", desk: "Dana Desk", tech1: "Tomasz Łukasiewicz", tech2: "Ingrid Ødegård",
  };
  const list = page.getByRole("list", { name: "Staff" });
  const typed = page.getByLabel("Staff code");
  await expect(list.or(typed)).toBeVisible();
  if (await list.isVisible()) await list.getByRole("button", { name: names[code] }).click();
  else await typed.fill(code);
  if (usePad) {
    const pad = page.getByRole("group", { name: "PIN pad" });
    for (const d of PIN) await pad.getByRole("button", { name: d, exact: true }).click();
    await expect(page.getByLabel("PIN", { exact: true })).toHaveValue(PIN);
    await page.getByRole("button", { name: "Log in" }).click();
  } else {
    await page.getByLabel("PIN", { exact: true }).fill(PIN);
    await page.getByLabel("PIN", { exact: true }).press("Enter");
  }
  await expect(page.getByRole("button", { name: "Switch user" })).toBeVisible();
}

/** The branch's next working day (Mon–Fri, not a demo closure) after today, `YYYY-MM-DD`. */
export function nextWorkingDay(timeZone = "America/New_York"): string {
  const closures = new Set(["2026-12-25", "2026-12-26", "2027-01-01"]);
  const fmt = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  const wd = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short" });
  let t = Date.now();
  for (let i = 0; i < 14; i++) {
    t += 24 * 3600 * 1000;
    const d = new Date(t);
    const day = fmt.format(d);
    if (!["Sat", "Sun"].includes(wd.format(d)) && !closures.has(day)) return day;
  }
  throw new Error("no working day in two weeks");
}
