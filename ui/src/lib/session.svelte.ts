// Who is at the counter: the logged-in staff member, their branch, and the
// idle lock. The token itself stays in api.ts (setSession); this module
// only knows whether there is one.
//
// Idle lock: after the branch's idle_lock_minutes (default 5) without a key,
// pointer or touch event the screen locks: the token is logged out and an
// overlay covers the still-mounted screen, so nothing typed is lost; the same
// user's PIN (a new auth.login) resumes. For tests the idle time can be
// overridden in seconds: `?idle=2` in the URL (before the #), or
// localStorage["pitlane.idle_seconds"] = "2".
//
// A 401 not_logged_in from any call locks too (the session ended on the
// backend: 12 h idle, deactivated, or the backend restarted).

import { ApiError, call, onApiError, setSession } from "./api";
import { time } from "./format";
import { setBranchFormat } from "./format";
import type { Actor } from "./generated/types";
import type { Role } from "../routes";

export type { Actor };

export interface BranchInfo {
  name: string;
  currency: string;
  time_zone: string;
  labour_rate: number;
  odometer_unit: string;
}

export const session = $state<{
  actor: Actor | null;
  branch: BranchInfo | null;
  /** The screen is covered by the lock; `actor` is who may resume. */
  locked: boolean;
  idleMs: number;
}>({ actor: null, branch: null, locked: false, idleMs: 5 * 60_000 });

/** Whether the logged-in role is one of these. */
export function hasRole(...roles: Role[]): boolean {
  return !!session.actor && roles.includes(session.actor.role);
}

/** The manager/owner extras (skip options, background jobs). */
export function isManager(): boolean {
  return hasRole("manager", "owner");
}

/** The front-desk money screens (invoices, payments). */
export function seesMoney(): boolean {
  return hasRole("front_desk", "manager", "owner");
}

function idleOverrideMs(): number | null {
  const q = new URLSearchParams(window.location.search).get("idle");
  const v = q ?? localStorage.getItem("pitlane.idle_seconds");
  const n = v == null ? NaN : Number(v);
  return Number.isFinite(n) && n > 0 ? n * 1000 : null;
}

/**
 * Logs in with a staff code and PIN, then reads the branch. Answers whether
 * this resumed a locked session of the same person. Throws the ApiError of
 * auth.login (wrong_credentials with attempts_left, account_locked).
 */
export async function login(code: string, pin: string): Promise<{ resumed: boolean }> {
  const r = await call("auth.login", { code, pin });
  setSession(r.token);
  const staff = r.staff;
  const s = await call("settings.get", {});
  const b = s.branch;
  const minutes = b.idle_lock_minutes > 0 ? b.idle_lock_minutes : 5;
  setBranchFormat({ currency: b.currency, timezone: b.time_zone, country: b.country });
  const resumed = session.locked && session.actor?.staff_id === staff.staff_id;
  session.branch = {
    name: b.name, currency: b.currency, time_zone: b.time_zone, labour_rate: b.labour_rate, odometer_unit: b.odometer_unit,
  };
  session.idleMs = idleOverrideMs() ?? minutes * 60_000;
  session.actor = staff;
  session.locked = false;
  touch();
  return { resumed };
}

/**
 * The core's login message with what its details add: the tries left
 * before the lock (wrong_credentials) or when the lock ends (account_locked).
 */
export function loginProblem(e: unknown): unknown {
  if (!(e instanceof ApiError)) return e;
  const d = e.details as { attempts_left?: number; locked_until?: string };
  if (e.code === "wrong_credentials" && typeof d.attempts_left === "number") {
    const n = d.attempts_left;
    return new ApiError(e.code, `${e.message} ${n} ${n === 1 ? "try" : "tries"} left before the account is locked.`, e.status, e.details);
  }
  if (e.code === "account_locked" && typeof d.locked_until === "string" && !e.message.includes(time(d.locked_until))) {
    return new ApiError(e.code, `${e.message} Try again after ${time(d.locked_until)}.`, e.status, e.details);
  }
  return e;
}

/** Covers the screen and ends the token; the same PIN resumes. */
export async function lock() {
  if (!session.actor || session.locked) return;
  session.locked = true;
  try {
    await call("auth.logout", {});
  } catch {
    // Already gone (401) or the backend is down: the token is dropped anyway.
  }
  setSession(null);
}

/** "Switch user": ends the session and shows the login screen. */
export async function logout() {
  if (!session.locked) {
    try {
      await call("auth.logout", {});
    } catch {
      // Nothing to end.
    }
  }
  setSession(null);
  session.actor = null;
  session.locked = false;
  window.location.hash = "#/";
}

let lastInput = Date.now();
function touch() {
  lastInput = Date.now();
}

let watching = false;
/** Starts the idle watch and the 401 handling (once, from App). */
export function startSessionWatch() {
  if (watching) return;
  watching = true;
  for (const ev of ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"]) {
    window.addEventListener(ev, touch, { capture: true, passive: true });
  }
  setInterval(() => {
    if (session.actor && !session.locked && Date.now() - lastInput >= session.idleMs) void lock();
  }, 500);
  onApiError((e) => {
    if (e.code === "not_logged_in" && session.actor && !session.locked) {
      session.locked = true;
      setSession(null);
    }
  });
}
