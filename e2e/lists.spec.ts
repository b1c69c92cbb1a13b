// The desk's lists as people scan them: invoices with their customers and
// cars, customers with their phones and cars, a customer's and a vehicle's
// page with its history. Screenshots at both sizes (not copied to the docs).
import { test, expect, openAndLogin } from "./fixtures";
import { shoot } from "./helpers";

test("the desk's lists: invoices, customers and a customer's history", async ({ page, backend }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openAndLogin(page, backend, "desk");
  await page.evaluate(() => (location.hash = "#/invoices"));
  const invoices = page.getByRole("table");
  await expect(invoices.getByRole("row").nth(1)).toBeVisible();
  await expect(invoices.getByText("…")).toHaveCount(0); // every customer's name is in
  await shoot(page, "invoices", undefined, { docs: false });

  await page.evaluate(() => (location.hash = "#/customers"));
  await expect(page.getByRole("heading", { name: "Customers", level: 1 })).toBeVisible();
  const search = page.getByRole("searchbox", { name: "Search customers" });
  await search.fill("Rossi");
  const rows = page.getByRole("table").getByRole("row");
  await expect(rows.nth(1)).toContainText("Rossi");
  await expect(rows.nth(1)).toContainText("(215)"); // the branch's own numbers in national form
  await shoot(page, "customers", undefined, { docs: false });

  await search.press("Enter");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Rossi");
  await expect(page.getByText("INV-2026-", { exact: false }).first()).toBeVisible();
  await shoot(page, "customer-history", undefined, { docs: false });

  await page.getByRole("link", { name: "KWM-0000" }).first().click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("KWM-0000");
  await shoot(page, "vehicle-history", undefined, { docs: false });
});

test("the walk-in form and the manager's failed jobs, as they first open", async ({ page, backend }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openAndLogin(page, backend, "manager");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await page.keyboard.press("Alt+w");
  await expect(page.getByRole("heading", { name: "New walk-in", level: 1 })).toBeVisible();
  await shoot(page, "walk-in", undefined, { docs: false });

  await page.evaluate(() => (location.hash = "#/jobs/failed"));
  await expect(page.getByRole("heading", { name: "Failed background jobs", level: 1 })).toBeVisible();
  await shoot(page, "failed-jobs", undefined, { docs: false });
});

