// The day of one car, end to end, against the real backend: booked for a new
// customer with the keyboard only, confirmed, checked in; the technician
// logs in on the PIN pad, starts, scans a part, completes; the desk finds the
// invoice with its PDF, takes part in cash (change shown) and the rest by
// card through the gateway double; paid, and the gateway holds one charge.
import { test, expect, openAndLogin, nextWorkingDay } from "./fixtures";
import { expectCanvasDrawn, major, shoot, tabTo, usd } from "./helpers";

test("book → confirm → check in → technician completes → invoice with PDF → cash part → card rest → paid", async ({ page, browser, backend }) => {
  const day = nextWorkingDay();
  const [y, m, d] = day.split("-");
  const who = { name: "Quentin Zephyrine", phone: "+1 215 555 0199", email: "quentin.zephyrine@example.com" };
  const car = { plate: "ZQ-4711", make: "Skoda", model: "Octavia", year: "2019" };

  await openAndLogin(page, backend, "desk");
  await expect(page.getByRole("heading", { name: "Today", level: 1 })).toBeVisible();

  // ---- Booking, keyboard only: Alt+B, type-ahead, Tab, Enter, Space.
  await page.keyboard.press("Alt+b");
  await expect(page.getByRole("heading", { name: "New booking", level: 1 })).toBeVisible();
  const search = page.locator("#customer-search");
  await tabTo(page, search);
  await page.keyboard.type(who.name);
  await expect(page.getByText("No match")).toBeVisible(); // the type-ahead knows no such customer
  await tabTo(page, page.getByRole("button", { name: "New customer" }));
  await page.keyboard.press("Enter");
  await expect(page.locator("#new-customer-name")).toBeFocused();
  await page.keyboard.type(who.name);
  await page.keyboard.press("Tab");
  await page.keyboard.type(who.phone);
  await page.keyboard.press("Tab");
  await page.keyboard.type(who.email);
  await tabTo(page, page.getByRole("button", { name: "New vehicle" }));
  await page.keyboard.press("Enter");
  await expect(page.locator("#new-vehicle-plate")).toBeFocused();
  await page.keyboard.type(car.plate);
  await page.keyboard.press("Tab");
  await page.keyboard.type(car.make);
  await page.keyboard.press("Tab");
  await page.keyboard.type(car.model);
  await page.keyboard.press("Tab");
  await page.keyboard.type(car.year);
  const service = page.getByRole("combobox", { name: "Service" });
  await tabTo(page, service);
  await page.keyboard.type("Oil"); // type-ahead in the closed select
  await expect(service).toHaveValue("oil_change");
  const date = page.getByLabel("Date");
  await tabTo(page, date);
  await page.keyboard.type(`${m}${d}${y}`);
  await expect(date).toHaveValue(day);
  const slots = page.getByRole("radiogroup", { name: "Start time" });
  await expect(slots.getByRole("radio").first()).toBeVisible();
  await tabTo(page, slots.getByRole("radio").first());
  await page.keyboard.press("Space");
  const firstSlot = await slots.getByRole("radio").first().getAttribute("value");
  await expect(slots.getByRole("radio").first()).toBeChecked();
  await tabTo(page, page.getByLabel("Notes for the workshop"));
  await page.keyboard.type("Oil change; a rattle from the front left");
  await tabTo(page, page.getByRole("button", { name: "Book", exact: true }));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("status").filter({ hasText: "Appointment booked successfully." })).toContainText(
    "Welcome! Your customer profile has been created. Vehicle registered successfully.",
  );
  await tabTo(page, page.getByRole("link", { name: "See it on the board" }));
  await page.keyboard.press("Enter");

  // ---- On the board of that day: confirm, then check in.
  const list = page.getByRole("region", { name: "Appointments" });
  const row = list.getByRole("row").filter({ hasText: who.name });
  await expect(row).toContainText(firstSlot!);
  await row.getByRole("button", { name: firstSlot! }).click();
  const detail = page.getByRole("complementary", { name: "Appointment" });
  await detail.getByRole("button", { name: "Confirm" }).click();
  await expect(row).toContainText(/confirmed/i);
  await detail.getByRole("button", { name: "Check in" }).click();
  const open = detail.getByRole("link", { name: /^Open JC-/ });
  await expect(open).toBeVisible();
  const jobId = (await open.getAttribute("href"))!.replace("#/job/", "");

  // ---- The technician, at the workshop PC: PIN pad, my jobs, start, scan, complete.
  const shop = await browser.newContext();
  const tech = await shop.newPage();
  await openAndLogin(tech, backend, "tech1", { usePad: true });
  await expect(tech.getByRole("heading", { name: "My jobs", level: 1 })).toBeVisible();
  await tech.getByRole("link", { name: new RegExp(`Job card JC-.*${car.plate}`) }).click();
  await expect(tech).toHaveURL(new RegExp(`#/job/${jobId}$`));
  await tech.getByLabel(/^Odometer/).fill("48210");
  await tech.getByRole("button", { name: "Start job" }).click();
  await expect(tech.getByRole("button", { name: "Complete job" })).toBeVisible();

  const desk = await backend.login("desk");
  const airFilter = (await backend.ok("inventory.items", { query: "AF-200" }, desk)).items[0];
  expect(airFilter.name).toBe("Air Filter");
  const scan = tech.locator("#part-search");
  // Browsing first: the arrows reach the 12th part, scrolled into view.
  await scan.pressSequentially("a");
  const partList = tech.locator(".part-list");
  const options = partList.getByRole("option");
  await expect(options).toHaveCount(12);
  for (let i = 0; i < 12; i++) await scan.press("ArrowDown");
  const lastPart = options.nth(11);
  await expect(lastPart).toHaveAttribute("data-highlighted", "");
  await expect
    .poll(async () => {
      const [r, l] = [await lastPart.boundingBox(), await partList.boundingBox()];
      return r !== null && l !== null && r.y + r.height <= l.y + l.height + 1;
    }, { message: "the 12th part in view" })
    .toBe(true);
  await shoot(tech, "part-list-last", undefined, { docs: false });
  await scan.press("Escape");
  await scan.fill("");
  await scan.focus();
  await tech.keyboard.type(airFilter.barcode); // a USB scanner: the digits, then Enter
  await tech.keyboard.press("Enter");
  await expect(tech.getByText("Added Air Filter.")).toBeVisible();
  const lines = tech.getByRole("table").first();
  await expect(lines.getByRole("row").filter({ hasText: "Air Filter" })).toBeVisible();

  await tech.getByRole("button", { name: "Complete job" }).click();
  await expect(tech.getByText(/^Job card completed successfully\. Invoice INV-\d{4}-A\d{6} generated\./)).toBeVisible();
  await expect(tech.getByRole("main").locator("[data-status]").first()).toHaveAttribute("data-status", "completed");
  await expect(tech.getByRole("link", { name: /Open invoice/ })).toHaveCount(0); // not for technicians
  await shop.close();

  // ---- The desk: the invoice and its PDF.
  await page.goto(`${backend.origin}/#/job/${jobId}`);
  await page.getByRole("link", { name: "Open invoice" }).click();
  await expect(page.getByRole("heading", { name: /^INV-/, level: 1 })).toBeVisible();
  const invoiceId = page.url().split("#/invoice/")[1];
  const invoice = await backend.ok("invoices.get", { id: invoiceId }, desk);
  expect(invoice.status).toBe("pending");
  await expectCanvasDrawn(page.getByRole("region", { name: "PDF preview" }).locator("canvas").first());

  // Part in cash, with change.
  const part = Math.min(5000, Math.floor(invoice.total / 2));
  await page.getByRole("button", { name: "Take payment" }).click();
  const dialog = page.getByRole("dialog", { name: "Take a payment" });
  await dialog.getByLabel(/^Amount/).fill(major(part));
  await dialog.getByLabel("Cash received").fill(major(part + 1250));
  await expect(dialog.getByText("Change to give back")).toBeVisible();
  await expect(dialog.getByText("Change to give back").locator("..")).toContainText(usd(1250));
  await dialog.getByRole("button", { name: `Take ${usd(part)}` }).click();
  await expect(dialog).toBeHidden();
  const badge = page.getByRole("main").locator("[data-status]").first();
  await expect(badge).toHaveAttribute("data-status", "partially_paid");

  // The rest by card, through the gateway double.
  const rest = invoice.total - part;
  await page.getByRole("button", { name: "Take payment" }).click();
  await expect(dialog).toBeVisible();
  await dialog.getByText("Card", { exact: true }).click();
  await expect(dialog.getByLabel(/^Amount/)).toHaveValue(major(rest));
  await dialog.getByRole("button", { name: `Take ${usd(rest)}` }).click();
  await expect(dialog).toBeHidden();
  await expect(badge).toHaveAttribute("data-status", "paid");

  // ---- What the backend and the gateway hold.
  const after = await backend.ok("invoices.get", { id: invoiceId }, desk);
  expect(after.status).toBe("paid");
  expect(after.balance_due).toBe(0);
  const payments = (await backend.ok("payments.list", { invoice_id: invoiceId }, desk)).payments;
  expect(payments.map((p: any) => [p.method, p.amount]).sort()).toEqual([["card", rest], ["cash", part]].sort());
  const ledger = await backend.ledger();
  expect(ledger.charges).toHaveLength(1);
  expect(ledger.charges[0]).toMatchObject({ amount: rest, currency: "USD", status: "succeeded" });
});
