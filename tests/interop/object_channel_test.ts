/**
 * The object channel of the reference deployment (issue 28) against
 * OpenSSH's sshd: the VM example's `--objects-*` jobs (bandwidth limit,
 * max-age, files still being written) and the end to end from a VM's
 * quarantine directory to the central's `objects` table. Skipped when sshd
 * is missing.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { Engine } from "../../core/engine.ts";
import { createLogger } from "../../core/log.ts";
import { definePipeline } from "../../core/pipeline.ts";
import type { Sink, Source } from "../../core/types.ts";
import { type ObjectJobs, objectJobs } from "../../examples/_objects.ts";
import vmPipeline from "../../examples/pipeline.vm.ts";
import centralPipeline from "../../examples/pipeline.central.ts";
import { isObjectsSource, type ObjectActivity, objectsSource } from "../../sources/objects.ts";
import { peer, waitFor } from "../_peers.ts";
import { knownHostsLine, writeClientKey } from "../fixtures/ssh/keys.ts";
import { startSshd } from "../fixtures/ssh/sshd.ts";
import { writePattern } from "../fixtures/ssh/suite.ts";

const sshd = peer("sshd", "openssh-server");
const silent = createLogger("silent");

interface _World {
  dir: string;
  remote: string;
  /** The three flags, pointing at this sshd. */
  flags: string[];
  close(): Promise<void>;
}

