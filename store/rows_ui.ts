/**
 * The dashboard's own rows of {@linkcode SiemStore}: its users and their
 * sessions (re-exported by `types.ts`, where the conventions are).
 *
 * @module
 */

import type { UserRole } from "./types.ts";

/**
 * A dashboard user.
 *
 * @example
 * ```ts
 * import type { UserRow } from "./types.ts";
 * const u: UserRow = { name: "ada", role: "admin", password_hash: "$argon2id$…", created: "2026-11-23T08:48:00.000Z" };
 * ```
 */
export interface UserRow {
  /** Login name (unique). */
  name: string;
  /** Role. */
  role: UserRole;
  /** The password hash in its own encoded form (argon2id or scrypt, salt included). */
  password_hash: string;
  /** When it was created, ISO 8601 UTC. */
  created: string;
}

/**
 * A dashboard session. The token itself is never stored, only its hash.
 *
 * @example
 * ```ts
 * import type { SessionRow } from "./types.ts";
 * const s: SessionRow = { token_hash: "ab12", user: "ada", expires: "2026-11-23T20:00:00.000Z", csrf_secret: "x" };
 * ```
 */
export interface SessionRow {
  /** Hash of the session token (hex or base64, the caller's choice). */
  token_hash: string;
  /** The user's name. */
  user: string;
  /** When it expires, ISO 8601 UTC. */
  expires: string;
  /** The session's CSRF secret. */
  csrf_secret: string;
}
