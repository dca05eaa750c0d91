/**
 * Dashboard sessions: a random 256-bit token in an HttpOnly,
 * SameSite=Strict cookie (Secure under TLS); the server keeps only its
 * SHA-256, so a copy of the database logs nobody in. Each session carries a
 * CSRF secret that every state-changing form sends back.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { SessionRow, UiTables } from "../store/types.ts";

/** The session cookie's name. */
export const SESSION_COOKIE = "sluice_session";

/** How long a session lives without use, in ms. @default 8 hours */
export const SESSION_TTL_MS = 8 * 3600_000;

/**
 * The session cookie's attributes: HttpOnly, SameSite=Strict, Path=/, the
 * session's lifetime, and Secure under TLS.
 *
 * @param secure Whether the dashboard is served over TLS.
 * @returns Options for Hono's `setCookie`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sessionCookieOptions } from "./session.ts";
 * assert.equal(sessionCookieOptions(true).secure, true);
 * ```
 */
export function sessionCookieOptions(secure: boolean): {
  httpOnly: true;
  sameSite: "Strict";
  secure: boolean;
  path: "/";
  maxAge: number;
} {
  return { httpOnly: true, sameSite: "Strict", secure, path: "/", maxAge: SESSION_TTL_MS / 1000 };
}

function _b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/**
 * The SHA-256 of a session token, hex: what the server stores.
 *
 * @param token The cookie's token.
 * @returns 64 hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tokenHash } from "./session.ts";
 * assert.equal(tokenHash("a").length, 64);
 * ```
 */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * Creates a session for a user.
 *
 * @param ui The store's UI tables.
 * @param user The user's name.
 * @param now The time, ms.
 * @returns The token for the cookie (never stored) and the CSRF secret.
 *
 * @example
 * ```ts ignore
 * const { token } = await createSession(store.ui, "admin");
 * ```
 */
export async function createSession(
  ui: UiTables,
  user: string,
  now: number = Date.now(),
): Promise<{ token: string; csrf: string }> {
  const token = _b64url(crypto.getRandomValues(new Uint8Array(32)));
  const csrf = _b64url(crypto.getRandomValues(new Uint8Array(32)));
  await ui.addSession({
    tokenHash: tokenHash(token),
    user,
    expiresAt: now + SESSION_TTL_MS,
    csrfSecret: csrf,
  });
  return { token, csrf };
}

/**
 * Finds the live session of a token, sliding its expiry forward at most
 * once a minute. Never throws: a missing, expired or malformed token gives
 * `undefined`.
 *
 * @param ui The store's UI tables.
 * @param token The cookie's token.
 * @param now The time, ms.
 * @returns The session row.
 *
 * @example
 * ```ts ignore
 * const session = await readSession(store.ui, cookieToken);
 * ```
 */
export async function readSession(
  ui: UiTables,
  token: string | undefined,
  now: number = Date.now(),
): Promise<SessionRow | undefined> {
  if (!token || token.length > 100) return undefined;
  try {
    const hash = tokenHash(token);
    const row = await ui.getSession(hash, now);
    if (!row) return undefined;
    if (Date.parse(row.expires) - now < SESSION_TTL_MS - 60_000) {
      await ui.touchSession(hash, now + SESSION_TTL_MS);
    }
    return row;
  } catch {
    return undefined;
  }
}

/**
 * Compares a CSRF token from a form with the session's secret in constant time.
 *
 * @param given The token the request carried.
 * @param secret The session's secret.
 * @returns Whether they are equal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csrfMatches } from "./session.ts";
 * assert.ok(csrfMatches("abc", "abc") && !csrfMatches("abd", "abc") && !csrfMatches(undefined, "abc"));
 * ```
 */
export function csrfMatches(given: string | undefined | null, secret: string): boolean {
  if (typeof given !== "string" || given.length !== secret.length || secret.length === 0) {
    return false;
  }
  return timingSafeEqual(new TextEncoder().encode(given), new TextEncoder().encode(secret));
}