async function world(): Promise<_World> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-objects-channel-" });
  await Deno.mkdir(`${dir}/server`);
  const key = await writeClientKey(dir);
  const server = await startSshd(`${dir}/server`, key.publicKey);
  const remote = `${dir}/remote`;
  await Deno.mkdir(remote);
  await Deno.writeTextFile(
    `${dir}/known_hosts`,
    knownHostsLine("127.0.0.1", server.port, server.hostPublicKey) + "\n",
  );
  return {
    dir,
    remote,
    flags: [
      "--objects-to",
      `${server.user}@127.0.0.1:${server.port}:${remote}`,
      "--objects-key",
      key.file,
      "--objects-known-hosts",
      `${dir}/known_hosts`,
    ],
    async close() {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Runs the jobs the flags make once (as `sluice sync --once` does) and returns every activity, timed. */
async function runJobs(
  w: _World,
  extra: string[],
  on: (a: ObjectActivity) => void = () => {},
): Promise<Array<ObjectActivity & { at: number }>> {
  const jobs = objectJobs([...w.flags, ...extra], {}, "vm1");
  assert.ok(jobs);
  const log: Array<ObjectActivity & { at: number }> = [];
  const paths: Array<{ from: Source[]; to: Sink[] }> = [];
  const once: Source[] = [];
  for (const [name, source] of Object.entries(jobs.sources)) {
    assert.ok(isObjectsSource(source));
    const s = objectsSource({ ...source.options, once: true });
    once.push(s);
    // Typed: narrowed by assert.ok() inside a loop, its inferred type was circular when the whole
    // suite is checked at once (TS7022 under `deno test`, not under `deno check` of this file).
    const sink: ObjectJobs["sinks"][string] | undefined = jobs.sinks[name];
    assert.ok(sink);
    sink.subscribe((a) => {
      log.push({ ...a, at: performance.now() });
      on(a);
    });
    paths.push({ from: [s], to: [sink] });
  }
  const engine = new Engine(
    definePipeline({ paths, retry: { initialMs: 50, maxMs: 200 } }),
    { logger: silent, drainTimeoutMs: 2000 },
  );
  await engine.start();
  try {
    await Promise.all(once.map((s) => s.done));
  } finally {
    await engine.stop();
  }
  return log;
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test({
  name: "VM objects job: 5 MiB at --objects-bwlimit 1M uploads in 5 s ± 20 %",
  ignore: !sshd,
  async fn() {
    const w = await world();
    try {
      const dumps = `${w.dir}/dumps`;
      await Deno.mkdir(dumps);
      await writePattern(`${dumps}/mem.raw`, 5 * 1024 * 1024);
      const log = await runJobs(w, [
        ...["--objects-quarantine", "off", "--objects-samples", "off"],
        ...["--objects-dumps", dumps, "--objects-settle", "0s", "--objects-bwlimit", "1M"],
      ]);
      const start = log.find((a) => a.type === "start");
      const sent = log.find((a) => a.type === "progress" && a.sent === a.size);
      assert.ok(start && sent, JSON.stringify(log.slice(-3)));
      const seconds = (sent.at - start.at) / 1000;
      assert.ok(seconds > 4 && seconds < 6, `5 MiB at 1M took ${seconds.toFixed(2)} s`);
      assert.ok(log.some((a) => a.type === "uploaded"));
      assert.equal(
        await sha256(`${w.remote}/vm1/dumps/mem.raw`),
        await sha256(`${dumps}/mem.raw`),
      );
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name: "VM objects job: a dump older than --objects-dumps-max-age 7d is not sent",
  ignore: !sshd,
  async fn() {
    const w = await world();
    try {
      const dumps = `${w.dir}/dumps`;
      await Deno.mkdir(dumps);
      await Deno.writeTextFile(`${dumps}/old.raw`, "old");
      await Deno.writeTextFile(`${dumps}/new.raw`, "new");
      const eightDays = new Date(Date.now() - 8 * 86_400_000);
      await Deno.utime(`${dumps}/old.raw`, eightDays, eightDays);
      const log = await runJobs(w, [
        ...["--objects-quarantine", "off", "--objects-samples", "off"],
        ...["--objects-dumps", dumps, "--objects-settle", "0s"],
      ]);
      const uploaded = log.flatMap((a) => a.type === "uploaded" ? [a.object.path] : []);
      assert.deepEqual(uploaded, ["new.raw"]);
      assert.equal(await Deno.readTextFile(`${w.remote}/vm1/dumps/new.raw`), "new");
      assert.equal(await exists(`${w.remote}/vm1/dumps/old.raw`), false);
      assert.equal(
        await Deno.readTextFile(`${dumps}/old.raw`),
        "old",
        "sync never deletes locally",
      );
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name: "VM objects job: a file still being written is never stored half-written",
  ignore: !sshd,
  async fn() {
    const w = await world();
    try {
      const samples = `${w.dir}/samples`;
      await Deno.mkdir(samples);
      const flags = [
        ...["--objects-quarantine", "off", "--objects-dumps", "off"],
        ...["--objects-samples", samples, "--objects-bwlimit", "1M"],
      ];
      // Written within the settle time: left for a later scan.
      await Deno.writeTextFile(`${samples}/fresh.bin`, "part");
      let log = await runJobs(w, [...flags, "--objects-settle", "1h"]);
      assert.ok(!log.some((a) => a.type === "start"), "an unsettled file is not even started");
      assert.equal(await exists(`${w.remote}/vm1/samples/fresh.bin`), false);
      // Settled when the scan saw it, written to again while it uploads (3 MiB at 1 MiB/s).
      await writePattern(`${samples}/growing.bin`, 3 * 1024 * 1024);
      const file = await Deno.open(`${samples}/growing.bin`, { append: true });
      let appending: Promise<number> | undefined;
      try {
        log = await runJobs(
          w,
          [...flags, "--objects-settle", "0s", "--objects-samples-mode", "copy"],
          (a) => {
            if (a.type === "start" && a.path === "growing.bin") {
              appending ??= file.write(new TextEncoder().encode("more"));
            }
          },
        );
        assert.equal(await appending, 4);
      } finally {
        file.close();
      }
      const failed = log.filter((a) => a.type === "failed");
      assert.ok(
        failed.some((a) =>
          a.type === "failed" && a.path === "growing.bin" && /changed/.test(a.error)
        ),
        JSON.stringify(failed),
      );
      assert.equal(
        await exists(`${w.remote}/vm1/samples/growing.bin`),
        false,
        "never put in place",
      );
      // Once it stops changing, the next run stores it whole.
      log = await runJobs(w, [...flags, "--objects-settle", "0s"]);
      assert.equal(
        await sha256(`${w.remote}/vm1/samples/growing.bin`),
        await sha256(`${samples}/growing.bin`),
      );
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name:
    "VM example with --objects-to/--objects-key/--objects-known-hosts: a quarantined file reaches the central verified, is recorded in objects and leaves the VM",
  ignore: !sshd,
  async fn() {
    const w = await world();
    const engines: Engine[] = [];
    try {
      const quarantine = `${w.dir}/quarantine`;
      await Deno.mkdir(quarantine);
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const nowhere = String((closed.addr as Deno.NetAddr).port);
      closed.close();
      const vm = vmPipeline({
        args: [
          ...["--data", `${w.dir}/vm`, "--host", "vm1", "--heartbeat-seconds", "3600"],
          ...["--central", "127.0.0.1", "--relp-port", nowhere],
          ...w.flags,
          ...["--objects-quarantine", quarantine, "--objects-dumps", "off"],
          ...["--objects-samples", "off", "--objects-interval", "1s", "--objects-settle", "0s"],
        ],
        env: {},
      });
      const central = centralPipeline({
        args: [
          ...["--data", `${w.dir}/central`, "--listen", "127.0.0.1", "--ui", "off"],
          ...["--json-port", "0", "--relp-port", "0", "--syslog-port", "0"],
          ...["--sqlite-worker", "off", "--samples", w.remote, "--samples-interval", "1s"],
        ],
        env: {},
      });
      for (const [name, def] of [["vm", vm], ["central", central]] as const) {
        const engine = new Engine(def, {
          stateDir: `${w.dir}/${name}-state`,
          logger: silent,
          drainTimeoutMs: 2000,
        });
        engines.push(engine);
        await engine.start();
      }
      await Deno.writeTextFile(`${quarantine}/dropper.exe`, "MZ not really a program");
      const expected = createHash("sha256").update("MZ not really a program").digest("hex");
      await waitFor(
        "the quarantined file to leave the VM",
        async () => !(await exists(`${quarantine}/dropper.exe`)),
        60_000,
      );
      assert.equal(await sha256(`${w.remote}/vm1/quarantine/dropper.exe`), expected);
      const row = await waitFor("the object in the central's objects table", () => {
        const db = new DatabaseSync(`${w.dir}/central/siem.db`, { readOnly: true });
        try {
          return db.prepare("SELECT host, kind, path, size, sha256 FROM objects").get();
        } catch {
          return undefined;
        } finally {
          db.close();
        }
      }, 60_000);
      assert.deepEqual({ ...row }, {
        host: "vm1",
        kind: "quarantine",
        path: "dropper.exe",
        size: 23,
        sha256: expected,
      });
    } finally {
      for (const engine of engines.reverse()) await engine.stop();
      await w.close();
    }
  },
});

Deno.test({
  name: "sluice sync runs the VM example's object jobs once and prints the summary",
  ignore: !sshd,
  async fn() {
    const w = await world();
    try {
      const quarantine = `${w.dir}/quarantine`;
      const samples = `${w.dir}/samples`;
      await Deno.mkdir(quarantine);
      await Deno.mkdir(samples);
      await Deno.writeTextFile(`${quarantine}/q.bin`, "quarantined");
      await Deno.writeTextFile(`${samples}/s.bin`, "sample");
      const { runSync } = await import("../../runner/sync.ts");
      const lines: string[] = [];
      const summary = await runSync(
        new URL("../../examples/pipeline.vm.ts", import.meta.url).pathname,
        {
          once: true,
          stateDir: `${w.dir}/state`,
          out: (l) => lines.push(l),
          progress: false,
          logLevel: "silent",
          args: [
            ...["--data", `${w.dir}/vm`, "--host", "vm1"],
            ...w.flags,
            ...["--objects-quarantine", quarantine, "--objects-samples", samples],
            ...["--objects-dumps", "off", "--objects-settle", "0s"],
          ],
        },
      );
      assert.equal(summary.files, 2, lines.join("\n"));
      assert.equal(summary.deletedLocal, 1);
      assert.match(
        lines.at(-1) as string,
        /^sync: files 2, bytes 17 B, skipped 0, failed 0, deleted local 1, deleted remote 0$/,
      );
      assert.equal(await exists(`${quarantine}/q.bin`), false);
      assert.equal(await Deno.readTextFile(`${samples}/s.bin`), "sample");
      assert.equal(await Deno.readTextFile(`${w.remote}/vm1/samples/s.bin`), "sample");
      assert.equal(await Deno.readTextFile(`${w.remote}/vm1/quarantine/q.bin`), "quarantined");
    } finally {
      await w.close();
    }
  },
});
