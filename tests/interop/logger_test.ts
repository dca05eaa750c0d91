import assert from "node:assert/strict";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { memoryState } from "../../core/state.ts";
import { ComponentStats } from "../../core/stats.ts";
import type { SourceContext } from "../../core/types.ts";
import { syslogSource } from "../../sources/syslog.ts";
import { peer, runWithDeadline } from "../_peers.ts";
import { waitFor } from "./_syslog_ng.ts";

const LOGGER = peer("logger", "bsdutils");
const noLogger = !LOGGER;

async function logger(args: string[]): Promise<void> {
  const out = await runWithDeadline(LOGGER as string, args, {
    timeoutMs: 30_000,
    what: `logger ${args.join(" ")}`,
  });
  if (out.code !== 0) throw new Error(`logger ${args.join(" ")} failed: ${out.stderr}`);
}

/** Runs one test against a fresh syslog source listening on TCP and UDP. */
async function withSyslog(fn: (port: number, events: LogEvent[]) => Promise<void>): Promise<void> {
  const events: LogEvent[] = [];
  const ctx: SourceContext = {
    name: "syslog",
    stats: new ComponentStats("source", "syslog", "syslog"),
    state: memoryState(),
    log: createLogger("silent"),
    signal: new AbortController().signal,
    emit(batch) {
      events.push(...batch);
      return Promise.resolve();
    },
  };
  const source = syslogSource({ host: "127.0.0.1", port: 0, transport: "tcp+udp" });
  await source.start(ctx);
  try {
    await fn(source.tcpAddr?.port as number, events);
    assert.equal(ctx.stats.counters.unparsed, undefined, "every message parsed");
  } finally {
    await source.stop();
  }
}

const hostname = Deno.hostname();

/** logger sends the local host name, fully qualified or not. */
function assertHost(host: string | undefined): void {
  assert.ok(
    host === hostname || host?.split(".")[0] === hostname.split(".")[0],
    `host ${host} is this machine (${hostname})`,
  );
}

Deno.test({
  name:
    "logger --tcp --octet-count --rfc5424 reaches syslogSource with PROGRAM, PID, HOST, severity and SD",
  ignore: noLogger,
  fn: () =>
    withSyslog(async (port, events) => {
      await logger([
        "--tcp",
        "--octet-count",
        "--rfc5424",
        "-n",
        "127.0.0.1",
        "-P",
        String(port),
        "-t",
        "yara-scan",
        "--id=4242",
        "-p",
        "local3.warning",
        "--msgid",
        "ALERT",
        "--sd-id",
        "alert@32473",
        "--sd-param",
        'rule="Mimikatz_Strings"',
        "--sd-param",
        'file="/tmp/a \\"b\\".bin"',
        "matched a rule",
      ]);
      await waitFor(() => events.length === 1, "the message", 10_000);
      const e = events[0] as LogEvent;
      assert.equal(e.program, "yara-scan");
      assert.equal(e.pid, "4242");
      assert.equal(e.severity, 4);
      assert.equal(e.facility, 19);
      assertHost(e.host);
      assert.equal(e.message, "matched a rule");
      const syslog = e.fields.syslog as Record<string, unknown>;
      assert.equal(syslog.format, "rfc5424");
      assert.equal(syslog.msgid, "ALERT");
      const sd = syslog.sd as Record<string, Record<string, string>>;
      assert.deepEqual(sd["alert@32473"], { rule: "Mimikatz_Strings", file: '/tmp/a "b".bin' });
      assert.equal(sd.timeQuality?.tzKnown, "1");
      assert.ok(Math.abs((e.timestamp as number) - e.receivedAt) < 60_000, "the sender's time");
      assert.equal(e.sourceIp, "127.0.0.1");
    }),
});

Deno.test({
  name: "logger --tcp --rfc3164 reaches syslogSource with PROGRAM, PID, HOST and severity",
  ignore: noLogger,
  fn: () =>
    withSyslog(async (port, events) => {
      await logger([
        "--tcp",
        "--rfc3164",
        "-n",
        "127.0.0.1",
        "-P",
        String(port),
        "-t",
        "sshd",
        "--id=777",
        "-p",
        "authpriv.err",
        "Failed password for root from 192.0.2.7 port 50022 ssh2",
      ]);
      await waitFor(() => events.length === 1, "the message", 10_000);
      const e = events[0] as LogEvent;
      assert.equal(e.program, "sshd");
      assert.equal(e.pid, "777");
      assert.equal(e.severity, 3);
      assert.equal(e.facility, 10);
      assertHost(e.host);
      assert.equal(e.message, "Failed password for root from 192.0.2.7 port 50022 ssh2");
      assert.equal((e.fields.syslog as Record<string, unknown>).format, "rfc3164");
      // RFC 3164 has no year and no zone: the inferred time is the sender's clock, in this zone.
      assert.ok(Math.abs((e.timestamp as number) - e.receivedAt) < 60_000, "the sender's time");
    }),
});

Deno.test({
  name: "logger --udp reaches syslogSource with PROGRAM, PID, HOST and severity",
  ignore: noLogger,
  fn: () =>
    withSyslog(async (port, events) => {
      await logger([
        "--udp",
        "-n",
        "127.0.0.1",
        "-P",
        String(port),
        "-t",
        "ufw",
        "--id=1",
        "-p",
        "daemon.notice",
        "--sd-id",
        "fw@32473",
        "--sd-param",
        'action="BLOCK"',
        "[UFW BLOCK] IN=eth0 SRC=192.0.2.9",
      ]);
      await waitFor(() => events.length === 1, "the datagram", 10_000);
      const e = events[0] as LogEvent;
      assert.equal(e.program, "ufw");
      assert.equal(e.pid, "1");
      assert.equal(e.severity, 5);
      assert.equal(e.facility, 3);
      assertHost(e.host);
      assert.equal(e.message, "[UFW BLOCK] IN=eth0 SRC=192.0.2.9");
      const sd = (e.fields.syslog as Record<string, unknown>).sd as Record<string, unknown>;
      assert.deepEqual(sd["fw@32473"], { action: "BLOCK" });
    }),
});
