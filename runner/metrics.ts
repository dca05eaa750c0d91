/**
 * The runner's optional stats endpoint: Prometheus text at `/metrics`,
 * JSON at `/stats`.
 *
 * @module
 */

import type { StatsRegistry } from "../core/stats.ts";

/**
 * Parses `HOST:PORT`, `:PORT` or `PORT` (binding 127.0.0.1 unless a host is given).
 *
 * @param address The address text.
 * @returns Host name and port.
 * @throws {RangeError} When the port is not 0–65535.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseListenAddress } from "./metrics.ts";
 * assert.ok(parseListenAddress(":9100").hostname === "127.0.0.1");
 * ```
 */
export function parseListenAddress(address: string): { hostname: string; port: number } {
  const i = address.lastIndexOf(":");
  const host = i < 0 ? "" : address.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  const port = Number(i < 0 ? address : address.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `--metrics: expected HOST:PORT with a port from 0 to 65535, got "${address}"`,
    );
  }
  return { hostname: host || "127.0.0.1", port };
}

/**
 * Serves the stats of a running pipeline.
 *
 * @param address `HOST:PORT` to listen on.
 * @param stats The registry to serve, or an object returning the current one (it changes on reload).
 * @returns The server (call `shutdown()` to stop it).
 *
 * @example
 * ```ts
 * import { serveMetrics } from "./metrics.ts";
 * import { StatsRegistry } from "../core/stats.ts";
 * const server = serveMetrics("127.0.0.1:0", new StatsRegistry());
 * await server.shutdown();
 * ```
 */
export function serveMetrics(
  address: string,
  stats: StatsRegistry | { current(): StatsRegistry },
): Deno.HttpServer<Deno.NetAddr> {
  const { hostname, port } = parseListenAddress(address);
  const registry = () => ("current" in stats ? stats.current() : stats);
  return Deno.serve({ hostname, port, onListen: () => {} }, (req) => {
    const { pathname } = new URL(req.url);
    if (pathname === "/metrics") {
      return new Response(registry().toPrometheus(), {
        headers: { "content-type": "text/plain; version=0.0.4" },
      });
    }
    if (pathname === "/stats") return Response.json(registry().toJSON());
    return new Response("not found: try /metrics or /stats\n", { status: 404 });
  });
}
