/**
 * How the sftp-object sink proves an upload whole: `sha256sum` on the
 * server over the same SSH connection (OpenSSH's sshd), the fallback to
 * reading back (the ssh2 server, which refuses commands), and a tampered
 * remote file.
 */

import assert from "node:assert/strict";
import { Engine } from "../../core/engine.ts";
import { definePipeline } from "../../core/pipeline.ts";
import {
  opensslHashCommand,
  parseSha256sum,
  parseSha256sumLines,
  remoteHashCommand,
} from "../../sinks/_sftp_remote_hash.ts";
import { partialPathFor } from "../../sinks/_sftp_transfer.ts";
import { objectsSource } from "../../sources/objects.ts";
import { waitFor } from "../_peers.ts";
import { startSftpServer } from "../fixtures/ssh/sftp_server.ts";
import { sshdPath, startSshd } from "../fixtures/ssh/sshd.ts";
import {
  sha256File,
  silent,
  type StartServer,
  type World,
  world,
  writePattern,
} from "../fixtures/ssh/suite.ts";

const noSshd = !sshdPath();

/** OpenSSH's sshd on the real file system; the sink's root is an absolute temp directory. */
const openssh: StartServer = async (dir, authorizedKey) => {
  const server = await startSshd(dir, authorizedKey);
  const remoteDir = `${dir}/remote`;
  await Deno.mkdir(remoteDir);
  return {
    port: server.port,
    user: server.user,
    hostPublicKey: server.hostPublicKey,
    fingerprint: server.fingerprint,
    root: remoteDir,
    remoteDir,
    close: () => server.close(),
  };
};

