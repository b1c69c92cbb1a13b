// The rules the screens must keep, each against its own fresh demo backend:
// insufficient stock changes nothing, a 422 lands beside its field, a
// technician reaches no money (UI nor API), the idle lock resumes where you
// were, and a double click pays once.
import type { Page } from "@playwright/test";
import { test, expect, openAndLogin, nextWorkingDay, type Backend } from "./fixtures";
import { usd } from "./helpers";

/** A demo customer with a vehicle. */
async function someCustomer(backend: Backend, session: string) {
  const r = await backend.ok("customers.search", { query: "smith", limit: 20 }, session);
  const c = r.customers.find((x: any) => x.vehicles.length > 0);
  expect(c, "a demo customer with a vehicle").toBeTruthy();
  return { customer_id: c.id as string, vehicle_id: c.vehicles[0].id as string, plate: c.vehicles[0].license_plate as string };
}

test("insufficient stock: the exact message of SPEC 4.1, and the job card, stock and invoices unchanged", async ({ page, backend }) => {
  const desk = await backend.login("desk");
  const tech = await backend.login("tech1");
  const who = await someCustomer(backend, desk);
  const filter = (await backend.ok("inventory.items", { query: "OF-100" }, desk)).items[0];
  expect(filter.name).toBe("Oil Filter");
  const requested = filter.on_hand + 5000; // 5 more than on hand
  const card = await backend.ok("job_cards.create", { customer_id: who.customer_id, vehicle_id: who.vehicle_id, complaint: "Needs more filters than we have" }, desk);
  await backend.ok("job_cards.start", { job_card_id: card.id }, tech);
  await backend.ok("job_cards.add_line", { job_card_id: card.id, kind: "labour", description: "Fit filters", quantity: 1000 }, tech);
  await backend.ok("job_cards.add_line", { job_card_id: card.id, kind: "part", item_id: filter.id, quantity: requested }, tech);

  const before = {
    card: await backend.ok("job_cards.get", { id: card.id }, desk),
    item: (await backend.ok("inventory.items", { query: "OF-100" }, desk)).items[0],
    ledger: await backend.ok("inventory.ledger", { item_id: filter.id }, desk),
    invoices: (await backend.ok("invoices.list", { limit: 500 }, desk)).invoices,
  };

  await openAndLogin(page, backend, "tech1");
  await page.goto(`${backend.origin}/#/job/${card.id}`);
  await page.getByRole("button", { name: "Complete job" }).click();
  const message = `Insufficient stock for item 'Oil Filter'. Current: ${filter.on_hand / 1000}, Requested: ${requested / 1000}`;
  await expect(page.getByText(message, { exact: true })).toBeVisible();
  await expect(page.getByRole("main").locator("[data-status]").first()).toHaveAttribute("data-status", "in_progress");

  // Nothing changed, read back through the API.
  const after = {
    card: await backend.ok("job_cards.get", { id: card.id }, desk),
    item: (await backend.ok("inventory.items", { query: "OF-100" }, desk)).items[0],
    ledger: await backend.ok("inventory.ledger", { item_id: filter.id }, desk),
    invoices: (await backend.ok("invoices.list", { limit: 500 }, desk)).invoices,
  };
  expect(after.card.status).toBe("in_progress");
  expect(after.card).toEqual(before.card);
  expect(after.item.on_hand).toBe(filter.on_hand);
  expect(after.item).toEqual(before.item);
  expect(after.ledger).toEqual(before.ledger);
  expect(after.invoices).toEqual(before.invoices);
  expect(after.invoices.some((i: any) => i.job_card_id === card.id)).toBe(false);
});

