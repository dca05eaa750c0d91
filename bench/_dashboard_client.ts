/**
 * The HTTP side of `bench/dashboard.ts`: a client that logs in to the
 * dashboard and keeps its cookies, the overview's page weight, and a wait
 * for a process's start-up CPU to go quiet.
 *
 * @module
 */

import { sleep } from "./lib.ts";

/**
 * A cookie jar of one site, enough for the dashboard's login.
 *
 * @example
 * ```ts ignore
 * import { DashboardClient } from "./_dashboard_client.ts";
 * const client = new DashboardClient("http://127.0.0.1:8080/", "bench", "bench-password-1");
 * await client.login();
 * const overview = await (await client.fetch("/")).text();
 * ```
 */
export class DashboardClient {
  readonly #cookies = new Map<string, string>();
  readonly #user: string;
  readonly #password: string;
  /** The dashboard's URL. */
  readonly base: string;

  /**
   * A client with no cookies yet.
   *
   * @param base The dashboard's URL.
   * @param user The user {@linkcode DashboardClient.login} signs in as.
   * @param password Their password.
   */
  constructor(base: string, user: string, password: string) {
    this.base = base;
    this.#user = user;
    this.#password = password;
  }

  /**
   * Fetches a path with the cookies kept so far, keeping the ones it sets; redirects are not followed.
   *
   * @param path The path, e.g. `/alerts`.
   * @param init As for `fetch`.
   * @returns The response.
   */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size) {
      headers.set("cookie", [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const res = await fetch(new URL(path, this.base), {
      ...init,
      headers,
      redirect: "manual",
    });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(";")[0] ?? "";
      const i = pair.indexOf("=");
      const value = pair.slice(i + 1);
      if (value === "" || /max-age=0/i.test(line)) this.#cookies.delete(pair.slice(0, i));
      else this.#cookies.set(pair.slice(0, i), value);
    }
    return res;
  }

  /**
   * Signs in through the login form (its CSRF token, then the POST).
   *
   * @throws {Error} When the login does not answer 303.
   */
  async login(): Promise<void> {
    const page = await (await this.fetch("/login")).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
    const res = await this.fetch("/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        _csrf: csrf,
        user: this.#user,
        password: this.#password,
        next: "/",
      }),
    });
    await res.body?.cancel();
    if (res.status !== 303) throw new Error(`dashboard: login answered ${res.status}`);
  }
}

/**
 * The overview's weight: its HTML and every script and style sheet it links, in bytes.
 *
 * @param client A signed-in client.
 * @returns Bytes per path, the overview (`/`) first.
 *
 * @example
 * ```ts ignore
 * import { DashboardClient, overviewWeight } from "./_dashboard_client.ts";
 * const client = new DashboardClient("http://127.0.0.1:8080/", "bench", "bench-password-1");
 * await client.login();
 * console.log(await overviewWeight(client));
 * ```
 */
export async function overviewWeight(client: DashboardClient): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const html = await (await client.fetch("/")).text();
  out.set("/", new TextEncoder().encode(html).byteLength);
  for (const m of html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="(\/[^"]+)"/g)) {
    const path = m[1] as string;
    if (out.has(path)) continue;
    const res = await client.fetch(path);
    const body = await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`dashboard: ${path} answered ${res.status}`);
    out.set(path, body.byteLength);
  }
  return out;
}

/**
 * Waits until a process has used no CPU for a second (start-up work done), at most 30 s.
 *
 * @param pid The process.
 *
 * @example
 * ```ts ignore
 * import { waitQuiet } from "./_dashboard_client.ts";
 * await waitQuiet(1234);
 * ```
 */
export async function waitQuiet(pid: number): Promise<void> {
  const ticks = () => {
    const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]?.split(" ") ?? [];
    return Number(f[11]) + Number(f[12]);
  };
  const end = Date.now() + 30_000;
  let last = ticks();
  while (Date.now() < end) {
    await sleep(1000);
    const now = ticks();
    if (now === last) return;
    last = now;
  }
}
