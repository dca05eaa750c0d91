/// <reference lib="dom" />
/**
 * Takes the dashboard screenshots in docs/img/ from a seeded database, in
 * Debian's chromium (headless). Not a test; run by hand after changing how
 * the pages look:
 *
 * ```sh
 * deno run -A tests/ui/screenshots.ts
 * ```
 */

import { openSqliteStore } from "../../store/sqlite.ts";
import { createLogger } from "../../core/log.ts";
import { memoryState } from "../../core/state.ts";
import { StatsRegistry } from "../../core/stats.ts";
import { uiService } from "../../ui/server.ts";
import { launchChromium } from "./_browser.ts";
import { seedSiem } from "./_seed.ts";

const OUT = new URL("../../docs/img/", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "sluice-shots-" });
const database = `${dir}/siem.db`;
await seedSiem(database, { now: Date.now(), alertsPerDay: 60 });
// One alert triaged, so the detail page shows a history.
const store = await openSqliteStore({ database });
const page0 = await store.alerts({ severities: ["critical"], limit: 1 });
const seq = page0.rows[0]?.seq ?? 1;
await store.ui.triage({
  alert: seq,
  status: "acknowledged",
  note: "Sample pulled, reimaging web-1",
  by: "admin",
});
await store.close();
const ui = uiService({
  database,
  listen: "127.0.0.1:0",
  env: { ADMIN_USER: "admin", ADMIN_PASSWORD: "screenshot-password" },
});
await ui.start({
  name: "ui",
  log: createLogger("warn"),
  signal: new AbortController().signal,
  state: memoryState(),
  stats: new StatsRegistry().register("service", "ui", "ui"),
});
const browser = await launchChromium();
try {
  const page = await browser.page();
  const url = ui.url as string;
  await page.goto(`${url}login`);
  await page.screenshot({ path: `${OUT}login.png` });
  await page.type("input[name=user]", "admin");
  await page.type("input[name=password]", "screenshot-password");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/login'] button")]);
  const shots: [string, string, boolean][] = [
    ["", "overview", false],
    ["alerts?range=7d", "alerts", false],
    [`alerts/${seq}`, "alert", false],
    ["hosts/web-1", "host", false],
    ["hosts", "hosts", false],
    ["auth", "auth", false],
  ];
  for (const [path, name, full] of shots) {
    await page.goto(`${url}${path}`);
    await page.waitForFunction(() =>
      [...document.querySelectorAll("[data-chart]")].every((el) => el.hasAttribute("data-drawn"))
    );
    await page.screenshot({ path: `${OUT}${name}.png`, fullPage: full });
    console.log(`wrote docs/img/${name}.png`);
  }
} finally {
  await browser.close();
  await ui.stop();
  await Deno.remove(dir, { recursive: true });
}
