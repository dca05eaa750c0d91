/**
 * Three test hosts in network namespaces made for one test: a "victim"
 * running OpenSSH's sshd, an "attacker" and an "other" host, each joined to
 * the victim by a veth pair. Loopback alone cannot show that one address is
 * dropped while another still connects; namespaces can, without touching
 * the machine's own firewall.
 *
 * @module
 */

import { peer, runWithDeadline, skipLine, waitFor } from "../_peers.ts";

/** The hosts and how to reach them. */
export interface Lab {
  /** Namespace names. */
  readonly victim: string;
  readonly attacker: string;
  readonly other: string;
  /** The victim's address as the attacker sees it. */
  readonly victimFromAttacker: string;
  /** The victim's address as the other host sees it. */
  readonly victimFromOther: string;
  /** The attacker's and the other host's addresses. */
  readonly attackerIp: string;
  readonly otherIp: string;
  /** Runs a command inside a namespace. */
  exec(
    ns: string,
    argv: string[],
    timeoutMs?: number,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Whether a TCP connect from `ns` to `ip:port` succeeds within 1.5 s. */
  connects(ns: string, ip: string, port?: number): Promise<boolean>;
  /** Removes the namespaces. */
  close(): Promise<void>;
}

let _can: boolean | undefined;

/**
 * Whether namespaces can be made here (root, iproute2); says why not once.
 *
 * @returns `true` when the lab can run.
 */
export async function canMakeNamespaces(): Promise<boolean> {
  if (_can !== undefined) return _can;
  if (!peer("ip", "iproute2")) return (_can = false);
  if (Deno.env.get("SLUICE_TEST_HIDE_PEERS")) {
    skipLine("network namespaces", "hidden by SLUICE_TEST_HIDE_PEERS");
    return (_can = false);
  }
  const name = `sl-probe-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const r = await runWithDeadline("ip", ["netns", "add", name], {
      timeoutMs: 10_000,
      what: "ip netns add",
    });
    if (r.code !== 0) {
      skipLine("network namespaces", `ip netns add failed: ${r.stderr.trim()}; run as root`);
      return (_can = false);
    }
    await runWithDeadline("ip", ["netns", "del", name], {
      timeoutMs: 10_000,
      what: "ip netns del",
    });
    return (_can = true);
  } catch (err) {
    skipLine("network namespaces", String(err));
    return (_can = false);
  }
}

async function _ip(args: string[]): Promise<void> {
  const r = await runWithDeadline("ip", args, { timeoutMs: 10_000, what: `ip ${args.join(" ")}` });
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

/**
 * Makes the three namespaces and their links.
 *
 * @param subnet The second octet of the 10.x networks (keep labs of parallel tests apart in logs).
 * @returns The lab.
 */
export async function makeLab(subnet = 77): Promise<Lab> {
  const id = crypto.randomUUID().slice(0, 6);
  const victim = `sl-v-${id}`;
  const attacker = `sl-a-${id}`;
  const other = `sl-o-${id}`;
  const made: string[] = [];
  const lab: Lab = {
    victim,
    attacker,
    other,
    victimFromAttacker: `10.${subnet}.1.1`,
    attackerIp: `10.${subnet}.1.2`,
    victimFromOther: `10.${subnet}.2.1`,
    otherIp: `10.${subnet}.2.2`,
    async exec(ns, argv, timeoutMs = 15_000) {
      return await runWithDeadline("ip", ["netns", "exec", ns, ...argv], {
        timeoutMs,
        what: `${argv.join(" ")} in ${ns}`,
      });
    },
    async connects(ns, ip, port = 22) {
      // bash's /dev/tcp connects without any tool; timeout ends a dropped SYN.
      const r = await this.exec(ns, [
        "timeout",
        "1.5",
        "bash",
        "-c",
        `exec 3<>/dev/tcp/${ip}/${port}`,
      ], 10_000);
      return r.code === 0;
    },
    async close() {
      for (const ns of made) {
        await runWithDeadline("ip", ["netns", "del", ns], {
          timeoutMs: 10_000,
          what: "ip netns del",
        }).catch(() => {});
      }
    },
  };
  try {
    for (const ns of [victim, attacker, other]) {
      await _ip(["netns", "add", ns]);
      made.push(ns);
      await _ip(["-n", ns, "link", "set", "lo", "up"]);
    }
    await _ip([
      "-n",
      victim,
      "link",
      "add",
      "va",
      "type",
      "veth",
      "peer",
      "name",
      "aa",
      "netns",
      attacker,
    ]);
    await _ip([
      "-n",
      victim,
      "link",
      "add",
      "vo",
      "type",
      "veth",
      "peer",
      "name",
      "oo",
      "netns",
      other,
    ]);
    await _ip(["-n", victim, "addr", "add", `${lab.victimFromAttacker}/24`, "dev", "va"]);
    await _ip(["-n", victim, "addr", "add", `${lab.victimFromOther}/24`, "dev", "vo"]);
    await _ip(["-n", attacker, "addr", "add", `${lab.attackerIp}/24`, "dev", "aa"]);
    await _ip(["-n", other, "addr", "add", `${lab.otherIp}/24`, "dev", "oo"]);
    for (
      const [ns, dev] of [[victim, "va"], [victim, "vo"], [attacker, "aa"], [other, "oo"]] as const
    ) {
      await _ip(["-n", ns, "link", "set", dev, "up"]);
    }
    return lab;
  } catch (err) {
    await lab.close();
    throw err;
  }
}

/** sshd running in the victim namespace, its log lines collected. */
export interface VictimSshd {
  /** Lines sshd wrote to stderr so far. */
  lines(): string[];
  /** The host key's public line (for pinning). */
  readonly hostKeyPub: string;
  /** Its directory (keys, config). */
  readonly dir: string;
  /** Stops it. */
  stop(): Promise<void>;
}

/**
 * Starts sshd in the victim namespace on port 22, logging to stderr, with
 * root allowed by key only (`authorizedKey`, when given).
 *
 * @param lab The lab.
 * @param authorizedKey A public key line root may log in with.
 * @returns The running sshd.
 */
export async function startVictimSshd(lab: Lab, authorizedKey?: string): Promise<VictimSshd> {
  const sshd = peer("sshd", "openssh-server") as string;
  const dir = await Deno.makeTempDir({ prefix: "sluice-victim-" });
  await runWithDeadline("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/host_key`], {
    timeoutMs: 10_000,
    what: "ssh-keygen",
  });
  await Deno.writeTextFile(`${dir}/authorized_keys`, authorizedKey ? authorizedKey + "\n" : "");
  await Deno.chmod(dir, 0o700);
  await Deno.chmod(`${dir}/authorized_keys`, 0o600);
  await Deno.mkdir("/run/sshd", { recursive: true }).catch(() => {});
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    [
      "Port 22",
      "ListenAddress 0.0.0.0",
      `HostKey ${dir}/host_key`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "LogLevel INFO",
      "MaxStartups 100",
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", lab.victim, sshd, "-D", "-e", "-f", `${dir}/sshd_config`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const collected: string[] = [];
  let partial = "";
  const decoder = new TextDecoder();
  const pump = (async () => {
    for await (const chunk of child.stderr) {
      partial += decoder.decode(chunk, { stream: true });
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      collected.push(...parts);
    }
  })();
  await waitFor(
    "sshd in the victim namespace to listen",
    () => lab.connects(lab.other, lab.victimFromOther),
    15_000,
    200,
  );
  return {
    lines: () => collected,
    hostKeyPub: (await Deno.readTextFile(`${dir}/host_key.pub`)).trim(),
    dir,
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
      await child.status;
      await pump.catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Makes failed SSH logins from the attacker: one per invalid user name.
 *
 * @param lab The lab.
 * @param users The user names to try.
 */
export async function attack(lab: Lab, users: string[]): Promise<void> {
  for (const user of users) {
    await lab.exec(lab.attacker, [
      "ssh",
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "ConnectTimeout=3",
      "-o",
      "IdentitiesOnly=yes",
      "-i",
      "/dev/null",
      `${user}@${lab.victimFromAttacker}`,
      "true",
    ], 10_000).catch(() => {});
  }
}
