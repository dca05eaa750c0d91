/**
 * Contenders of the end-to-end benchmarks: sluice, syslog-ng and rsyslog,
 * each started as its own process in the foreground on 127.0.0.1, from its
 * own temporary directory with its own configuration, persist, pid and
 * control files (never as a system service), and {@linkcode runContender},
 * which sends one workload over TCP as fast as the contender takes it and
 * measures what landed.
 *
 * Completion is detected by what landed (rows in SQLite, lines in files),
 * not by what the contender says: a run ends when every output holds every
 * event, or when nothing more has landed for a while (the stall timeout),
 * and then loss = sent − stored. That is how the reference syslog-ng
 * configuration's drops are measured.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { siemSchema } from "../siem/schema.ts";
import {
  centralArgs,
  cpuSeconds,
  LoggedProcess,
  memoryMb,
  sleep,
  sluiceRunArgs,
  SMALL_HEAP_V8_FLAGS,
  syslogNgBin,
  waitFor,
} from "./lib.ts";
import { type MemoryPeak, sampleTree, type TreeSampler } from "./_memory.ts";

const _ROOT = new URL("../", import.meta.url).pathname;
const _CENTRAL = `${_ROOT}examples/pipeline.central.ts`;
const _JSONL = `${_ROOT}bench/pipelines/json_to_jsonl.ts`;
const _SQLITE = `${_ROOT}bench/pipelines/json_to_sqlite.ts`;
const _RSYSLOG = `${_ROOT}data/peers/rsyslog`;
const _RSYSLOG_LIB = `${_RSYSLOG}/usr/lib/x86_64-linux-gnu`;

/** Something a contender fills: rows of a SQLite table or lines of a file. */
export interface Output {
  /** What it is, for the report (`alerts rows`, `all_events lines`). */
  name: string;
  /** How much has landed so far; cheap enough to call ten times a second. */
  count(): number;
  /** The exact figure once the run is over (defaults to `count()`). */
  exact?(): number;
}

/**
 * Rows of a SQLite table, read from a separate read-only connection (the
 * table is written by another process). While polling it reads the largest
 * rowid, which needs no scan; `exact()` counts the rows.
 *
 * @param database The database file.
 * @param table The table.
 * @returns The output; 0 while the file or table does not exist yet.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DatabaseSync } from "node:sqlite";
 * import { sqliteRows } from "./contenders.ts";
 * const dir = await Deno.makeTempDir();
 * const db = new DatabaseSync(`${dir}/x.db`);
 * db.exec("CREATE TABLE alerts (a TEXT); INSERT INTO alerts VALUES ('x'), ('y')");
 * db.close();
 * const rows = sqliteRows(`${dir}/x.db`, "alerts");
 * assert.strictEqual(rows.count(), 2);
 * assert.strictEqual(rows.exact?.(), 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function sqliteRows(database: string, table: string): Output {
  const query = (sql: string): number => {
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(database, { readOnly: true });
      const row = db.prepare(sql).get() as { n: number | bigint | null } | undefined;
      return Number(row?.n ?? 0);
    } catch {
      return 0; // not created yet, or locked for a moment
    } finally {
      db?.close();
    }
  };
  return {
    name: `${table} rows`,
    count: () => query(`SELECT max(rowid) AS n FROM "${table}"`),
    exact: () => query(`SELECT count(*) AS n FROM "${table}"`),
  };
}

/**
 * Lines of a file that another process appends to, counted incrementally:
 * each call reads only what was added since the last one.
 *
 * @param path The file.
 * @returns The output; 0 while the file does not exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fileLines } from "./contenders.ts";
 * const dir = await Deno.makeTempDir();
 * const lines = fileLines(`${dir}/out.jsonl`);
 * assert.strictEqual(lines.count(), 0);
 * await Deno.writeTextFile(`${dir}/out.jsonl`, "a\nb\n");
 * assert.strictEqual(lines.count(), 2);
 * await Deno.writeTextFile(`${dir}/out.jsonl`, "c\n", { append: true });
 * assert.strictEqual(lines.count(), 3);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function fileLines(path: string): Output {
  let offset = 0;
  let lines = 0;
  const buf = new Uint8Array(1 << 20);
  const name = path.slice(path.lastIndexOf("/") + 1).replace(/\.[^.]*$/, "");
  return {
    name: `${name} lines`,
    count(): number {
      let file: Deno.FsFile;
      try {
        file = Deno.openSync(path, { read: true });
      } catch {
        return lines;
      }
      try {
        file.seekSync(offset, Deno.SeekMode.Start);
        for (;;) {
          const n = file.readSync(buf);
          if (n === null || n === 0) break;
          offset += n;
          for (let i = buf.indexOf(10); i >= 0 && i < n; i = buf.indexOf(10, i + 1)) lines++;
        }
      } finally {
        file.close();
      }
      return lines;
    },
  };
}

/** A contender once started. */
export interface Started {
  /** The process measured (CPU, memory). */
  pid: number;
  /** Where it takes TCP JSON lines on 127.0.0.1. */
  port: number;
  /** What it fills; the run is complete when each holds every event. */
  outputs: Output[];
  /** The tail of what it printed, for error messages. */
  printed(): string;
  /** Whether it has exited on its own. */
  exited(): boolean;
  /** Stops it (SIGTERM, then SIGKILL after 10 s) and waits for it. */
  stop(): Promise<void>;
}

