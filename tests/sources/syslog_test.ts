import assert from "node:assert/strict";
import dgram from "node:dgram";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { memoryState } from "../../core/state.ts";
import { ComponentStats } from "../../core/stats.ts";
import type { SourceContext } from "../../core/types.ts";
import { syslogSource, type SyslogSourceOptions } from "../../sources/syslog.ts";
import { makeTestPki, OPENSSL } from "../fixtures/tls/pki.ts";

const enc = new TextEncoder();

async function started(options: SyslogSourceOptions) {
  const events: LogEvent[] = [];
  const stats = new ComponentStats("source", "syslog", "syslog");
  const ctx: SourceContext = {
    name: "syslog",
    stats,
    state: memoryState(),
    log: createLogger("silent"),
    signal: new AbortController().signal,
    emit(batch) {
      events.push(...batch);
      return Promise.resolve();
    },
  };
  const source = syslogSource({ host: "127.0.0.1", port: 0, timeZoneOffset: 0, ...options });
  await source.start(ctx);
  return {
    source,
    events,
    stats,
    async until(pred: () => boolean, what: string): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

async function tcpSend(port: number, text: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const bytes = enc.encode(text);
    let at = 0;
    while (at < bytes.length) at += await conn.write(bytes.subarray(at));
  } finally {
    conn.close();
  }
}

function udpSend(port: number, text: string): Promise<void> {
  const client = dgram.createSocket("udp4");
  return new Promise((resolve, reject) =>
    client.send(text, port, "127.0.0.1", (err) => {
      client.close();
      if (err) reject(err);
      else resolve();
    })
  );
}

Deno.test("syslogSource() parses RFC 5424 and RFC 3164 over TCP and UDP on one port", async () => {
  const t = await started({ transport: "tcp+udp" });
  try {
    assert.equal(t.source.tcpAddr?.port, t.source.udpAddr?.port);
    const port = t.source.tcpAddr?.port as number;
    const a = '<165>1 2026-11-23T10:00:00.5+01:00 vm-1 alerts 77 ID1 [meta@32473 rule="R1"] hit';
    await tcpSend(port, `${enc.encode(a).length} ${a}`);
    await tcpSend(port, "<38>Nov 23 09:59:58 vm-2 sshd[4242]: Accepted publickey\n");
    await udpSend(port, "<134>Nov 23 10:00:01 router kernel: [UFW BLOCK] SRC=192.0.2.9");
    await t.until(() => t.events.length === 3, "3 events");
    const by = (program: string) => t.events.find((e) => e.program === program) as LogEvent;
    const alert = by("alerts");
    assert.equal(alert.host, "vm-1");
    assert.equal(alert.pid, "77");
    assert.equal(alert.severity, 5);
    assert.equal(alert.facility, 20);
    assert.equal(alert.message, "hit");
    assert.equal(new Date(alert.timestamp as number).toISOString(), "2026-11-23T09:00:00.500Z");
    assert.deepEqual((alert.fields.syslog as Record<string, unknown>).sd, {
      "meta@32473": { rule: "R1" },
    });
    const ssh = by("sshd");
    assert.equal(ssh.host, "vm-2");
    assert.equal(ssh.pid, "4242");
    assert.equal(ssh.severity, 6);
    assert.equal(ssh.facility, 4);
    const fw = by("kernel");
    assert.equal(fw.host, "router");
    assert.equal(fw.message, "[UFW BLOCK] SRC=192.0.2.9");
    assert.equal(fw.sourceIp, "127.0.0.1");
  } finally {
    await t.source.stop();
  }
});

Deno.test("syslogSource() keeps unparsable messages whole, flagged and counted", async () => {
  const t = await started({ transport: "udp" });
  try {
    await udpSend(t.source.udpAddr?.port as number, "not syslog at all");
    await t.until(() => t.events.length === 1, "1 event");
    assert.equal(t.events[0]?.message, "not syslog at all");
    assert.equal(t.events[0]?.fields.sluice_unparsed, true);
    assert.equal(t.stats.counters.unparsed, 1);
    assert.equal(t.source.tcpAddr, undefined);
  } finally {
    await t.source.stop();
  }
});

Deno.test({
  name: "syslogSource() over mutual TLS takes HOST from the certificate, not the message",
  ignore: OPENSSL === undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-syslog-tls-" });
    try {
      const pki = await makeTestPki(dir, ["vm-1"]);
      const t = await started({
        transport: "tls",
        tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile },
        hostFromCertificate: true,
      });
      try {
        const conn = await Deno.connectTls({
          hostname: "127.0.0.1",
          port: t.source.tcpAddr?.port as number,
          caCerts: [pki.ca],
          cert: pki.clients["vm-1"]?.cert as string,
          key: pki.clients["vm-1"]?.key as string,
        });
        await conn.write(enc.encode("<13>1 2026-11-23T10:00:00Z vm-2 app - - - I am vm-2\n"));
        await t.until(() => t.events.length === 1, "1 event");
        conn.close();
        const event = t.events[0] as LogEvent;
        assert.equal(event.host, "vm-1");
        assert.equal((event.fields.syslog as Record<string, unknown>).hostname, "vm-2");
        assert.equal((event.fields.tls as Record<string, unknown>).peer_cn, "vm-1");
        assert.equal(event.message, "I am vm-2");
      } finally {
        await t.source.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("syslogSource() rejects bad options by name", () => {
  // @ts-expect-error: a wrong value on purpose
  assert.throws(() => syslogSource({ transport: "sctp" }), /syslogSource: "transport" must be/);
  assert.throws(() => syslogSource({ transport: "tls" }), /transport "tls" needs "tls" options/);
  assert.throws(
    () => syslogSource({ transport: "udp", tls: { certFile: "a", keyFile: "b", caFile: "c" } }),
    /"tls" options need transport "tls"/,
  );
  assert.throws(() => syslogSource({ port: 99999 }), /"port" must be an integer 0–65535/);
});