/** The in-process ssh2 server: it serves SFTP and refuses every command. */
const inProcess: StartServer = async (dir, authorizedKey) => {
  await Deno.mkdir(`${dir}/jail/upload`, { recursive: true });
  const server = await startSftpServer({ root: `${dir}/jail`, authorizedKey });
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

/**
 * Flips the first byte of the upload's temporary file on the server, in place (its size never
 * changes, even for a moment: the sink's FSTAT may be served meanwhile), once all its bytes
 * are acknowledged.
 */
function tamper(w: World, sink: ReturnType<World["sink"]>, rel: string, times = Infinity): void {
  let left = times;
  sink.subscribe((a) => {
    if (a.type === "progress" && a.sent === a.size && left-- > 0) {
      const file = Deno.openSync(partialPathFor(w.remote(rel)), { read: true, write: true });
      try {
        const first = new Uint8Array(1);
        file.readSync(first);
        first[0] = (first[0] as number) ^ 0xff;
        file.seekSync(0, Deno.SeekMode.Start);
        file.writeSync(first);
      } finally {
        file.close();
      }
    }
  });
}

Deno.test("parseSha256sum() takes exactly one line for the path and nothing else", () => {
  const h = "0123456789abcdef".repeat(4);
  assert.deepEqual(remoteHashCommand("-rf"), ["sha256sum", "--", "-rf"]);
  assert.equal(parseSha256sum(`${h}  a/.x.partial\n`, "a/.x.partial"), h);
  assert.equal(parseSha256sum(`${h}  a/.x.partial\n`, "a/.y.partial"), undefined);
  assert.equal(parseSha256sum(`${h}  a\n${h}  b\n`, "a"), undefined);
  assert.equal(parseSha256sum(`${h.toUpperCase()}  a\n`, "a"), undefined);
  assert.equal(parseSha256sum(`${h} *a\n`, "a"), undefined);
  assert.equal(parseSha256sum(`${h}  a`, "a"), undefined);
  assert.equal(parseSha256sum(`\\${h}  a\\nb\n`, "a\nb"), undefined);
  assert.equal(parseSha256sum("", "a"), undefined);
});

Deno.test("parseSha256sumLines() takes lines for the paths in order, a missing one skipped, nothing else", () => {
  const h = "0123456789abcdef".repeat(4);
  const g = "fedcba9876543210".repeat(4);
  assert.deepEqual(remoteHashCommand("a", "-b"), ["sha256sum", "--", "a", "-b"]);
  assert.deepEqual(parseSha256sumLines(`${h}  a\n${g}  b\n`, ["a", "b"]), [h, g]);
  assert.deepEqual(parseSha256sumLines(`${g}  b\n`, ["a", "b"]), [undefined, g]);
  assert.deepEqual(parseSha256sumLines("", ["a", "b"]), [undefined, undefined]);
  // Out of order, a name not asked for, a line twice, a banner, an unended line: no answer.
  assert.equal(parseSha256sumLines(`${g}  b\n${h}  a\n`, ["a", "b"]), undefined);
  assert.equal(parseSha256sumLines(`${h}  c\n`, ["a", "b"]), undefined);
  assert.equal(parseSha256sumLines(`${h}  a\n${h}  a\n`, ["a", "b"]), undefined);
  assert.equal(parseSha256sumLines(`hello\n${h}  a\n`, ["a"]), undefined);
  assert.equal(parseSha256sumLines(`${h}  a\n${g}  b`, ["a", "b"]), undefined);
  // openssl dgst -r: "<hex> *<path>".
  assert.deepEqual(opensslHashCommand("-a"), ["openssl", "dgst", "-sha256", "-r", "--", "-a"]);
  assert.deepEqual(parseSha256sumLines(`${h} *-a\n`, ["-a"], " *"), [h]);
  assert.equal(parseSha256sumLines(`${h}  -a\n`, ["-a"], " *"), undefined);
});

Deno.test({
  name:
    "sftpObjectSink() verify remote-hash hashes many small uploads in a few sha256sum commands, then moves them",
  ignore: noSshd,
  async fn() {
    const w = await world(openssh);
    try {
      const count = 40;
      const expected = new Map<string, string>();
      for (let i = 0; i < count; i++) {
        const name = `f${String(i).padStart(2, "0")}.bin`;
        await writePattern(`${w.local}/${name}`, 10 * 1024 + i, i + 1);
        expected.set(name, await sha256File(`${w.local}/${name}`));
      }
      // And one over 4 MiB, hashed by OpenSSL where the server has it.
      await writePattern(`${w.local}/big.bin`, 5 * 1024 * 1024 + 3);
      expected.set("big.bin", await sha256File(`${w.local}/big.bin`));
      const { sink, source } = await w.run(
        w.sink({ mode: "move", verify: "remote-hash", concurrency: 8 }),
        { mode: "move" },
      );
      assert.equal(sink.uploaded, count + 1);
      assert.equal(sink.verify_remote_hash, count + 1);
      assert.equal(sink.verify_read_back, undefined);
      assert.equal(sink.verify_failures, undefined);
      const commands = sink.remote_hash_commands as number;
      assert.ok(commands >= 1 && commands < count, `${commands} commands for ${count} files`);
      assert.equal(source.deleted, count + 1);
      for (const [name, sha256] of expected) {
        assert.equal(await sha256File(w.remote(`samples/vm1/local/${name}`)), sha256);
      }
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name:
    "sftpObjectSink() verify auto hashes big uploads with sha256sum on sshd and reads small ones back",
  ignore: noSshd,
  async fn() {
    const w = await world(openssh);
    try {
      await writePattern(`${w.local}/big.bin`, 1024 * 1024 + 7);
      await Deno.writeTextFile(`${w.local}/small.txt`, "small");
      const expected = await sha256File(`${w.local}/big.bin`);
      const { sink, source } = await w.run(w.sink({ mode: "move" }), { mode: "move" });
      assert.equal(sink.uploaded, 2);
      assert.equal(sink.verify_remote_hash, 1);
      assert.equal(sink.verify_read_back, 1);
      assert.equal(sink.verify_failures, undefined);
      assert.equal(source.deleted, 2);
      assert.equal(await sha256File(w.remote("samples/vm1/local/big.bin")), expected);
      assert.equal(await Deno.readTextFile(w.remote("samples/vm1/local/small.txt")), "small");
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name: "sftpObjectSink() verify remote-hash and read-back are forced as asked on sshd",
  ignore: noSshd,
  async fn() {
    const w = await world(openssh);
    try {
      await writePattern(`${w.local}/a.bin`, 300_000);
      const expected = await sha256File(`${w.local}/a.bin`);
      await Deno.writeTextFile(`${w.local}/b.txt`, "tiny");
      const hashed = await w.run(w.sink({ verify: "remote-hash", path: "h/${path}" }));
      assert.equal(hashed.sink.verify_remote_hash, 2);
      assert.equal(hashed.sink.verify_read_back, undefined);
      const read = await w.run(w.sink({ verify: "readback", path: "r/${path}" }));
      assert.equal(read.sink.verify_read_back, 2);
      assert.equal(read.sink.verify_remote_hash, undefined);
      assert.equal(await sha256File(w.remote("h/a.bin")), expected);
      assert.equal(await sha256File(w.remote("r/a.bin")), expected);
      assert.equal(await Deno.readTextFile(w.remote("h/b.txt")), "tiny");
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name:
    "sftpObjectSink() never renames an upload sha256sum finds tampered, reports it, and keeps the source",
  ignore: noSshd,
  async fn() {
    const w = await world(openssh);
    try {
      await writePattern(`${w.local}/a.bin`, 512 * 1024);
      const rel = "samples/vm1/local/a.bin";
      // Direct: the mismatch is reported, counted, and nothing is left on the server.
      const sink = w.sink({ mode: "move", verify: "remote-hash" });
      tamper(w, sink, rel, 1);
      const stats = await w.open(sink);
      const events = await w.scan({ mode: "move" });
      await assert.rejects(sink.write(events), /SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}/);
      assert.equal(stats.counters.verify_failures, 1);
      assert.equal(stats.counters.verify_remote_hash, 1);
      await assert.rejects(Deno.stat(w.remote(rel)), Deno.errors.NotFound);
      await assert.rejects(Deno.stat(partialPathFor(w.remote(rel))), Deno.errors.NotFound);
      await sink.write(events);
      assert.equal(await sha256File(w.remote(rel)), await sha256File(`${w.local}/a.bin`));

      // Through an engine, tampered every time: the source file is never deleted.
      await Deno.remove(w.remote(rel));
      const again = w.sink({ mode: "move", name: "again" });
      tamper(w, again, rel);
      const errors: string[] = [];
      again.subscribe((a) => {
        if (a.type === "error") errors.push(a.error);
      });
      const source = objectsSource({
        dir: w.local,
        once: true,
        settle: 0,
        mode: "move",
        host: "vm1",
      });
      const engine = new Engine(
        definePipeline({
          paths: [{ from: [source], to: [again] }],
          retry: { initialMs: 5, maxMs: 10 },
        }),
        { logger: silent, drainTimeoutMs: 100 },
      );
      await engine.start();
      try {
        await waitFor("three failed verifications", () => errors.length >= 3, 30_000);
      } finally {
        await engine.stop();
      }
      assert.match(errors[0] as string, /SHA-256 .* expected/);
      assert.ok((await Deno.stat(`${w.local}/a.bin`)).isFile);
      await assert.rejects(Deno.stat(w.remote(rel)), Deno.errors.NotFound);
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name:
    "sftpObjectSink() spreads small files over four SFTP channels of one connection, each read back",
  ignore: noSshd,
  async fn() {
    const w = await world(openssh);
    try {
      const count = 24;
      const expected = new Map<string, string>();
      for (let i = 0; i < count; i++) {
        const name = `f${String(i).padStart(2, "0")}.bin`;
        await writePattern(`${w.local}/${name}`, 10 * 1024 + i, i + 1);
        expected.set(name, await sha256File(`${w.local}/${name}`));
      }
      const sink = w.sink({ concurrency: 4, verify: "read-back" });
      const stats = await w.open(sink);
      try {
        await sink.write(await w.scan());
      } finally {
        await sink.close();
      }
      assert.equal(stats.counters.uploaded, count);
      assert.equal(stats.counters.verify_read_back, count);
      assert.equal(stats.counters.verify_failures, undefined);
      for (const [name, sha256] of expected) {
        assert.equal(await sha256File(w.remote(`samples/vm1/local/${name}`)), sha256);
      }
      // One connection (one login in sshd's log), four SFTP channels on it.
      const log = await Deno.readTextFile(`${w.dir}/server/sshd.log`);
      assert.equal(log.match(/Accepted publickey/g)?.length, 1, log);
      assert.equal(stats.gauges.channels, 4);
    } finally {
      await w.close();
    }
  },
});

Deno.test("sftpObjectSink() verify auto falls back to reading back when the server refuses commands", async () => {
  const w = await world(inProcess);
  try {
    await writePattern(`${w.local}/a.bin`, 600_000);
    await writePattern(`${w.local}/b.bin`, 700_000, 2);
    const { sink, source } = await w.run(w.sink({ mode: "move" }), { mode: "move" });
    assert.equal(sink.uploaded, 2);
    assert.equal(sink.verify_read_back, 2);
    assert.equal(sink.verify_remote_hash, undefined);
    assert.equal(source.deleted, 2);
    await writePattern(`${w.local}/c.bin`, 600_000, 3);
    const forced = w.sink({ mode: "move", verify: "remote-hash", name: "forced" });
    const stats = await w.open(forced);
    const events = await w.scan({ mode: "move" });
    await assert.rejects(
      forced.write(events),
      /cannot be verified with "verify": "remote-hash": the server refused "sha256sum"/,
    );
    assert.equal(stats.counters.uploaded, undefined);
    assert.ok((await Deno.stat(`${w.local}/c.bin`)).isFile);
    await assert.rejects(Deno.stat(w.remote("samples/vm1/local/c.bin")), Deno.errors.NotFound);
  } finally {
    await w.close();
  }
});
