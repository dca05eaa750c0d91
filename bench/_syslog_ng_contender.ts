/**
 * syslog-ng as a contender of the end-to-end benchmarks: the seed's
 * reference configuration, the tuned one users would write, and a
 * JSONL-only one (re-exported by bench/contenders.ts).
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { LoggedProcess, syslogNgBin, waitFor } from "./lib.ts";
import {
  acceptsOn,
  alertsTableSql,
  type Contender,
  fileLines,
  freePort,
  type Output,
  pathExists,
  sqliteRows,
  type Started,
  startedContender,
} from "./_contender_base.ts";

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
  return modules.some(pathExists) && dbd.some(pathExists);
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
  const port = freePort();
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
  if (!await waitFor(() => proc.exited || acceptsOn(port), 30_000) || proc.exited) {
    await proc.stop();
    throw new Error(`${name} did not start: ${proc.text.trim().slice(-2000)}`);
  }
  return startedContender(proc, port, outputs);
}
