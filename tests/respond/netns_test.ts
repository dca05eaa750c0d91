/**
 * Active response against real firewalls, in network namespaces made for
 * each test: sshd runs in a "victim" namespace, an "attacker" makes failed
 * SSH logins, the test plays the central (reads sshd's log, runs the rule,
 * decides), and the block lands in the victim's nftables or iptables. An
 * "other" host shows that only the attacker is dropped.
 */

import assert from "node:assert/strict";
import { DecisionTable } from "../../respond/decisions.ts";
import { waitFor } from "../_peers.ts";
import { attack, startVictimSshd } from "./_netns.ts";
import { central, feed, iptables, nft, ready, withLab } from "./_netns_central.ts";

for (const kind of ["nft", "iptables"] as const) {
  Deno.test({
    name:
      `active response (${kind}): a brute force blocks the attacker only, and the ban ends on time`,
    ignore: !ready || !(kind === "nft" ? nft : iptables),
    async fn() {
      await withLab(async (lab) => {
        const victim = await startVictimSshd(lab);
        const dir = await Deno.makeTempDir();
        const c = await central(lab, kind, `${dir}/siem.db`);
        try {
          assert.ok(
            await lab.connects(lab.attacker, lab.victimFromAttacker),
            "the attacker reaches sshd before",
          );
          await attack(lab, ["admin", "oracle", "test", "guest"]);
          await waitFor(
            "sshd to log the invalid users",
            () => victim.lines().filter((l) => /Invalid user/.test(l)).length >= 3,
            15_000,
          );
          await feed(c.src, victim.lines());
          const table = new DecisionTable(`${dir}/siem.db`);
          try {
            const applied = await waitFor(
              "the block to be applied",
              () => table.inStates(["applied"])[0],
              15_000,
            );
            assert.equal(applied.target, lab.attackerIp);
            assert.equal(applied.rule, "sshd_invalid_user_sweep");
            const blocked = !(await lab.connects(lab.attacker, lab.victimFromAttacker));
            if (!blocked) {
              const fw = await lab.exec(lab.victim, [
                kind === "nft" ? "nft" : "iptables",
                ...(kind === "nft" ? ["list", "ruleset"] : ["-S"]),
              ]);
              assert.fail(
                `the attacker still connects; decisions ${
                  JSON.stringify(table.recent(5))
                }; firewall:\n${fw.stdout}`,
              );
            }
            assert.ok(
              await lab.connects(lab.other, lab.victimFromOther),
              "another host still connects",
            );
            // The ban is 4 s: the kernel (nft) or sluice's timer (iptables) lifts it.
            await waitFor(
              "the attacker to connect again after the ban",
              () => lab.connects(lab.attacker, lab.victimFromAttacker),
              20_000,
              500,
            );
            await waitFor(
              "the decision to be marked expired",
              () => table.inStates(["expired"]).length === 1,
              10_000,
            );
          } finally {
            table.close();
          }
        } finally {
          await c.engine.stop();
          await victim.stop();
          await Deno.remove(dir, { recursive: true });
        }
      });
    },
  });
}