test("a 422 puts its message beside the field it names (booking with a bad email)", async ({ page, backend }) => {
  await openAndLogin(page, backend, "desk");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New booking" }).click();
  await page.getByRole("button", { name: "New customer" }).click();
  await page.getByRole("textbox", { name: /^Name/ }).fill("Bad Email Person");
  await page.getByRole("textbox", { name: /^Email/ }).fill("not-an-email");
  await page.getByRole("button", { name: "New vehicle" }).click();
  await page.getByRole("textbox", { name: /^Licence plate/ }).fill("BAD-0001");
  await page.getByRole("textbox", { name: /^Make/ }).fill("Ford");
  await page.getByRole("textbox", { name: /^Model/ }).fill("Focus");
  await page.getByRole("combobox", { name: "Service" }).selectOption("oil_change");
  await page.getByLabel("Date").fill(nextWorkingDay());
  await page.getByRole("radiogroup", { name: "Start time" }).getByRole("radio").first().check({ force: true });
  const answer = page.waitForResponse((r) => r.url().endsWith("/api/appointments.book"));
  await page.getByRole("button", { name: "Book", exact: true }).click();
  const body = await (await answer).json();
  expect(body.code).toBe("validation_failed");
  const named = body.details.fields.find((f: any) => f.field === "customer_email");
  expect(named, JSON.stringify(body)).toBeTruthy();

  const email = page.getByRole("textbox", { name: /^Email/ });
  await expect(email).toHaveAttribute("aria-invalid", "true");
  await expect(email.locator("xpath=..")).toContainText(named.message); // in the field's own label
  await expect(email).toBeFocused(); // the first field the 422 names gets the focus
  // The other fields are not marked.
  await expect(page.getByRole("textbox", { name: /^Name/ })).not.toHaveAttribute("aria-invalid", "true");
  // Nothing was booked.
  const desk = await backend.login("desk");
  expect((await backend.ok("customers.search", { query: "Bad Email Person" }, desk)).customers).toHaveLength(0);
});

/** The session token a page's own API calls carry. */
function sessionOf(page: Page): () => string | null {
  let token: string | null = null;
  page.on("request", (r) => {
    const t = r.headers()["x-pitlane-session"];
    if (t) token = t;
  });
  return () => token;
}

test("a technician reaches no payment screen and no invoice, in the UI nor through the API with their own token", async ({ page, backend }) => {
  const desk = await backend.login("desk");
  const invoice = (await backend.ok("invoices.list", { status: "pending", limit: 1 }, desk)).invoices[0];
  expect(invoice).toBeTruthy();
  const token = sessionOf(page);

  await openAndLogin(page, backend, "tech1");
  await expect(page.getByRole("heading", { name: "My jobs", level: 1 })).toBeVisible();
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "My jobs" })).toBeVisible();
  for (const name of [/invoice/i, /payment/i, /today/i, /booking/i, /walk-in/i, /customers/i]) {
    await expect(nav.getByRole("link", { name })).toHaveCount(0);
  }
  // The command palette offers no money screen either.
  await page.keyboard.press("Control+k");
  const palette = page.getByRole("dialog");
  await expect(palette).toBeVisible();
  await expect(palette.getByText(/invoice/i)).toHaveCount(0);
  await page.keyboard.press("Escape");
  await expect(palette).toBeHidden();

  // By URL: no invoice shows.
  await page.goto(`${backend.origin}/#/invoice/${invoice.id}`);
  await expect(page.getByRole("heading", { name: "Not available" })).toBeVisible();
  await expect(page.getByText(invoice.number)).toHaveCount(0);
  await expect(page.getByRole("button", { name: /Take payment/ })).toHaveCount(0);
  await expect(page.getByRole("region", { name: "PDF preview" })).toHaveCount(0);

  // Through the API over HTTP, with the token the technician's own UI uses.
  const mine = token();
  expect(mine, "the technician's session token, seen on their UI's calls").toBeTruthy();
  const pay = await backend.api("payments.process", { invoice_id: invoice.id, amount: 100, method: "cash", idempotency_key: "tech-tries-to-pay" }, mine);
  expect(pay.status).toBe(403);
  expect(pay.body.code).toBe("forbidden");
  const get = await backend.api("invoices.get", { id: invoice.id }, mine);
  expect(get.status).toBe(403);
  expect(get.body.code).toBe("forbidden");
  for (const [command, input] of [
    ["invoices.list", {}],
    ["invoices.pdf", { invoice_id: invoice.id }],
    ["payments.list", { invoice_id: invoice.id }],
  ] as const) {
    const r = await backend.api(command, input, mine);
    expect([command, r.status, r.body.code]).toEqual([command, 403, "forbidden"]);
  }
  // And nothing was paid.
  const still = await backend.ok("invoices.get", { id: invoice.id }, desk);
  expect(still.amount_paid).toBe(invoice.amount_paid);
  expect((await backend.ok("payments.list", { invoice_id: invoice.id }, desk)).payments).toHaveLength(0);
});

