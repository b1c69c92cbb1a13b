import { test, expect, openAndLogin } from "./fixtures";

test("the front desk logs in and sees today's board", async ({ page, backend }) => {
  await openAndLogin(page, backend, "desk");
  await expect(page.getByRole("heading", { name: "Today", level: 1 })).toBeVisible();
});
