/**
 * Active response against real firewalls, in network namespaces made for
 * each test: sshd runs in a "victim" namespace, an "attacker" makes failed
 * SSH logins, the test plays the central (reads sshd's log, runs the rule,
 * decides), and the block lands in the victim's nftables or iptables. An
 * "other" host shows that only the attacker is dropped.
 */

import assert from "node:assert/strict";
import { DecisionTable } from "../../respond/decisions.ts";
import { Responder } from "../../respond/responder.ts";
import { peer, runWithDeadline, waitFor } from "../_peers.ts";
import { attack, startVictimSshd } from "./_netns.ts";
import { backendIn, can, central, feed, iptables, nft, ready, withLab } from "./_netns_central.ts";

Deno.test({
  name: "active response: an allowlisted attacker is never blocked, and dry-run changes nothing",
  ignore: !ready || !nft,
  async fn() {
    await withLab(async (lab) => {
      const victim = await startVictimSshd(lab);
      const dir = await Deno.makeTempDir();
      try {
        for (const mode of ["on", "dry-run"] as const) {
          const db = `${dir}/${mode}.db`;
          const c = await central(
            lab,
            "nft",
            db,
            mode === "on" ? { allow: [`${lab.attackerIp}/32`] } : { mode },
          );
          try {
            await attack(lab, ["a1", "a2", "a3"]);
            await waitFor(
              "invalid users logged",
              () => victim.lines().filter((l) => /Invalid user a\d/.test(l)).length >= 3,
              15_000,
            );
            await feed(c.src, victim.lines().splice(0));
            const table = new DecisionTable(db);
            try {
              const d = await waitFor(`a ${mode} decision`, () => table.recent(5)[0], 10_000);
              assert.equal(d.state, mode === "on" ? "refused" : "dry-run");
              if (mode === "on") assert.match(d.result, /allowlist/);
              else assert.match(d.result, /would run: .*nft add element inet sluice blocked4/);
            } finally {
              table.close();
            }
            assert.ok(
              await lab.connects(lab.attacker, lab.victimFromAttacker),
              `${mode}: the attacker still connects`,
            );
            const rules = await lab.exec(lab.victim, ["nft", "list", "ruleset"]);
            assert.doesNotMatch(
              rules.stdout,
              /\d+\.\d+\.\d+\.\d+/,
              `${mode}: no address in the firewall`,
            );
          } finally {
            await c.engine.stop();
          }
        }
      } finally {
        await victim.stop();
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

Deno.test({
  name:
    "active response: after kill -9 during a ban, a restart makes the table and the firewall agree",
  ignore: !can || !iptables,
  async fn() {
    await withLab(async (lab) => {
      const dir = await Deno.makeTempDir();
      const db = `${dir}/siem.db`;
      const script = `${dir}/crash.ts`;
      const here = new URL("../../respond/", import.meta.url).href;
      await Deno.writeTextFile(
        script,
        `import { Responder } from "${here}responder.ts";
import { DecisionTable } from "${here}decisions.ts";
import { iptablesBackend } from "${here}iptables.ts";
import { localExecutor } from "${here}executor.ts";
const r = new Responder({ table: new DecisionTable(${JSON.stringify(db)}), mode: "on",
  backends: { local: iptablesBackend(localExecutor({ prefix: ["ip", "netns", "exec", ${
          JSON.stringify(lab.victim)
        }] })) } });
for (const [t, s] of [["203.0.113.7", 2], ["203.0.113.8", 600]]) {
  await r.decide({ target: t, host: "local", reason: "x", rule: "operator", by: "test", durationSec: s });
}
console.log("applied");
await new Promise(() => {});
`,
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      try {
        const reader = child.stdout.getReader();
        const got = await Promise.race([
          reader.read().then((r) => new TextDecoder().decode(r.value)),
          new Promise<string>((_, rej) =>
            setTimeout(
              () => rej(new Error("the crashing responder never applied its blocks")),
              30_000,
            )
          ),
        ]);
        assert.match(got, /applied/);
        reader.releaseLock();
      } finally {
        child.kill("SIGKILL");
        await child.status;
        await child.stderr.cancel().catch(() => {});
        await child.stdout.cancel().catch(() => {});
      }
      const listed = async () =>
        (await lab.exec(lab.victim, ["iptables", "-w", "-S", "sluice"])).stdout;
      assert.match(await listed(), /203\.0\.113\.7/);
      // While sluice is down, the short ban runs out and someone flushes the long one away.
      await new Promise((r) => setTimeout(r, 2500));
      await lab.exec(lab.victim, [
        "iptables",
        "-w",
        "-D",
        "sluice",
        "-s",
        "203.0.113.8",
        "-j",
        "DROP",
      ]);
      const r = new Responder({
        table: new DecisionTable(db),
        mode: "on",
        backends: { local: backendIn(lab, "iptables") },
      });
      try {
        const result = await r.reconcile();
        assert.deepEqual(result, { reapplied: 1, removed: 0, expired: 1 });
        const now = await listed();
        assert.doesNotMatch(now, /203\.0\.113\.7/, "the expired ban is gone from the firewall");
        assert.match(now, /203\.0\.113\.8/, "the live ban is back");
        const states = Object.fromEntries(r.table.recent(10).map((d) => [d.target, d.state]));
        assert.deepEqual(states, { "203.0.113.7": "expired", "203.0.113.8": "applied" });
        // An entry no decision explains (left by a crash between apply and record) goes too.
        await lab.exec(lab.victim, [
          "iptables",
          "-w",
          "-I",
          "sluice",
          "1",
          "-s",
          "198.51.100.66",
          "-j",
          "DROP",
        ]);
        assert.equal((await r.reconcile()).removed, 1);
        assert.doesNotMatch(await listed(), /198\.51\.100\.66/);
      } finally {
        r.close();
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

Deno.test({
  name: "sluice respond block|list|unblock drive the firewall from the command line",
  ignore: !can || !nft,
  async fn() {
    await withLab(async (lab) => {
      const dir = await Deno.makeTempDir();
      const main = new URL("../../runner/main.ts", import.meta.url).pathname;
      const sluice = (...args: string[]) =>
        runWithDeadline(Deno.execPath(), [
          "run",
          "-A",
          main,
          "respond",
          ...args,
          "--db",
          `${dir}/siem.db`,
          "--netns",
          lab.victim,
        ], {
          timeoutMs: 60_000,
          what: `sluice respond ${args[0]}`,
        });
      const victim = await startVictimSshd(lab);
      try {
        const bad = await sluice("block", "0.0.0.0/0");
        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, /too wide/);
        const blocked = await sluice(
          "block",
          lab.attackerIp,
          "--for",
          "10m",
          "--reason",
          "scanner",
          "--by",
          "alice",
        );
        assert.equal(blocked.code, 0, blocked.stderr);
        assert.match(
          blocked.stdout,
          new RegExp(`applied #\\d+: ${lab.attackerIp.replaceAll(".", "\\.")} on local`),
        );
        assert.equal(await lab.connects(lab.attacker, lab.victimFromAttacker), false);
        const list = await sluice("list");
        assert.match(list.stdout, /applied\t.*\toperator\talice\tscanner/);
        const lifted = await sluice("unblock", lab.attackerIp);
        assert.equal(lifted.code, 0, lifted.stderr);
        assert.ok(await lab.connects(lab.attacker, lab.victimFromAttacker));
      } finally {
        await victim.stop();
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

Deno.test({
  name:
    "active response over SSH: the central blocks on the attacked host with sudo -n nft, host key pinned",
  ignore: !ready || !nft || !peer("sudo", "sudo"),
  async fn() {
    await withLab(async (lab) => {
      const dir = await Deno.makeTempDir();
      await runWithDeadline("ssh-keygen", [
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-f",
        `${dir}/central_key`,
      ], {
        timeoutMs: 10_000,
        what: "ssh-keygen",
      });
      const victim = await startVictimSshd(
        lab,
        (await Deno.readTextFile(`${dir}/central_key.pub`)).trim(),
      );
      try {
        const fp = (await runWithDeadline("ssh-keygen", ["-lf", `${victim.dir}/host_key.pub`], {
          timeoutMs: 10_000,
          what: "ssh-keygen -lf",
        })).stdout.split(" ")[1] as string;
        const { addMonitoredHost, openHostRegistry } = await import(
          "../../sources/_ssh_journal_registry.ts"
        );
        const reg = openHostRegistry(`${dir}/siem.db`);
        addMonitoredHost(reg, {
          name: "victim",
          address: lab.victimFromOther,
          user: "root",
          privateKeyFile: `${dir}/central_key`,
          hostKeyFingerprint: fp,
        });
        reg.close();
        // The central runs in the "other" namespace, from where the victim's sshd is reachable.
        const main = new URL("../../runner/main.ts", import.meta.url).pathname;
        const sluice = (...args: string[]) =>
          lab.exec(lab.other, [
            Deno.execPath(),
            "run",
            "-A",
            main,
            "respond",
            ...args,
            "--db",
            `${dir}/siem.db`,
          ], 60_000);
        const r = await sluice("block", lab.attackerIp, "--host", "victim", "--for", "10m");
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /applied #\d+: .* on victim/);
        assert.equal(
          await lab.connects(lab.attacker, lab.victimFromAttacker),
          false,
          "dropped by the victim's own firewall",
        );
        const set = await lab.exec(lab.victim, [
          "nft",
          "list",
          "set",
          "inet",
          "sluice",
          "blocked4",
        ]);
        assert.match(set.stdout, new RegExp(lab.attackerIp.replaceAll(".", "\\.")));
        const u = await sluice("unblock", lab.attackerIp, "--host", "victim");
        assert.equal(u.code, 0, u.stderr);
        assert.ok(await lab.connects(lab.attacker, lab.victimFromAttacker));
        // A changed host key: refused before login, nothing applied.
        const reg2 = openHostRegistry(`${dir}/siem.db`);
        reg2.prepare("UPDATE monitored_hosts SET host_key = ? WHERE name = 'victim'").run(
          "SHA256:" + "A".repeat(43),
        );
        reg2.close();
        const refused = await sluice("block", lab.attackerIp, "--host", "victim", "--for", "10m");
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /host key|could not apply/i);
        assert.ok(await lab.connects(lab.attacker, lab.victimFromAttacker));
      } finally {
        await victim.stop();
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});
