// The header's live state: the network (navigator.onLine), whether the
// backend answers, for managers and owners the failed background jobs
// (jobs.stats), and for everyone where cloud sync stands (sync.status).
// Polled every 20 s while someone is logged in and unlocked and the window
// is visible (a hidden window asks nothing; it asks again when shown).
// The device's identity state (device.identity) changes only at open, at a
// restore or when the cloud refuses a number, so it is read once per login
// and again when sync's halt changes, not at every poll.

import { call, OFFLINE_CODE, onApiError } from "./api";
import type { DeviceIdentityState, SyncStatus } from "./generated/types";
import { isManager, session } from "./session.svelte";

export const status = $state<{
  online: boolean;
  backend: boolean;
  failedJobs: number | null;
  sync: SyncStatus | null;
  /** When `sync` was read: "Synced 2 min ago" counts from the clock at that moment. */
  syncAt: Date;
  /** The device's identity state (`ok`, or in doubt: sync has stopped). */
  identity: DeviceIdentityState | null;
}>({
  online: navigator.onLine,
  backend: true,
  failedJobs: null,
  sync: null,
  syncAt: new Date(),
  identity: null,
});

/** Who and which halt the identity state was read for. */
let identityReadFor: string | null = null;

/** Reads the device's identity state again (after the owner settled it, or when sync's halt changed). */
export async function refreshIdentity() {
  if (!session.actor) return;
  identityReadFor = `${session.actor.staff_id}|${status.sync?.halted_at ?? ""}`;
  status.identity = (await call("device.identity", {})).state;
}

export async function refreshStatus() {
  if (!session.actor || session.locked) return;
  try {
    // sync.status (any staff) also tells whether the backend answers.
    const [sync, jobs] = await Promise.all([call("sync.status", {}), isManager() ? call("jobs.stats", {}) : Promise.resolve(null)]);
    setSyncStatus(sync);
    status.failedJobs = jobs ? jobs.failed : null;
    status.backend = true;
    if (identityReadFor !== `${session.actor?.staff_id}|${sync.halted_at ?? ""}`) await refreshIdentity();
  } catch (e) {
    status.backend = (e as { code?: string }).code !== OFFLINE_CODE;
  }
}

/** Takes a fresh `sync.status` (or one a command answered) into the header. */
export function setSyncStatus(s: SyncStatus) {
  status.sync = s;
  status.syncAt = new Date();
}

let started = false;
export function startStatusWatch() {
  if (started) return;
  started = true;
  window.addEventListener("online", () => {
    status.online = true;
    void refreshStatus();
  });
  window.addEventListener("offline", () => (status.online = false));
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) void refreshStatus();
  });
  onApiError((e) => {
    if (e.code === OFFLINE_CODE) status.backend = false;
  });
  setInterval(() => {
    if (!document.hidden) void refreshStatus();
  }, 20_000);
}
