/**
 * Free TCP ports for tests that hand a port to another process (a central, sshd, postgres,
 * syslog-ng) and must bind it a moment later.
 *
 * Asking the kernel for port 0 and closing the listener hands out a port from the ephemeral range
 * (`net.ipv4.ip_local_port_range`, 32768–60999 by default): the very range every outgoing
 * connection of the parallel suite takes its source port from. A client connecting anywhere in
 * the gap between the close and the child's bind can take the port ("Address already in use",
 * seen in CI). So ports are drawn at random from below that range, where the kernel never hands
 * out a port by itself, checked by binding them, and never handed out twice by this process.
 *
 * @module
 */

const _given = new Set<number>();

/** The lowest ephemeral port of this machine (the kernel's own picks start here). */
function _ephemeralLow(): number {
  try {
    const text = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range");
    const low = Number(text.trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 2048) return low;
  } catch {
    // not Linux, or /proc hidden: the IANA default
  }
  return 49152;
}

const _LOW = 10000;
const _HIGH = Math.max(_LOW + 1000, _ephemeralLow()) - 1;

/**
 * A TCP port on 127.0.0.1 that is free now, outside the kernel's ephemeral range, and not
 * returned before by this process.
 *
 * @example
 * ```ts
 * import { freePort } from "./_ports.ts";
 * const port = freePort();
 * const listener = Deno.listen({ hostname: "127.0.0.1", port });
 * listener.close();
 * ```
 */
export function freePort(): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = _LOW + Math.floor(Math.random() * (_HIGH - _LOW + 1));
    if (_given.has(port)) continue;
    try {
      const l = Deno.listen({ hostname: "127.0.0.1", port });
      l.close();
    } catch {
      continue;
    }
    _given.add(port);
    return port;
  }
  throw new Error(`freePort(): no free port found in ${_LOW}–${_HIGH} after 200 tries`);
}
