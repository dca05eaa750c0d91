// Issue 20 item 16: the reference deployment over mutual TLS, with certificates from `sluice certs`.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { syntheticAlert } from "../../mod.ts";
import { runWithDeadline, waitFor } from "../_peers.ts";
import { type Runner, startRunner } from "./_procs.ts";

const CENTRAL = new URL("../../examples/pipeline.central.ts", import.meta.url).pathname;
const VM = new URL("../../examples/pipeline.vm.ts", import.meta.url).pathname;
const MAIN = new URL("../../runner/main.ts", import.meta.url).pathname;

async function sluice(args: string[]): Promise<string> {
  const out = await runWithDeadline(Deno.execPath(), ["run", "-A", MAIN, ...args], {
    timeoutMs: 60_000,
    what: `sluice ${args.join(" ")}`,
  });
  assert.equal(out.code, 0, out.stderr);
  return out.stdout;
}

function rows(db: string, sql: string): Array<Record<string, unknown>> {
  try {
    const conn = new DatabaseSync(db, { readOnly: true });
    try {
      return (conn.prepare(sql).all() as Array<Record<string, unknown>>).map((r) => ({ ...r }));
    } finally {
      conn.close();
    }
  } catch {
    return [];
  }
}

/** Sends one JSON line over TLS with `cert`; "sent" or the error that stopped it. */
async function tryClient(
  port: number,
  ca: string,
  cert?: { cert: string; key: string },
): Promise<string> {
  let conn: Deno.TlsConn | undefined;
  try {
    conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port,
      caCerts: [ca],
      ...(cert ? { cert: cert.cert, key: cert.key } : {}),
    });
    await conn.handshake();
    await conn.write(
      new TextEncoder().encode('{"host":"intruder","severity":"critical","rule":"Fake"}\n'),
    );
    // A refused client learns it at its next read: the server closes or resets.
    const n = await Promise.race([
      conn.read(new Uint8Array(16)),
      new Promise<"open">((resolve) => setTimeout(() => resolve("open"), 2000)),
    ]);
    return n === "open" ? "sent" : "closed";
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  } finally {
    try {
      conn?.close();
    } catch {
      // already closed
    }
  }
}

Deno.test("examples: a VM forwards to the central over mutual TLS; clients without a trusted certificate are refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-tls-" });
  const certs = `${dir}/certs`;
  const runners: Runner[] = [];
  try {
    await sluice(["certs", "init", "--dir", certs]);
    await sluice(["certs", "issue", "central", "--dir", certs, "--san", "127.0.0.1", "localhost"]);
    await sluice(["certs", "issue", "vm-1", "--dir", certs]);
    // Another deployment's CA: its certificates must not get in.
    await sluice(["certs", "init", "--dir", `${dir}/other`]);
    await sluice(["certs", "issue", "vm-1", "--dir", `${dir}/other`]);

    const central = startRunner([
      "--state-dir",
      `${dir}/central-state`,
      CENTRAL,
      "--data",
      `${dir}/central`,
      "--json-port",
      "0",
      "--relp-port",
      "0",
      "--syslog-port",
      "0",
      "--ui",
      "off",
      "--tls-cert",
      `${certs}/central.crt`,
      "--tls-key",
      `${certs}/central.key`,
      "--tls-ca",
      `${certs}/ca.crt`,
      "--tls-host-from-cert",
    ]);
    runners.push(central);
    const jsonPort = Number((await central.waitFor(/JSON lines over TCP\s+127\.0\.0\.1:(\d+)/))[1]);
    const relpPort = (await central.waitFor(/RELP\s+127\.0\.0\.1:(\d+)/))[1] as string;
    await central.waitFor(/over mutual TLS/);

    await Deno.mkdir(`${dir}/vm`, { recursive: true });
    const alerts = `${dir}/vm/alerts.jsonl`;
    // The alert claims another host: with --tls-host-from-cert the certificate's name wins.
    await Deno.writeTextFile(
      alerts,
      Array.from({ length: 20 }, (_, i) => syntheticAlert(i) + "\n").join(""),
    );
    const vm = startRunner([
      "--state-dir",
      `${dir}/vm-state`,
      VM,
      "--central",
      "127.0.0.1",
      "--relp-port",
      relpPort,
      "--alerts",
      alerts,
      "--yara",
      `${dir}/vm/yara.jsonl`,
      "--data",
      `${dir}/vm`,
      "--host",
      "vm-1",
      "--tls-ca",
      `${certs}/ca.crt`,
      "--tls-cert",
      `${certs}/vm-1.crt`,
      "--tls-key",
      `${certs}/vm-1.key`,
    ]);
    runners.push(vm);
    await vm.waitFor(/forwarding over relp\+TLS/);
    const db = `${dir}/central/siem.db`;
    await waitFor(
      "20 alerts from the VM at the central",
      () => rows(db, "SELECT count(*) AS n FROM alerts")[0]?.n === 20,
      60_000,
    );
    assert.deepEqual(rows(db, "SELECT DISTINCT host FROM alerts"), [{ host: "vm-1" }]);

    const ca = await Deno.readTextFile(`${certs}/ca.crt`);
    const identity = async (d: string) => ({
      cert: await Deno.readTextFile(`${d}/vm-1.crt`),
      key: await Deno.readTextFile(`${d}/vm-1.key`),
    });
    assert.match(await tryClient(jsonPort, ca), /^(refused|closed)/);
    assert.match(
      await tryClient(jsonPort, ca, await identity(`${dir}/other`)),
      /^(refused|closed)/,
    );
    // The same port lets a certificate of this CA in.
    assert.equal(await tryClient(jsonPort, ca, await identity(certs)), "sent");
    await waitFor(
      "the trusted client's alert",
      () => rows(db, "SELECT count(*) AS n FROM alerts")[0]?.n === 21,
      30_000,
    );
    // Stored under the certificate's name, not the "intruder" its JSON claims.
    assert.deepEqual(rows(db, "SELECT DISTINCT host FROM alerts"), [{ host: "vm-1" }]);
    await central.waitFor(/handshake|refusing a client certificate/i);
    assert.match(central.stderr(), /127\.0\.0\.1:\d+/);

    assert.equal(await vm.stop(), 0);
    assert.equal(await central.stop(), 0);
  } finally {
    for (const r of runners) await r.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
