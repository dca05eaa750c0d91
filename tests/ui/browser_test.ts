/// <reference lib="dom" />
/**
 * The dashboard in a real browser (Debian's chromium, headless), served by
 * the central example over a seeded SIEM database: log in, the overview
 * chart drawn, filter, detail, acknowledge, a live-tail line after an event
 * reaches the central's TCP port, pause and resume, log out; XSS payloads
 * that never run, cookies a script cannot read, CSRF and viewer refusals.
 */

import assert from "node:assert/strict";
import type { Page } from "puppeteer-core";
import central from "../../examples/pipeline.central.ts";
import { createLogger, Engine } from "../../mod.ts";
import { openSqliteStore } from "../../store/sqlite.ts";
import { hashPassword } from "../../ui/password.ts";
import { waitFor } from "../_peers.ts";
import { CHROMIUM, type Chromium, launchChromium } from "./_browser.ts";
import { ADMIN, VIEWER, XSS_ALERTS } from "./_fixture.ts";
import { seedSiem } from "./_seed.ts";

const opts = { ignore: !CHROMIUM, sanitizeResources: false, sanitizeOps: false };

interface Central {
  url: string;
  jsonPort: number;
  database: string;
  stop(): Promise<void>;
}

async function startCentral(dir: string): Promise<Central> {
  const data = `${dir}/data`;
  await Deno.mkdir(data, { recursive: true });
  const database = `${data}/siem.db`;
  await seedSiem(database, { now: Date.now(), alertsPerDay: 30, extraAlerts: XSS_ALERTS });
  const store = await openSqliteStore({ database });
  await store.ui.addUser({
    name: VIEWER.user,
    role: "viewer",
    passwordHash: await hashPassword(VIEWER.password),
  });
  await store.close();
  const pipeline = central({
    args: [
      "--data",
      data,
      "--json-port",
      "0",
      "--relp-port",
      "0",
      "--syslog-port",
      "0",
      "--ui",
      "127.0.0.1:0",
      "--sqlite-worker",
      "off",
    ],
    env: { ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password },
  });
  const engine = new Engine(pipeline, {
    logger: createLogger("warn"),
    stateDir: `${dir}/state`,
    drainTimeoutMs: 10_000,
  });
  await engine.start();
  const ui = pipeline.services?.ui as unknown as { url?: string };
  const json = (pipeline.sources as Record<string, { addr?: Deno.NetAddr }>).json;
  assert.ok(ui.url && json?.addr);
  return { url: ui.url, jsonPort: json.addr.port, database, stop: () => engine.stop() };
}

async function logIn(page: Page, url: string, who: { user: string; password: string }) {
  await page.goto(url);
  assert.match(page.url(), /\/login/);
  await page.type("input[name=user]", who.user);
  await page.type("input[name=password]", who.password);
  await Promise.all([page.waitForNavigation(), page.click("form[action='/login'] button")]);
}

async function sendJson(port: number, line: Record<string, unknown>): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(JSON.stringify(line) + "\n"));
  } finally {
    conn.close();
  }
}

