import assert from "node:assert/strict";
import { Engine } from "../../core/engine.ts";
import type { LogEvent } from "../../core/event.ts";
import { definePipeline } from "../../core/pipeline.ts";
import type { Sink } from "../../core/types.ts";
import { sftpObjectSink } from "../../sinks/sftp_object.ts";
import { partialPathFor } from "../../sinks/_sftp_transfer.ts";
import { objectsSource, syncedObjectsSource } from "../../sources/objects.ts";
import { sshdPath } from "../fixtures/ssh/sshd.ts";
import { sftpSuite, sha256File, silent, world, writePattern } from "../fixtures/ssh/suite.ts";
import { inProcess, lastInProcessServer } from "./_sftp_in_process.ts";

// The 200 MB flat-memory test runs once: against sshd (tests/interop/openssh_test.ts) when it is
// installed, else here.
sftpSuite(inProcess, { label: "ssh2 server", big: !sshdPath() });

Deno.test("sftpObjectSink() never renames or confirms an upload that reads back wrong", async () => {
  const w = await world(inProcess);
  try {
    await Deno.writeTextFile(`${w.local}/a.bin`, "alpha");
    const sink = w.sink({ mode: "move" });
    const stats = await w.open(sink);
    const events = await w.scan({ mode: "move" });
    lastInProcessServer().corruptWrites = true;
    await assert.rejects(sink.write(events), /reads back with SHA-256 .* expected/);
    assert.equal(stats.counters.verify_failures, 1);
    await assert.rejects(Deno.stat(w.remote("samples/vm1/local/a.bin")), Deno.errors.NotFound);
    await assert.rejects(
      Deno.stat(partialPathFor(w.remote("samples/vm1/local/a.bin"))),
      Deno.errors.NotFound,
    );
    lastInProcessServer().corruptWrites = false;
    await sink.write(events);
    assert.equal(await Deno.readTextFile(w.remote("samples/vm1/local/a.bin")), "alpha");
  } finally {
    await w.close();
  }
});

Deno.test("sftpObjectSink() in move mode keeps the source when verification fails", async () => {
  const w = await world(inProcess);
  try {
    await Deno.writeTextFile(`${w.local}/a.bin`, "alpha");
    lastInProcessServer().corruptWrites = true;
    const source = objectsSource({ dir: w.local, once: true, settle: 0, mode: "move" });
    const engine = new Engine(
      definePipeline({
        paths: [{ from: [source], to: [w.sink({ mode: "move" })] }],
        retry: { initialMs: 5, maxMs: 10 },
      }),
      { logger: silent, drainTimeoutMs: 100 },
    );
    await engine.start();
    while ((engine.stats.components.find((c) => c.type === "sink")?.errors ?? 0) < 3) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await engine.stop();
    assert.equal(await Deno.readTextFile(`${w.local}/a.bin`), "alpha");
  } finally {
    await w.close();
  }
});

Deno.test("sftpObjectSink() holds bwlimit 1 MiB/s within 10% over a 10 MiB upload", async () => {
  const w = await world(inProcess);
  try {
    const size = 10 * 1024 * 1024;
    await writePattern(`${w.local}/dump.raw`, size);
    const sink = w.sink({ bwlimit: "1M", verify: "manifest" });
    let t0 = 0;
    let t1 = 0;
    sink.subscribe((a) => {
      if (a.type === "start") t0 = performance.now();
      if (a.type === "progress" && a.sent === a.size) t1 = performance.now();
    });
    const { sink: stats } = await w.run(sink);
    assert.equal(stats.uploaded, 1);
    const rate = size / ((t1 - t0) / 1000) / (1024 * 1024);
    assert.ok(rate > 0.9 && rate < 1.1, `upload ran at ${rate.toFixed(3)} MiB/s`);
    assert.equal(
      await sha256File(w.remote("samples/vm1/local/dump.raw")),
      await sha256File(`${w.local}/dump.raw`),
    );
  } finally {
    await w.close();
  }
});

Deno.test("sftpObjectSink() turns each stored object into a log event for the central", async () => {
  const w = await world(inProcess);
  try {
    await Deno.writeTextFile(`${w.local}/a.bin`, "alpha");
    const upload = w.sink({ mode: "move" });
    const logged: LogEvent[] = [];
    const logSink: Sink = {
      kind: "collect",
      open: () => Promise.resolve(),
      write: (batch) => (logged.push(...batch), Promise.resolve()),
      close: () => Promise.resolve(),
    };
    const synced: string[] = [];
    // Another remote path: two sinks uploading one path at once would race on its temporary file.
    const onSyncedSink = w.sink({
      onSynced: (o) => synced.push(o.remote),
      name: "second",
      path: "second/${HOST}/${path}",
    });
    const source = objectsSource({
      dir: w.local,
      once: true,
      settle: 0,
      mode: "move",
      host: "vm7",
    });
    const engine = new Engine(
      definePipeline({
        paths: [
          { from: [source], to: [upload, onSyncedSink] },
          { from: [syncedObjectsSource(upload)], to: [logSink] },
        ],
      }),
      { logger: silent },
    );
    await engine.start();
    await source.done;
    await engine.stop();
    assert.equal(logged.length, 1);
    const object = logged[0]?.fields.object as Record<string, unknown>;
    assert.equal(logged[0]?.host, "vm7");
    assert.equal(object.sha256, await sha256File(w.remote("samples/vm7/local/a.bin")));
    assert.equal(object.remote, "samples/vm7/local/a.bin");
    assert.equal(object.kind, "local");
    assert.equal(object.size, 5);
    assert.deepEqual(synced, ["second/vm7/a.bin"]);
  } finally {
    await w.close();
  }
});

