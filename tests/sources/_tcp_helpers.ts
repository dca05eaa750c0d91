/**
 * Helpers of the TCP source's tests (tcp_test, tcp_tls_test): a collecting
 * source context, a started source, a sender.
 *
 * @module
 */

import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { memoryState } from "../../core/state.ts";
import { ComponentStats } from "../../core/stats.ts";
import type { SourceContext } from "../../core/types.ts";
import { tcpSource, type TcpSourceOptions } from "../../sources/tcp.ts";

/** UTF-8 encoder. */
export const enc = new TextEncoder();

/**
 * A source context that collects what is emitted; `gate` can hold emit() back.
 *
 * @example
 * ```ts ignore
 * const c = collector();
 * await source.start(c.ctx);
 * ```
 */
export function collector() {
  const events: LogEvent[] = [];
  const batches: number[] = [];
  const stats = new ComponentStats("source", "net", "tcp");
  let gate: Promise<void> | undefined;
  let waiters: Array<() => void> = [];
  const ctx: SourceContext = {
    name: "net",
    stats,
    state: memoryState(),
    log: createLogger("silent"),
    signal: new AbortController().signal,
    async emit(batch) {
      batches.push(batch.length);
      events.push(...batch);
      const w = waiters;
      waiters = [];
      for (const f of w) f();
      if (gate) await gate;
    },
  };
  return {
    ctx,
    events,
    batches,
    stats,
    hold(until: Promise<void>) {
      gate = until;
    },
    /** Resolves once `pred()` holds, checking after every emit and on a short poll. */
    async until(pred: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, 20);
          waiters.push(done);
          function done() {
            clearTimeout(t);
            resolve();
          }
        });
      }
    },
  };
}

/**
 * A TCP source started on a free port with a collector.
 *
 * @example
 * ```ts ignore
 * const { source, port, c } = await started({ framing: "newline" });
 * ```
 */
export async function started(options: Partial<TcpSourceOptions> = {}) {
  const source = tcpSource({ port: 0, host: "127.0.0.1", ...options });
  const c = collector();
  await source.start(c.ctx);
  const port = source.addr?.port as number;
  return { source, port, ...c };
}

/**
 * Connects, sends `bytes`, closes.
 *
 * @example
 * ```ts ignore
 * await send(port, "hello\n");
 * ```
 */
export async function send(port: number, bytes: Uint8Array | string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, typeof bytes === "string" ? enc.encode(bytes) : bytes);
  } finally {
    conn.close();
  }
}

/**
 * Writes all of `bytes` to a connection.
 *
 * @example
 * ```ts ignore
 * await writeAll(conn, enc.encode("x\n"));
 * ```
 */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/**
 * Reads until the peer closes; returns `true` once it did.
 *
 * @example
 * ```ts ignore
 * assert.ok(await closedByPeer(conn));
 * ```
 */
export async function closedByPeer(conn: Deno.Conn): Promise<boolean> {
  const buf = new Uint8Array(64);
  try {
    while ((await conn.read(buf)) !== null) {
      // the source never writes; keep reading until EOF
    }
  } catch {
    // a reset is a close too
  }
  return true;
}
