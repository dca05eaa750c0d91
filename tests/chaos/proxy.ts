/**
 * A TCP proxy whose faults a test controls: `cut()` resets every connection
 * it carries, `stall(ms)` stops moving bytes (no close, no error) on every
 * connection, old and new, for a while. Used by the chaos harness between a
 * VM and the central.
 *
 * @module
 */

/** A running proxy. */
export interface ChaosProxy {
  /** The port clients connect to. */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Closes every open connection on both sides, at once. */
  cut(): number;
  /** Moves no bytes on any connection for `ms` milliseconds. */
  stall(ms: number): Promise<void>;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

interface _Pair {
  client: Deno.Conn;
  upstream: Deno.Conn | null;
  closed: boolean;
}

/**
 * Starts a proxy on 127.0.0.1 that forwards each connection to `target`.
 * When the target refuses, the client's connection is closed (as a dead
 * central would look to the VM).
 *
 * @param target Port on 127.0.0.1 to forward to.
 * @returns The proxy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startChaosProxy } from "./proxy.ts";
 * const echo = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const proxy = startChaosProxy((echo.addr as Deno.NetAddr).port);
 * assert.ok(proxy.port > 0);
 * await proxy.close();
 * echo.close();
 * ```
 */
export function startChaosProxy(target: number): ChaosProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pairs = new Set<_Pair>();
  let accepted = 0;
  let resume: Promise<void> | null = null;
  const tasks = new Set<Promise<void>>();

  const closePair = (p: _Pair) => {
    if (p.closed) return;
    p.closed = true;
    pairs.delete(p);
    for (const c of [p.client, p.upstream]) {
      try {
        c?.close();
      } catch {
        // already closed
      }
    }
  };

  const pump = async (p: _Pair, from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (!p.closed) {
        while (resume) await resume;
        const n = await from.read(buf);
        if (n === null) break;
        while (resume && !p.closed) await resume;
        let off = 0;
        while (off < n && !p.closed) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // a cut or a reset: the pair is closed below
    }
    closePair(p);
  };

  const serve = async (client: Deno.Conn) => {
    const p: _Pair = { client, upstream: null, closed: false };
    pairs.add(p);
    try {
      while (resume) await resume;
      p.upstream = await Deno.connect({ hostname: "127.0.0.1", port: target });
    } catch {
      closePair(p);
      return;
    }
    if (p.closed) {
      closePair(p);
      return;
    }
    await Promise.all([pump(p, client, p.upstream), pump(p, p.upstream, client)]);
  };

  const track = (t: Promise<void>) => {
    tasks.add(t);
    t.finally(() => tasks.delete(t));
  };

  track((async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        track(serve(conn));
      }
    } catch {
      // listener closed
    }
  })());

  return {
    port: (listener.addr as Deno.NetAddr).port,
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    cut() {
      const n = pairs.size;
      for (const p of [...pairs]) closePair(p);
      return n;
    },
    async stall(ms) {
      let release!: () => void;
      resume = new Promise((r) => (release = r));
      await new Promise((r) => setTimeout(r, ms));
      resume = null;
      release();
    },
    async close() {
      try {
        listener.close();
      } catch {
        // already closed
      }
      for (const p of [...pairs]) closePair(p);
      await Promise.allSettled([...tasks]);
    },
  };
}
