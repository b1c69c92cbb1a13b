// Money, quantities, dates and times as people at the branch read them:
// the branch's currency and time zone (from settings.get). The core stores
// money in minor units, quantities in thousandths of the unit, time in UTC.

export interface BranchFormat {
  currency: string;
  timezone: string;
  /** ISO 3166 country code: phone numbers of this country are shown in its national form. */
  country: string;
}

let branch: BranchFormat = { currency: "USD", timezone: "UTC", country: "US" };

export function setBranchFormat(f: BranchFormat) {
  branch = f;
}

export function branchFormat(): BranchFormat {
  return branch;
}

const moneyFormats = new Map<string, Intl.NumberFormat>();
function moneyFormat(currency: string): Intl.NumberFormat {
  let f = moneyFormats.get(currency);
  if (!f) {
    f = new Intl.NumberFormat("en-US", { style: "currency", currency });
    moneyFormats.set(currency, f);
  }
  return f;
}

/** The number of minor units in one major unit of the currency (100 for USD, 1 for JPY). */
export function minorPerMajor(currency = branch.currency): number {
  return 10 ** (moneyFormat(currency).resolvedOptions().maximumFractionDigits ?? 2);
}

/** 123456 → "$1,234.56" in the branch's currency. */
export function money(minor: number, currency = branch.currency): string {
  return moneyFormat(currency).format(minor / minorPerMajor(currency));
}

/** "12.50" typed by a person → 1250 minor units; null when it is not an amount. */
export function parseMoney(text: string, currency = branch.currency): number | null {
  const t = text.replace(/[,\s]/g, "").replace(/^[^\d.-]+/, "");
  if (!/^\d+(\.\d+)?$/.test(t)) return null;
  const per = minorPerMajor(currency);
  const digits = Math.round(Math.log10(per));
  const [whole, frac = ""] = t.split(".");
  if (frac.length > digits) return null;
  return Number(whole) * per + Number((frac + "0".repeat(digits)).slice(0, digits) || "0");
}

/** 2500 thousandths → "2.5"; with a unit: "2.5 L". */
export function quantity(thousandths: number, unit?: string | null): string {
  const n = (thousandths / 1000).toLocaleString("en-US", { maximumFractionDigits: 3 });
  return unit ? `${n} ${unit}` : n;
}

/** "2.5" → 2500; null when not a quantity. */
export function parseQuantity(text: string): number | null {
  const t = text.trim().replace(",", ".");
  if (!/^\d+(\.\d{1,3})?$/.test(t)) return null;
  return Math.round(Number(t) * 1000);
}

function zoned(opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-GB", { timeZone: branch.timezone, ...opts });
}

/** An RFC 3339 UTC instant → "14:05" in the branch's zone. */
export function time(utc: string): string {
  return zoned({ hour: "2-digit", minute: "2-digit", hour12: false }).format(new Date(utc));
}

/** An RFC 3339 UTC instant → "2 Dec 2026" in the branch's zone. */
export function date(utc: string): string {
  return zoned({ day: "numeric", month: "short", year: "numeric" }).format(new Date(utc));
}

/** An RFC 3339 UTC instant → "2 Dec 2026, 14:05" in the branch's zone. */
export function dateTime(utc: string): string {
  return zoned({ day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hour12: false }).format(
    new Date(utc),
  );
}

/** A branch-local calendar date "2026-12-02" → "Wed 2 Dec 2026". */
export function localDate(ymd: string): string {
  const [y, m, d] = ymd.split("-").map(Number);
  return new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", weekday: "short", day: "numeric", month: "short", year: "numeric" }).format(
    new Date(Date.UTC(y, m - 1, d)),
  );
}

/** Today's date in the branch's zone, as YYYY-MM-DD. */
export function todayInBranch(now = new Date()): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: branch.timezone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

