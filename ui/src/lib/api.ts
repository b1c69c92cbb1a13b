// The one place the UI talks to the backend. Inside the desktop app the
// transport is Tauri's `invoke("call", …)`; in browser mode (`pitlane serve`)
// it is `POST /api/{command}` with the per-start token. Both answer the
// core's envelope; this module turns it into a typed result or an ApiError.
// Screens branch on `ApiError.code`, never on the message.

import { invoke } from "@tauri-apps/api/core";
import type { Commands } from "./generated/commands";

export type CommandName = keyof Commands & string;
export type Input<C extends CommandName> = Commands[C]["input"];
export type Output<C extends CommandName> = Commands[C]["output"];

type Envelope =
  | { success: true; data: unknown }
  | { success: false; code: string; message: string; status_code: number; details: Record<string, unknown> };

/** A field a 422 names, with what is wrong with it. */
export interface FieldProblem {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown>;
  /** The fields a 422 names (empty otherwise). */
  readonly fields: FieldProblem[];
  /** For a 500: the id that is in the log. */
  readonly correlationId: string | null;

  constructor(code: string, message: string, status: number, details: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details ?? {};
    const f = (this.details as { fields?: unknown }).fields;
    this.fields = Array.isArray(f) ? (f as FieldProblem[]) : [];
    const c = (this.details as { correlation_id?: unknown }).correlation_id;
    this.correlationId = typeof c === "string" ? c : null;
  }

  /** The message for one field (`customer_email`, `lines.0.quantity` …), if the 422 names it. */
  fieldMessage(field: string): string | undefined {
    return this.fields.find((p) => p.field === field)?.message;
  }
}

/** A failure of the transport itself (the backend process is gone). */
export const OFFLINE_CODE = "backend_unreachable";

interface Transport {
  send(command: string, input: unknown, session: string | null): Promise<Envelope>;
}

const TOKEN_KEY = "pitlane.serve_token";

let token: string | null = null;

/**
 * Browser mode: the token arrives once in the URL's fragment and stays in
 * sessionStorage (a reload keeps it); read from there once, not per call.
 */
function serveToken(): string | null {
  const m = /^#token=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, m[1]);
    history.replaceState(null, "", window.location.pathname + window.location.search + "#/");
    token = m[1];
  }
  token ??= sessionStorage.getItem(TOKEN_KEY);
  return token;
}

const httpTransport: Transport = {
  async send(command, input, session) {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    // A new URL pasted into the same tab changes only the fragment: its token wins.
    const t = token === null || window.location.hash.startsWith("#token=") ? serveToken() : token;
    if (t) headers["Authorization"] = `Bearer ${t}`;
    if (session) headers["X-Pitlane-Session"] = session;
    const res = await fetch(`/api/${encodeURIComponent(command)}`, {
      method: "POST",
      headers,
      body: JSON.stringify(input ?? {}),
    });
    return (await res.json()) as Envelope;
  },
};

const tauriTransport: Transport = {
  async send(command, input, session) {
    return await invoke<Envelope>("call", { command, input: input ?? {}, session });
  },
};

export const inTauri = typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
const transport: Transport = inTauri ? tauriTransport : httpTransport;
if (!inTauri) serveToken();

let sessionToken: string | null = null;
const listeners = new Set<(e: ApiError) => void>();

/** The session the calls run as (set by the login screen, cleared on logout/lock). */
export function setSession(token: string | null) {
  sessionToken = token;
}

/** Called for every failed call: the shell uses it to notice 401s (session gone). */
export function onApiError(f: (e: ApiError) => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** Runs one command and answers its typed output, or throws an ApiError. */
export async function call<C extends CommandName>(command: C, input: Input<C>): Promise<Output<C>> {
  let env: Envelope;
  try {
    env = await transport.send(command, input, sessionToken);
  } catch (e) {
    const err = new ApiError(OFFLINE_CODE, "Pitlane's background service does not answer. Try again in a moment.", 0, {});
    listeners.forEach((f) => f(err));
    throw err;
  }
  if (env.success) return env.data as Output<C>;
  const err = new ApiError(env.code, env.message, env.status_code, env.details);
  listeners.forEach((f) => f(err));
  throw err;
}

let shown = false;

/**
 * The desktop window opens hidden (tauri.conf.json) and main.ts shows it
 * here, once, as the app's script starts, before the first screen mounts:
 * WebKit then maps the window while the login renders, and its first frame
 * is that screen (the shell shows it anyway after a few seconds should the
 * script never run). Shown any earlier, while the page itself is still on its
 * way, mapping the window holds up the page (measured: scripts/bench-app.sh).
 * In browser mode there is no window to show.
 */
export function showWindow() {
  if (!inTauri || shown) return;
  shown = true;
  invoke("plugin:window|show", { label: "main" }).catch(() => {});
}

/** A fresh key for one payment attempt: a double click re-sends the same key, never pays twice. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
