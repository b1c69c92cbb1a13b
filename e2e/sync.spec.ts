// Cloud sync in the browser: the header's pill and the Cloud sync screen on
// a fresh demo database. Not set up (the owner sees "Cloud sync off", a
// technician nothing); a malformed address is refused at its field and
// nothing is saved; an address where nothing listens plus a token (kept in
// the real OS keyring of scripts/e2e.sh) is saved, and "Sync now" shows the
// cloud offline, the events waiting and the error; a technician sees the
// state but no action. Screenshots of the header and the screen at both sizes.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, createWriteStream, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, expect, openAndLogin, PITLANE, type Backend } from "./fixtures";
import { shoot } from "./helpers";

const CLOUD_BIN = process.env.PITLANE_CLOUD_BIN ?? join(PITLANE, "..", "pitlane-cloud");
const PG = "/usr/lib/postgresql/15/bin";
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** A port of 127.0.0.1 where nothing listens (taken from the OS, then closed again). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * Every test's database is a copy of one demo (one device id) and the run
 * shares one keyring: a token an earlier test saved is removed first.
 */
async function forgetToken(backend: Backend, owner: string) {
  await backend.ok("settings.set_secret", { name: "sync_token", value: null }, owner);
}

/**
 * The real cloud for one test: a PostgreSQL of its own (initdb in a
 * temporary folder as the postgres user, on 127.0.0.1, as in
 * shared/TESTING.md) and `pitlane-cloud serve` over it.
 */
