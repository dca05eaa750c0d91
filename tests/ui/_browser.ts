/**
 * Debian's chromium, headless, for the dashboard's browser tests: started
 * in a process group of its own with a fresh profile, driven over the
 * DevTools protocol by puppeteer-core (no downloaded browser), killed with
 * its whole group when the test ends.
 */

import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { killTree, peer, spawnGroup, waitFor } from "../_peers.ts";

/** The chromium binary, or undefined (one skip line printed). */
export const CHROMIUM: string | undefined = peer("chromium");

/** A running browser. */
export interface Chromium {
  browser: Browser;
  /** A new page with deadlines on every wait. */
  page(): Promise<Page>;
  /** Disconnects, kills the process group, removes the profile. */
  close(): Promise<void>;
}

/** Starts chromium headless on a random DevTools port. */
export async function launchChromium(): Promise<Chromium> {
  if (!CHROMIUM) throw new Error("chromium is missing");
  const profile = await Deno.makeTempDir({ prefix: "sluice-chromium-" });
  const child = spawnGroup(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      "--hide-scrollbars",
      "--force-color-profile=srgb",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      "--window-size=1440,900",
      "about:blank",
    ],
  });
  let browser: Browser | undefined;
  try {
    const active = await waitFor("chromium to write DevToolsActivePort", async () => {
      try {
        const text = await Deno.readTextFile(`${profile}/DevToolsActivePort`);
        const [port, path] = text.split("\n");
        return port && path ? { port, path } : undefined;
      } catch {
        return undefined;
      }
    }, 30_000);
    browser = await puppeteer.connect({
      browserWSEndpoint: `ws://127.0.0.1:${active.port}${active.path}`,
      protocolTimeout: 30_000,
    });
  } catch (err) {
    killTree(child);
    await child.status;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw err;
  }
  const b = browser;
  return {
    browser: b,
    async page() {
      const page = await b.newPage();
      page.setDefaultTimeout(15_000);
      page.setDefaultNavigationTimeout(20_000);
      await page.setViewport({ width: 1440, height: 900 });
      return page;
    },
    async close() {
      await b.disconnect().catch(() => {});
      killTree(child);
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
