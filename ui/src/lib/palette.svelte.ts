// The command palette's open state, and the app-wide keyboard shortcuts:
// Ctrl+K (or Cmd+K) opens the palette; Alt+B a new booking, Alt+W a new
// walk-in (Alt+letter: the webview and Chromium leave them alone, unlike
// F5/Ctrl+R which reload the window).

import { matchPath, navigate } from "./router.svelte";
import { session } from "./session.svelte";

export const palette = $state({ open: false });

export function openPalette() {
  palette.open = true;
}

/** Whether the logged-in role may open this path (a route exists and allows the role). */
export function mayOpen(path: string): boolean {
  const m = matchPath(path);
  return !!m && !!session.actor && m.def.roles.includes(session.actor.role);
}

export const SHORTCUTS: { key: string; code: string; label: string; path: string }[] = [
  { key: "Alt+B", code: "KeyB", label: "New booking", path: "/book" },
  { key: "Alt+W", code: "KeyW", label: "New walk-in", path: "/walk-in" },
];

export function handleShortcut(e: KeyboardEvent): boolean {
  if (!session.actor || session.locked) return false;
  if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === "k") {
    e.preventDefault();
    palette.open = !palette.open;
    return true;
  }
  if (e.altKey && !e.ctrlKey && !e.metaKey) {
    const s = SHORTCUTS.find((x) => x.code === e.code);
    if (s && mayOpen(s.path)) {
      e.preventDefault();
      palette.open = false;
      navigate(s.path);
      return true;
    }
  }
  return false;
}
