export { phoneText } from "../../lib/phone";
// What the desk screens share: the branch's settings (read once, they set the
// money and time formats) and a few words and numbers. The lists carry the
// names they show (appointments.list, invoices.list, job_cards.list).

import { call } from "../../lib/api";
import { setBranchFormat } from "../../lib/format";
import type { Customer, Settings, Vehicle } from "./types";

let settingsPromise: Promise<Settings> | null = null;

/** settings.get, once per session; sets the branch's currency and time zone for format.ts. */
export function branchSettings(): Promise<Settings> {
  if (!settingsPromise) {
    settingsPromise = call("settings.get", {}).then((s) => {
      setBranchFormat({ currency: s.branch.currency, timezone: s.branch.time_zone, country: s.branch.country });
      return s;
    });
    settingsPromise.catch(() => (settingsPromise = null));
  }
  return settingsPromise;
}

export interface Party {
  customer: Customer;
  vehicle: Vehicle;
}

/**
 * A customer and a vehicle, whole (customers.get, vehicles.get), read fresh:
 * for a screen that needs more than the names the lists carry (an invoice's
 * customer's email, the car's year). The customer is the one given, which
 * need not be the vehicle's owner now.
 */
export async function partyOf(customerId: string, vehicleId: string): Promise<Party> {
  const [c, v] = await Promise.all([call("customers.get", { id: customerId }), call("vehicles.get", { id: vehicleId })]);
  return { customer: c.customer, vehicle: v.vehicle };
}

/**
 * A whole number typed by a person. Text that is not one is sent as typed, so
 * the core's 422 names the field in its own words (the UI decides nothing).
 */
export function typedInt(text: string): number {
  const t = text.trim().replace(/[,\s]/g, "");
  return (/^\d+$/.test(t) ? Number(t) : t) as unknown as number;
}

/** "Volvo V70 2019" */
export function carName(v: { make: string; model: string; year?: number | null }): string {
  return [v.make, v.model, v.year ?? ""].filter(Boolean).join(" ");
}

/** "scheduled" → "Scheduled", "in_progress" → "In progress" */
export function statusLabel(s: string): string {
  const t = s.replace(/_/g, " ");
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** Minutes since midnight of "HH:MM". */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number);
  return h * 60 + m;
}

/** A branch-local "2026-12-15" → "15 Dec 2026" (no weekday: for dense columns). */
export function shortDate(ymd: string): string {
  const [y, m, d] = ymd.split("-").map(Number);
  return new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** YYYY-MM-DD plus n days. */
export function addDays(ymd: string, n: number): string {
  const [y, m, d] = ymd.split("-").map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return t.toISOString().slice(0, 10);
}

/** ISO weekday 1 (Mon)..7 (Sun) of YYYY-MM-DD. */
export function weekdayOf(ymd: string): number {
  const [y, m, d] = ymd.split("-").map(Number);
  const w = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return w === 0 ? 7 : w;
}

/** The first of each id, in order (customers.search may list a customer once per matching term). */
export function uniqueBy<T>(list: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return list.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

