/**
 * The dashboard's `host:port` option.
 *
 * @module
 */

/**
 * Splits `host:port` (`[::1]:8080` for IPv6).
 *
 * @param listen The text.
 * @returns Host and port.
 * @throws {RangeError} When it is not `host:port` with a port from 0 to 65535.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseListen } from "./listen.ts";
 * assert.deepEqual(parseListen("127.0.0.1:8080"), { hostname: "127.0.0.1", port: 8080 });
 * assert.deepEqual(parseListen("[::1]:0"), { hostname: "::1", port: 0 });
 * ```
 */
export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new RangeError(`ui: "listen" must be host:port, got "${listen}"`);
  }
  return { hostname: (m[1] ?? m[2]) as string, port };
}
