// Cloud sync in shop words: the header's pill and the sync screen's
// sentences, from `sync.status`. Pure functions of the status, the role and
// the time, so the pill and the screen always say the same thing.

import type { Role, SyncStatus } from "./generated/types";

/** Pending events older than this count as "behind" (not just written a moment ago). */
export const BEHIND_AFTER_MS = 2 * 60_000;

export type PillTone = "ok" | "neutral" | "warn" | "bad" | "quiet";

export interface SyncPill {
  label: string;
  tone: PillTone;
  /** The tooltip: last success, last error. */
  title: string;
}

/** Whether sync has stopped until the owner acts (identity conflict, copied or restored database). */
export function isStopped(s: SyncStatus, identityState?: string | null): boolean {
  return !!s.halted_reason || (!!identityState && identityState !== "ok");
}

/** The last attempt did not reach the cloud (and there was one). */
export function isOffline(s: SyncStatus): boolean {
  return s.configured && !s.online && s.last_attempt_at !== null;
}

/** Events wait that are older than a moment: offline, or the cloud is behind. */
export function isBehind(s: SyncStatus, now: Date): boolean {
  if (s.backlog === 0) return false;
  if (isOffline(s) || !s.oldest_pending_at) return true;
  return now.getTime() - Date.parse(s.oldest_pending_at) > BEHIND_AFTER_MS;
}

/** "just now", "4 min ago", "3 h ago", "2 days ago". */
export function ago(iso: string, now: Date): string {
  const ms = now.getTime() - Date.parse(iso);
  const min = Math.floor(ms / 60_000);
  if (min < 1) return "just now";
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

function plural(n: number, one: string, many = one + "s"): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

/** "1 event", "12 events". */
export function events(n: number): string {
  return plural(n, "event");
}

/**
 * The header's pill, or null when it is not shown (not loaded yet; sync off
 * and the role is not the owner's).
 */
export function syncPill(
  s: SyncStatus | null,
  role: Role | null,
  now: Date,
  when: (iso: string) => string,
  identityState?: string | null,
): SyncPill | null {
  if (!s || !role) return null;
  const lines: string[] = [];
  if (s.last_success_at) lines.push(`Last synced ${when(s.last_success_at)} (${ago(s.last_success_at, now)})`);
  else if (s.configured) lines.push("Not synced yet");
  if (s.backlog > 0) lines.push(`${events(s.backlog)} waiting to be sent`);
  if (s.quarantined_count > 0) lines.push(`${events(s.quarantined_count)} refused by the cloud`);
  if (s.last_error && s.last_error_at && (!s.last_success_at || s.last_error_at >= s.last_success_at)) {
    lines.push(`Last error ${when(s.last_error_at)}: ${errorWords(s.last_error)}`);
  }
  const title = (...first: string[]) => [...first, ...lines].join("\n");

  if (isStopped(s, identityState)) {
    return { label: "Sync stopped", tone: "bad", title: title("Sync has stopped: the owner must act (open Cloud sync)") };
  }
  if (!s.configured) {
    return role === "owner" ? { label: "Cloud sync off", tone: "quiet", title: "Cloud sync is not set up. Open Cloud sync to set it up." } : null;
  }
  if (s.quarantined_count > 0) {
    return { label: `${s.quarantined_count.toLocaleString("en-US")} need attention`, tone: "warn", title: title() };
  }
  if (isOffline(s)) {
    return {
      label: s.backlog > 0 ? `${s.backlog.toLocaleString("en-US")} waiting` : "Cloud offline",
      tone: "warn",
      title: title("The cloud could not be reached; events wait here and are sent when it answers"),
    };
  }
  if (isBehind(s, now)) return { label: `${s.backlog.toLocaleString("en-US")} waiting`, tone: "neutral", title: title() };
  if (s.last_success_at) return { label: `Synced ${ago(s.last_success_at, now)}`, tone: "ok", title: title() };
  return { label: "Not synced yet", tone: "neutral", title: title() };
}

/**
 * The engine's error text (crates/sync: "could not connect to the cloud",
 * "401 unauthorized: …", "keyring: …") led by what it means at the counter;
 * the engine's own words stay in brackets for whoever fixes it.
 */
const ERROR_WORDS: [RegExp, string][] = [
  [/^could not connect/i, "Nothing answered at the cloud's address"],
  [/timeout|timed out/i, "The cloud did not answer in time"],
  [/^no answer/i, "The cloud did not answer"],
  [/^the answer broke off/i, "The cloud's answer broke off"],
  [/^401\b/, "The cloud did not accept this computer's token"],
  [/^403 wrong_device/, "The token belongs to another computer"],
  [/^429\b/, "The cloud asked to slow down; Pitlane waits and tries again"],
  [/^5\d\d\b/, "The cloud had a problem on its side"],
  [/^no cloud token/i, "No token is set for this computer"],
  [/^keyring:/i, "The token could not be read from the keyring"],
  [/^event \S+ quarantined:/i, "The cloud refused an event (see Refused by the cloud)"],
  [/sequence_reused/, "The cloud already holds this computer's numbers with other events"],
];

/** Longer engine texts (event ids, the cloud's whole message) go to the tooltip, not the sentence. */
const DETAIL_SHOWN = 60;

export function errorWords(raw: string): string {
  const t = raw.trim();
  const hit = ERROR_WORDS.find(([re]) => re.test(t));
  if (!hit) return t;
  return t.length <= DETAIL_SHOWN ? `${hit[1]} (${t})` : hit[1];
}

const FIELD_WORDS: Record<string, string> = { branch_id: "branch", tenant_id: "company", device_id: "computer" };

/** Why the cloud refused one event (a quarantine reason: "403 wrong_identity: … (field branch_id)"), in words. */
export function reasonWords(raw: string): string {
  const t = raw.trim();
  const field = /\(field (\w+)\)\s*$/.exec(t)?.[1];
  if (/^403 wrong_identity/.test(t)) {
    return `The cloud has this computer registered under another ${FIELD_WORDS[field ?? ""] ?? "branch or company"}`;
  }
  if (/^422 invalid_event/.test(t)) return `The cloud found this change malformed${field ? ` (${field.replace(/_/g, " ")})` : ""}`;
  if (/^400\b/.test(t)) return "The cloud could not read this change";
  if (/^413\b/.test(t)) return "The change is too large for the cloud";
  return t || "No reason given";
}

/** "JobCardLineAdded" → "Job card line added". */
export function eventWords(type: string): string {
  const words = type.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/_/g, " ").toLowerCase().trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "job_card" → "Job card". */
export function recordWords(aggregateType: string): string {
  const w = aggregateType.replace(/_/g, " ").toLowerCase();
  return w.charAt(0).toUpperCase() + w.slice(1);
}

const SCREENS: Record<string, { path: string; roles: Role[] }> = {
  customer: { path: "/customer/", roles: ["front_desk", "manager", "owner"] },
  vehicle: { path: "/vehicle/", roles: ["front_desk", "manager", "owner"] },
  invoice: { path: "/invoice/", roles: ["front_desk", "manager", "owner"] },
  job_card: { path: "/job/", roles: ["front_desk", "technician", "manager", "owner"] },
};

/** The screen of the record an event is about, when there is one the role may open. */
export function recordLink(aggregateType: string, id: string, role: Role | null): string | null {
  const s = SCREENS[aggregateType];
  return s && role && s.roles.includes(role) ? `#${s.path}${encodeURIComponent(id)}` : null;
}
