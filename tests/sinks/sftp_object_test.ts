import assert from "node:assert/strict";
import { Command } from "commander";
import { Engine } from "../../core/engine.ts";
import type { LogEvent } from "../../core/event.ts";
import { definePipeline } from "../../core/pipeline.ts";
import type { Sink } from "../../core/types.ts";
import { registerDecryptCommand } from "../../runner/decrypt.ts";
import { registerSyncCommand, runSync } from "../../runner/sync.ts";
import { sftpObjectSink } from "../../sinks/sftp_object.ts";
import { partialPathFor } from "../../sinks/_sftp_transfer.ts";
import { objectsSource, syncedObjectsSource } from "../../sources/objects.ts";
import { runWithDeadline } from "../_peers.ts";
import { type SftpTestServer, startSftpServer } from "../fixtures/ssh/sftp_server.ts";
import { sshdPath } from "../fixtures/ssh/sshd.ts";
import {
  sftpSuite,
  sha256File,
  silent,
  type StartServer,
  world,
  writePattern,
} from "../fixtures/ssh/suite.ts";

let last: SftpTestServer | undefined;

/** The in-process ssh2 server, serving `<dir>/jail`; the sink's root is `upload` under it. */
const inProcess: StartServer = async (dir, authorizedKey) => {
  await Deno.mkdir(`${dir}/jail/upload`, { recursive: true });
  const server = await startSftpServer({ root: `${dir}/jail`, authorizedKey });
  last = server;
  return {
    port: server.port,
    user: "sluice",
    hostPublicKey: server.hostPublicKey,
    fingerprint: server.fingerprint,
    root: "upload",
    remoteDir: `${dir}/jail/upload`,
    close: () => server.close(),
  };
};

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
    (last as SftpTestServer).corruptWrites = true;
    await assert.rejects(sink.write(events), /reads back with SHA-256 .* expected/);
    assert.equal(stats.counters.verify_failures, 1);
    await assert.rejects(Deno.stat(w.remote("samples/vm1/local/a.bin")), Deno.errors.NotFound);
    await assert.rejects(
      Deno.stat(partialPathFor(w.remote("samples/vm1/local/a.bin"))),
      Deno.errors.NotFound,
    );
    (last as SftpTestServer).corruptWrites = false;
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
    (last as SftpTestServer).corruptWrites = true;
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

async function pipelineFile(dir: string, body: string): Promise<string> {
  const root = new URL("../../", import.meta.url).href;
  const file = `${dir}/pipeline.ts`;
  await Deno.writeTextFile(
    file,
    `import { definePipeline } from "${root}core/pipeline.ts";
import { objectsSource } from "${root}sources/objects.ts";
import { sftpObjectSink } from "${root}sinks/sftp_object.ts";
import { generatorSource } from "${root}sources/generator.ts";
import { blackholeSink } from "${root}sinks/blackhole.ts";
${body}`,
  );
  return file;
}

Deno.test("runSync() runs only the object paths once, lists a dry run first and then uploads", async () => {
  const w = await world(inProcess);
  try {
    await Deno.writeTextFile(`${w.local}/a.bin`, "alpha");
    await Deno.mkdir(`${w.local}/sub`);
    await Deno.writeTextFile(`${w.local}/sub/b.bin`, "beta");
    const file = await pipelineFile(
      w.dir,
      `const upload = sftpObjectSink({
  host: "127.0.0.1", port: ${w.server.port}, user: "sluice", root: "upload",
  privateKeyFile: ${JSON.stringify(w.keyFile)}, knownHostsFile: ${JSON.stringify(w.knownHosts)},
  mode: "move",
});
export default definePipeline({
  sources: { logs: generatorSource({ rate: 10 }) },
  paths: [
    { from: ["logs"], to: [blackholeSink()] },
    { from: [objectsSource({ dir: ${
        JSON.stringify(w.local)
      }, kind: "quarantine", host: "vm1", settle: 0, mode: "move" })], to: [upload] },
  ],
});
`,
    );
    const lines: string[] = [];
    const dry = await runSync(file, {
      once: true,
      dryRun: true,
      stateDir: `${w.dir}/state`,
      out: (l) => lines.push(l),
      progress: false,
      logLevel: "silent",
    });
    assert.equal(dry.files, 2);
    assert.equal(dry.bytes, 9);
    assert.ok(
      lines.includes(
        "would upload a.bin -> samples/vm1/quarantine/a.bin (5 B), then delete the local file",
      ),
      lines.join("\n"),
    );
    assert.match(lines.at(-1) as string, /^dry run: files 2, bytes 9 B, skipped 0, failed 0/);
    assert.equal(await Deno.readTextFile(`${w.local}/a.bin`), "alpha", "a dry run changes nothing");
    await assert.rejects(Deno.stat(w.remote("samples")), Deno.errors.NotFound);

    lines.length = 0;
    const real = await runSync(file, {
      once: true,
      stateDir: `${w.dir}/state`,
      out: (l) => lines.push(l),
      progress: false,
      logLevel: "silent",
    });
    assert.equal(real.files, 2);
    assert.equal(real.deletedLocal, 2);
    assert.equal(real.failed, 0);
    assert.match(
      lines.at(-1) as string,
      /^sync: files 2, bytes 9 B, skipped 0, failed 0, deleted local 2/,
    );
    assert.equal(await Deno.readTextFile(w.remote("samples/vm1/quarantine/sub/b.bin")), "beta");
    assert.deepEqual([...Deno.readDirSync(w.local)].map((e) => e.name), ["sub"]);
  } finally {
    await w.close();
  }
});