async function startCloud(logFile: string) {
  const dir = mkdtempSync(join(tmpdir(), "pitlane-e2e-pg-"));
  chmodSync(dir, 0o777);
  const asPostgres = (bin: string, args: string[]) => {
    const r = spawnSync("runuser", ["-u", "postgres", "--", join(PG, bin), ...args], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${bin} failed: ${r.stdout}\n${r.stderr}`);
  };
  asPostgres("initdb", ["-D", join(dir, "data"), "-A", "trust", "-U", "pitlane", "-E", "UTF8", "--no-sync"]);
  const pgPort = await closedPort();
  asPostgres("pg_ctl", ["-D", join(dir, "data"), "-l", join(dir, "log"), "-w", "-t", "60",
    "-o", `-c listen_addresses=127.0.0.1 -p ${pgPort} -k ${dir} -c fsync=off`, "start"]);
  const dbUrl = `postgres://pitlane@127.0.0.1:${pgPort}/postgres`;
  const port = await closedPort();
  const child: ChildProcess = spawn(CLOUD_BIN, ["--database-url", dbUrl, "serve", "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr!.pipe(createWriteStream(logFile));
  const url = `http://127.0.0.1:${port}`;
  await expect.poll(async () => (await fetch(`${url}/health`).catch(() => null))?.status ?? 0, { message: "pitlane-cloud answers /health", timeout: 60_000 }).toBe(200);
  const cloud = (args: string[]) => {
    const r = spawnSync(CLOUD_BIN, ["--database-url", dbUrl, ...args], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`pitlane-cloud ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const psql = (sql: string) => {
    const r = spawnSync("psql", ["-h", "127.0.0.1", "-p", String(pgPort), "-U", "pitlane", "-d", "postgres", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return r.stdout.trim();
  };
  const stop = async () => {
    if (child.exitCode === null) {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    }
    spawnSync("runuser", ["-u", "postgres", "--", join(PG, "pg_ctl"), "-D", join(dir, "data"), "-m", "immediate", "-w", "stop"]);
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, cloud, psql, stop };
}

async function syncStatus(backend: Backend, session: string) {
  return await backend.ok("sync.status", {}, session);
}

test("cloud sync, the owner: not set up, a bad address at its field, an unreachable cloud offline with its backlog", async ({ page, backend }) => {
  const owner = await backend.login("owner");
  await forgetToken(backend, owner);
  const before = await syncStatus(backend, owner);
  expect(before.configured, "a demo database starts without cloud sync").toBe(false);
  expect(before.backlog, "the demo's events wait in the outbox").toBeGreaterThan(0);

  await openAndLogin(page, backend, "owner");
  const pill = page.getByRole("link", { name: /^Cloud sync:/ });
  await expect(pill).toHaveAccessibleName("Cloud sync: Cloud sync off");
  await page.mouse.move(640, 790);
  await shoot(page, "sync-header-off", undefined, { clipHeight: 56, docs: false });
  await pill.click();
  await expect(page).toHaveURL(/#\/sync$/);
  await expect(page.getByRole("heading", { name: "Cloud sync", level: 1 })).toBeVisible();
  await expect(page.getByText("Cloud sync is not set up")).toBeVisible();
  await expect(page.getByTestId("sync-device-id")).toHaveText(before.device.device_id);
  await expect(page.getByTestId("sync-series-letter")).toHaveText(before.device.series_letter);
  await expect(page.getByTestId("sync-token-state")).toHaveText("No token");
  await expect(page.getByRole("button", { name: "Sync now" })).toBeDisabled();

  // A malformed address, and plain http to another computer: 422 at the field, nothing saved.
  const address = page.getByRole("textbox", { name: "Cloud address" });
  const token = page.getByLabel("Token", { exact: true });
  await expect(token).toHaveAttribute("type", "password");
  for (const bad of ["cloud.example.com", "http://cloud.example.com"]) {
    await address.fill(bad);
    await token.fill("tok_e2e_bad_address");
    await page.getByRole("button", { name: "Save connection" }).click();
    await expect(address).toHaveAttribute("aria-invalid", "true");
    const message = page.locator(`#${await address.getAttribute("aria-describedby")}`);
    await expect(message).toHaveText(bad.startsWith("http") ? /must use https:\/\// : /must be a URL/);
    await expect(page.getByText("Check the marked fields.")).toBeVisible();
  }
  const unchanged = await syncStatus(backend, owner);
  expect(unchanged.configured, "a refused address saves nothing").toBe(false);
  expect(unchanged.endpoint).toBeNull();
  await shoot(page, "sync-bad-address", undefined, { docs: false });

  // An address where nothing listens, and a token: saved, the token in the keyring and never shown back.
  const port = await closedPort();
  const endpoint = `http://127.0.0.1:${port}`;
  await address.fill(endpoint + "/");
  await token.fill("tok_e2e_unreachable_cloud");
  await page.getByRole("button", { name: "Save connection" }).click();
  await expect(page.getByText("Saved. Pitlane syncs with this address and token from now on.")).toBeVisible();
  await expect(address).toHaveValue(endpoint);
  await expect(token).toHaveValue("");
  await expect(page.getByTestId("sync-token-state")).toHaveText("Token set");
  const saved = await syncStatus(backend, owner);
  expect(saved.configured).toBe(true);
  expect(saved.endpoint).toBe(endpoint);
  const secrets = (await backend.ok("settings.get", {}, owner)).secrets;
  expect(secrets.find((s: any) => s.name === "sync_token")?.state, "the token is in the OS keyring").toBe("set");
  expect(JSON.stringify(saved)).not.toContain("tok_e2e_unreachable_cloud");
  await expect(page.getByText("Cloud sync is not set up")).toHaveCount(0);

  // Sync now: the cloud cannot be reached; the events wait, the error is in words.
  await page.getByRole("button", { name: "Sync now" }).click();
  await expect(page.getByText(/The cloud did not take everything; the rest waits here/)).toBeVisible();
  await expect(page.getByTestId("sync-connection")).toHaveText("Offline: the cloud could not be reached");
  const after = await syncStatus(backend, owner);
  expect(after.online).toBe(false);
  expect(after.last_error, "the failed attempt is recorded").toBeTruthy();
  expect(after.backlog, "nothing was lost or sent").toBe(before.backlog);
  await expect(page.getByTestId("sync-backlog")).toContainText(`${after.backlog.toLocaleString("en-US")} event`);
  await expect(page.getByTestId("sync-last-error")).toContainText("Nothing answered at the cloud's address");
  await expect(pill).toHaveAccessibleName(`Cloud sync: ${after.backlog.toLocaleString("en-US")} waiting`);
  await expect(pill).toHaveAttribute("data-tone", "warn");
  await expect(pill).toHaveAttribute("title", /could not be reached/);
  const dismiss = page.getByRole("button", { name: "Dismiss message" });
  await expect(dismiss).toHaveCount(2); // "Saved" and what Sync now did
  await dismiss.first().click();
  await dismiss.first().click();
  await expect(dismiss).toHaveCount(0);
  await page.mouse.move(640, 790);
  await shoot(page, "sync-offline");
  await shoot(page, "sync-header-offline", undefined, { clipHeight: 56, docs: false });
});

test("cloud sync, a technician: the pill and the state, no action, and the API refuses the owner's commands", async ({ page, browser, backend }) => {
  const owner = await backend.login("owner");
  const tech = await backend.login("tech1");

  // Not set up: a technician sees no pill at all.
  await openAndLogin(page, backend, "tech1");
  await expect(page.getByRole("heading", { name: "My jobs", level: 1 })).toBeVisible();
  await expect(page.getByRole("status", { name: /^Network:/ })).toBeVisible();
  await expect(page.getByRole("link", { name: /^Cloud sync:/ })).toHaveCount(0);
  await page.context().close();

  const port = await closedPort();
  await backend.ok("sync.configure", { endpoint: `http://127.0.0.1:${port}`, token: "tok_e2e_tech_view" }, owner);
  const run = await backend.api("sync.run_now", {}, owner);
  expect(run.body.success, JSON.stringify(run.body)).toBe(true);
  const s = await syncStatus(backend, tech);
  expect(s.online).toBe(false);

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
  const p = await ctx.newPage();
  await openAndLogin(p, backend, "tech1");
  const pill = p.getByRole("link", { name: /^Cloud sync:/ });
  await expect(pill).toHaveAccessibleName(`Cloud sync: ${s.backlog.toLocaleString("en-US")} waiting`);
  await expect(p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Cloud sync" })).toHaveCount(0);
  await pill.click();
  await expect(p.getByRole("heading", { name: "Cloud sync", level: 1 })).toBeVisible();
  await expect(p.getByTestId("sync-connection")).toHaveText("Offline: the cloud could not be reached");
  await expect(p.getByTestId("sync-device-id")).toHaveText(s.device.device_id);
  for (const action of ["Sync now", "Save connection", "Send again"]) {
    await expect(p.getByRole("button", { name: action })).toHaveCount(0);
  }
  await expect(p.getByRole("textbox", { name: "Cloud address" })).toHaveCount(0);
  await expect(p.getByText("To sync now, ask the owner.")).toBeVisible();
  await expect(p.getByText("To change the connection or send refused events again, ask the owner.")).toBeVisible();
  await shoot(p, "sync-technician", undefined, { docs: false });
  await ctx.close();

  // The core refuses the owner's commands to a technician whatever the screen shows.
  for (const [command, input] of [
    ["sync.run_now", {}],
    ["sync.configure", { endpoint: "https://cloud.example.com", token: "x" }],
    ["sync.retry_quarantined", { event_id: "00000000-0000-0000-0000-000000000000" }],
  ] as const) {
    const r = await backend.api(command, input, tech);
    expect(r.status, `${command} as a technician`).toBe(403);
  }
  expect((await syncStatus(backend, owner)).endpoint, "the technician changed nothing").toBe(`http://127.0.0.1:${port}`);
});

test("cloud sync stopped: a restored backup until the owner makes the database a new device (the technician is told to ask)", async ({ page, browser, backend }, testInfo) => {
  const owner = await backend.login("owner");
  await forgetToken(backend, owner);
  const before = await syncStatus(backend, owner);
  const file = testInfo.outputPath("shop-backup.db");
  await backend.ok("backup.create", { path: file }, owner);
  await backend.ok("backup.restore", { path: file }, owner);
  const owner2 = await backend.login("owner");
  expect((await backend.ok("device.identity", {}, owner2)).state).toBe("restored");

  // A technician sees that it stopped, and whom to ask; no form.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
  const t = await ctx.newPage();
  await openAndLogin(t, backend, "tech1");
  const tpill = t.getByRole("link", { name: /^Cloud sync:/ });
  await expect(tpill).toHaveAccessibleName("Cloud sync: Sync stopped");
  await tpill.click();
  await expect(t.getByRole("heading", { name: "Sync stopped: this database is an older copy" })).toBeVisible();
  await expect(t.getByText("Ask the owner: only they can settle this.")).toBeVisible();
  await expect(t.getByRole("textbox", { name: "New series letter" })).toHaveCount(0);
  await expect(t.getByRole("button", { name: "Give it a new identity" })).toHaveCount(0);
  await ctx.close();

  await openAndLogin(page, backend, "owner");
  const pill = page.getByRole("link", { name: /^Cloud sync:/ });
  await expect(pill).toHaveAccessibleName("Cloud sync: Sync stopped");
  await expect(pill).toHaveAttribute("data-tone", "bad");
  await pill.click();
  const panel = page.getByRole("alert").filter({ has: page.getByRole("heading", { name: /^Sync stopped/ }) });
  await expect(panel.getByRole("heading", { name: "Sync stopped: this database is an older copy" })).toBeVisible();
  await expect(panel.getByRole("button", { name: /replaces the old one/ }), "only a moved database may confirm the move").toHaveCount(0);
  await expect(page.getByTestId("sync-token-state")).toHaveText("No token");
  await page.mouse.move(640, 790);
  await shoot(page, "sync-stopped", undefined, { docs: false });
  await shoot(page, "sync-header-stopped", undefined, { clipHeight: 56, docs: false });

  // Its own letter is refused at the field; nothing changes.
  const letter = panel.getByRole("textbox", { name: "New series letter" });
  await letter.fill(before.device.series_letter);
  await panel.getByRole("button", { name: "Give it a new identity" }).click();
  await expect(letter).toHaveAttribute("aria-invalid", "true");
  await expect(panel.getByText(/this device's letter already/)).toBeVisible();
  expect((await backend.ok("device.identity", {}, owner2)).device_id).toBe(before.device.device_id);

  // A new letter: a new device; the panel goes, the new id and letter show.
  await letter.fill("b");
  await panel.getByRole("button", { name: "Give it a new identity" }).click();
  await expect(page.getByText(/This database is now a new device/)).toBeVisible();
  const after = await backend.ok("device.identity", {}, owner2);
  expect(after.state).toBe("ok");
  expect(after.series_letter).toBe("B");
  expect(after.device_id).not.toBe(before.device.device_id);
  await expect(page.getByRole("heading", { name: /^Sync stopped/ })).toHaveCount(0);
  await expect(page.getByTestId("sync-device-id")).toHaveText(after.device_id);
  await expect(page.getByTestId("sync-series-letter")).toHaveText("B");
  await expect(pill).toHaveAccessibleName("Cloud sync: Cloud sync off");
});

test("the real cloud: registered under the wrong branch, every record's first change is refused; fixed there, Send again delivers it", async ({ page, backend }, testInfo) => {
  test.skip(!isRoot || !existsSync(join(PG, "initdb")) || !existsSync(CLOUD_BIN), "needs root, PostgreSQL 15 and pitlane-cloud (scripts/e2e.sh builds it)");
  const owner = await backend.login("owner");
  await forgetToken(backend, owner);
  const before = await syncStatus(backend, owner);
  const cloud = await startCloud(testInfo.outputPath("pitlane-cloud.log"));
  try {
    // The company typed another branch id when it registered this computer.
    const d = before.device;
    const token = cloud.cloud(["device", "add", "--device-id", d.device_id, "--tenant-id", d.tenant_id, "--branch-id", "branch-typo", "--name", "Front desk"]);
    await openAndLogin(page, backend, "owner");
    await page.getByRole("link", { name: /^Cloud sync:/ }).click();
    await page.getByRole("textbox", { name: "Cloud address" }).fill(cloud.url);
    await page.getByLabel("Token", { exact: true }).fill(token);
    await page.getByRole("button", { name: "Save connection" }).click();
    await expect(page.getByTestId("sync-token-state")).toHaveText("Token set");
    // The background sync may start first; either way every batch is refused until each record's first change is out of the way.
    await page.getByRole("button", { name: "Sync now" }).click();
    await expect(page.getByRole("button", { name: "Sync now" })).toBeEnabled({ timeout: 240_000 });
    await expect.poll(async () => (await syncStatus(backend, owner)).last_error ?? "", { timeout: 120_000 }).toMatch(/quarantined/);
    await page.goto(`${backend.origin}/#/today`);
    await page.goto(`${backend.origin}/#/sync`);
    const refused = await syncStatus(backend, owner);
    expect(refused.quarantined_count, "the cloud refused events").toBeGreaterThan(0);
    expect(refused.quarantined[0].reason).toContain("wrong_identity");
    expect(Number(cloud.psql("SELECT count(*) FROM events")), "nothing of a refused batch is stored").toBe(0);
    const table = page.getByRole("table", { name: "Events refused by the cloud" });
    await expect(table.getByRole("row")).toHaveCount(refused.quarantined.length + 1);
    const pill = page.getByRole("link", { name: /^Cloud sync:/ });
    await expect(pill).toHaveAccessibleName(`Cloud sync: ${refused.quarantined_count.toLocaleString("en-US")} need attention`);
    for (const b of await page.getByRole("button", { name: "Dismiss message" }).all()) await b.click();
    await page.mouse.move(640, 790);
    await shoot(page, "sync-refused", undefined, { docs: false });

    // The company corrects the registration; the owner sends the first one again.
    cloud.psql(`UPDATE devices SET branch_id = '${d.branch_id}' WHERE id = '${d.device_id}'`);
    const first = refused.quarantined[0];
    await table.getByRole("row").nth(1).getByRole("button", { name: /^Send again/ }).click();
    await expect(page.getByText(/goes to the cloud again with the next sync/)).toBeVisible();
    await page.getByRole("button", { name: "Sync now" }).click();
    await expect.poll(async () => (await syncStatus(backend, owner)).quarantined.some((q: any) => q.id === first.id), { timeout: 120_000 }).toBe(false);
    expect(Number(cloud.psql(`SELECT count(*) FROM events WHERE id = '${first.id}'`)), "the event sent again is at the cloud, once").toBe(1);
    const after = await syncStatus(backend, owner);
    expect(after.quarantined_count).toBe(refused.quarantined_count - 1);
    expect(after.last_success_at, "the cloud took a batch").toBeTruthy();
  } finally {
    await cloud.stop();
  }
});
