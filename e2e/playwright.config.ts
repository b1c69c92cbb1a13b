// Playwright's runner for the browser tests: Debian's chromium (never
// `npx playwright install`), one worker, bounded timeouts generous enough
// for a slow shared 2-core machine. Run through scripts/e2e.sh, which builds
// what is needed and gives the tests a real, unlocked OS keyring.
import { defineConfig } from "@playwright/test";

const out = process.env.PITLANE_E2E_OUT ?? "e2e/test-results";

export default defineConfig({
  testDir: ".",
  // e2e/window/ is the real-window test (WebdriverIO, e2e/window/run.sh), not Playwright's.
  testMatch: "**/*.spec.ts",
  testIgnore: "window/**",
  outputDir: out,
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: true,
  timeout: 300_000,
  expect: { timeout: 30_000 },
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    headless: true,
    locale: "en-US",
    viewport: { width: 1280, height: 800 },
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.PITLANE_CHROMIUM ?? "/usr/bin/chromium",
      // The flags of shared/TESTING.md. Playwright adds --headless itself and
      // starts every browser with a fresh temporary --user-data-dir.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
