// Phone numbers as people at the branch read them, as the core words them
// on invoices and messages (crates/core/src/wording.rs, `phone`): a number
// of the branch's country in its national form ("(215) 200-1063",
// "020 7946 0000"), any other in the international one ("+44 20 7946 0000").
// Its own module (libphonenumber-js carries its metadata) so the login's
// bundle does not load it.

import { parsePhoneNumberFromString } from "libphonenumber-js/min";
import { branchFormat } from "./format";

/** A stored E.164 phone for display; "—" for none, the stored text when it does not parse. */
export function phoneText(e164: string | null | undefined): string {
  if (!e164) return "—";
  const n = parsePhoneNumberFromString(e164);
  if (!n) return e164;
  return n.country === branchFormat().country.toUpperCase() ? n.formatNational() : n.formatInternational();
}