Deno.test("runSync() gives up after the allowed failed attempts when the host key is wrong", async () => {
  const w = await world(inProcess);
  try {
    await Deno.writeTextFile(`${w.local}/a.bin`, "alpha");
    const file = await pipelineFile(
      w.dir,
      `export default definePipeline({
  paths: [{
    from: [objectsSource({ dir: ${JSON.stringify(w.local)}, settle: 0, mode: "move" })],
    to: [sftpObjectSink({
      host: "127.0.0.1", port: ${w.server.port}, user: "sluice", root: "upload", mode: "move",
      privateKeyFile: ${JSON.stringify(w.keyFile)}, hostKeyFingerprint: "SHA256:${"A".repeat(43)}",
    })],
  }],
  retry: { initialMs: 5, maxMs: 10 },
});
`,
    );
    const lines: string[] = [];
    const summary = await runSync(file, {
      once: true,
      retries: 1,
      stateDir: `${w.dir}/state`,
      out: (l) => lines.push(l),
      progress: false,
      logLevel: "silent",
    });
    assert.equal(summary.gaveUp, true);
    assert.ok(summary.errors.length >= 2);
    assert.match(summary.errors[0] as string, /does not match the pinned/);
    assert.equal(await Deno.readTextFile(`${w.local}/a.bin`), "alpha");
  } finally {
    await w.close();
  }
});

Deno.test("sync command parses --once --dry-run and exits 0 without changing anything", async () => {
  const w = await world(inProcess);
  try {
    await Deno.writeTextFile(`${w.local}/a.bin`, "alpha");
    const file = await pipelineFile(
      w.dir,
      `export default definePipeline({
  paths: [{
    from: [objectsSource({ dir: ${JSON.stringify(w.local)}, settle: 0, mode: "move" })],
    to: [sftpObjectSink({
      host: "127.0.0.1", port: ${w.server.port}, user: "sluice", root: "upload", mode: "move",
      privateKeyFile: ${JSON.stringify(w.keyFile)}, knownHostsFile: ${JSON.stringify(w.knownHosts)},
    })],
  }],
});
`,
    );
    const codes: number[] = [];
    const program = new Command("sluice").exitOverride();
    registerSyncCommand(program, (c) => codes.push(c));
    const log = console.log;
    const printed: string[] = [];
    console.log = (line: string) => void printed.push(line);
    try {
      await program.parseAsync(
        ["sync", file, "--once", "--dry-run", "--log-level", "silent", "--state-dir", `${w.dir}/s`],
        { from: "user" },
      );
    } finally {
      console.log = log;
    }
    assert.deepEqual(codes, [0]);
    assert.ok(printed.some((l) => l.startsWith("would upload a.bin")), printed.join("\n"));
    assert.equal(await Deno.readTextFile(`${w.local}/a.bin`), "alpha");
    await assert.rejects(Deno.stat(w.remote("samples")), Deno.errors.NotFound);
  } finally {
    await w.close();
  }
});

Deno.test("runSync() counts a file whose name is not UTF-8 as failed, and sync exits 1 (issue 20 item 8)", async () => {
  const w = await world(inProcess);
  try {
    await Deno.writeTextFile(`${w.local}/a.bin`, "alpha");
    const made = await runWithDeadline(
      "sh",
      ["-c", `cd "$1" && printf x > "$(printf 'caf\\351.bin')"`, "sh", w.local],
      { timeoutMs: 10_000, what: "sh making a Latin-1 file name" },
    );
    assert.equal(made.code, 0, made.stderr);
    const file = await pipelineFile(
      w.dir,
      `export default definePipeline({
  paths: [{
    from: [objectsSource({ dir: ${
        JSON.stringify(w.local)
      }, settle: 0, mode: "move", host: "vm1" })],
    to: [sftpObjectSink({
      host: "127.0.0.1", port: ${w.server.port}, user: "sluice", root: "upload", mode: "move",
      privateKeyFile: ${JSON.stringify(w.keyFile)}, knownHostsFile: ${JSON.stringify(w.knownHosts)},
    })],
  }],
});
`,
    );
    const lines: string[] = [];
    const summary = await runSync(file, {
      once: true,
      stateDir: `${w.dir}/state`,
      out: (l) => lines.push(l),
      progress: false,
      logLevel: "silent",
    });
    assert.equal(summary.files, 1);
    assert.equal(summary.failed, 1, lines.join("\n"));
    assert.match(lines.at(-1) as string, /^sync: files 1, .* failed 1, deleted local 1/);
    const codes: number[] = [];
    const program = new Command("sluice").exitOverride();
    registerSyncCommand(program, (c) => codes.push(c));
    const log = console.log;
    console.log = () => {};
    try {
      await program.parseAsync(
        ["sync", file, "--once", "--log-level", "silent", "--state-dir", `${w.dir}/s`],
        { from: "user" },
      );
    } finally {
      console.log = log;
    }
    assert.deepEqual(codes, [1]);
  } finally {
    await w.close();
  }
});

