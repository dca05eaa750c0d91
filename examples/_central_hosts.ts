/**
 * Which host a JSON alert at the central belongs to (examples/pipeline.central.ts):
 * the host the JSON names, else the syslog header's, else the sender's address.
 *
 * @module
 */

import type { LogEvent } from "../mod.ts";

/**
 * A JSON alert's host when the transport did not already vouch for one: the JSON's
 * `host` (or `hostname`), else the HOSTNAME of a syslog header around it (rsyslog's
 * forwarding), else the sender's address.
 *
 * @param e The event; its `host` is set in place.
 *
 * @example
 * ```ts
 * import { stampHost } from "./_central_hosts.ts";
 * const e = { fields: { json: { hostname: "nas" } } } as unknown as Parameters<typeof stampHost>[0];
 * stampHost(e);
 * console.assert(e.host === "nas");
 * ```
 */
export function stampHost(e: LogEvent): void {
  if (e.host) return;
  const json = e.fields.json as { host?: unknown; hostname?: unknown } | undefined;
  const named = json?.host ?? json?.hostname;
  const header = (e.fields.syslog as { host?: unknown } | undefined)?.host;
  if (typeof named === "string" && named !== "") e.host = named;
  else if (typeof header === "string" && header !== "") e.host = header;
  else if (e.sourceIp) e.host = e.sourceIp;
}

/**
 * A JSON alert that came as syslog: the host the JSON names wins over the header's.
 *
 * @param e The event; its `host` is set in place when the JSON names one.
 *
 * @example
 * ```ts
 * import { jsonHostFirst } from "./_central_hosts.ts";
 * const e = { host: "relay", fields: { json: { host: "vm1" } } } as unknown as Parameters<
 *   typeof jsonHostFirst
 * >[0];
 * jsonHostFirst(e);
 * console.assert(e.host === "vm1");
 * ```
 */
export function jsonHostFirst(e: LogEvent): void {
  const json = e.fields.json as { host?: unknown; hostname?: unknown } | undefined;
  const named = json?.host ?? json?.hostname;
  if (typeof named === "string" && named !== "") e.host = named;
}
