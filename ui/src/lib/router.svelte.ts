// Hash routing: `#/today`, `#/job/<id>`. The route table is src/routes.ts.

import { routes, type RouteDef } from "../routes";

export interface Match {
  def: RouteDef;
  params: Record<string, string>;
  path: string;
}

/** The route a path leads to, or null. */
export function matchPath(path: string): Match | null {
  const parts = path.split("?")[0].split("/").filter(Boolean);
  for (const def of routes) {
    const pat = def.path.split("/").filter(Boolean);
    if (pat.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    pat.forEach((p, i) => {
      if (p.startsWith(":")) params[p.slice(1)] = decodeURIComponent(parts[i]);
      else if (p !== parts[i]) ok = false;
    });
    if (ok) return { def, params, path };
  }
  return null;
}

function currentPath(): string {
  const h = window.location.hash;
  return h.startsWith("#/") ? h.slice(1) : "/";
}

export const router = $state<{ path: string; match: Match | null; query: URLSearchParams }>({
  path: currentPath(),
  match: matchPath(currentPath()),
  query: new URLSearchParams(currentPath().split("?")[1] ?? ""),
});

window.addEventListener("hashchange", () => {
  const p = currentPath();
  router.path = p;
  router.match = matchPath(p);
  router.query = new URLSearchParams(p.split("?")[1] ?? "");
});

export function navigate(path: string) {
  if (currentPath() === path) return;
  window.location.hash = "#" + path;
}