test("idle lock: the screen locks after the idle time and the PIN resumes on the same screen with what was typed", async ({ page, backend }) => {
  // The idle time shortened to 30 s (the `?idle=` override), and the page's clock under the test's control.
  await page.clock.install();
  const token = sessionOf(page);
  await openAndLogin(page, backend, "desk", { query: "?idle=30" });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New booking" }).click();
  await page.getByRole("button", { name: "New customer" }).click();
  const name = page.getByRole("textbox", { name: /^Name/ });
  await name.fill("Half-typed Customer");
  await page.getByRole("textbox", { name: /^Phone/ }).fill("+1 215 555 0123");
  const locked = page.getByRole("dialog", { name: "Locked" });

  await page.clock.fastForward("00:20");
  await expect(locked).toHaveCount(0); // not before the idle time
  await page.clock.fastForward("00:12");
  await expect(locked).toBeVisible();
  await expect(locked).toContainText("Dana Desk");
  await expect(name).toHaveValue("Half-typed Customer");
  // The session ended on the backend too: the token of before the lock no longer works.
  const old = token();
  expect(old).toBeTruthy();
  await expect.poll(async () => (await backend.api("auth.whoami", {}, old)).status).toBe(401);

  await locked.getByLabel("PIN", { exact: true }).fill("1234");
  await locked.getByLabel("PIN", { exact: true }).press("Enter");
  await expect(locked).toBeHidden();
  await expect(page).toHaveURL(/#\/book$/);
  await expect(name).toHaveValue("Half-typed Customer");
  await expect(page.getByRole("textbox", { name: /^Phone/ })).toHaveValue("+1 215 555 0123");
  await name.fill("Half-typed Customer, resumed"); // and it works on
  await expect(name).toHaveValue("Half-typed Customer, resumed");
});

test("a double click on the payment button pays once (card through the gateway double, and cash)", async ({ page, backend }) => {
  const desk = await backend.login("desk");
  const pending = (await backend.ok("invoices.list", { status: "pending", limit: 10 }, desk)).invoices;
  expect(pending.length).toBeGreaterThanOrEqual(2);
  await openAndLogin(page, backend, "desk");

  for (const [invoice, method] of [
    [pending[0], "Card"],
    [pending[1], "Cash"],
  ] as const) {
    // Half the balance: a second payment would fit, so only "once" keeps it at one.
    const half = Math.floor(invoice.balance_due / 2);
    await page.goto(`${backend.origin}/#/invoice/${invoice.id}`);
    await expect(page.getByRole("heading", { name: invoice.number, level: 1 })).toBeVisible();
    await page.getByRole("button", { name: "Take payment" }).click();
    const dialog = page.getByRole("dialog", { name: "Take a payment" });
    await dialog.getByText(method, { exact: true }).click();
    await dialog.getByLabel(/^Amount/).fill((half / 100).toFixed(2));
    await dialog.getByRole("button", { name: `Take ${usd(half)}` }).dblclick();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole("main").locator("[data-status]").first()).toHaveAttribute("data-status", "partially_paid");

    const after = await backend.ok("payments.list", { invoice_id: invoice.id }, desk);
    expect(after.payments).toHaveLength(1);
    expect(after.payments[0].amount).toBe(half);
    const inv = await backend.ok("invoices.get", { id: invoice.id }, desk);
    expect([inv.status, inv.amount_paid, inv.balance_due]).toEqual(["partially_paid", half, invoice.balance_due - half]);
    if (method === "Card") {
      expect(after.card_attempts).toHaveLength(1);
      const ledger = await backend.ledger();
      expect(ledger.charges).toHaveLength(1);
      expect(ledger.charges[0]).toMatchObject({ amount: half, status: "succeeded" });
    }
  }
});
