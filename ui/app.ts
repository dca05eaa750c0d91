/**
 * Builds the dashboard's Hono app over a {@linkcode SiemStore}: security
 * headers on every answer, static assets, the login page, then a session
 * on every other route and a CSRF token on every request that changes
 * something, then the pages.
 *
 * @module
 */

import { Hono } from "../core/_deps/hono.ts";
import { getCookie } from "../core/_deps/hono_cookie.ts";
import type { SiemStore } from "../store/types.ts";
import { assetRoutes } from "./assets.ts";
import type { UiDeps, UiEnv } from "./context.ts";
import { type LoginLimiter, loginLimiter } from "./rate_limit.ts";
import { csrfMatches, readSession, SESSION_COOKIE } from "./session.ts";
import { loginRoutes, logoutRoute } from "./routes/login.tsx";
import { overviewRoutes } from "./routes/overview.tsx";
import { alertsRoutes } from "./routes/alerts.tsx";
import { alertRoutes } from "./routes/alert.tsx";
import { hostsRoutes } from "./routes/hosts.tsx";
import { authRoutes } from "./routes/auth.tsx";
import { firewallRoutes } from "./routes/firewall.tsx";
import { tailRoutes } from "./routes/tail.tsx";
import { monitoredRoutes } from "./routes/monitored.tsx";
import { responsesRoutes } from "./routes/responses.tsx";
import { usersRoutes } from "./routes/users.tsx";
import type { Responder } from "../respond/responder.ts";
import { archiveDirFor } from "../archive/read.ts";

/** The Content-Security-Policy of every answer: nothing inline, nothing from elsewhere. */
export const CSP =
  "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/** Options for {@linkcode createUiApp}. */
export interface UiAppOptions {
  /** The store the pages read and the UI tables live in. */
  store: SiemStore;
  /** Served over TLS: cookies get `Secure`. @default {false} */
  secure?: boolean;
  /** Failed-login limiter. @default {loginLimiter()} (10 per 5 min per address) */
  limiter?: LoginLimiter;
  /** "Now", ms. @default {Date.now} */
  now?: () => number;
  /** How often a live tail reads the store, ms. @default {500} */
  tailPollMs?: number;
  /** Heartbeat interval of hosts that report none, ms. @default {60000} */
  hostIntervalMs?: number;
  /** Ends live tails when aborted (the server stops). */
  signal?: AbortSignal;
  /** Active response, when it runs in this process: the Responses page's block/unblock. */
  respond?: () => Responder | undefined;
  /** The SIEM database file (SQLite): the Monitored hosts page manages its `monitored_hosts`. @default {none: that page only says so} */
  database?: string;
  /**
   * The Parquet archive directory `--retain-db` moves old rows to: the Alerts
   * page (and its export) reads the archived alerts of ranges that reach it.
   * @default {`archives/` beside `database` (where the central archives to); none without it}
   */
  archiveDir?: string;
  /** Where unexpected errors are reported. @default {console.error} */
  onError?: (err: unknown) => void;
}

/**
 * Creates the dashboard app. Serve it with `Deno.serve((req, info) =>
 * app.fetch(req, { remoteAddr: info.remoteAddr }))` so the login limiter
 * sees the peer's address (what {@linkcode uiService} does).
 *
 * @param options Store and settings.
 * @returns The Hono app.
 *
 * @example
 * ```ts ignore
 * import { createUiApp } from "./app.ts";
 * import { openSqliteStore } from "../store/sqlite.ts";
 * const app = createUiApp({ store: await openSqliteStore({ database: "data/siem.db" }) });
 * const res = await app.request("/login");
 * ```
 */
export function createUiApp(options: UiAppOptions): Hono<UiEnv> {
  const deps: UiDeps = {
    store: options.store,
    now: options.now ?? Date.now,
    tailPollMs: options.tailPollMs ?? 500,
    signal: options.signal ?? new AbortController().signal,
    hostIntervalMs: options.hostIntervalMs ?? 60_000,
    ...(options.respond ? { respond: options.respond } : {}),
    ...(options.database ? { database: options.database } : {}),
  };
  const archiveDir = options.archiveDir ??
    (options.database ? archiveDirFor(options.database) : undefined);
  if (archiveDir !== undefined) deps.archiveDir = archiveDir;
  const secure = options.secure ?? false;
  const onError = options.onError ?? ((err: unknown) => console.error("ui:", err));
  const app = new Hono<UiEnv>();

  app.use("*", async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set("Content-Security-Policy", CSP);
    h.set("X-Content-Type-Options", "nosniff");
    h.set("X-Frame-Options", "DENY");
    h.set("Referrer-Policy", "no-referrer");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    if (secure) h.set("Strict-Transport-Security", "max-age=31536000");
    if (!h.has("Cache-Control")) h.set("Cache-Control", "no-store");
  });
  app.onError((err, c) => {
    onError(err);
    return c.text("Internal error; the server log has the details", 500);
  });
  app.notFound((c) => c.text("Not found", 404));

  // One limiter: wrong passwords at login and at a password change count together.
  const limiter = options.limiter ?? loginLimiter();
  assetRoutes(app);
  loginRoutes(app, deps, { secure, limiter });

  // Everything below needs a session.
  app.use("*", async (c, next) => {
    const session = await readSession(deps.store.ui, getCookie(c, SESSION_COOKIE), deps.now());
    const user = session ? await deps.store.ui.getUser(session.user) : undefined;
    if (!session || !user) {
      if (c.req.method === "GET" || c.req.method === "HEAD") {
        const url = new URL(c.req.url);
        const next = url.pathname === "/"
          ? ""
          : `?next=${encodeURIComponent(url.pathname + url.search)}`;
        return c.redirect(`/login${next}`, 303);
      }
      return c.text("Unauthorized: sign in first", 401);
    }
    c.set("session", session);
    c.set("role", user.role);
    await next();
  });
  // Every request that may change something carries the session's CSRF token.
  app.use("*", async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return await next();
    let given = c.req.header("x-csrf-token");
    if (!given) {
      const type = c.req.header("content-type") ?? "";
      if (
        type.startsWith("application/x-www-form-urlencoded") ||
        type.startsWith("multipart/form-data")
      ) {
        const form = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
        if (typeof form._csrf === "string") given = form._csrf;
      }
    }
    if (!csrfMatches(given, c.get("session").csrf_secret)) {
      return c.text("Forbidden: the CSRF token is missing or wrong; reload the page", 403);
    }
    await next();
  });

  logoutRoute(app, deps, secure);
  overviewRoutes(app, deps);
  alertsRoutes(app, deps);
  alertRoutes(app, deps);
  hostsRoutes(app, deps);
  authRoutes(app, deps);
  firewallRoutes(app, deps);
  tailRoutes(app, deps);
  responsesRoutes(app, deps);
  monitoredRoutes(app, deps);
  usersRoutes(app, deps, { secure, limiter });
  return app;
}