// The booking screen's customer search: a quick answer changes nothing but
// the list (no spinner flashes per key); a slow one shows a spinner after
// 250 ms, and the box says it is busy until the answer is in.
test("the customer search shows a spinner only when an answer is slow", async ({ page, backend }) => {
  await page.setViewportSize({ width: 1366, height: 768 });
  await openAndLogin(page, backend, "desk");
  await page.evaluate(() => (location.hash = "#/book"));
  const box = page.locator("#customer-search");
  await box.waitFor();
  // Every spinner the page ever adds is counted.
  await page.evaluate(() => {
    const w = window as unknown as { __spins: number };
    w.__spins = 0;
    new MutationObserver((ms) => {
      for (const m of ms) m.addedNodes.forEach((n) => { if (n instanceof Element && n.matches(".lk-spin")) w.__spins++; });
    }).observe(document.body, { subtree: true, childList: true });
  });
  await box.pressSequentially("Ross", { delay: 40 });
  await expect(page.locator(".lk-item").first()).toContainText("Rossi");
  await expect(box).toHaveAttribute("aria-busy", "false");
  expect(await page.evaluate(() => (window as unknown as { __spins: number }).__spins)).toBe(0);

  // The network slows down: the answer to the next key takes 1.5 s.
  await page.route("**/api/customers.search", async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  await box.press("i");
  await expect(box).toHaveAttribute("aria-busy", "true");
  await expect(page.getByRole("status", { name: "Searching" })).toBeVisible();
  await shoot(page, "search-slow", undefined, { docs: false });
  await expect(page.getByRole("status", { name: "Searching" })).toHaveCount(0, { timeout: 5000 });
  await expect(box).toHaveAttribute("aria-busy", "false");
  await expect(page.locator(".lk-item").first()).toContainText("Rossi");
});

// The keyboard reaches every customer the list holds: the highlighted row is
// scrolled into view as the arrows move it (down to the last, up to the
// first, down again), and Enter takes the customer it shows.
test("the arrows walk the whole customer list, the highlighted row always in view", async ({ page, backend }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openAndLogin(page, backend, "desk");
  await page.evaluate(() => (location.hash = "#/book"));
  const box = page.locator("#customer-search");
  await box.pressSequentially("a");
  // The customer search's own list (each search keeps its list mounted, hidden when closed).
  const list = page.locator(`#${await box.getAttribute("aria-controls")}`);
  const rows = list.locator(".lk-item");
  await expect(rows.first()).toHaveAttribute("data-highlighted", "");
  const n = await rows.count();
  // More rows than the list shows at once, or this test shows nothing.
  expect(await list.evaluate((l) => l.scrollHeight > l.clientHeight + 40)).toBe(true);
  const inView = async () => {
    const row = list.locator("[data-highlighted]");
    await expect(row).toHaveCount(1);
    const [r, l] = [await row.boundingBox(), await list.boundingBox()];
    return r !== null && l !== null && r.y >= l.y - 1 && r.y + r.height <= l.y + l.height + 1;
  };
  for (let i = 1; i < n; i++) {
    await box.press("ArrowDown");
    await expect(rows.nth(i)).toHaveAttribute("data-highlighted", "");
    await expect.poll(inView, { message: `row ${i + 1} of ${n} in view` }).toBe(true);
  }
  for (let i = n - 2; i >= 0; i--) await box.press("ArrowUp");
  await expect(rows.first()).toHaveAttribute("data-highlighted", "");
  await expect.poll(inView, { message: "the first row in view again" }).toBe(true);
  for (let i = 1; i < n; i++) await box.press("ArrowDown");
  await expect(rows.nth(n - 1)).toHaveAttribute("data-highlighted", "");
  await expect.poll(inView, { message: "the last row in view again" }).toBe(true);
  await shoot(page, "search-last-row", undefined, { docs: false });
  const last = (await rows.nth(n - 1).locator("strong").first().textContent())?.trim();
  await box.press("Enter");
  await expect(page.locator(".chosen strong")).toHaveText(last ?? "");
});

test("a new answer refills the customer list: its first row highlighted, at the top, and Enter takes the row shown", async ({ page, backend }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openAndLogin(page, backend, "desk");
  await page.evaluate(() => (location.hash = "#/book"));
  const box = page.locator("#customer-search");
  await expect(box).toHaveAttribute("aria-controls", /.+/);
  // The customer search's own list (each search keeps its list mounted, hidden when closed).
  const list = page.locator(`#${await box.getAttribute("aria-controls")}`);
  const rows = list.locator(".lk-item");
  const names = () => rows.locator("strong").allTextContents();
  await box.pressSequentially("a");
  await expect(rows.first()).toHaveAttribute("data-highlighted", "");
  const before = await names();
  // Down to the last row: the list scrolls.
  for (let i = 1; i < before.length; i++) await box.press("ArrowDown");
  await expect(rows.nth(before.length - 1)).toHaveAttribute("data-highlighted", "");
  await expect.poll(() => list.evaluate((l) => l.scrollTop)).toBeGreaterThan(0);
  // A narrower search: other customers fill the same rows.
  await box.press("n");
  await expect.poll(names, { message: "the list shows the new answer" }).not.toEqual(before);
  await expect(box).not.toHaveAttribute("aria-busy", "true");
  // The rows show exactly the backend's answer for "an", in its order.
  const answer = await backend.ok("customers.search", { query: "an", limit: 12 }, await backend.login("desk"));
  const after = await names();
  expect(after.map((n) => n.trim())).toEqual(answer.customers.map((c: { name: string }) => c.name));
  await expect(list.locator("[data-highlighted]")).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute("data-highlighted", "");
  expect(await list.evaluate((l) => l.scrollTop)).toBe(0);
  await expect(box).toHaveAttribute("aria-activedescendant", (await rows.first().getAttribute("id")) ?? "");
  // An empty box closes the list (no "No match" under it); Enter and the
  // arrows there take nothing, and the next search shows its own answer.
  await box.press("Control+A");
  await box.press("Backspace");
  await expect(box).toHaveAttribute("aria-expanded", "false");
  await expect(list).toBeHidden();
  await box.press("ArrowDown");
  // Nothing hidden is highlighted nor announced as the active option.
  await expect(list.locator("[data-highlighted]")).toHaveCount(0);
  await expect(box).not.toHaveAttribute("aria-activedescendant", /.+/);
  await box.press("Enter");
  await expect(list).toBeHidden();
  await expect(page.locator(".chosen")).toHaveCount(0);
  await box.pressSequentially("an");
  await expect.poll(names, { message: "the list shows the answer for 'an' again" }).toEqual(after);
  await expect(box).toHaveAttribute("aria-expanded", "true");
  await expect(rows.first()).toHaveAttribute("data-highlighted", "");
  // The second row of the new answer is the customer Enter takes.
  await box.press("ArrowDown");
  await expect(rows.nth(1)).toHaveAttribute("data-highlighted", "");
  await box.press("Enter");
  await expect(page.locator(".chosen strong")).toHaveText(after[1]);
});
