// The customer's and the vehicle's details card (EditCard): Edit, a 422 shown
// at the field it names with the card still in edit, Save, "Saved." and the
// new value shown; the vehicle's form opens with the car's values. Screenshots
// at both sizes (not in the README).
import { expect } from "@playwright/test";
import { test } from "./fixtures";
import { SIZES, shoot } from "./helpers";

test("customer and vehicle details: edit, a 422 beside its field, saved and shown", async ({ browser, backend }) => {
  const desk = await backend.login("desk");
  const customer = (await backend.ok("customers.search", { query: "a", limit: 5 }, desk)).customers[0];
  const page = await (await browser.newContext({ viewport: SIZES[0], locale: "en-US" })).newPage();
  await page.goto(backend.url);
  await page.getByRole("list", { name: "Staff" }).getByRole("button", { name: "Dana Desk" }).click();
  await page.getByLabel("PIN", { exact: true }).fill("1234");
  await page.getByLabel("PIN", { exact: true }).press("Enter");
  await expect(page.getByRole("heading", { name: "Today", level: 1 })).toBeVisible();

  await page.goto(`${backend.origin}/#/customer/${customer.id}`);
  await expect(page.getByRole("heading", { name: customer.name, level: 1 })).toBeVisible();
  await page.getByRole("button", { name: "Edit" }).click();
  const email = page.getByRole("textbox", { name: /^Email/ });
  await email.fill("not-an-email");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("must be an email address")).toBeVisible();
  await expect(email).toHaveAttribute("aria-invalid", "true");
  await shoot(page, "customer-edit-error", undefined, { docs: false });
  const unchanged = (await backend.ok("customers.get", { id: customer.id }, desk)).customer;
  expect(unchanged.email).toBe(customer.email ?? null);

  await email.fill("fixed@example.com");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  await expect(page.getByText("fixed@example.com")).toBeVisible();
  await expect(page.getByRole("button", { name: "Save" })).toHaveCount(0);
  await shoot(page, "customer-saved", undefined, { docs: false });
  expect((await backend.ok("customers.get", { id: customer.id }, desk)).customer.email).toBe("fixed@example.com");

  const vehicle = customer.vehicles[0];
  await page.goto(`${backend.origin}/#/vehicle/${vehicle.id}`);
  await page.getByRole("button", { name: "Edit" }).click();
  await expect(page.getByRole("textbox", { name: /^Licence plate/ })).toHaveValue(vehicle.license_plate);
  await shoot(page, "vehicle-edit", undefined, { docs: false });
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByRole("button", { name: "Edit" })).toBeVisible();
});