Deno.test("sftpObjectSink() stores objects that render the same remote path one after the other", async () => {
  const w = await world(inProcess);
  try {
    for (let i = 0; i < 6; i++) await writePattern(`${w.local}/f${i}.bin`, 300_000, i + 1);
    const { sink: stats } = await w.run(
      w.sink({ path: "samples/${HOST}/latest.bin", concurrency: 6 }),
    );
    assert.equal(stats.uploaded, 6);
    assert.equal(stats.verify_failures, undefined);
    assert.equal(
      await sha256File(w.remote("samples/vm1/latest.bin")),
      await sha256File(`${w.local}/f5.bin`),
    );
  } finally {
    await w.close();
  }
});

Deno.test("sftpObjectSink() moves a 254-byte name beside normal files: its temporary name stays short (issue 20 item 9)", async () => {
  const w = await world(inProcess);
  try {
    const long = "l".repeat(250) + ".bin";
    await Deno.writeTextFile(`${w.local}/${long}`, "long");
    await Deno.writeTextFile(`${w.local}/a.bin`, "alpha");
    await Deno.writeTextFile(`${w.local}/b.bin`, "beta");
    const { sink, source } = await w.run(w.sink({ mode: "move" }), { mode: "move" });
    assert.equal(sink.uploaded, 3);
    assert.equal(source.deleted, 3);
    assert.equal(await Deno.readTextFile(w.remote(`samples/vm1/local/${long}`)), "long");
    assert.equal(await Deno.readTextFile(w.remote("samples/vm1/local/a.bin")), "alpha");
    assert.deepEqual([...Deno.readDirSync(w.local)], []);
    const left = [...Deno.readDirSync(w.remote("samples/vm1/local"))].map((e) => e.name);
    assert.ok(!left.some((n) => n.endsWith(".partial")), left.join(", "));
  } finally {
    await w.close();
  }
});

Deno.test("sftpObjectSink() fails only the object the server refuses, names it, and completes the others (issue 20 item 9)", async () => {
  const w = await world(inProcess);
  try {
    const keyFile = `${w.dir}/object.key`;
    await Deno.writeTextFile(keyFile, "ab".repeat(32) + "\n");
    // 252 bytes here, 256 stored: ".enc" takes it past the server's NAME_MAX.
    const long = "e".repeat(248) + ".bin";
    await Deno.writeTextFile(`${w.local}/${long}`, "long");
    await Deno.writeTextFile(`${w.local}/a.bin`, "alpha");
    await Deno.writeTextFile(`${w.local}/b.bin`, "beta");
    const upload = w.sink({ mode: "move", encryptionKeyFile: keyFile });
    const { sink, source, log } = await w.run(upload, { mode: "move" });
    assert.equal(sink.uploaded, 2);
    assert.equal(sink.failed, 1);
    const failed = log.filter((a) => a.type === "failed");
    assert.equal(failed.length, 1);
    assert.ok(failed[0]?.type === "failed" && failed[0].path === long, JSON.stringify(failed));
    assert.equal(source.deleted, 2, "the normal files are moved");
    assert.deepEqual([...Deno.readDirSync(w.local)].map((e) => e.name), [long]);
    assert.ok(!log.some((a) => a.type === "error"), "no batch-wide failure");
  } finally {
    await w.close();
  }
});

Deno.test("sftpObjectSink() refuses bad options with the option's name", () => {
  const base = { host: "h", user: "u", privateKeyFile: "/k", knownHostsFile: "/kh" };
  assert.throws(
    () => sftpObjectSink({ host: "h", user: "u", privateKeyFile: "/k" }),
    /set "knownHostsFile" or "hostKeyFingerprint"/,
  );
  assert.throws(() => sftpObjectSink({ ...base, hostKeyFingerprint: "md5:aa" }), /SHA256:/);
  assert.throws(() => sftpObjectSink({ ...base, mode: "move", verify: "manifest" }), /readback/);
  assert.throws(() => sftpObjectSink({ ...base, deleteRemote: true }), /"mode": "sync"/);
  assert.throws(() => sftpObjectSink({ ...base, bwlimit: "fast" }), /"bwlimit"/);
  assert.throws(() => sftpObjectSink({ ...base, concurrency: 0 }), /"concurrency"/);
  assert.throws(() => sftpObjectSink({ ...base, port: 70000 }), /"port"/);
  assert.throws(
    () => sftpObjectSink({ ...base, mode: "sync", deleteRemote: true, path: "x/${HOST}" }),
    /ends in "\$\{path\}"/,
  );
});

Deno.test("sftpObjectSink() open() names an unreadable key file", async () => {
  const sink = sftpObjectSink({
    host: "127.0.0.1",
    user: "u",
    privateKeyFile: "/nonexistent/id_ed25519",
    hostKeyFingerprint: "SHA256:" + "A".repeat(43),
  });
  const w = await world(inProcess);
  try {
    await assert.rejects(w.open(sink), /cannot read "privateKeyFile" "\/nonexistent\/id_ed25519"/);
  } finally {
    await w.close();
  }
});