/** A program that takes TCP JSON lines and stores them. */
export interface Contender {
  /** Short name for tables and the chart (`syslog-ng tuned`). */
  name: string;
  /** What it runs, for the report. */
  description: string;
  /** Why it cannot run on this machine (a binary or module is missing), or undefined. */
  unavailable(): string | undefined;
  /** Starts it in `dir` (an empty directory of its own) and waits until it listens. */
  start(dir: string): Promise<Started>;
}

function _exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function _freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

async function _accepts(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

function _started(proc: LoggedProcess, port: number, outputs: Output[]): Started {
  return {
    pid: proc.pid,
    port,
    outputs,
    printed: () => proc.text.trim().slice(-2000),
    exited: () => proc.exited,
    stop: () => proc.stop(),
  };
}

/**
 * The `CREATE` statements of sluice's SIEM `alerts` table (siem/schema.ts):
 * its columns, an `id` column for the dedup key with a UNIQUE index, and
 * indexes on timestamp, host, severity and rule; STRICT, as the sink makes
 * it. Other programs' rows are written into the very same table.
 *
 * @returns SQL statements, separated by semicolons.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DatabaseSync } from "node:sqlite";
 * import { alertsTableSql } from "./contenders.ts";
 * const db = new DatabaseSync(":memory:");
 * db.exec(alertsTableSql());
 * assert.ok(db.prepare("SELECT count(*) AS n FROM alerts").get());
 * db.close();
 * ```
 */
export function alertsTableSql(): string {
  const table = siemSchema.tables.alerts;
  if (!table) throw new Error("alertsTableSql: siemSchema has no alerts table");
  const columns = Object.entries(table.columns).map(([c, t]) => `"${c}" ${t}`);
  const out = [
    `CREATE TABLE IF NOT EXISTS "alerts" ("id" TEXT, ${columns.join(", ")}) STRICT`,
    `CREATE UNIQUE INDEX IF NOT EXISTS "alerts_id" ON "alerts" ("id")`,
  ];
  for (const index of table.indexes ?? []) {
    const cols = typeof index === "string" ? [index] : "columns" in index ? index.columns : index;
    const unique = typeof index === "object" && "unique" in index && index.unique;
    out.push(
      `CREATE ${unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS "alerts_${
        cols.join("_")
      }" ON "alerts" (${cols.map((c) => `"${c}"`).join(", ")})`,
    );
  }
  return out.join(";\n") + ";";
}

/** Which sluice pipeline a {@linkcode sluiceContender} runs. */
export type SluicePipeline = "central" | "sqlite" | "jsonl";

/**
 * sluice under its runner: `examples/pipeline.central.ts` (TCP → json →
 * SQLite `alerts` + the JSONL backups; outputs: alerts rows and all_events
 * lines) or `bench/pipelines/json_to_jsonl.ts` (TCP → json → one JSONL
 * file). With `smallHeap`, the pipeline runs as on a machine short of
 * memory: {@linkcode SMALL_HEAP_V8_FLAGS} and `--memory small` (SQLite on
 * the main thread, its WAL checkpointed in the commits, smaller queues,
 * batches and page cache): one isolate instead of three.
 *
 * @param pipeline Which pipeline.
 * @param options `smallHeap`: the small-machine settings above.
 * @returns The contender.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sluiceContender } from "./contenders.ts";
 * assert.strictEqual(sluiceContender("jsonl").unavailable(), undefined);
 * assert.strictEqual(sluiceContender("central", { smallHeap: true }).name, "sluice central, small heap");
 * ```
 */
export function sluiceContender(
  pipeline: SluicePipeline,
  options: { smallHeap?: boolean } = {},
): Contender {
  const file = { central: _CENTRAL, sqlite: _SQLITE, jsonl: _JSONL }[pipeline];
  // The central example and the scenario-1 pipeline write the same layout under --data.
  const sqlite = pipeline !== "jsonl";
  const small = options.smallHeap === true;
  return {
    name: { central: "sluice central", sqlite: "sluice", jsonl: "sluice" }[pipeline] +
      (small ? ", small heap" : ""),
    description: {
      central:
        "sluice examples/pipeline.central.ts: TCP → json → categorize → SQLite alerts + vms, JSONL all_events, by_vm, by_category, daily, critical",
      sqlite:
        "sluice bench/pipelines/json_to_sqlite.ts: TCP → json → SQLite alerts + JSONL all_events (the contenders' work)",
      jsonl:
        "sluice bench/pipelines/json_to_jsonl.ts: TCP → json → JSONL of the parsed tree (as the contenders write it)",
    }[pipeline] +
      (small
        ? `; deno --v8-flags=${SMALL_HEAP_V8_FLAGS}, --memory small (SQLite on the main thread, inline checkpoints, smaller queues, batches and cache)`
        : ""),
    unavailable: () => undefined,
    async start(dir) {
      const data = `${dir}/data`;
      const proc = new LoggedProcess(Deno.execPath(), [
        ...sluiceRunArgs(`${dir}/state`, file, small ? SMALL_HEAP_V8_FLAGS : undefined),
        ...centralArgs(data),
        // The dashboard's default port is fixed; the bench measures the log path.
        ...(pipeline === "central" ? ["--ui", "off"] : []),
        ...(small ? ["--memory", "small"] : []),
      ]);
      const found = /over TCP\s+127\.0\.0\.1:(\d+)/;
      if (!await waitFor(() => found.test(proc.text) || proc.exited, 60_000) || proc.exited) {
        await proc.stop();
        throw new Error(`${this.name} did not start: ${proc.text.trim().slice(-2000)}`);
      }
      const port = Number(found.exec(proc.text)?.[1]);
      const outputs = sqlite
        ? [sqliteRows(`${data}/siem.db`, "alerts"), fileLines(`${data}/logs/all_events.jsonl`)]
        : [fileLines(`${data}/all_events.jsonl`)];
      return _started(proc, port, outputs);
    },
  };
}

/** Which syslog-ng configuration a {@linkcode syslogNgContender} runs. */
export type SyslogNgConfig = "reference" | "tuned" | "jsonl";

/**
 * Whether syslog-ng's `sql()` module and libdbi's SQLite driver are installed.
 *
 * @returns True when both are found.
 *
 * @example
 * ```ts
 * import { syslogNgSql } from "./contenders.ts";
 * console.log(syslogNgSql() ? "sql() available" : "apt-get install syslog-ng-mod-sql libdbd-sqlite3");
 * ```
 */
export function syslogNgSql(): boolean {
  const modules = [
    "/usr/lib/syslog-ng/3.38/libafsql.so",
    ...(() => {
      try {
        return [...Deno.readDirSync("/usr/lib/syslog-ng")].map((d) =>
          `/usr/lib/syslog-ng/${d.name}/libafsql.so`
        );
      } catch {
        return [];
      }
    })(),
  ];
  const dbd = ["/usr/lib/x86_64-linux-gnu/dbd/libdbdsqlite3.so", "/usr/lib/dbd/libdbdsqlite3.so"];
  return modules.some(_exists) && dbd.some(_exists);
}

/**
 * The syslog-ng configuration text of a {@linkcode syslogNgContender}.
 *
 * - `reference`: the reference design as written: `network()` →
 *   `json-parser()` → `sql(type(sqlite3))` into `alerts` + `file()`, default
 *   options, no flow control (so a full destination queue drops messages);
 * - `tuned`: the same with what a competent user adds: `flags(flow-control)`,
 *   source `log-iw-size(100000)`, global `log-fifo-size(200000)`, sql()
 *   `flags(explicit-commits) batch-lines(5000) batch-timeout(1000)`
 *   (batch-lines stays below log-iw-size / max-connections = 10000, or
 *   syslog-ng waits for the batch timeout on every batch);
 * - `jsonl`: `network()` → `json-parser()` → `file()` only, tuned and with
 *   flow control.
 *
 * Lines are read with `flags(no-parse)`: they are JSON, not syslog.
 *
 * @param config Which configuration.
 * @param port The TCP port on 127.0.0.1.
 * @param database The SQLite file (`reference`, `tuned`).
 * @param out The JSONL file.
 * @returns The configuration.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { syslogNgConfig } from "./contenders.ts";
 * const conf = syslogNgConfig("tuned", 5514, "/tmp/x.db", "/tmp/all.jsonl");
 * assert.match(conf, /batch-lines\(5000\)/);
 * assert.match(conf, /flags\(flow-control\)/);
 * assert.doesNotMatch(syslogNgConfig("reference", 5514, "/tmp/x.db", "/tmp/a"), /flow-control/);
 * ```
 */
export function syslogNgConfig(
  config: SyslogNgConfig,
  port: number,
  database: string,
  out: string,
): string {
  const tuned = config !== "reference";
  const v = (name: string) => `"\${json.${name}}"`;
  const sql = config === "jsonl" ? "" : `destination d_alerts {
  sql(
    type(sqlite3)
    database("${database}")
    table("alerts")
    columns("timestamp", "host", "severity", "rule", "file", "hash", "message", "source", "raw", "id")
    values(${v("timestamp")}, ${v("host")}, ${v("severity")}, ${v("rule")}, ${v("file")}, ${
    v("hash")
  }, ${v("msg")}, "", "\${MSG}", "")
    null("")${tuned ? "\n    flags(explicit-commits) batch-lines(5000) batch-timeout(1000)" : ""}
  );
};
`;
  return `@version: 3.38
${tuned ? "options { log-fifo-size(200000); };\n" : ""}source s_json {
  network(ip("127.0.0.1") port(${port}) transport("tcp") flags(no-parse)${
    tuned ? " log-iw-size(100000) max-connections(10)" : ""
  });
};
parser p_json { json-parser(prefix("json.")); };
${sql}destination d_all { file("${out}" template("$(format-json --key json.*)\\n")); };
log {
  source(s_json);
  parser(p_json);
${config === "jsonl" ? "" : "  destination(d_alerts);\n"}  destination(d_all);${
    tuned ? "\n  flags(flow-control);" : ""
  }
};
`;
}

/**
 * syslog-ng in the foreground (`-F`) with the configuration
 * {@linkcode syslogNgConfig} describes. For the SQL configurations the
 * database is created beforehand with sluice's `alerts` schema and indexes
 * ({@linkcode alertsTableSql}), in WAL mode as sluice's sink uses it, so
 * both write the same table the same way; the outputs are alerts rows and
 * all_events lines.
 *
 * @param config Which configuration.
 * @returns The contender.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { syslogNgContender } from "./contenders.ts";
 * assert.strictEqual(syslogNgContender("tuned").name, "syslog-ng tuned");
 * ```
 */
export function syslogNgContender(config: SyslogNgConfig): Contender {
  const names: Record<SyslogNgConfig, string> = {
    reference: "syslog-ng reference",
    tuned: "syslog-ng tuned",
    jsonl: "syslog-ng",
  };
  const descriptions: Record<SyslogNgConfig, string> = {
    reference:
      "syslog-ng network() → json-parser() → sql(sqlite3) alerts + file(), default options, no flow control",
    tuned:
      "syslog-ng network(log-iw-size(100000)) → json-parser() → sql(explicit-commits, batch-lines(5000)) alerts + file(), flow control, log-fifo-size(200000)",
    jsonl:
      "syslog-ng network(log-iw-size(100000)) → json-parser() → file(format-json), flow control",
  };
  const sql = config !== "jsonl";
  return {
    name: names[config],
    description: descriptions[config],
    unavailable() {
      if (!syslogNgBin()) return "syslog-ng is not installed (/usr/sbin/syslog-ng)";
      if (sql && !syslogNgSql()) {
        return "syslog-ng's sql() module or libdbd-sqlite3 is missing (apt-get install syslog-ng-mod-sql libdbd-sqlite3)";
      }
      return undefined;
    },
    async start(dir) {
      const database = `${dir}/siem.db`;
      const out = `${dir}/all_events.jsonl`;
      if (sql) {
        const db = new DatabaseSync(database);
        try {
          db.exec("PRAGMA page_size = 16384");
          db.exec("PRAGMA journal_mode = WAL");
          db.exec(alertsTableSql());
        } finally {
          db.close();
        }
      }
      const outputs = sql ? [sqliteRows(database, "alerts"), fileLines(out)] : [fileLines(out)];
      return await startSyslogNg(
        this.name,
        dir,
        (port) => syslogNgConfig(config, port, database, out),
        outputs,
      );
    },
  };
}

/**
 * Starts syslog-ng in the foreground (`-F`) in `dir` with its own
 * configuration, persist, pid and control files (`${dir}/syslog-ng.ctl`,
 * for `syslog-ng-ctl`), on a free port, and waits until it accepts.
 *
 * @param name The contender's name, for errors.
 * @param dir Its directory.
 * @param config The configuration text for a port.
 * @param outputs What it fills.
 * @returns The started contender.
 * @throws {Error} When syslog-ng is missing or does not start within 30 s.
 *
 * @example
 * ```ts ignore
 * import { fileLines, startSyslogNg } from "./contenders.ts";
 * const dir = await Deno.makeTempDir();
 * const s = await startSyslogNg("syslog-ng", dir, (port) => `@version: 3.38\n...${port}`, [
 *   fileLines(`${dir}/out.jsonl`),
 * ]);
 * await s.stop();
 * ```
 */
export async function startSyslogNg(
  name: string,
  dir: string,
  config: (port: number) => string,
  outputs: Output[],
): Promise<Started> {
  const bin = syslogNgBin();
  if (!bin) throw new Error(`${name}: syslog-ng is not installed`);
  const port = _freePort();
  await Deno.writeTextFile(`${dir}/syslog-ng.conf`, config(port));
  const proc = new LoggedProcess(bin, [
    "-F",
    "-e",
    "-f",
    `${dir}/syslog-ng.conf`,
    "--persist-file",
    `${dir}/syslog-ng.persist`,
    "--pidfile",
    `${dir}/syslog-ng.pid`,
    "--control",
    `${dir}/syslog-ng.ctl`,
    "--no-caps",
  ]);
  if (!await waitFor(() => proc.exited || _accepts(port), 30_000) || proc.exited) {
    await proc.stop();
    throw new Error(`${name} did not start: ${proc.text.trim().slice(-2000)}`);
  }
  return _started(proc, port, outputs);
}

/**
 * The rsyslog configuration of {@linkcode rsyslogContender}: `imtcp` →
 * `mmjsonparse` (no cookie, the raw line) → `omfile` with the parsed tree
 * as one JSON line, default queues.
 *
 * @param port The TCP port on 127.0.0.1.
 * @param workDir rsyslog's work directory.
 * @param out The JSONL file.
 * @returns The configuration.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rsyslogConfig } from "./contenders.ts";
 * assert.match(rsyslogConfig(5514, "/tmp/w", "/tmp/out.jsonl"), /mmjsonparse/);
 * ```
 */
export function rsyslogConfig(port: number, workDir: string, out: string): string {
  return `global(workDirectory="${workDir}")
module(load="imtcp")
module(load="mmjsonparse")
template(name="json" type="string" string="%$!all-json%\\n")
input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="alerts")
ruleset(name="alerts") {
  action(type="mmjsonparse" cookie="" useRawMsg="on")
  action(type="omfile" file="${out}" template="json")
}
`;
}

/**
 * rsyslog (unpacked into `data/peers/rsyslog` by
 * tests/interop/fetch_rsyslog.sh, not installed) in the foreground (`-n`)
 * with {@linkcode rsyslogConfig}. It has no SQLite output module there, so it
 * only takes part in the JSONL scenario.
 *
 * @returns The contender.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rsyslogContender } from "./contenders.ts";
 * assert.strictEqual(rsyslogContender().name, "rsyslog");
 * ```
 */
export function rsyslogContender(): Contender {
  const bin = `${_RSYSLOG}/usr/sbin/rsyslogd`;
  const modules = `${_RSYSLOG_LIB}/rsyslog`;
  return {
    name: "rsyslog",
    description: "rsyslog imtcp → mmjsonparse → omfile($!all-json), default queues",
    unavailable() {
      const missing = [bin, `${modules}/imtcp.so`, `${modules}/mmjsonparse.so`].find((p) =>
        !_exists(p)
      );
      return missing
        ? `${missing.slice(_ROOT.length)} is missing (run tests/interop/fetch_rsyslog.sh)`
        : undefined;
    },
    async start(dir) {
      const out = `${dir}/all_events.jsonl`;
      const port = _freePort();
      await Deno.writeTextFile(`${dir}/rsyslog.conf`, rsyslogConfig(port, dir, out));
      const proc = new LoggedProcess(
        bin,
        ["-n", "-C", "-f", `${dir}/rsyslog.conf`, "-i", `${dir}/rsyslog.pid`, "-M", modules],
        { env: { LD_LIBRARY_PATH: _RSYSLOG_LIB } },
      );
      if (!await waitFor(() => proc.exited || _accepts(port), 30_000) || proc.exited) {
        await proc.stop();
        throw new Error(`rsyslog did not start: ${proc.text.trim().slice(-2000)}`);
      }
      return _started(proc, port, [fileLines(out)]);
    },
  };
}

/** Options for {@linkcode runContender}. */
export interface RunOptions {
  /** Stop when nothing more has landed for this long; the rest is lost. @default {10000} */
  stallMs?: number;
  /** Stop after this long whatever happens. @default {1800000} */
  timeoutMs?: number;
  /** How often outputs are counted. @default {100} */
  pollMs?: number;
  /** Time between "listening" and reading the idle memory. @default {500} */
  settleMs?: number;
}

/** What one run of one contender measured. */
export interface ContenderRun {
  /** The contender's name. */
  contender: string;
  /** Events written to its socket. */
  sent: number;
  /** Bytes written to its socket. */
  bytes: number;
  /** Events in every output (the smallest output count). */
  stored: number;
  /** `sent − stored`. */
  loss: number;
  /** Each output's final count. */
  outputs: Record<string, number>;
  /** From the first byte sent to the last event seen landing, in seconds. */
  seconds: number;
  /** Stored events per second. */
  rate: number;
  /** Megabytes (10⁶ bytes) of stored lines per second. */
  mbPerSecond: number;
  /** CPU seconds (user + system) the process spent from just before sending to the end. */
  cpuSeconds: number;
  /** Resident memory after start, before sending, in MB. */
  idleRssMb: number;
  /** Peak resident memory (VmHWM) at the end, in MB. */
  peakRssMb: number;
  /** Peak RSS, private memory and PSS of its process tree over the workload. */
  memory: MemoryPeak;
  /** Resident pages mapped from files (RssFile) at the end, in MB. */
  fileRssMb: number;
  /** How the run ended. */
  end: "complete" | "stalled" | "timeout" | "exited";
}

/** Sends bytes over one connection as fast as the peer reads them, until done or aborted. */
async function _send(
  port: number,
  payload: Uint8Array,
  progress: { written: number },
  signal: AbortSignal,
): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const abort = () => {
    try {
      conn.close();
    } catch {
      // closed already
    }
  };
  signal.addEventListener("abort", abort, { once: true });
  try {
    while (progress.written < payload.length && !signal.aborted) {
      progress.written += await conn.write(
        payload.subarray(progress.written, progress.written + (1 << 20)),
      );
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener("abort", abort);
    abort();
  }
}

function _newlines(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Starts a contender in `dir`, reads its idle memory, sends `payload` (JSON
 * lines) over one TCP connection as fast as it takes them, and watches its
 * outputs until each holds `count` events, or nothing more lands for
 * `stallMs`; then reads its CPU time and peak memory and stops it.
 *
 * @param contender The contender.
 * @param payload The workload: `count` lines, each ending in `\n`.
 * @param count How many lines `payload` holds.
 * @param dir An empty directory for the contender's files.
 * @param options Timeouts.
 * @returns The measurements.
 * @throws {Error} When the contender does not start.
 *
 * @example
 * ```ts ignore
 * import { runContender, sluiceContender } from "./contenders.ts";
 * const payload = new TextEncoder().encode('{"host":"vm-1"}\n'.repeat(1000));
 * const run = await runContender(sluiceContender("jsonl"), payload, 1000, await Deno.makeTempDir());
 * console.log(run.rate, run.loss);
 * ```
 */
export async function runContender(
  contender: Contender,
  payload: Uint8Array,
  count: number,
  dir: string,
  options: RunOptions = {},
): Promise<ContenderRun> {
  const stallMs = options.stallMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 1_800_000;
  const pollMs = options.pollMs ?? 100;
  const started = await contender.start(dir);
  let sampler: TreeSampler | undefined;
  try {
    await sleep(options.settleMs ?? 500);
    const pid = started.pid;
    const idleRssMb = memoryMb(pid).rss;
    // The whole tree: a daemon that forks (syslog-ng's supervisor) counts whole, as sluice does.
    sampler = sampleTree(pid);
    const cpu0 = cpuSeconds(pid);
    const progress = { written: 0 };
    const abort = new AbortController();
    const t0 = performance.now();
    let sendError: unknown;
    const sending = _send(started.port, payload, progress, abort.signal).catch((err) => {
      sendError = err;
    });
    const counts = started.outputs.map(() => 0);
    let lastLanded = t0;
    let end: ContenderRun["end"];
    for (;;) {
      await sleep(pollMs);
      const now = performance.now();
      let all = true;
      started.outputs.forEach((o, i) => {
        const n = o.count();
        if (n !== counts[i]) {
          counts[i] = n;
          lastLanded = now;
        }
        if (n < count) all = false;
      });
      if (all) {
        end = "complete";
        break;
      }
      if (started.exited()) {
        end = "exited";
        break;
      }
      if (now - lastLanded > stallMs) {
        end = "stalled";
        break;
      }
      if (now - t0 > timeoutMs) {
        end = "timeout";
        break;
      }
    }
    const seconds = (lastLanded - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const memory = sampler.stop();
    const { file: fileRssMb } = memoryMb(pid);
    const peakRssMb = memory.rssMb;
    abort.abort();
    await sending;
    if (sendError && end === "complete") throw sendError;
    const outputs: Record<string, number> = {};
    started.outputs.forEach((o, i) => {
      outputs[o.name] = o.exact ? o.exact() : o.count();
      counts[i] = outputs[o.name] as number;
    });
    const sent = progress.written >= payload.length
      ? count
      : _newlines(payload.subarray(0, progress.written));
    const stored = Math.min(...counts);
    const storedBytes = payload.length * (stored / count);
    if (end === "exited") {
      throw new Error(`${contender.name} exited during the run: ${started.printed()}`);
    }
    return {
      contender: contender.name,
      sent,
      bytes: progress.written,
      stored,
      loss: Math.max(0, sent - stored),
      outputs,
      seconds,
      rate: seconds > 0 ? stored / seconds : 0,
      mbPerSecond: seconds > 0 ? storedBytes / 1e6 / seconds : 0,
      cpuSeconds: cpu,
      idleRssMb,
      peakRssMb,
      memory,
      fileRssMb,
      end,
    };
  } finally {
    sampler?.stop();
    await started.stop();
  }
}
