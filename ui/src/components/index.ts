// The shared kit: every screen builds on these (desk and tech alike).
//
//   Button      <Button variant="primary|secondary|danger|ghost" size="sm|md|lg" busy={saving}
//                 shortcut="Alt+B" aria-label=…>Save</Button>  busy disables it + spinner after 150 ms.
//   Field       <Field label="Email" name="email" bind:value error={err} hint=… />
//                 shows the 422 message that names `name` (ApiError.fieldMessage) or a 409
//                 duplicate's field; `multiline` → textarea; a children snippet ({id, describedby,
//                 invalid}) replaces the input with your own control (a Combobox, a Select).
//   Banner      <Banner error={err} fields={["email", "phone"]} />: any other error; a 500 shows its
//                 correlation id; a 422 whose fields are all in `fields` says "Check the marked fields".
//                 Without error: <Banner kind="ok|warn|info">text</Banner>; `ondismiss` adds ×.
//   Spinner     <Spinner label="Loading invoices" /> appears only after 150 ms (`inline` for in-text).
//   StatusBadge <StatusBadge status={card.status} size="lg" />: appointment, job card, invoice and
//                 background-job states in words with the --st-* colours.
//   Money       <Money minor={1299} /> → "$12.99" in the branch's currency (or currency=…).
//   Qty         <Qty thousandths={2500} unit="L" /> → "2.5 L".
//   DateTime    <DateTime utc={iso} show="datetime|date|time" /> in the branch's time zone.
//   Modal       <Modal bind:open title=… description=…>body{#snippet actions()}buttons{/snippet}</Modal>
//                 (bits-ui Dialog: focus trap, Escape, labelled).
//
// Every control carries a visible label or an aria-label, so tests find it by role and name.
// The session (who is logged in, the branch, lock/logout) is in ../lib/session.svelte.ts.

export { default as Button } from "./Button.svelte";
export { default as Field } from "./Field.svelte";
export { default as Banner } from "./Banner.svelte";
export { default as Spinner } from "./Spinner.svelte";
export { default as StatusBadge } from "./StatusBadge.svelte";
export { default as Money } from "./Money.svelte";
export { default as Qty } from "./Qty.svelte";
export { default as DateTime } from "./DateTime.svelte";
export { default as Modal } from "./Modal.svelte";
