/**
 * A seeded SIEM database, a store over it, an admin and a viewer, and the
 * dashboard app; plus a cookie jar for requests made with `app.request`.
 */

import type { Hono } from "hono";
import { openSqliteStore } from "../../store/sqlite.ts";
import type { SiemStore } from "../../store/types.ts";
import { createUiApp, type UiAppOptions } from "../../ui/app.ts";
import type { UiEnv } from "../../ui/context.ts";
import { hashPassword } from "../../ui/password.ts";
import { seedSiem } from "./_seed.ts";

export const ADMIN = { user: "alice", password: "alice-password-1" };
export const VIEWER = { user: "victor", password: "victor-password-1" };

/** Alert fields an attacker controls, each trying to run a script in the page. */
export const XSS_ALERTS: Record<string, unknown>[] = [
  {
    host: "vm-x",
    severity: "critical",
    rule: "<script>window.__xss=1</script>",
    msg: `"><img src=x onerror="window.__xss=2">`,
    file: "javascript:window.__xss=3",
    hash: "<svg onload=window.__xss=4>",
    source: "yara",
  },
];

export interface Fixture {
  dir: string;
  database: string;
  store: SiemStore;
  app: Hono<UiEnv>;
  now: { ms: number };
  close(): Promise<void>;
}

let _template: Promise<string> | undefined;

/** Seeds once per process, copies the database for each fixture. */
function _seeded(now: number): Promise<string> {
  _template ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "sluice-ui-seed-" });
    await seedSiem(`${dir}/siem.db`, { now, alertsPerDay: 20, extraAlerts: XSS_ALERTS });
    return dir;
  })();
  return _template;
}

/** Removes the shared seed (call from the last test's finally or an unload handler). */
export async function removeSeed(): Promise<void> {
  if (_template) await Deno.remove(await _template, { recursive: true }).catch(() => {});
  _template = undefined;
}

/** Makes a fixture; options go to createUiApp. */
export async function fixture(options: Partial<UiAppOptions> = {}): Promise<Fixture> {
  const now = { ms: Date.now() };
  const seed = await _seeded(now.ms);
  const dir = await Deno.makeTempDir({ prefix: "sluice-ui-" });
  const database = `${dir}/siem.db`;
  await Deno.copyFile(`${seed}/siem.db`, database);
  const store = await openSqliteStore({ database });
  await store.ui.addUser({
    name: ADMIN.user,
    role: "admin",
    passwordHash: await hashPassword(ADMIN.password),
  });
  await store.ui.addUser({
    name: VIEWER.user,
    role: "viewer",
    passwordHash: await hashPassword(VIEWER.password),
  });
  const app = createUiApp({ store, now: () => now.ms, onError: () => {}, ...options });
  return {
    dir,
    database,
    store,
    app,
    now,
    async close() {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Cookies kept across requests, as a browser would for one site. */
export class Jar {
  readonly cookies = new Map<string, string>();
  readonly raw: string[] = [];
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      this.raw.push(line);
      const [pair] = line.split(";");
      const i = (pair as string).indexOf("=");
      const name = (pair as string).slice(0, i);
      const value = (pair as string).slice(i + 1);
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** Requests through the app with a jar and a peer address. */
export async function req(
  f: Fixture,
  jar: Jar,
  path: string,
  init: RequestInit & { form?: Record<string, string>; addr?: string } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (jar.cookies.size) headers.set("cookie", jar.header());
  let body = init.body;
  if (init.form) {
    body = new URLSearchParams(init.form).toString();
    headers.set("content-type", "application/x-www-form-urlencoded");
  }
  const res = await f.app.request(
    path,
    { method: init.method ?? (init.form ? "POST" : "GET"), headers, ...(body ? { body } : {}) },
    { remoteAddr: { hostname: init.addr ?? "127.0.0.1" } },
  );
  jar.take(res);
  return res;
}

/** The value of the first hidden `_csrf` input of a page. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error("no CSRF token in the page");
  return m[1] as string;
}

/** Logs in through the form; returns the jar holding the session. */
export async function login(
  f: Fixture,
  who: { user: string; password: string },
  addr = "127.0.0.1",
): Promise<{ jar: Jar; res: Response; html: string }> {
  const jar = new Jar();
  const page = await req(f, jar, "/login", { addr });
  const csrf = csrfOf(await page.text());
  const res = await req(f, jar, "/login", {
    addr,
    form: { _csrf: csrf, user: who.user, password: who.password, next: "/" },
  });
  return { jar, res, html: await res.text() };
}
