// Small helpers shared by the specs: keyboard-only focus moves, the PDF
// canvas check, money parsing, screenshots at both sizes.
import type { Locator, Page } from "@playwright/test";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { expect, ROOT } from "./fixtures";

/** Presses Tab (bounded) until `target` has the focus: keyboard only, whatever the layout. */
export async function tabTo(page: Page, target: Locator, max = 40) {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    await page.keyboard.press("Tab");
  }
  await expect(target).toBeFocused();
}

/** Waits until the canvas holds a drawn page: sized, and with dark (text) pixels on it. */
export async function expectCanvasDrawn(canvas: Locator) {
  await expect(canvas).toBeVisible();
  await expect
    .poll(
      () =>
        canvas.evaluate((c: HTMLCanvasElement) => {
          if (c.width < 100 || c.height < 100) return 0;
          const ctx = c.getContext("2d");
          if (!ctx) return 0;
          const d = ctx.getImageData(0, 0, c.width, c.height).data;
          let dark = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] < 128 && d[i + 1] < 128 && d[i + 2] < 128) dark++;
          return dark;
        }),
      { message: "the PDF page is drawn on the canvas", timeout: 60_000 },
    )
    .toBeGreaterThan(500);
}

/** "$1,234.50" → 123450 (minor units). */
export function cents(text: string): number {
  const m = text.replace(/[^0-9.\-]/g, "");
  return Math.round(Number(m) * 100);
}

/** 123450 → "1234.50", as typed into an amount field. */
export function major(minor: number): string {
  return (minor / 100).toFixed(2);
}

/** 123450 → "$1,234.50", as the UI shows USD. */
export function usd(minor: number): string {
  return (minor / 100).toLocaleString("en-US", { style: "currency", currency: "USD" });
}

/** The screenshot sizes: a common laptop and a small one. */
export const SIZES = [
  { width: 1280, height: 800 },
  { width: 1366, height: 768 },
];
const OUT = join(process.env.PITLANE_E2E_OUT ?? join(ROOT, "e2e", "test-results"), "screenshots");
const DOCS = join(ROOT, "docs", "screenshots");

/** Two animation frames: the layout after a resize has been drawn. */
async function settled(page: Page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/**
 * Screenshots `name` at both sizes into $PITLANE_E2E_OUT/screenshots/<size>/;
 * with PITLANE_SCREENSHOTS=1 the 1280x800 one also goes to docs/screenshots/
 * (unless `docs: false`). `clipHeight` keeps the top of the page (the header).
 */
export async function shoot(page: Page, name: string, ready?: () => Promise<void>, opts: { clipHeight?: number; docs?: boolean } = {}) {
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await settled(page);
    if (ready) await ready();
    const dir = join(OUT, `${size.width}x${size.height}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.png`);
    const clip = opts.clipHeight ? { x: 0, y: 0, width: size.width, height: opts.clipHeight } : undefined;
    await page.screenshot({ path: file, animations: "disabled", caret: "hide", clip });
    if (process.env.PITLANE_SCREENSHOTS === "1" && size.width === 1280 && opts.docs !== false) {
      mkdirSync(DOCS, { recursive: true });
      copyFileSync(file, join(DOCS, `${name}.png`));
    }
  }
  await page.setViewportSize(SIZES[0]);
}
