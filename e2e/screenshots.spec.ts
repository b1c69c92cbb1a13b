// Screenshots of the main screens, made by the browser so they stay current.
// Every run writes them at 1280x800 and 1366x768 into the test output
// ($PITLANE_E2E_OUT/screenshots/<size>/); with PITLANE_SCREENSHOTS=1 the
// 1280x800 ones are copied to docs/screenshots/ (shown in the README)
// (helpers.ts `shoot`).
//
// The browser's clock is set to 10:30 on the branch's next working day, so
// the board shows a working morning whenever the tests run; the backend
// keeps its own real clock (that day is in its future).
import { test, expect, loginAs, nextWorkingDay } from "./fixtures";
import { expectCanvasDrawn, shoot, SIZES } from "./helpers";

test("screenshots of the main screens", async ({ browser, backend }) => {
  const day = nextWorkingDay();
  const morning = new Date(`${day}T15:30:00Z`); // 10:30 in New York (EST)
  const desk = await backend.login("desk");
  const tech1 = await backend.login("tech1");

  // A morning's board: one car checked in, one confirmed, the rest booked.
  const appts = (await backend.ok("appointments.list", { from: day, to: day }, desk)).appointments;
  expect(appts.length).toBeGreaterThan(2);
  const waiting = appts.filter((a: any) => a.status === "scheduled" || a.status === "confirmed");
  await backend.ok("appointments.check_in", { appointment_id: waiting[0].id }, desk);

  const newPage = async () => {
    const ctx = await browser.newContext({ viewport: SIZES[0], locale: "en-US" });
    const page = await ctx.newPage();
    await page.clock.install({ time: morning });
    await page.goto(backend.url);
    return page;
  };

  // ---- Login.
  const page = await newPage();
  await page.getByRole("list", { name: "Staff" }).getByRole("button", { name: "Dana Desk" }).click();
  await page.getByLabel("PIN", { exact: true }).fill("12");
  await shoot(page, "login");
  await page.getByLabel("PIN", { exact: true }).fill("1234");
  await page.getByLabel("PIN", { exact: true }).press("Enter");

  // ---- Today board.
  await expect(page.getByRole("heading", { name: "Today", level: 1 })).toBeVisible();
  const list = page.getByRole("region", { name: "Appointments" });
  await expect(list.getByRole("row")).toHaveCount(appts.length + 1);
  await expect(list.getByText("…")).toHaveCount(0); // every customer's name is in
  await list.getByRole("row").nth(2).click();
  await shoot(page, "today");

  // ---- Booking: a new customer half entered, a service, a start time.
  await page.keyboard.press("Alt+b");
  await expect(page.getByRole("heading", { name: "New booking", level: 1 })).toBeVisible();
  await page.getByRole("button", { name: "New customer" }).click();
  await page.getByRole("textbox", { name: /^Name/ }).fill("Amelia Hartmann");
  await page.getByRole("textbox", { name: /^Phone/ }).fill("+1 215 555 0187");
  await page.getByRole("textbox", { name: /^Email/ }).fill("amelia.hartmann@example.com");
  await page.getByRole("button", { name: "New vehicle" }).click();
  await page.getByRole("textbox", { name: /^Licence plate/ }).fill("AMH-2024");
  await page.getByRole("textbox", { name: /^Make/ }).fill("Volvo");
  await page.getByRole("textbox", { name: /^Model/ }).fill("XC60");
  await page.getByRole("textbox", { name: /^Year/ }).fill("2021");
  await page.getByRole("combobox", { name: "Service" }).selectOption("brake_service");
  const slots = page.getByRole("radiogroup", { name: "Start time" });
  await slots.getByRole("radio").nth(2).check({ force: true });
  await page.getByLabel("Notes for the workshop").fill("Grinding noise when braking");
  await shoot(page, "booking");

  // ---- Command palette.
  await page.keyboard.press("Control+k");
  const palette = page.getByRole("dialog", { name: "Search and go to" });
  await expect(palette).toBeVisible();
  await expect(palette.getByRole("combobox")).toBeFocused();
  await page.keyboard.type("smi");
  await expect(palette.getByRole("option").filter({ hasText: /Smith/ }).first()).toBeVisible();
  await shoot(page, "palette");
  await page.keyboard.press("Escape");
  await expect(palette).toBeHidden();

  // ---- Invoice with its PDF, and the payment dialog (cash, with change).
  const partly = (await backend.ok("invoices.list", { status: "partially_paid", limit: 1 }, desk)).invoices[0];
  await page.goto(`${backend.origin}/#/invoice/${partly.id}`);
  await expect(page.getByRole("heading", { name: partly.number, level: 1 })).toBeVisible();
  const canvas = page.getByRole("region", { name: "PDF preview" }).locator("canvas").first();
  await shoot(page, "invoice", () => expectCanvasDrawn(canvas));
  await page.getByRole("button", { name: "Take payment" }).click();
  const dialog = page.getByRole("dialog", { name: "Take a payment" });
  await dialog.getByLabel("Cash received").fill(String(Math.ceil(partly.balance_due / 100 / 10) * 10 + 20));
  await expect(dialog.getByText("Change to give back")).toBeVisible();
  await shoot(page, "payment", () => expectCanvasDrawn(canvas));
  await page.context().close();

  // ---- The technician: my jobs, and a job card in progress with the part search open.
  const shop = await newPage();
  await loginAs(shop, "tech1", true);
  await expect(shop.getByRole("heading", { name: "My jobs", level: 1 })).toBeVisible();
  await expect(shop.getByRole("link", { name: /^Job card JC-/ }).first()).toBeVisible();
  await shoot(shop, "my-jobs");
  const me = (await backend.ok("auth.whoami", {}, tech1)).staff_id;
  const mine = (await backend.ok("job_cards.list", { status: "in_progress", technician_id: me, limit: 5 }, tech1)).job_cards[0];
  expect(mine, "a demo card in progress for tech1").toBeTruthy();
  await shop.goto(`${backend.origin}/#/job/${mine.id}`);
  await expect(shop.getByRole("button", { name: "Complete job" })).toBeVisible();
  await expect(shop.getByRole("heading", { name: "Work and parts" })).toBeVisible();
  await expect(shop.getByRole("table").first().getByRole("row")).toHaveCount(mine.lines.length + 1);
  await shoot(shop, "job-card");
  await shop.context().close();
});
