// The logged-in frame (screens/shell/Shell.svelte) is a chunk of its own:
// the first screen is the login, and it starts without the header, the
// navigation, the palette and bits-ui. The login asks for it as soon as
// someone picks their name, so it is there by the time the PIN is checked.

import type { Component } from "svelte";

let shell: Promise<{ default: Component }> | null = null;

/** The Shell module, loaded once. */
export function loadShell(): Promise<{ default: Component }> {
  shell ??= import("../screens/shell/Shell.svelte");
  // A failed load is tried again next time.
  shell.catch(() => (shell = null));
  return shell;
}
