import assert from "node:assert/strict";
import { Command } from "commander";
import { registerDecryptCommand } from "../../runner/decrypt.ts";
import { registerSyncCommand, runSync } from "../../runner/sync.ts";
import { runWithDeadline } from "../_peers.ts";
import { sha256File, world, writePattern } from "../fixtures/ssh/suite.ts";

import { inProcess } from "../sinks/_sftp_in_process.ts";

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
