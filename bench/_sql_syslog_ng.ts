/**
 * syslog-ng's `sql()` destination loading rows into a SQL server, for the
 * postgres scenario's comparison: the rows as JSON lines over TCP into
 * `network()` → `json-parser()` → `sql(type(pgsql|mysql))` with flow
 * control, explicit commits of 5,000 rows, and the clock stopped when the
 * table holds every row.
 *
 * @module
 */

import { killTree, spawnGroup, waitFor } from "../tests/_peers.ts";
import { syslogNgBin } from "./lib.ts";
import { memoryFields, type MemoryPeak, sampleTree } from "./_memory.ts";
import type { MeasuredRow } from "./lib.ts";

/** Where syslog-ng's `sql()` writes. */
export interface SyslogNgSqlTarget {
  /** libdbi's driver name. */
  type: "pgsql" | "mysql";
  /** TCP port on 127.0.0.1. */
  port: number;
  /** User (no password: the test servers trust loopback). */
  user: string;
  /** Database. */
  database: string;
  /** Table, created beforehand with its indexes. */
  table: string;
  /** Columns, each filled from the JSON field of the same name. */
  columns: readonly string[];
}

const _DBD = "/usr/lib/x86_64-linux-gnu/dbd";

/**
 * Why syslog-ng's `sql()` cannot write to this server here, or `undefined`.
 *
 * @param type libdbi's driver name.
 * @returns The reason, naming the package to install.
 *
 * @example
 * ```ts
 * import { syslogNgSqlUnavailable } from "./_sql_syslog_ng.ts";
 * const why = syslogNgSqlUnavailable("pgsql"); // undefined when syslog-ng and libdbd-pgsql are installed
 * ```
 */
export function syslogNgSqlUnavailable(type: "pgsql" | "mysql"): string | undefined {
  if (!syslogNgBin()) return "syslog-ng is not installed (apt-get install syslog-ng-core)";
  const found = (path: string) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  };
  if (!found("/usr/lib/syslog-ng/3.38/libafsql.so")) {
    return "syslog-ng's sql() module is missing (apt-get install syslog-ng-mod-sql)";
  }
  if (!found(`${_DBD}/libdbd${type}.so`)) {
    return `libdbi's ${type} driver is missing (apt-get install libdbd-${type})`;
  }
  return undefined;
}

/**
 * The head of the tuned syslog-ng configurations the bench runs: version,
 * `log-fifo-size(200000)`, a TCP source on 127.0.0.1 with
 * `log-iw-size(100000)` (`s_json`) and `json-parser(prefix("json."))`
 * (`p_json`). Flow control is the log path's to set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syslogNgTunedInput } from "./_sql_syslog_ng.ts";
 * assert.match(syslogNgTunedInput(5514), /port\(5514\)[^;]*log-iw-size\(100000\)/);
 * ```
 */
export function syslogNgTunedInput(port: number): string {
  return `@version: 3.38
options { log-fifo-size(200000); };
source s_json {
  network(ip("127.0.0.1") port(${port}) transport("tcp") flags(no-parse) log-iw-size(100000) max-connections(10));
};
parser p_json { json-parser(prefix("json.")); };`;
}

/**
 * The configuration: one TCP source, JSON parsed, one `sql()` destination.
 *
 * @param target The server and table.
 * @param listen The TCP port syslog-ng listens on.
 * @returns The configuration text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syslogNgSqlConfig } from "./_sql_syslog_ng.ts";
 * const conf = syslogNgSqlConfig({ type: "pgsql", port: 5432, user: "u", database: "d", table: "t", columns: ["id"] }, 5514);
 * assert.match(conf, /flags\(flow-control\)/);
 * ```
 */
export function syslogNgSqlConfig(target: SyslogNgSqlTarget, listen: number): string {
  const cols = target.columns.map((c) => `"${c}"`).join(", ");
  const values = target.columns.map((c) => `"\${json.${c}}"`).join(", ");
  return `${syslogNgTunedInput(listen)}
destination d_sql {
  sql(
    type(${target.type}) host("127.0.0.1") port("${target.port}")
    username("${target.user}") password("") database("${target.database}")
    table("${target.table}") columns(${cols}) values(${values}) null("")
    flags(explicit-commits) batch-lines(5000) batch-timeout(1000)
  );
};
log { source(s_json); parser(p_json); destination(d_sql); flags(flow-control); };
`;
}

/**
 * Runs syslog-ng with {@linkcode syslogNgSqlConfig}, sends the lines, and
 * times until `count()` reaches `total`; syslog-ng's process is sampled
 * for memory meanwhile.
 *
 * @param target The server and table.
 * @param lines The rows as JSON lines.
 * @param total Rows the lines hold.
 * @param count Rows in the table now.
 * @param dir A scratch directory.
 * @param timeoutMs The deadline of the whole load.
 * @returns Seconds from the first byte sent to the last row stored, and the memory peak.
 * @throws When syslog-ng does not start or does not store every row by the deadline.
 *
 * @example
 * ```ts ignore
 * import { syslogNgSqlLoad } from "./_sql_syslog_ng.ts";
 * const { seconds } = await syslogNgSqlLoad(target, lines, 200_000, count, "/tmp/x", 600_000);
 * ```
 */
