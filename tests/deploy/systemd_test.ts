// The systemd units in deploy/systemd/ load cleanly (`systemd-analyze verify`) and score as
// "OK" (exposure ≤ 2.5) in `systemd-analyze security --offline=yes` (systemd ≥ 250; Debian 12
// has 252). Neither needs a running systemd: both read the unit files.
import assert from "node:assert/strict";
import { peer, runWithDeadline } from "../_peers.ts";

const UNITS = new URL("../../deploy/systemd/", import.meta.url).pathname;
const SERVICES = ["sluice-central.service", "sluice-vm.service", "sluice-sync.service"];
const analyze = peer("systemd-analyze", "systemd");

/** The units in a temp dir, their `/usr/local/bin/sluice` pointing at an executable that exists. */
async function stagedUnits(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-units-" });
  const binary = `${dir}/sluice`;
  await Deno.writeTextFile(binary, "#!/bin/sh\nexit 0\n");
  await Deno.chmod(binary, 0o755);
  for (const entry of Deno.readDirSync(UNITS)) {
    if (!entry.isFile) continue;
    const text = await Deno.readTextFile(`${UNITS}${entry.name}`);
    await Deno.writeTextFile(
      `${dir}/${entry.name}`,
      text.replaceAll("/usr/local/bin/sluice", binary),
    );
  }
  return dir;
}

Deno.test({
  name: "deploy: systemd-analyze verify accepts the units and the timer",
  ignore: !analyze,
  async fn() {
    const dir = await stagedUnits();
    try {
      const units = [...SERVICES, "sluice-sync.timer"].map((u) => `${dir}/${u}`);
      const r = await runWithDeadline(analyze!, ["verify", ...units], {
        timeoutMs: 60_000,
        what: "systemd-analyze verify",
      });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      // verify exits 0 on warnings too: any line it prints about our units is a finding.
      const findings = (r.stderr + r.stdout).split("\n").filter((l) => /sluice-/.test(l));
      assert.deepEqual(findings, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "deploy: every service's exposure in systemd-analyze security is at most 2.5 (OK)",
  ignore: !analyze,
  async fn() {
    const dir = await stagedUnits();
    try {
      for (const unit of SERVICES) {
        const r = await runWithDeadline(
          analyze!,
          ["security", "--offline=yes", "--threshold=25", "--no-pager", `${dir}/${unit}`],
          { timeoutMs: 60_000, what: `systemd-analyze security ${unit}` },
        );
        const level = r.stdout.match(/Overall exposure level for \S+: ([\d.]+)/)?.[1];
        assert.ok(level !== undefined, `${unit}: no exposure level in\n${r.stdout}${r.stderr}`);
        assert.ok(Number(level) <= 2.5, `${unit}: exposure ${level}\n${r.stdout}`);
        assert.equal(r.code, 0, `${unit}: over the threshold\n${r.stdout}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("deploy: the units keep the settings the issue asks for", async () => {
  const read = (u: string) => Deno.readTextFile(`${UNITS}${u}`);
  for (const unit of SERVICES) {
    const text = await read(unit);
    for (
      const line of [
        "User=sluice",
        "StateDirectory=sluice",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "KillSignal=SIGTERM",
      ]
    ) {
      assert.ok(text.includes(`\n${line}\n`), `${unit} lacks ${line}`);
    }
    // The stop timeout exceeds the runner's drain timeout (30 s).
    const stop = Number(text.match(/\nTimeoutStopSec=(\d+)\n/)?.[1]);
    assert.ok(stop > 30, `${unit}: TimeoutStopSec=${stop}`);
    assert.doesNotMatch(text, /CAP_NET_ADMIN/, `${unit} must not get CAP_NET_ADMIN`);
    assert.doesNotMatch(text, /ExecStart=.* -A\b/);
  }
  assert.match(
    await read("sluice-central.service"),
    /\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n/,
  );
  assert.match(await read("sluice-vm.service"), /\nCapabilityBoundingSet=\n/);
  assert.match(await read("sluice-central.service"), /\nRestart=on-failure\n/);
  assert.match(await read("sluice-vm.service"), /\nRestart=on-failure\n/);
  assert.match(await read("sluice-sync.timer"), /\nOnCalendar=\*:0\/15\n/);
  assert.match(
    await read("sluice-central.service.d/respond.conf"),
    /\nAmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_ADMIN\n/,
  );
});
