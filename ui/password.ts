/**
 * Password hashing for dashboard users: argon2id with a random 16-byte salt
 * per user, stored in the PHC string format
 * (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), so the cost can rise later
 * without breaking stored hashes.
 *
 * The argon2 is @noble/hashes' (plain JavaScript), not hash-wasm's
 * WebAssembly (the same hashes: a stored one verifies with either). Compiling
 * WebAssembly touched about 9 MB of the Deno binary's pages that the central
 * otherwise never reads, counted in its RSS for good (measured in a process
 * like the central's: +9.1 to 9.4 MB after one hash, against +4.4 to 4.9 MB
 * for the JavaScript one); the JavaScript one is 3 to 5 times slower (0.4 to
 * 0.75 s a hash here against 0.08 to 0.17 s) and yields to the event loop
 * while it works, so the central goes on meanwhile.
 *
 * @module
 */

import { argon2idAsync } from "../core/_deps/noble_argon2.ts";
import { collectGarbage } from "./_gc.ts";

/**
 * The cost: OWASP's argon2id setting with the least memory (7 MiB, 5
 * passes), so a login's share of the central's memory stays small.
 */
const _COST = { m: 7168, t: 5, p: 1, dkLen: 32 } as const;

/**
 * Each hash allocates its 7 MiB block in the V8 heap, which V8 counts but
 * keeps until a full collection: one runs after each hash (logins are rare
 * and rate-limited).
 */
const _collect = collectGarbage;

/** The most memory (KiB) and passes a stored hash may ask for. */
const _MAX = { m: 1 << 20, t: 64 } as const;

function _b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

function _unb64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function _argon2(
  password: string,
  salt: Uint8Array,
  cost: { m: number; t: number; p: number; dkLen: number },
): Promise<Uint8Array> {
  return await argon2idAsync(new TextEncoder().encode(password), salt, {
    ...cost,
    asyncTick: 10,
  });
}

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
    const hash = await _argon2(password, salt, _COST);
    return `$argon2id$v=19$m=${_COST.m},t=${_COST.t},p=${_COST.p}$${_b64(salt)}$${_b64(hash)}`;
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
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/
      .exec(hash);
    if (!m) return false;
    const [cost, salt, want] = [
      { m: Number(m[1]), t: Number(m[2]), p: Number(m[3]) },
      _unb64(m[4] as string),
      _unb64(m[5] as string),
    ];
    if (cost.m > _MAX.m || cost.t > _MAX.t || cost.p !== 1 || want.length < 16) return false;
    const got = await _argon2(password, salt, { ...cost, dkLen: want.length });
    // Constant time: every byte compared whatever the first difference.
    let diff = 0;
    for (let i = 0; i < want.length; i++) diff |= (got[i] as number) ^ (want[i] as number);
    return diff === 0;
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
