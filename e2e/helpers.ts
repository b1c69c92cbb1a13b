// Small helpers shared by the specs: keyboard-only focus moves, the PDF
// canvas check, money parsing.
import type { Locator, Page } from "@playwright/test";
import { expect } from "./fixtures";

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
