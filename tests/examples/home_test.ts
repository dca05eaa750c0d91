import assert from "node:assert/strict";
import { peer, runWithDeadline } from "../_peers.ts";
import { DatabaseSync } from "node:sqlite";
import { startRunner } from "./_procs.ts";

const HOME = new URL("../../examples/pipeline.home.ts", import.meta.url).pathname;

function rows(db: string, sql: string): Record<string, unknown>[] {
  try {
    const conn = new DatabaseSync(db, { readOnly: true });
    try {
      return (conn.prepare(sql).all() as Record<string, unknown>[]).map((r) => ({ ...r }));
    } finally {
      conn.close();
    }
  } catch {
    return [];
  }
}

const LOGGER = peer("logger", "bsdutils");
const hasLogger = LOGGER !== undefined;

Deno.test({
  name:
    "examples: the home collector files iptables lines, addrwatch lines and every message, sent by util-linux logger",
  ignore: !hasLogger,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-home-" });
    const home = startRunner([
      "--state-dir",
      `${dir}/state`,
      HOME,
      "--data",
      dir,
      "--syslog-port",
      "0",
    ]);
    try {
      const port = (await home.waitFor(/UDP \+ TCP on 127\.0\.0\.1:(\d+)/))[1] as string;
      const send = async (args: string[]) => {
        const r = await runWithDeadline(
          LOGGER as string,
          ["-n", "127.0.0.1", "-P", port, ...args],
          {
            timeoutMs: 30_000,
            what: "logger",
          },
        );
        assert.equal(r.code, 0, r.stderr);
      };
      await send([
        "-T",
        "-t",
        "kernel",
        "[UFW BLOCK] IN=eth0 OUT= MAC=aa:bb SRC=203.0.113.7 DST=192.168.1.2 LEN=60 PROTO=TCP SPT=51234 DPT=22 SYN URGP=0",
      ]);
      await send([
        "-d",
        "-t",
        "addrwatch",
        "1700000000 eth0 0 52:54:00:12:34:56 192.168.1.23 ARP_REQ",
      ]);
      await send(["-T", "-t", "smbd", "connection from 192.168.1.50"]);
      const db = `${dir}/home.db`;
      for (let i = 0; i < 200 && rows(db, "SELECT * FROM messages").length < 3; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(rows(db, "SELECT * FROM messages").length, 3);
      const pf = rows(db, "SELECT src, dst, proto, dpt FROM packetfilter");
      assert.deepEqual(pf, [{ src: "203.0.113.7", dst: "192.168.1.2", proto: "TCP", dpt: 22 }]);
      const arp = rows(db, "SELECT mac, ip, interface FROM addrwatch");
      assert.deepEqual(arp, [{ mac: "52:54:00:12:34:56", ip: "192.168.1.23", interface: "eth0" }]);
      assert.equal(await home.stop(), 0);
    } finally {
      await home.kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
