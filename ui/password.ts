/**
 * Password hashing for dashboard users: argon2id (hash-wasm) with a random
 * 16-byte salt per user, stored in the PHC string format
 * (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), so the cost can rise later
 * without breaking stored hashes.
 *
 * @module
 */

import { argon2id, argon2Verify } from "../core/_deps/hash_wasm.ts";
import { collectGarbage } from "./_gc.ts";

/**
 * The cost: OWASP's argon2id setting with the least memory (7 MiB, 5
 * passes). WebAssembly memory, once grown, stays with the process, so a
 * smaller block keeps the dashboard's share of the central's RSS small.
 */
const _COST = { memorySize: 7168, iterations: 5, parallelism: 1, hashLength: 32 } as const;

/**
 * hash-wasm builds a new WebAssembly instance, with its own 7 MiB memory, for
 * every argon2 call, and V8 does not count that memory as pressure: measured
 * here, RSS grew by 7.7 MB per login (30 logins: +230 MB) until a full GC,
 * which freed it all. So after each hash, one full GC (about 50 ms, as much
 * as the hash itself; logins are rare and rate-limited).
 */
const _collect = collectGarbage;

/**
 * Hashes a password with argon2id and a fresh random salt.
 *
 * @param password The password.
 * @returns The PHC-encoded hash.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashPassword, verifyPassword } from "./password.ts";
 * const hash = await hashPassword("correct horse");
 * assert.ok(hash.startsWith("$argon2id$"));
 * assert.ok(await verifyPassword("correct horse", hash));
 * ```
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  try {
    return await argon2id({ password, salt, ..._COST, outputType: "encoded" });
  } finally {
    _collect();
  }
}

/**
 * Checks a password against a stored hash. Never throws: a malformed hash
 * does not match.
 *
 * @param password The password given.
 * @param hash The stored PHC hash.
 * @returns Whether they match.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyPassword } from "./password.ts";
 * assert.equal(await verifyPassword("x", "not a hash"), false);
 * ```
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return await argon2Verify({ password, hash });
  } catch {
    return false;
  } finally {
    _collect();
  }
}

let _dummy: Promise<string> | undefined;

/**
 * A hash of a random password, made once: a login for a user that does not
 * exist is checked against it, so it costs the same time as a real one.
 *
 * @returns The dummy hash.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dummyHash, verifyPassword } from "./password.ts";
 * assert.equal(await verifyPassword("", await dummyHash()), false);
 * ```
 */
export function dummyHash(): Promise<string> {
  _dummy ??= hashPassword(crypto.randomUUID());
  return _dummy;
}

/**
 * A random password for a generated admin: 24 characters from a URL-safe
 * alphabet (about 143 bits).
 *
 * @returns The password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomPassword } from "./password.ts";
 * assert.equal(randomPassword().length, 24);
 * ```
 */
export function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}
