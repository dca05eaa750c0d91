/**
 * Events and a retrying writer for the SQL server sink tests.
 *
 * @module
 */

import { createEvent, type LogEvent, type Sink } from "../../mod.ts";

/**
 * Alerts with ids `burst:FIRST` … as the central stores them.
 *
 * @example
 * ```ts
 * import { alertBatch } from "./_sql_events.ts";
 * alertBatch(0, 2).length; // 2
 * ```
 */
export function alertBatch(first: number, n: number): LogEvent[] {
  const out: LogEvent[] = [];
  for (let i = first; i < first + n; i++) {
    const json = {
      timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      host: `vm-${i % 7}`,
      severity: i % 10 === 0 ? "critical" : "high",
      rule: `rule_${i % 13}`,
      file: `/srv/x/${i}`,
      hash: `h${i}`,
      msg: `alert ${i}`,
    };
    out.push(createEvent(JSON.stringify(json), {
      id: `burst:${String(i).padStart(8, "0")}`,
      host: json.host,
      fields: { category: "alerts", json },
    }));
  }
  return out;
}

/**
 * Writes a batch, retrying with a short back-off on rejection (as the
 * engine does) until the deadline.
 *
 * @example
 * ```ts ignore
 * import { writeWithRetry } from "./_sql_events.ts";
 * await writeWithRetry(sink, batch, 30_000);
 * ```
 */
export async function writeWithRetry(
  sink: Sink,
  batch: LogEvent[],
  timeoutMs: number,
): Promise<number> {
  const until = Date.now() + timeoutMs;
  let retries = 0;
  while (true) {
    try {
      await sink.write(batch);
      return retries;
    } catch (err) {
      if (Date.now() > until) throw new Error(`write kept failing for ${timeoutMs} ms: ${err}`);
      retries++;
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** retries, 1000)));
    }
  }
}

/**
 * Runs the central example with `--db URL` and a VM sending it `total`
 * alerts (20k by default) over RELP, kills the central with SIGKILL once
 * `killAt` alerts are stored (when given) and starts it again, and waits
 * until `stored()` reaches the total; both stop cleanly after.
 *
 * @example
 * ```ts ignore
 * import { centralBurst } from "./_sql_events.ts";
 * await centralBurst("postgres://sluice@127.0.0.1:5432/sluice", async () => 0);
 * ```
 */
export async function centralBurst(
  url: string,
  stored: () => Promise<number>,
  options: { total?: number; killAt?: number } = {},
): Promise<number> {
  const { startRunner } = await import("../examples/_procs.ts");
  const { freePort } = await import("../fixtures/sql_servers.ts");
  const { waitFor } = await import("../_peers.ts");
  const { syntheticAlert } = await import("../../mod.ts");
  const total = options.total ?? 20_000;
  const dir = await Deno.makeTempDir({ prefix: "sluice-sqlburst-" });
  const relpPort = freePort();
  const central = new URL("../../examples/pipeline.central.ts", import.meta.url).pathname;
  const vm = new URL("../../examples/pipeline.vm.ts", import.meta.url).pathname;
  const centralArgs = [
    "--state-dir",
    `${dir}/central-state`,
    "--log-level",
    "warn",
    central,
    "--data",
    `${dir}/central`,
    "--json-port",
    "0",
    "--relp-port",
    String(relpPort),
    "--syslog-port",
    "0",
    "--ui",
    "off",
    "--db",
    url,
  ];
  const alerts = `${dir}/vm/alerts.jsonl`;
  const vmArgs = [
    "--state-dir",
    `${dir}/vm-state`,
    "--log-level",
    "warn",
    vm,
    "--central",
    "127.0.0.1",
    "--relp-port",
    String(relpPort),
    "--alerts",
    alerts,
    "--yara",
    `${dir}/vm/yara.jsonl`,
    "--data",
    `${dir}/vm`,
    "--host",
    "burstvm",
  ];
  type R = ReturnType<typeof startRunner>;
  let c: R | undefined;
  let v: R | undefined;
  try {
    await Deno.mkdir(`${dir}/vm`, { recursive: true });
    const lines = Array.from({ length: total }, (_, i) => syntheticAlert(i) + "\n");
    await Deno.writeTextFile(alerts, lines.join(""));
    c = startRunner(centralArgs);
    await c.waitFor(/RELP\s+127\.0\.0\.1:\d+/, 90_000);
    v = startRunner(vmArgs);
    if (options.killAt !== undefined) {
      const at = options.killAt;
      await waitFor(`${at} alerts in the server`, async () => (await stored()) >= at, 120_000);
      await c.kill();
      console.log(`  central killed with ${await stored()} of ${total} alerts stored`);
      c = startRunner(centralArgs);
      await c.waitFor(/RELP\s+127\.0\.0\.1:\d+/, 90_000);
    }
    await waitFor(
      `all ${total} alerts in the server`,
      async () => (await stored()) >= total,
      240_000,
    );
    const vmCode = await v.stop();
    v = undefined;
    const centralCode = await c.stop();
    c = undefined;
    if (vmCode !== 0 || centralCode !== 0) {
      throw new Error(`exit codes: vm ${vmCode}, central ${centralCode}`);
    }
    return total;
  } finally {
    await v?.kill();
    await c?.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A TCP proxy to a server that can stop forwarding (a half-open network path). */
export interface BlackholeProxy {
  /** The port to connect to instead of the server's. */
  port: number;
  /** While true, bytes in either direction are swallowed. */
  blackhole: boolean;
  /** Stops listening and closes every connection. */
  close(): void;
}

/**
 * Starts a {@linkcode BlackholeProxy} to `127.0.0.1:target`.
 *
 * @example
 * ```ts ignore
 * import { blackholeProxy } from "./_sql_events.ts";
 * const proxy = blackholeProxy(5432);
 * proxy.close();
 * ```
 */
export function blackholeProxy(target: number): BlackholeProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const proxy: BlackholeProxy = {
    port: (listener.addr as Deno.NetAddr).port,
    blackhole: false,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    },
  };
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(65536);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        if (!proxy.blackhole) {
          let at = 0;
          while (at < n) at += await to.write(buf.subarray(at, n));
        }
      }
    } catch {
      // closed
    }
    try {
      to.close();
    } catch {
      // already closed
    }
  };
  (async () => {
    try {
      for await (const client of listener) {
        const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
        conns.add(client);
        conns.add(server);
        pump(client, server);
        pump(server, client);
      }
    } catch {
      // listener closed
    }
  })();
  return proxy;
}
