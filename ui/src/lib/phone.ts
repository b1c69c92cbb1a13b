// Phone numbers as people at the branch read them, as the core words them
// on invoices and messages (crates/core/src/wording.rs, `phone`): a number
// of the branch's country in its national form ("(215) 200-1063",
// "020 7946 0000"), any other in the international one ("+44 20 7946 0000").
// Its own module (libphonenumber-js carries its metadata) so the login's
// bundle does not load it.

import { parsePhoneNumberFromString } from "libphonenumber-js/min";
import { branchFormat } from "./format";

// Each number is worded once per branch country: a type-ahead shows the same
// customers again and again as the query grows, and parsing is the costly part.
const worded = new Map<string, string>();
const WORDED_MAX = 2000;

/** A stored E.164 phone for display; "—" for none, the stored text when it does not parse. */
export function phoneText(e164: string | null | undefined): string {
  if (!e164) return "—";
  const home = branchFormat().country.toUpperCase();
  const key = `${home} ${e164}`;
  let text = worded.get(key);
  if (text === undefined) {
    const n = parsePhoneNumberFromString(e164);
    text = !n ? e164 : n.country === home ? n.formatNational() : n.formatInternational();
    if (worded.size >= WORDED_MAX) worded.clear();
    worded.set(key, text);
  }
  return text;
}
