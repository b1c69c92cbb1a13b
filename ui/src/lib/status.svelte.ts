// The header's live state: the network (navigator.onLine), whether the
// backend answers, and for managers and owners the failed background jobs
// (jobs.stats). Polled every 20 s while someone is logged in and unlocked.

import { call, OFFLINE_CODE, onApiError } from "./api";
import { isManager, session } from "./session.svelte";

export const status = $state<{ online: boolean; backend: boolean; failedJobs: number | null }>({
  online: navigator.onLine,
  backend: true,
  failedJobs: null,
});

export async function refreshStatus() {
  if (!session.actor || session.locked) return;
  try {
    if (isManager()) {
      const s = await call("jobs.stats", {});
      status.failedJobs = s.failed;
    } else {
      await call("auth.whoami", {});
      status.failedJobs = null;
    }
    status.backend = true;
  } catch (e) {
    status.backend = (e as { code?: string }).code !== OFFLINE_CODE;
  }
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
  onApiError((e) => {
    if (e.code === OFFLINE_CODE) status.backend = false;
  });
  setInterval(() => void refreshStatus(), 20_000);
}