export async function syslogNgSqlLoad(
  target: SyslogNgSqlTarget,
  lines: Uint8Array,
  total: number,
  count: () => Promise<number>,
  dir: string,
  timeoutMs: number,
): Promise<{ seconds: number; memory: MemoryPeak }> {
  const bin = syslogNgBin();
  if (!bin) throw new Error(syslogNgSqlUnavailable(target.type));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const listen = listener.addr.port;
  listener.close();
  await Deno.writeTextFile(`${dir}/syslog-ng-sql.conf`, syslogNgSqlConfig(target, listen));
  const child = spawnGroup(bin, {
    args: [
      "-F",
      "-f",
      `${dir}/syslog-ng-sql.conf`,
      "--persist-file",
      `${dir}/syslog-ng-sql.persist`,
      "--pidfile",
      `${dir}/syslog-ng-sql.pid`,
      "--control",
      `${dir}/syslog-ng-sql.ctl`,
      "--no-caps",
    ],
    stdout: "null",
    stderr: "null",
  });
  const sampler = sampleTree(child.pid, { intervalMs: 100 });
  try {
    const conn = await waitFor(
      "syslog-ng sql() to listen",
      () => Deno.connect({ hostname: "127.0.0.1", port: listen }),
      30_000,
      100,
    );
    const t0 = performance.now();
    const sending = ReadableStream.from([lines]).pipeTo(conn.writable);
    await waitFor(
      `syslog-ng sql() to store ${total} rows in ${target.table}`,
      async () => (await count()) >= total,
      timeoutMs,
      100,
    );
    const seconds = (performance.now() - t0) / 1000;
    await sending;
    return { seconds, memory: sampler.stop() };
  } finally {
    sampler.stop();
    killTree(child);
    await child.status;
  }
}

/**
 * Rows as JSON lines (null values left out), for syslog-ng's `sql()`.
 *
 * @param rows Values in column order.
 * @param cols The columns' names.
 * @returns The lines, encoded.
 *
 * @example
 * ```ts
 * import { jsonLines } from "./_sql_syslog_ng.ts";
 * new TextDecoder().decode(jsonLines([["a", null]], ["x", "y"])); // '{"x":"a"}\n'
 * ```
 */
export function jsonLines(rows: readonly unknown[][], cols: readonly string[]): Uint8Array {
  const lines: string[] = [];
  for (const row of rows) {
    const o: Record<string, unknown> = {};
    for (let k = 0; k < cols.length; k++) if (row[k] !== null) o[cols[k] as string] = row[k];
    lines.push(JSON.stringify(o));
  }
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

/** What {@linkcode syslogNgSqlRow} loads and where. */
export interface SyslogNgSqlRowOptions {
  /** The bench scenario the row belongs to. */
  scenario: string;
  /** The server's TCP port on 127.0.0.1. */
  port: number;
  /** The table to create and fill. */
  table: string;
  /** Creates the table (a copy of the sink's, with its indexes). */
  create: () => Promise<unknown>;
  /** Rows in the table now. */
  count: () => Promise<number>;
  /** The rows as JSON lines ({@linkcode jsonLines}). */
  lines: () => Uint8Array;
  /** The columns. */
  names: readonly string[];
  /** Rows the lines hold. */
  total: number;
  /** The sluice sink's rows/s in this run, for the ratio. */
  sink: number;
  /** A scratch directory. */
  dir: string;
}

/**
 * syslog-ng's `sql()` into the same server, as a bench row beside the
 * sink's median (skipped, naming the package, when it cannot run here).
 *
 * @param type libdbi's driver name.
 * @param o The table, the rows and the sink's figure.
 * @returns The row.
 *
 * @example
 * ```ts ignore
 * import { syslogNgSqlRow } from "./_sql_syslog_ng.ts";
 * const row = await syslogNgSqlRow("pgsql", options);
 * ```
 */
export async function syslogNgSqlRow(
  type: "pgsql" | "mysql",
  o: SyslogNgSqlRowOptions,
): Promise<MeasuredRow> {
  const subject = `syslog-ng sql(type(${type})) → the same table and indexes ` +
    "(flow-control, explicit-commits, batch-lines(5000))";
  const why = syslogNgSqlUnavailable(type);
  if (why) return { scenario: o.scenario, subject, value: 0, unit: "rows/s", skipped: why };
  await o.create();
  const { seconds, memory } = await syslogNgSqlLoad(
    { type, port: o.port, user: "sluice", database: "sluice", table: o.table, columns: o.names },
    o.lines(),
    o.total,
    o.count,
    o.dir,
    600_000,
  );
  const rate = o.total / seconds;
  return {
    scenario: o.scenario,
    subject,
    value: Math.round(rate),
    unit: "rows/s",
    ...memoryFields(memory),
    reference: { subject: "the sluice sink above (its median)", value: Math.round(o.sink) },
    sent: o.total,
    stored: await o.count(),
    note: `the sink stores ${(o.sink / rate).toFixed(1)}× syslog-ng's rows/s; the same rows as ` +
      `JSON lines over TCP, one INSERT per row; load average ${
        (Deno.loadavg()[0] ?? 0).toFixed(1)
      } at the end`,
  };
}
