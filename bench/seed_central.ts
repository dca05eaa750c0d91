/**
 * The seed's central as its users would run it: syslog-ng 3.38 with the
 * reference design's central configuration as written (TCP JSON lines →
 * `json-parser()` → `sql()` into its own `alerts` table, which syslog-ng
 * creates with the design's columns and its three indexes on `timestamp`,
 * `host` and `severity`, plus the JSONL `all_events` file), tuned as a
 * competent user would (flow control, `log-iw-size(100000)`,
 * `log-fifo-size(200000)`, `explicit-commits`, `batch-lines(5000)`). The
 * database is syslog-ng's own: no UNIQUE id, no table made beforehand, its
 * default journal. The row of the benchmark that counts (issue 26) puts the
 * central example with its default flags beside this.
 *
 * Completion of the SQL side is read from `syslog-ng-ctl stats` (the
 * destination's `written` counter), not by polling the database: a reader
 * of a rollback-journal database would hold locks syslog-ng's commits wait
 * for. The rows are counted once the run is over.
 *
 * @module
 */

import {
  type Contender,
  fileLines,
  type Output,
  sqliteRows,
  startSyslogNg,
  syslogNgSql,
} from "./contenders.ts";
import { syslogNgBin } from "./lib.ts";
import { syslogNgTunedInput } from "./_sql_syslog_ng.ts";

/**
 * The seed's syslog-ng central configuration, tuned: see the module
 * documentation. Lines are read with `flags(no-parse)` (they are JSON, not
 * syslog); `batch-lines` stays below `log-iw-size / max-connections`.
 *
 * @param port The TCP port on 127.0.0.1.
 * @param database The SQLite file syslog-ng creates.
 * @param out The JSONL file.
 * @returns The configuration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seedSyslogNgConfig } from "./seed_central.ts";
 * const conf = seedSyslogNgConfig(5514, "/tmp/siem.db", "/tmp/all.jsonl");
 * assert.match(conf, /indexes\("timestamp", "host", "severity"\)/);
 * assert.match(conf, /batch-lines\(5000\)/);
 * assert.match(conf, /flags\(flow-control\)/);
 * ```
 */
export function seedSyslogNgConfig(port: number, database: string, out: string): string {
  const columns = ["timestamp", "host", "severity", "rule", "file", "hash", "msg"];
  const values = [...columns.map((c) => `"\${json.${c}}"`), `"\${MSG}"`];
  return `${syslogNgTunedInput(port)}
destination d_alerts {
  sql(
    type(sqlite3)
    database("${database}")
    table("alerts")
    columns(${[...columns, "raw"].map((c) => `"${c}"`).join(", ")})
    values(${values.join(", ")})
    indexes("timestamp", "host", "severity")
    flags(explicit-commits) batch-lines(5000) batch-timeout(1000)
  );
};
destination d_all { file("${out}" template("$(format-json --key json.*)\\n")); };
log {
  source(s_json);
  parser(p_json);
  destination(d_alerts);
  destination(d_all);
  flags(flow-control);
};
`;
}

/**
 * A counter of a running syslog-ng, read with `syslog-ng-ctl stats` from its
 * control socket: the sum of the `Number` column over the lines whose
 * source name, id and type match (`dst.sql`, `d_alerts#0`, `written`).
 *
 * @param ctl The control socket (`--control`).
 * @param source The stats line's source name, `dst.sql`.
 * @param id The start of its id, `d_alerts`.
 * @param type Its type, `written`.
 * @returns The output; 0 while syslog-ng does not answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syslogNgStat } from "./seed_central.ts";
 * assert.equal(syslogNgStat("/nonexistent.ctl", "dst.sql", "d_alerts", "written").count(), 0);
 * ```
 */
export function syslogNgStat(ctl: string, source: string, id: string, type: string): Output {
  let last = 0;
  return {
    name: `${id} ${type} (syslog-ng-ctl stats)`,
    count(): number {
      try {
        const r = new Deno.Command("syslog-ng-ctl", {
          args: ["stats", "-c", ctl],
          stdout: "piped",
          stderr: "null",
        }).outputSync();
        if (!r.success) return last;
        let n = 0;
        for (const line of new TextDecoder().decode(r.stdout).split("\n")) {
          const f = line.split(";");
          if (f[0] === source && f[1]?.startsWith(id) && f[4] === type) n += Number(f[5]);
        }
        last = Math.max(last, n);
      } catch {
        // not installed, or not answering yet
      }
      return last;
    },
  };
}

/**
 * syslog-ng running {@linkcode seedSyslogNgConfig} in a directory of its
 * own. Outputs: the `alerts` destination's `written` counter (completion),
 * then `all_events` lines; the row count of the table is checked after the
 * run (`exact`).
 *
 * @returns The contender.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seedSyslogNgContender } from "./seed_central.ts";
 * assert.equal(seedSyslogNgContender().name, "syslog-ng seed, tuned");
 * ```
 */
export function seedSyslogNgContender(): Contender {
  return {
    name: "syslog-ng seed, tuned",
    description:
      "syslog-ng 3.38, the seed's central as written (network() → json-parser() → sql() into its own alerts table, indexes on timestamp, host, severity + file() all_events) with flow-control, log-iw-size(100000), log-fifo-size(200000), explicit-commits, batch-lines(5000)",
    unavailable() {
      if (!syslogNgBin()) return "syslog-ng is not installed (/usr/sbin/syslog-ng)";
      if (!syslogNgSql()) {
        return "syslog-ng's sql() module or libdbd-sqlite3 is missing (apt-get install syslog-ng-mod-sql libdbd-sqlite3)";
      }
      return undefined;
    },
    start(dir) {
      const database = `${dir}/siem.db`;
      const out = `${dir}/all_events.jsonl`;
      const written = syslogNgStat(`${dir}/syslog-ng.ctl`, "dst.sql", "d_alerts", "written");
      const rows = sqliteRows(database, "alerts");
      const alerts: Output = {
        name: "alerts rows",
        count: written.count,
        exact: () => rows.exact?.() ?? rows.count(),
      };
      return startSyslogNg(
        this.name,
        dir,
        (port) => seedSyslogNgConfig(port, database, out),
        [alerts, fileLines(out)],
      );
    },
  };
}
