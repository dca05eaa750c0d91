import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  ComponentStats,
  createEvent,
  createLogger,
  memoryState,
  type SinkContext,
} from "../../mod.ts";
import { relpSink } from "../../sinks/relp.ts";
import { notFound, waitFor, which } from "../_peers.ts";
import { type Runner, startRunner } from "./_procs.ts";
import { freePort } from "../_ports.ts";

const CENTRAL = new URL("../../examples/pipeline.central.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;
const RSYSLOGD = `${ROOT}data/peers/rsyslog/usr/sbin/rsyslogd`;
const MODULES = `${ROOT}data/peers/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog`;
const rsyslogMissing = [RSYSLOGD, `${MODULES}/omrelp.so`, `${MODULES}/imtcp.so`].find((p) =>
  !which(p, "rsyslog")
);
if (rsyslogMissing) notFound("rsyslog", "bash tests/interop/fetch_rsyslog.sh, as .ci/run does");

function rows(db: string, sql: string): Array<Record<string, unknown>> {
  try {
    const conn = new DatabaseSync(db, { readOnly: true });
    try {
      return conn.prepare(sql).all() as Array<Record<string, unknown>>;
    } catch {
      return [];
    } finally {
      conn.close();
    }
  } catch {
    return [];
  }
}

async function send(port: number, text: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const bytes = new TextEncoder().encode(text);
    let at = 0;
    while (at < bytes.length) at += await conn.write(bytes.subarray(at));
  } finally {
    conn.close();
  }
}

interface Central {
  runner: Runner;
  dir: string;
  db: string;
  json: number;
  relp: number;
  syslog: number;
}

async function startCentral(): Promise<Central> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-framed-" });
  const [json, relp, syslog] = [freePort(), freePort(), freePort()];
  const runner = startRunner([
    "--state-dir",
    `${dir}/state`,
    "--log-level",
    "warn",
    CENTRAL,
    "--data",
    `${dir}/data`,
    "--json-port",
    String(json),
    "--relp-port",
    String(relp),
    "--syslog-port",
    String(syslog),
    "--ui",
    "off",
    "--sqlite-worker",
    "off",
  ]);
  await runner.waitFor(/RELP\s+127\.0\.0\.1:\d+/, 60_000);
  return { runner, dir, db: `${dir}/data/siem.db`, json, relp, syslog };
}

/** The alerts stored, as "host rule", and how many system_events carry an alert's JSON. */
function stored(db: string): { alerts: string[]; misfiled: number } {
  const alerts = rows(db, "SELECT host, rule FROM alerts WHERE rule LIKE 'R%' ORDER BY rule")
    .map((r) => `${r.host} ${r.rule}`);
  const misfiled = rows(db, `SELECT message FROM system_events WHERE message LIKE '%"rule"%'`);
  return { alerts, misfiled: misfiled.length };
}

Deno.test("central: syslog-framed JSON alerts (rsyslog's RFC 3164 and RFC 5424 templates) reach alerts on the JSON, RELP and syslog ports, host from the JSON, else the header", async () => {
  const c = await startCentral();
  try {
    await send(
      c.json,
      [
        '<133>2026-12-06T04:00:00.123456+00:00 vmA alerts: {"host":"vm-json","rule":"R1","severity":"critical"}',
        '<133>Dec  6 04:00:00 vmB alerts: {"rule":"R2","severity":"high"}',
        '<133>1 2026-12-06T04:00:00.123+00:00 vmC alerts - - - \ufeff{"rule":"R3"}',
        '{"rule":"R4","host":"vmD"}',
        "",
      ].join("\n"),
    );
    // RELP carrying rsyslog's forward format as it is (no sluice envelope).
    const sink = relpSink({ port: c.relp, format: "raw", name: "relp" });
    const ctx: SinkContext = {
      name: "relp",
      stats: new ComponentStats("sink", "relp", "relp"),
      state: memoryState(),
      log: createLogger("silent"),
      signal: new AbortController().signal,
    };
    await sink.open(ctx);
    try {
      await sink.write([createEvent('<133>2026-12-06T04:00:01+00:00 vmE alerts: {"rule":"R5"}')]);
    } finally {
      await sink.close();
    }
    await send(
      c.syslog,
      '<133>Dec  6 04:00:00 vmF alerts: {"rule":"R6"}\n' +
        '<133>Dec  6 04:00:00 vmF alerts: {"rule":"R7","host":"vm-g"}\n',
    );
    const expected = [
      "vm-json R1",
      "vmB R2",
      "vmC R3",
      "vmD R4",
      "vmE R5",
      "vmF R6",
      "vm-g R7",
    ];
    await waitFor("7 alerts", () => stored(c.db).alerts.length >= 7, 30_000);
    assert.deepEqual(stored(c.db), { alerts: expected, misfiled: 0 });
  } finally {
    await c.runner.stop();
    await Deno.remove(c.dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name:
    "central: real rsyslog forwarding JSON alerts with omrelp and omfwd default templates (and RFC 5424) stores them as alerts",
  ignore: rsyslogMissing !== undefined,
  async fn() {
    const c = await startCentral();
    const inPort = freePort();
    const conf = `${c.dir}/rsyslog.conf`;
    await Deno.writeTextFile(
      conf,
      `global(workDirectory="${c.dir}")
module(load="imtcp")
module(load="omrelp")
input(type="imtcp" port="${inPort}" address="127.0.0.1" ruleset="fwd")
ruleset(name="fwd") {
  if ($msg contains "viaRelp") then {
    action(type="omrelp" target="127.0.0.1" port="${c.relp}")
  } else if ($msg contains "via5424") then {
    action(type="omfwd" target="127.0.0.1" port="${c.json}" protocol="tcp" template="RSYSLOG_SyslogProtocol23Format")
  } else {
    action(type="omfwd" target="127.0.0.1" port="${c.json}" protocol="tcp")
  }
}
`,
    );
    const child = new Deno.Command(RSYSLOGD, {
      args: ["-n", "-C", "-f", conf, "-i", `${c.dir}/rsyslog.pid`, "-M", MODULES],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const killer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    try {
      await waitFor("rsyslogd listening", async () => {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port: inPort })).close();
          return true;
        } catch {
          return false;
        }
      }, 15_000);
      await send(
        inPort,
        '<133>Dec  6 04:00:00 vmR alerts: {"rule":"R8","via":"viaRelp"}\n' +
          '<133>Dec  6 04:00:00 vmS alerts: {"rule":"R9","host":"vm-s-json","via":"viaFwd"}\n' +
          '<133>Dec  6 04:00:00 vmT alerts: {"rule":"RA","via":"via5424"}\n',
      );
      await waitFor("3 alerts from rsyslog", () => stored(c.db).alerts.length >= 3, 30_000);
      assert.deepEqual(stored(c.db), {
        alerts: ["vmR R8", "vm-s-json R9", "vmT RA"],
        misfiled: 0,
      });
    } finally {
      clearTimeout(killer);
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.output().catch(() => undefined);
      await c.runner.stop();
      await Deno.remove(c.dir, { recursive: true }).catch(() => {});
    }
  },
});
