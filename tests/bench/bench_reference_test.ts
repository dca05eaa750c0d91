/**
 * A same-run reference that hangs is killed at its deadline and reported as
 * a FAILED row, and the bench exits 1: it once waited forever on OpenSSH's
 * `sftp -b`, and a failed reference once passed as a row without a ratio.
 */

import assert from "node:assert/strict";
import { runWithDeadline } from "../_peers.ts";

const MAIN = new URL("../../bench/main.ts", import.meta.url).pathname;

Deno.test("bench: a reference that hangs is killed at its deadline and reported as a FAILED row", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // An `sftp` first on PATH that never returns, as OpenSSH's did against the ssh2 test server.
    await Deno.writeTextFile(`${dir}/sftp`, "#!/bin/sh\nexec sleep 600\n", { mode: 0o755 });
    const out = await runWithDeadline(Deno.execPath(), ["run", "-A", MAIN, "--quick", "objects"], {
      env: {
        PATH: `${dir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
        BENCH_REFERENCE_TIMEOUT_MS: "1500",
        BENCH_OBJECTS_MIB: "1",
        BENCH_OBJECTS_FILES: "5",
        // The in-process server: no sshd to start.
        SLUICE_TEST_HIDE_PEERS: "sshd,rclone",
        NO_COLOR: "1",
      },
      timeoutMs: 180_000,
      what: "deno task bench --quick objects with a hanging sftp",
    });
    assert.equal(out.code, 1, `the bench exited ${out.code}:\n${out.stderr.slice(-2000)}`);
    const failed = out.stdout.split("\n").filter((l) => l.includes(" | FAILED | "));
    assert.equal(failed.length, 2, out.stdout);
    for (const row of failed) assert.match(row, /sftp -b put .* hung: killed after 1500 ms/);
    assert.match(out.stderr, /bench: FAILED objects OpenSSH sftp -b put/);
    // The sink's own rows were still measured, without a ratio to a reference that failed.
    const rows = out.stdout.split("\n").filter((l) => l.startsWith("| objects | sftp-object"));
    assert.ok(rows.length >= 5, out.stdout);
    for (const row of rows) assert.doesNotMatch(row, /OpenSSH sftp -b put: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench: a scenario that hangs is a FAILED row naming it at its deadline, and the bench exits 1", async () => {
  const out = await runWithDeadline(
    Deno.execPath(),
    ["run", "-A", MAIN, "--quick", "../tests/bench/_hanging_scenario"],
    {
      env: { BENCH_SCENARIO_TIMEOUT_MS: "1000", NO_COLOR: "1" },
      timeoutMs: 120_000,
      what: "deno task bench --quick with a hanging scenario",
    },
  );
  assert.equal(out.code, 1, out.stderr.slice(-2000));
  assert.match(
    out.stdout,
    /\| \.\.\/tests\/bench\/_hanging_scenario \| scenario \| FAILED \|.*hung: no answer after 1000 ms/,
  );
});

Deno.test("bench: stopped by SIGTERM, the bench kills the children it started in groups of their own", async () => {
  const dir = await Deno.makeTempDir();
  const pidFile = `${dir}/child.pid`;
  const bench = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--quick", "--out", dir, "../tests/bench/_spawning_scenario"],
    env: { BENCH_TEST_PID_FILE: pidFile, BENCH_SCENARIO_TIMEOUT_MS: "600000", NO_COLOR: "1" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const alive = (pid: number) => {
    try {
      Deno.kill(pid, "SIGCONT");
      return true;
    } catch {
      return false;
    }
  };
  let child = 0;
  try {
    const end = Date.now() + 60_000;
    while (!child && Date.now() < end) {
      child = Number(await Deno.readTextFile(pidFile).catch(() => "0"));
      if (!child) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(child > 0, "the scenario started its child within 60 s");
    assert.ok(alive(child));
    bench.kill("SIGTERM");
    const status = await bench.status;
    assert.equal(status.code, 143);
    const gone = Date.now() + 10_000;
    while (alive(child) && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!alive(child), `the child ${child} outlived the bench`);
  } finally {
    try {
      bench.kill("SIGKILL");
    } catch {
      // ended
    }
    if (child && alive(child)) Deno.kill(-child, "SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});
