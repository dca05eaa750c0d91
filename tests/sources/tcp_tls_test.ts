import assert from "node:assert/strict";
import type { LogEvent } from "../../core/event.ts";
import { makeTestPki, OPENSSL, type TestPki } from "../fixtures/tls/pki.ts";
import { closedByPeer, enc, started, writeAll } from "./_tcp_helpers.ts";

// --- TLS -------------------------------------------------------------------

const noOpenssl = OPENSSL === undefined;
if (noOpenssl) console.warn("tcp_tls_test: openssl is not installed; TLS tests are skipped");

async function withPki(fn: (pki: TestPki) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-tls-" });
  try {
    await fn(await makeTestPki(dir, ["vm-1", "vm-2"]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Sends over TLS and reads until the server closes: "closed" when it closed cleanly, else the error. */
async function tlsSend(
  port: number,
  pki: TestPki,
  text: string,
  identity?: { cert: string; key: string },
): Promise<string> {
  let conn: Deno.TlsConn | undefined;
  try {
    conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port,
      caCerts: [pki.ca],
      ...(identity ? { cert: identity.cert, key: identity.key } : {}),
    });
    await writeAll(conn, enc.encode(text));
    await conn.closeWrite();
    const buf = new Uint8Array(64);
    while ((await conn.read(buf)) !== null) {
      // the source never writes
    }
    return "closed";
  } catch (err) {
    return `error: ${(err as Error).message}`;
  } finally {
    conn?.close();
  }
}

Deno.test({
  name: "tcpSource() with mutual TLS stores the client certificate and sets HOST from it",
  ignore: noOpenssl,
  fn: () =>
    withPki(async (pki) => {
      const t = await started({
        tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile },
        hostFromCertificate: true,
        idleTimeoutMs: 5000,
      });
      try {
        assert.equal(await tlsSend(t.port, pki, "from vm-1\n", pki.clients["vm-1"]), "closed");
        assert.equal(await tlsSend(t.port, pki, "3 two", pki.clients["vm-2"]), "closed");
        await t.until(() => t.events.length === 2, "2 events");
        const [a, b] = t.events as [LogEvent, LogEvent];
        assert.equal(a.message, "from vm-1");
        assert.equal(a.host, "vm-1");
        assert.equal(a.sourceIp, "127.0.0.1");
        const tls = a.fields.tls as Record<string, string>;
        assert.equal(tls.peer_cn, "vm-1");
        assert.equal(tls.peer_subject, "O=sluice tests,CN=vm-1");
        assert.match(tls.fingerprint ?? "", /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
        assert.equal(b.message, "two");
        assert.equal(b.host, "vm-2");
      } finally {
        await t.source.stop();
      }
    }),
});

Deno.test({
  name: 'tcpSource() with peerVerify "required" refuses clients without a trusted certificate',
  ignore: noOpenssl,
  fn: () =>
    withPki(async (pki) => {
      const t = await started({
        tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, peerVerify: "required" },
      });
      try {
        assert.match(await tlsSend(t.port, pki, "anonymous\n"), /^error: .*Certificate/i);
        assert.match(await tlsSend(t.port, pki, "stranger\n", pki.stranger), /^error: /);
        await t.until(() => (t.stats.counters.tls_rejected ?? 0) === 2, "2 rejections");
        assert.equal(t.stats.errors, 2);
        assert.equal(await tlsSend(t.port, pki, "trusted\n", pki.clients["vm-1"]), "closed");
        await t.until(() => t.events.length === 1, "1 event");
        assert.equal(t.events[0]?.message, "trusted");
      } finally {
        await t.source.stop();
      }
    }),
});

Deno.test({
  name: 'tcpSource() with peerVerify "optional" accepts clients without a certificate',
  ignore: noOpenssl,
  fn: () =>
    withPki(async (pki) => {
      const t = await started({
        tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, peerVerify: "optional" },
        hostFromCertificate: true,
      });
      try {
        assert.equal(await tlsSend(t.port, pki, "anonymous\n"), "closed");
        assert.equal(await tlsSend(t.port, pki, "known\n", pki.clients["vm-2"]), "closed");
        assert.match(await tlsSend(t.port, pki, "stranger\n", pki.stranger), /^error: /);
        await t.until(() => t.events.length === 2, "2 events");
        const anon = t.events.find((e) => e.message === "anonymous") as LogEvent;
        const known = t.events.find((e) => e.message === "known") as LogEvent;
        assert.equal(anon.host, undefined);
        assert.equal(anon.fields.tls, undefined);
        assert.equal(known.host, "vm-2");
        assert.equal(t.stats.counters.tls_rejected, 1);
      } finally {
        await t.source.stop();
      }
    }),
});

Deno.test({
  name: 'tcpSource() with peerVerify "none" serves server-only TLS and octet counting',
  ignore: noOpenssl,
  fn: () =>
    withPki(async (pki) => {
      const t = await started({
        tls: { cert: pki.server.cert, key: pki.server.key, peerVerify: "none" },
      });
      try {
        const many = Array.from({ length: 20_000 }, (_, i) => `message ${i}`);
        const text = many.map((m) => `${m.length} ${m}`).join("");
        assert.equal(await tlsSend(t.port, pki, text), "closed");
        await t.until(() => t.events.length === many.length, "every frame");
        assert.deepEqual(t.events.map((e) => e.message), many);
      } finally {
        await t.source.stop();
      }
    }),
});

Deno.test({
  name: "tcpSource() over TLS closes a client that never starts its handshake after idleTimeoutMs",
  ignore: noOpenssl,
  fn: () =>
    withPki(async (pki) => {
      const t = await started({
        tls: { cert: pki.server.cert, key: pki.server.key, peerVerify: "none" },
        idleTimeoutMs: 200,
      });
      try {
        const silent = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
        assert.ok(await closedByPeer(silent));
        silent.close();
        assert.equal(t.stats.counters.idle_timeouts, 1);
        assert.equal(t.stats.errors, 0);
        assert.equal(await tlsSend(t.port, pki, "still serving\n"), "closed");
        await t.until(() => t.events.length === 1, "1 event");
      } finally {
        await t.source.stop();
      }
    }),
});