async function withDashboard(fn: (c: Central, browser: Chromium) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "sluice-ui-browser-" });
  let c: Central | undefined;
  let browser: Chromium | undefined;
  try {
    c = await startCentral(dir);
    browser = await launchChromium();
    await fn(c, browser);
  } finally {
    await browser?.close();
    await c?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(
  "dashboard in chromium: log in, chart, filter, detail, acknowledge, live tail, log out",
  opts,
  async () => {
    await withDashboard(async (c, browser) => {
      const page = await browser.page();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await logIn(page, c.url, ADMIN);
      assert.equal(new URL(page.url()).pathname, "/");

      // The overview chart is drawn from the seeded hours: a canvas with painted pixels.
      await page.waitForSelector("#chart-alerts[data-drawn] canvas");
      const drawn = await page.$eval("#chart-alerts", (el) => {
        const canvas = el.querySelector("canvas") as HTMLCanvasElement;
        const px = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) painted++;
        return { total: Number(el.getAttribute("data-drawn")), painted };
      });
      assert.ok(drawn.total > 0, "the series has alerts");
      assert.ok(drawn.painted > 1000, `the canvas is painted (${drawn.painted} pixels)`);

      // Filter the alerts by severity through the form.
      await page.goto(`${c.url}alerts`);
      await page.select("select[name=severity]", "critical");
      await page.select("select[name=range]", "7d");
      await Promise.all([page.waitForNavigation(), page.click("form.filters button[type=submit]")]);
      const severities = await page.$$eval(
        "table.alerts tbody tr td:nth-child(2)",
        (tds) => tds.map((td) => td.textContent?.trim()),
      );
      assert.ok(severities.length > 0);
      assert.ok(severities.every((s) => s === "critical"), severities.join(","));

      // Open the first one and acknowledge it with a note.
      await Promise.all([page.waitForNavigation(), page.click("table.alerts tbody tr td.rule a")]);
      assert.match(page.url(), /\/alerts\/\d+$/);
      await page.type("textarea[name=note]", "on it");
      await Promise.all([
        page.waitForNavigation(),
        page.click("button[name=status][value=acknowledged]"),
      ]);
      const history = await page.$eval("ol.history", (el) => el.textContent ?? "");
      assert.match(history, /acknowledged/);
      assert.match(history, new RegExp(`by ${ADMIN.user}`));
      assert.match(history, /on it/);

      // Live tail: an event sent to the central's TCP port shows up; paused, the next one
      // waits and arrives on resume.
      await page.goto(`${c.url}tail?category=alerts`);
      await page.waitForFunction(
        () => document.getElementById("tail-state")?.textContent === "live",
      );
      await sendJson(c.jsonPort, {
        host: "vm-live",
        severity: "high",
        rule: "Live_Tail_One",
        msg: "first",
      });
      await page.waitForFunction(
        () => document.getElementById("tail")?.textContent?.includes("Live_Tail_One"),
        { timeout: 20_000 },
      );
      await page.click("#tail-pause");
      assert.equal(await page.$eval("#tail-state", (el) => el.textContent), "paused");
      await sendJson(c.jsonPort, {
        host: "vm-live",
        severity: "high",
        rule: "Live_Tail_Two",
        msg: "second",
      });
      const store = await openSqliteStore({ database: c.database });
      try {
        await waitFor(
          "the second live event stored",
          async () => (await store.alerts({ rule: "Live_Tail_Two" })).rows.length > 0,
          20_000,
        );
      } finally {
        await store.close();
      }
      assert.ok(
        !(await page.$eval("#tail", (el) => el.textContent ?? "")).includes("Live_Tail_Two"),
      );
      await page.click("#tail-pause");
      await page.waitForFunction(
        () => document.getElementById("tail")?.textContent?.includes("Live_Tail_Two"),
        { timeout: 20_000 },
      );
      const ones = await page.$$eval(
        "#tail li",
        (lis) => lis.filter((li) => li.textContent?.includes("Live_Tail_One")).length,
      );
      assert.equal(ones, 1, "resuming does not replay what was shown");

      // Log out: back to the login page, and the overview asks for it again.
      await Promise.all([page.waitForNavigation(), page.click("form.who button")]);
      assert.match(page.url(), /\/login$/);
      await page.goto(c.url);
      assert.match(page.url(), /\/login/);
      assert.deepEqual(errors, []);
    });
  },
);

Deno.test(
  "dashboard in chromium: XSS payloads show as text and never run; cookies stay out of scripts; CSRF and viewers refused",
  opts,
  async () => {
    await withDashboard(async (c, browser) => {
      const page = await browser.page();
      const violations: string[] = [];
      page.on("console", (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await logIn(page, c.url, ADMIN);
      await page.goto(`${c.url}alerts?range=all&host=vm-x&source=yara`);
      const link = await page.$eval("table.alerts tbody tr td.rule a", (a) => ({
        text: a.textContent,
        href: a.getAttribute("href"),
      }));
      assert.equal(link.text, "<script>window.__xss=1</script>");
      for (
        const path of [
          link.href as string,
          "/alerts?range=all&host=vm-x&source=yara",
          "/hosts/vm-x",
          "/",
        ]
      ) {
        await page.goto(new URL(path, c.url).href);
        const state = await page.evaluate(() => ({
          xss: typeof (globalThis as { __xss?: number }).__xss,
          imgs: document.querySelectorAll("img").length,
          js: [...document.querySelectorAll("a")].filter((a) =>
            /^javascript:/i.test(a.getAttribute("href") ?? "")
          ).length,
        }));
        assert.deepEqual(state, { xss: "undefined", imgs: 0, js: 0 }, path);
      }
      const text = await page.goto(new URL(link.href as string, c.url).href).then(() =>
        page.evaluate(() => document.body.innerText)
      );
      assert.ok(text.includes(`"><img src=x onerror="window.__xss=2">`));
      assert.ok(text.includes("javascript:window.__xss=3"));
      // The session cookie is HttpOnly and SameSite=Strict: no script reads it.
      const cookie = (await page.cookies()).find((k) => k.name === "sluice_session");
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, "Strict");
      assert.equal(await page.evaluate(() => document.cookie.includes("sluice_session")), false);
      // A script on the page (as an injected one would) cannot triage without the token.
      const seq = (link.href as string).split("/").pop();
      const status = await page.evaluate(async (seq) => {
        const r = await fetch(`/alerts/${seq}/triage`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "status=closed",
        });
        return r.status;
      }, seq);
      assert.equal(status, 403);
      assert.deepEqual(violations, []);

      // A viewer sees the alert but no triage form, and a forged triage gets 403.
      const viewer = await (await browser.browser.createBrowserContext()).newPage();
      await logIn(viewer, c.url, VIEWER);
      await viewer.goto(new URL(link.href as string, c.url).href);
      assert.equal(await viewer.$("form.triage"), null);
      const forged = await viewer.evaluate(async (seq) => {
        const csrf = (document.querySelector("input[name=_csrf]") as HTMLInputElement).value;
        const r = await fetch(`/alerts/${seq}/triage`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `status=closed&_csrf=${encodeURIComponent(csrf)}`,
        });
        return r.status;
      }, seq);
      assert.equal(forged, 403);
    });
  },
);
