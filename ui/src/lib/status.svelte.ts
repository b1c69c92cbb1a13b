// The header's live state: the network (navigator.onLine), whether the
// backend answers, for managers and owners the failed background jobs
// (jobs.stats), and for everyone where cloud sync stands (sync.status).
// Polled every 20 s while someone is logged in and unlocked and the window
// is visible (a hidden window asks nothing; it asks again when shown).

import { call, OFFLINE_CODE, onApiError } from "./api";
import type { SyncStatus } from "./generated/types";
import { isManager, session } from "./session.svelte";

export const status = $state<{
  online: boolean;
  backend: boolean;
  failedJobs: number | null;
  sync: SyncStatus | null;
  /** When `sync` was read: "Synced 2 min ago" counts from the clock at that moment. */
  syncAt: Date;
}>({
  online: navigator.onLine,
  backend: true,
  failedJobs: null,
  sync: null,
  syncAt: new Date(),
});

export async function refreshStatus() {
  if (!session.actor || session.locked) return;
  try {
    // sync.status (any staff) also tells whether the backend answers.
    const [sync, jobs] = await Promise.all([call("sync.status", {}), isManager() ? call("jobs.stats", {}) : Promise.resolve(null)]);
    setSyncStatus(sync);
    status.failedJobs = jobs ? jobs.failed : null;
    status.backend = true;
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
