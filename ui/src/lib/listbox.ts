// bits-ui's combobox lists, kept light: no `Combobox.Viewport`. With one,
// bits-ui measures every row (getBoundingClientRect, a forced layout) each
// time it highlights the first one: on every key and again when a new
// answer's rows mount, before that answer can be painted. Without one it
// highlights without measuring, but no longer scrolls the highlighted row
// into view: the list does that here, only when the keyboard moves it.

import { tick } from "svelte";

/** The keys that move the highlight through a list. */
const MOVES = new Set(["ArrowDown", "ArrowUp", "PageDown", "PageUp", "Home", "End"]);

/**
 * After a key that moved the highlight (bits-ui handled it on the input),
 * scrolls `list` just enough that the highlighted row is fully in view.
 */
export function followHighlight(e: KeyboardEvent, list: HTMLElement | null | undefined) {
  if (!MOVES.has(e.key) || !list) return;
  // bits-ui writes data-highlighted in Svelte's next flush.
  void tick().then(() => {
    const row = list.querySelector<HTMLElement>("[data-highlighted]");
    if (!row) return;
    const r = row.getBoundingClientRect();
    const l = list.getBoundingClientRect();
    // The list's own padding stays around the row, as at either end.
    const pad = getComputedStyle(list);
    const top = l.top + list.clientTop + parseFloat(pad.paddingTop);
    const bottom = l.top + list.clientTop + list.clientHeight - parseFloat(pad.paddingBottom);
    if (r.top < top) list.scrollTop -= top - r.top;
    else if (r.bottom > bottom) list.scrollTop += r.bottom - bottom;
  });
}
