/**
 * Dashboard users: adding, changing and removing them (for `sluice user`),
 * and the first admin when there is none: from `ADMIN_USER` /
 * `ADMIN_PASSWORD` (or `SLUICE_ADMIN_USER` / `SLUICE_ADMIN_PASSWORD`), or
 * else `admin` with a random password written to a file only its owner can
 * read. There is no known default password.
 *
 * @module
 */

import type { UiTables, UserRole } from "../store/types.ts";
import { hashPassword, randomPassword } from "./password.ts";

/**
 * Checks a user name: 1–64 characters of letters, digits, `.`, `_`, `@`, `-`.
 *
 * @param name The name.
 * @returns The name.
 * @throws {RangeError} When it is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkUserName } from "./users.ts";
 * assert.equal(checkUserName("alice"), "alice");
 * assert.throws(() => checkUserName("a b"));
 * ```
 */
export function checkUserName(name: string): string {
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
    throw new RangeError(
      `user: a name is 1 to 64 letters, digits, ".", "_", "@" or "-", got "${name}"`,
    );
  }
  return name;
}

/**
 * Checks a role.
 *
 * @param role The role text.
 * @returns The role.
 * @throws {RangeError} When it is not `admin` or `viewer`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkRole } from "./users.ts";
 * assert.equal(checkRole("viewer"), "viewer");
 * ```
 */
export function checkRole(role: string): UserRole {
  if (role !== "admin" && role !== "viewer") {
    throw new RangeError(`user: a role is "admin" or "viewer", got "${role}"`);
  }
  return role;
}

/**
 * Checks a password: at least 8 characters.
 *
 * @param password The password.
 * @returns The password.
 * @throws {RangeError} When it is shorter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPassword } from "./users.ts";
 * assert.throws(() => checkPassword("short"));
 * ```
 */
export function checkPassword(password: string): string {
  if (password.length < 8) {
    throw new RangeError("user: a password has at least 8 characters");
  }
  return password;
}

/** What {@linkcode ensureAdmin} did. */
export interface EnsureAdminResult {
  /** `existing`: there was an admin; `env`: made from the environment; `generated`: random. */
  how: "existing" | "env" | "generated";
  /** The admin's name when one was made. */
  user?: string;
  /** Where a generated password was written. */
  passwordFile?: string;
}

/**
 * Makes sure the dashboard has an admin.
 *
 * @param ui The store's UI tables.
 * @param env The environment.
 * @param dataDir Where a generated password's file goes.
 * @returns What was done.
 *
 * @example
 * ```ts ignore
 * const r = await ensureAdmin(store.ui, Deno.env.toObject(), "./data");
 * if (r.passwordFile) console.error(`admin password in ${r.passwordFile}`);
 * ```
 */
export async function ensureAdmin(
  ui: UiTables,
  env: Readonly<Record<string, string | undefined>>,
  dataDir: string,
): Promise<EnsureAdminResult> {
  if (await ui.countUsers("admin") > 0) return { how: "existing" };
  const user = env.ADMIN_USER ?? env.SLUICE_ADMIN_USER;
  const password = env.ADMIN_PASSWORD ?? env.SLUICE_ADMIN_PASSWORD;
  if (user && password) {
    checkUserName(user);
    await ui.addUser({ name: user, role: "admin", passwordHash: await hashPassword(password) });
    return { how: "env", user };
  }
  const name = user ?? "admin";
  checkUserName(name);
  const generated = randomPassword();
  await Deno.mkdir(dataDir, { recursive: true });
  const passwordFile = `${dataDir}/ui-admin-password.txt`;
  // Created 0600 before the secret goes in; an old file is replaced.
  await Deno.remove(passwordFile).catch(() => {});
  const file = await Deno.open(passwordFile, { write: true, createNew: true, mode: 0o600 });
  try {
    await file.write(new TextEncoder().encode(`user: ${name}\npassword: ${generated}\n`));
  } finally {
    file.close();
  }
  await Deno.chmod(passwordFile, 0o600).catch(() => {});
  await ui.addUser({ name, role: "admin", passwordHash: await hashPassword(generated) });
  return { how: "generated", user: name, passwordFile };
}
