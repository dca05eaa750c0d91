/**
 * The home NAS/router collector of the SIEM@Home design: syslog over UDP
 * and TCP from the router and the NAS; iptables LOG lines into
 * `packetfilter`, addrwatch lines into `addrwatch`, and every message into
 * `messages`, all in one SQLite file.
 *
 * ```sh
 * deno run -A --v8-flags=--max-semi-space-size=4 runner/main.ts examples/pipeline.home.ts -- --syslog-port 514 --listen 0.0.0.0
 * ```
 *
 * Flags (after the file) or environment variables: `--listen` (127.0.0.1),
 * `--syslog-port` (5140), `--data` (`./data/home`).
 *
 * @module
 */

import { definePipeline, type LogEvent, type Pipeline } from "../mod.ts";
import { csvParser } from "../parsers/csv.ts";
import { kvParser } from "../parsers/kv.ts";
import { match, program } from "../parsers/filters.ts";
import { syslogSource } from "../sources/syslog.ts";
import { sqliteSink, type SqliteValue } from "../sinks/sqlite.ts";
import { option, portOption } from "./_options.ts";

const text = (name: string): SqliteValue => `\${${name}}`;
const int = (name: string): SqliteValue => (e: LogEvent) => {
  const v = Number((e.fields.fw as Record<string, unknown> | undefined)?.[name]);
  return Number.isInteger(v) ? v : null;
};

/**
 * Builds the home collector pipeline.
 *
 * @param context Arguments and environment from the runner.
 * @returns The pipeline.
 */
export default function home(
  context: { args: string[]; env: Record<string, string> } = { args: [], env: {} },
): Pipeline {
  const { args, env } = context;
  const data = option(args, env, "data", "./data/home");
  const listen = option(args, env, "listen", "127.0.0.1");
  const port = portOption(args, env, "syslog-port", 5140);
  Deno.mkdirSync(data, { recursive: true });
  const db = sqliteSink({
    database: `${data}/home.db`,
    name: "home_db",
    table: "${table}",
    schema: {
      tables: {
        packetfilter: {
          columns: {
            timestamp: "TEXT",
            host: "TEXT",
            prefix: "TEXT",
            in_if: "TEXT",
            out_if: "TEXT",
            src: "TEXT",
            dst: "TEXT",
            proto: "TEXT",
            spt: "INTEGER",
            dpt: "INTEGER",
            raw: "TEXT",
          },
          values: {
            timestamp: "${ISODATE}",
            host: "${HOST}",
            prefix: text("fw._text"),
            in_if: text("fw.IN"),
            out_if: text("fw.OUT"),
            src: text("fw.SRC"),
            dst: text("fw.DST"),
            proto: text("fw.PROTO"),
            spt: int("SPT"),
            dpt: int("DPT"),
            raw: "${MSG}",
          },
          indexes: ["timestamp", "src", "dpt"],
        },
        addrwatch: {
          columns: {
            timestamp: "TEXT",
            interface: "TEXT",
            vlan: "TEXT",
            mac: "TEXT",
            ip: "TEXT",
            origin: "TEXT",
          },
          values: {
            timestamp: "${ISODATE}",
            interface: text("arp.interface"),
            vlan: text("arp.vlan"),
            mac: text("arp.mac"),
            ip: text("arp.ip"),
            origin: text("arp.type"),
          },
          indexes: ["mac", "ip"],
        },
        messages: {
          columns: {
            timestamp: "TEXT",
            host: "TEXT",
            program: "TEXT",
            severity: "TEXT",
            message: "TEXT",
          },
          values: {
            timestamp: "${ISODATE}",
            host: "${HOST}",
            program: "${PROGRAM}",
            severity: "${LEVEL}",
            message: "${MSG}",
          },
          indexes: ["timestamp", "host"],
        },
      },
    },
  });
  const syslog = syslogSource({ host: listen, port, transport: "tcp+udp", name: "syslog" });
  const tag = (table: string) => ({
    kind: "table",
    apply: (e: LogEvent) => void (e.fields.table = table),
  });
  return definePipeline({
    name: "home",
    role: "home",
    sources: { syslog },
    sinks: { db },
    paths: [
      { from: ["syslog"], steps: [tag("messages")], to: ["db"] },
      {
        from: ["syslog"],
        steps: [match("\\bSRC=\\S+ DST=\\S+"), kvParser({ prefix: "fw" }), tag("packetfilter")],
        to: ["db"],
      },
      {
        from: ["syslog"],
        steps: [
          program("^addrwatch$"),
          csvParser({
            columns: ["timestamp", "interface", "vlan", "mac", "ip", "type"],
            delimiters: " ",
            prefix: "arp",
          }),
          tag("addrwatch"),
        ],
        to: ["db"],
      },
    ],
    onStart() {
      console.error(
        `sluice home collector: syslog UDP + TCP on ${listen}:${
          syslog.tcpAddr?.port ?? port
        }; SQLite ${data}/home.db`,
      );
    },
  });
}