Deno.test("runSync() with retries N makes N + 1 attempts, not N + 2 (issue 20 item 10)", async () => {
  // A server that accepts and hangs up: every write attempt is one TCP connection.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let connections = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      connections++;
      conn.close();
    }
  })();
  const w = await world(inProcess);
  try {
    await Deno.writeTextFile(`${w.local}/a.bin`, "alpha");
    const file = await pipelineFile(
      w.dir,
      `export default definePipeline({
  paths: [{
    from: [objectsSource({ dir: ${JSON.stringify(w.local)}, settle: 0, mode: "move" })],
    to: [sftpObjectSink({
      host: "127.0.0.1", port: ${port}, user: "sluice", mode: "move",
      privateKeyFile: ${JSON.stringify(w.keyFile)}, hostKeyFingerprint: "SHA256:${"A".repeat(43)}",
    })],
  }],
  retry: { initialMs: 5, maxMs: 10 },
});
`,
    );
    for (const retries of [0, 2]) {
      connections = 0;
      const summary = await runSync(file, {
        once: true,
        retries,
        stateDir: `${w.dir}/state`,
        out: () => {},
        progress: false,
        logLevel: "silent",
      });
      assert.equal(summary.gaveUp, true);
      assert.equal(summary.errors.length, retries + 1);
      assert.equal(connections, retries + 1, `--retries ${retries}`);
    }
  } finally {
    listener.close();
    await accepting.catch(() => {});
    await w.close();
  }
});

Deno.test("runSync() summary counts symbolic links out of the directory (issue 20 item 10)", async () => {
  const w = await world(inProcess);
  try {
    await Deno.writeTextFile(`${w.local}/a.bin`, "alpha");
    await Deno.writeTextFile(`${w.dir}/outside.txt`, "secret");
    await Deno.symlink(`${w.dir}/outside.txt`, `${w.local}/escape.txt`);
    const file = await pipelineFile(
      w.dir,
      `export default definePipeline({
  paths: [{
    from: [objectsSource({ dir: ${JSON.stringify(w.local)}, settle: 0 })],
    to: [sftpObjectSink({
      host: "127.0.0.1", port: ${w.server.port}, user: "sluice", root: "upload",
      privateKeyFile: ${JSON.stringify(w.keyFile)}, knownHostsFile: ${JSON.stringify(w.knownHosts)},
    })],
  }],
});
`,
    );
    const lines: string[] = [];
    const summary = await runSync(file, {
      once: true,
      stateDir: `${w.dir}/state`,
      out: (l) => lines.push(l),
      progress: false,
      logLevel: "silent",
    });
    assert.equal(summary.linksOutside, 1);
    assert.match(lines.at(-1) as string, /links out of the directory skipped 1/);
  } finally {
    await w.close();
  }
});

Deno.test("runSync() refuses a pipeline without objects source", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = await pipelineFile(
      dir,
      `export default definePipeline({ paths: [{ from: [generatorSource({ count: 1 })], to: [blackholeSink()] }] });`,
    );
    await assert.rejects(runSync(file, { once: true }), /no objects source/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decrypt command restores an object stored encrypted", async () => {
  const w = await world(inProcess);
  try {
    await writePattern(`${w.local}/s.exe`, 200_000, 9);
    const keyFile = `${w.dir}/object.key`;
    await Deno.writeTextFile(keyFile, "ab".repeat(32) + "\n");
    await w.run(w.sink({ encryptionKeyFile: keyFile }));
    const stored = w.remote("samples/vm1/local/s.exe.enc");
    const codes: number[] = [];
    const program = new Command("sluice").exitOverride();
    registerDecryptCommand(program, (c) => codes.push(c));
    await program.parseAsync(["decrypt", stored, "--key", keyFile, "-o", `${w.dir}/out.exe`], {
      from: "user",
    });
    assert.deepEqual(codes, [0]);
    assert.equal(await sha256File(`${w.dir}/out.exe`), await sha256File(`${w.local}/s.exe`));
    // a wrong key leaves no output
    await Deno.writeTextFile(`${w.dir}/wrong.key`, "cd".repeat(32));
    await program.parseAsync(
      ["decrypt", stored, "--key", `${w.dir}/wrong.key`, "-o", `${w.dir}/x`],
      {
        from: "user",
      },
    );
    assert.deepEqual(codes, [0, 1]);
    await assert.rejects(Deno.stat(`${w.dir}/x`), Deno.errors.NotFound);
  } finally {
    await w.close();
  }
});
