/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * The login and logout routes. A wrong password and an unknown user get the
 * same answer, after the same argon2id work (a dummy hash stands in for a
 * missing user); failed attempts are limited per source address; the login
 * form carries a CSRF token bound to a short-lived cookie.
 *
 * @module
 */

import type { Context, Hono } from "../../core/_deps/hono.ts";
import { deleteCookie, getCookie, setCookie } from "../../core/_deps/hono_cookie.ts";
import { Layout } from "../components/layout.tsx";
import type { UiDeps, UiEnv } from "../context.ts";
import { dummyHash, verifyPassword } from "../password.ts";
import type { LoginLimiter } from "../rate_limit.ts";
import { createSession, SESSION_COOKIE, SESSION_TTL_MS, tokenHash } from "../session.ts";
import { csrfMatches } from "../session.ts";

/** The cookie that binds the login form's CSRF token. */
const LOGIN_COOKIE = "sluice_login";

/** Options of {@linkcode loginRoutes}. */
export interface LoginRouteOptions {
  /** Cookies get `Secure` (the dashboard is served over TLS). */
  secure: boolean;
  /** The per-address limiter of failed logins. */
  limiter: LoginLimiter;
}

function _token(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

function _safeNext(next: unknown): string {
  return typeof next === "string" && /^\/(?![\/\\])[\x21-\x7e]*$/.test(next) ? next : "/";
}

function _page(csrf: string, message: string, user = "", next = "/") {
  return (
    <Layout title="Sign in">
      <div class="login">
        <form method="post" action="/login" class="card">
          <h1>
            <span class="logo">◆</span> sluice
          </h1>
          <p class="muted">Sign in to the dashboard</p>
          {message ? <p class="error" role="alert">{message}</p> : null}
          <input type="hidden" name="_csrf" value={csrf} />
          <input type="hidden" name="next" value={_safeNext(next)} />
          <label>
            User
            <input name="user" autocomplete="username" required value={user} autofocus />
          </label>
          <label>
            Password
            <input name="password" type="password" autocomplete="current-password" required />
          </label>
          <button type="submit">Sign in</button>
        </form>
      </div>
    </Layout>
  );
}

/**
 * Adds `GET/POST /login` and `POST /logout` to the app (before the session
 * middleware, which guards everything else).
 *
 * @param app The dashboard app.
 * @param deps Store and clock.
 * @param options Cookie security and the limiter.
 *
 * @example
 * ```ts ignore
 * loginRoutes(app, deps, { secure: false, limiter: loginLimiter() });
 * ```
 */
export function loginRoutes(app: Hono<UiEnv>, deps: UiDeps, options: LoginRouteOptions): void {
  const cookie = (name: string, value: string, maxAge: number) => ({
    name,
    value,
    opts: {
      httpOnly: true,
      sameSite: "Strict" as const,
      secure: options.secure,
      path: "/",
      maxAge,
    },
  });
  const loginToken = (c: Context<UiEnv>): string => {
    let token = getCookie(c, LOGIN_COOKIE);
    if (!token || token.length > 64) {
      token = _token();
      const k = cookie(LOGIN_COOKIE, token, 3600);
      setCookie(c, k.name, k.value, k.opts);
    }
    return token;
  };

  app.get("/login", (c) => {
    const token = loginToken(c);
    return c.html(_page(token, "", "", c.req.query("next") ?? "/"));
  });

  app.post("/login", async (c) => {
    const form = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
    const expected = getCookie(c, LOGIN_COOKIE);
    if (!expected || !csrfMatches(form._csrf as string | undefined, expected)) {
      return c.text("Forbidden: the form's CSRF token is missing or wrong; reload the page", 403);
    }
    const address = c.env?.remoteAddr?.hostname ?? "unknown";
    const name = typeof form.user === "string" ? form.user.slice(0, 100) : "";
    const password = typeof form.password === "string" ? form.password.slice(0, 1000) : "";
    const next = _safeNext(form.next);
    if (!options.limiter.allowed(address, deps.now())) {
      c.status(429);
      c.header("Retry-After", "300");
      return c.html(_page(expected, "Too many failed attempts; try again later.", name, next));
    }
    const user = name ? await deps.store.ui.getUser(name) : undefined;
    // The hash runs whether or not the user exists, so both answers take as long.
    const ok = await verifyPassword(password, user?.password_hash ?? await dummyHash());
    if (!user || !ok) {
      options.limiter.failed(address, deps.now());
      c.status(401);
      return c.html(_page(expected, "Wrong user name or password.", name, next));
    }
    options.limiter.succeeded(address);
    // Logins are rare: a good moment to drop the sessions that expired.
    await deps.store.ui.deleteExpiredSessions(deps.now());
    const { token } = await createSession(deps.store.ui, user.name, deps.now());
    const k = cookie(SESSION_COOKIE, token, SESSION_TTL_MS / 1000);
    setCookie(c, k.name, k.value, k.opts);
    deleteCookie(c, LOGIN_COOKIE, { path: "/", secure: options.secure });
    return c.redirect(next, 303);
  });
}

/**
 * Adds `POST /logout`, after the session and CSRF middleware: a page
 * elsewhere cannot log a user out.
 *
 * @param app The dashboard app.
 * @param deps The store.
 * @param secure Whether cookies are `Secure`.
 *
 * @example
 * ```ts ignore
 * logoutRoute(app, deps, false);
 * ```
 */
export function logoutRoute(app: Hono<UiEnv>, deps: UiDeps, secure: boolean): void {
  app.post("/logout", async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token) await deps.store.ui.deleteSession(tokenHash(token));
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure });
    return c.redirect("/login", 303);
  });
}
