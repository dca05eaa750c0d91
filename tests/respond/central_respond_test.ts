/**
 * The central example with `--respond on`: sshd lines sent to its syslog
 * port fire the brute-force rule, and the attacker is dropped by the
 * victim's nftables (a network namespace stands in for the firewall the
 * central manages); with the default (dry-run) nothing changes.
 */

import assert from "node:assert/strict";
import { startRunner } from "../examples/_procs.ts";
import { peer, waitFor } from "../_peers.ts";
import { DecisionTable } from "../../respond/decisions.ts";
import { canMakeNamespaces, makeLab, startVictimSshd } from "./_netns.ts";

const CENTRAL = new URL("../../examples/pipeline.central.ts", import.meta.url).pathname;
const ready = (await canMakeNamespaces()) && !!peer("nft", "nftables") &&
  !!peer("sshd", "openssh-server");

async function sendSshd(port: number, ip: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const text = Array.from(
      { length: 8 },
      (_, i) =>
        `<38>1 ${
          new Date(Date.now() + i).toISOString()
        } vm-2 sshd 4242 - - Failed password for root from ${ip} port ${40000 + i} ssh2\n`,
    ).join("");
    await conn.write(new TextEncoder().encode(text));
  } finally {
    conn.close();
  }
}

for (const mode of ["on", "dry-run"] as const) {
  Deno.test({
    name: `central example --respond ${mode}: a brute force ${
      mode === "on" ? "blocks the attacker in nftables" : "is recorded and changes nothing"
    }`,
    ignore: !ready,
    async fn() {
      const lab = await makeLab(78);
      const victim = await startVictimSshd(lab);
      const dir = await Deno.makeTempDir();
      const args = [
        "--state-dir",
        `${dir}/state`,
        CENTRAL,
        "--data",
        `${dir}/data`,
        "--json-port",
        "0",
        "--relp-port",
        "0",
        "--syslog-port",
        "0",
        "--respond-netns",
        lab.victim,
        "--respond-bantime",
        "1h",
        ...(mode === "on" ? ["--respond", "on"] : []),
        "--ui",
        "off",
      ];
      const central = startRunner(args);
      try {
        const port = Number(
          (await central.waitFor(/syslog UDP \+ TCP\s+127\.0\.0\.1:(\d+)/, 60_000))[1],
        );
        await sendSshd(port, lab.attackerIp);
        const table = await waitFor("the responses table", () => {
          try {
            return new DecisionTable(`${dir}/data/siem.db`);
          } catch {
            return undefined;
          }
        }, 30_000);
        try {
          const d = await waitFor(
            "a decision",
            () => table.recent(5).find((x) => x.state === (mode === "on" ? "applied" : "dry-run")),
            30_000,
          );
          assert.equal(d.target, lab.attackerIp);
          assert.equal(d.rule, "sshd_brute_force");
        } finally {
          table.close();
        }
        assert.equal(await lab.connects(lab.attacker, lab.victimFromAttacker), mode !== "on");
        assert.ok(await lab.connects(lab.other, lab.victimFromOther));
        assert.equal(await central.stop(), 0);
      } finally {
        await central.kill();
        await victim.stop();
        await lab.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
