/**
 * What every route of the dashboard shares: the Hono environment type (the
 * connection's address, the signed-in user) and the app's dependencies.
 *
 * @module
 */

import type { Context } from "../core/_deps/hono.ts";
import type { SessionRow, SiemStore, UserRole } from "../store/types.ts";
import type { Viewer } from "./components/layout.tsx";
import type { Responder } from "../respond/responder.ts";

/** The Hono environment of the dashboard's routes. */
export interface UiEnv {
  /** Set per request by the server: the peer's address. */
  Bindings: { remoteAddr?: { hostname: string } };
  /** Set by the session middleware. */
  Variables: { session: SessionRow; role: UserRole };
}

/** What routes need besides the request. */
export interface UiDeps {
  /** Where the SIEM tables are read and the UI tables written. */
  store: SiemStore;
  /** "Now", ms (tests pin it). */
  now: () => number;
  /** How often the live tail reads the store, ms. */
  tailPollMs: number;
  /** Aborted when the dashboard stops: live tails end. */
  signal: AbortSignal;
  /** Heartbeat interval of hosts that report none, ms. */
  hostIntervalMs: number;
  /** Active response, when it runs in this process (the central with --respond). */
  respond?: () => Responder | undefined;
  /** The SIEM database file, for the Monitored hosts page's `monitored_hosts` registry. */
  database?: string;
  /** The Parquet archive directory: the Alerts page reads it for ranges the database no longer holds. */
  archiveDir?: string;
}

/**
 * The signed-in viewer of a request, for the page frame and forms.
 *
 * @param c The request's context (after the session middleware).
 * @returns User, role and CSRF token.
 *
 * @example
 * ```ts ignore
 * app.get("/x", (c) => c.html(<Layout title="x" viewer={viewerOf(c)} />));
 * ```
 */
export function viewerOf(c: Context<UiEnv>): Viewer {
  const session = c.get("session");
  return { user: session.user, role: c.get("role"), csrf: session.csrf_secret };
}
