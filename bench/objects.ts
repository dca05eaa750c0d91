/**
 * Object channel throughput: the sftp-object sink uploading one 100 MB file
 * and 1,000 files of 10 KB, beside OpenSSH's own `sftp -b` putting the same
 * files to the same server in the same run (and `rclone copy` when it is
 * installed). The server is OpenSSH's sshd (internal-sftp) on 127.0.0.1
 * when installed, else ssh2's server in process (then the server's pure-JS
 * crypto shares the CPU and bounds both figures).
 *
 * @module
 */

import { Engine } from "../core/engine.ts";
import { createLogger } from "../core/log.ts";
import { definePipeline } from "../core/pipeline.ts";
import { sftpObjectSink, type SftpObjectSinkOptions } from "../sinks/sftp_object.ts";
import { objectsSource } from "../sources/objects.ts";
import { knownHostsLine, writeClientKey } from "../tests/fixtures/ssh/keys.ts";
import { startSftpServer } from "../tests/fixtures/ssh/sftp_server.ts";
import { sshdPath, startSshd } from "../tests/fixtures/ssh/sshd.ts";
import { writePattern } from "../tests/fixtures/ssh/suite.ts";
import { which } from "../tests/_peers.ts";
import { type BenchRow, deadline, runChild, type Scenario, timed } from "./lib.ts";

interface _Server {
  port: number;
  user: string;
  hostPublicKey: string;
  /** Makes a fresh remote directory; returns its path as the server sees it. */
  remoteDir(name: string): Promise<string>;
  label: string;
  close(): Promise<void>;
}

async function _server(dir: string, publicKey: string): Promise<_Server> {
  if (sshdPath()) {
    await Deno.mkdir(`${dir}/sshd`);
    await Deno.mkdir(`${dir}/remote`);
    const s = await startSshd(`${dir}/sshd`, publicKey);
    return {
      port: s.port,
      user: s.user,
      hostPublicKey: s.hostPublicKey,
      label: "OpenSSH sshd (internal-sftp)",
      async remoteDir(name) {
        await Deno.mkdir(`${dir}/remote/${name}`);
        return `${dir}/remote/${name}`;
      },
      close: () => s.close(),
    };
  }
  await Deno.mkdir(`${dir}/jail`);
  const s = await startSftpServer({ root: `${dir}/jail`, authorizedKey: publicKey });
  return {
    port: s.port,
    user: "bench",
    hostPublicKey: s.hostPublicKey,
    label: "ssh2 server in process",
    async remoteDir(name) {
      await Deno.mkdir(`${dir}/jail/${name}`);
      return `/${name}`;
    },
    close: () => s.close(),
  };
}

/** Runs a reference to completion within its deadline; returns seconds. */
async function _run(what: string, timeoutMs: number, cmd: string, args: string[]): Promise<number> {
  return await timed(async () => {
    const r = await runChild(cmd, args, { what, timeoutMs });
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.slice(-500)}`);
  });
}

function _message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}

/** Uploads `local` (a directory) with the sink once; returns seconds. */
async function _sluice(local: string, options: SftpObjectSinkOptions): Promise<number> {
  const source = objectsSource({ dir: local, once: true, settle: 0, host: "bench" });
  const sink = sftpObjectSink(options);
  let failure: string | undefined;
  sink.subscribe((a) => {
    if (a.type === "error" || a.type === "failed") failure ??= "error" in a ? a.error : "";
  });
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger: createLogger("silent"),
  });
  const seconds = await timed(async () => {
    await engine.start();
    await deadline(`sftp-object upload of ${local}`, 600_000, source.done ?? Promise.resolve());
  });
  await engine.stop();
  if (failure) throw new Error(`sftp-object failed: ${failure}`);
  return seconds;
}

/** Benchmarks the object channel. */
export const scenario: Scenario = async ({ quick, dir }) => {
  const rows: BenchRow[] = [];
  // BENCH_OBJECTS_MIB and BENCH_OBJECTS_FILES set the sizes (the smoke test keeps them small).
  const bigSize = Number(Deno.env.get("BENCH_OBJECTS_MIB") ?? (quick ? 10 : 100)) * 1024 * 1024;
  const count = Number(Deno.env.get("BENCH_OBJECTS_FILES") ?? (quick ? 100 : 1000));
  const key = await writeClientKey(dir);
  const server = await _server(dir, key.publicKey);
  const knownHosts = `${dir}/known_hosts`;
  await Deno.writeTextFile(
    knownHosts,
    knownHostsLine("127.0.0.1", server.port, server.hostPublicKey) + "\n",
  );
  // SLUICE_TEST_HIDE_PEERS hides them, as on a fresh machine.
  const sftp = which("sftp");
  const rclone = which("rclone");
  const mb = bigSize / 1e6;
  const bigLabel = `${Math.round(bigSize / 1024 / 1024)} MiB file`;
  const smallLabel = `${count} × 10 KiB files`;
  // Generous: the in-process ssh2 server's pure-JS crypto has done 3 MB/s and 7 files/s.
  // BENCH_REFERENCE_TIMEOUT_MS sets both (a test makes a reference hang on purpose).
  const refMs = Number(Deno.env.get("BENCH_REFERENCE_TIMEOUT_MS") ?? 0);
  const bigMs = refMs || Math.max(60_000, (bigSize / 1e6) * 3_000);
  const smallMs = refMs || Math.max(60_000, count * 300);
  try {
    await Deno.mkdir(`${dir}/big`);
    await writePattern(`${dir}/big/big.bin`, bigSize);
    await Deno.mkdir(`${dir}/small`);
    const small = new Uint8Array(10 * 1024);
    for (let i = 0; i < count; i++) {
      crypto.getRandomValues(small);
      await Deno.writeFile(`${dir}/small/f${String(i).padStart(5, "0")}.bin`, small);
    }
    const keyFile = `${dir}/object.key`;
    await Deno.writeFile(keyFile, crypto.getRandomValues(new Uint8Array(32)));
    const sinkOptions = async (name: string, extra: Partial<SftpObjectSinkOptions> = {}) => ({
      host: "127.0.0.1",
      port: server.port,
      user: server.user,
      privateKeyFile: key.file,
      knownHostsFile: knownHosts,
      root: await server.remoteDir(name),
      ...extra,
    });

    // The references: OpenSSH's client on the same files, same server, same run. A reference
    // that fails or hangs is a failed row (the bench then exits 1), never a missing ratio.
    let sftpBig: number | undefined;
    let sftpSmall: number | undefined;
    if (sftp) {
      const batch = async (name: string, put: string, timeoutMs: number) => {
        const remote = await server.remoteDir(name);
        await Deno.writeTextFile(`${dir}/${name}.batch`, `${put} ${remote}/\n`);
        const args = [
          "-q",
          "-b",
          `${dir}/${name}.batch`,
          "-i",
          key.file,
          "-o",
          `UserKnownHostsFile=${knownHosts}`,
          "-o",
          "StrictHostKeyChecking=yes",
          "-o",
          "BatchMode=yes",
          "-P",
          String(server.port),
          `${server.user}@127.0.0.1`,
        ];
        return await _run(
          `sftp -b ${put.split(" ")[0]} against ${server.label}`,
          timeoutMs,
          sftp,
          args,
        );
      };
      try {
        sftpBig = await batch("sftp-big", `put ${dir}/big/big.bin`, bigMs);
      } catch (err) {
        rows.push({
          scenario: "objects",
          subject: `OpenSSH sftp -b put ${bigLabel}`,
          value: 0,
          unit: "MB/s",
          failed: _message(err),
        });
      }
      try {
        sftpSmall = await batch("sftp-small", `put ${dir}/small/*`, smallMs);
      } catch (err) {
        rows.push({
          scenario: "objects",
          subject: `OpenSSH sftp -b put ${smallLabel}`,
          value: 0,
          unit: "files/s",
          failed: _message(err),
        });
      }
    } else {
      rows.push({
        scenario: "objects",
        subject: "OpenSSH sftp -b put",
        value: 0,
        unit: "MB/s",
        skipped: "sftp not found (apt-get install openssh-client): no same-run reference",
      });
    }
    const ref = (value: number | undefined) =>
      value === undefined ? {} : { reference: { subject: "OpenSSH sftp -b put", value } };

    const bigRead = await _sluice(`${dir}/big`, await sinkOptions("s-big-rb"));
    rows.push({
      scenario: "objects",
      subject: `sftp-object ${bigLabel}, verify readback`,
      value: mb / bigRead,
      unit: "MB/s",
      ...ref(sftpBig === undefined ? undefined : mb / sftpBig),
      note: `${server.label}; reads the file back to check SHA-256 (twice the traffic)`,
    });
    const bigMan = await _sluice(
      `${dir}/big`,
      await sinkOptions("s-big-m", { verify: "manifest" }),
    );
    rows.push({
      scenario: "objects",
      subject: `sftp-object ${bigLabel}, verify manifest`,
      value: mb / bigMan,
      unit: "MB/s",
      ...ref(sftpBig === undefined ? undefined : mb / sftpBig),
      note: "size check + streamed SHA-256 in the manifest, as much checking as sftp does",
    });
    const bigEnc = await _sluice(
      `${dir}/big`,
      await sinkOptions("s-big-enc", { verify: "manifest", encryptionKeyFile: keyFile }),
    );
    rows.push({
      scenario: "objects",
      subject: `sftp-object ${bigLabel}, AES-256-GCM at rest, verify manifest`,
      value: mb / bigEnc,
      unit: "MB/s",
      ...ref(sftpBig === undefined ? undefined : mb / sftpBig),
    });
    const smallRead = await _sluice(`${dir}/small`, await sinkOptions("s-small-rb"));
    rows.push({
      scenario: "objects",
      subject: `sftp-object ${smallLabel}, verify readback`,
      value: count / smallRead,
      unit: "files/s",
      ...ref(sftpSmall === undefined ? undefined : count / sftpSmall),
      note:
        "per file: open .partial, write, fsync + fstat + futimes, read back, close, rename; sftp: open, write, close",
    });
    const smallMan = await _sluice(
      `${dir}/small`,
      await sinkOptions("s-small-m", { verify: "manifest", concurrency: 8 }),
    );
    rows.push({
      scenario: "objects",
      subject: `sftp-object ${smallLabel}, verify manifest, concurrency 8`,
      value: count / smallMan,
      unit: "files/s",
      ...ref(sftpSmall === undefined ? undefined : count / sftpSmall),
    });
    if (rclone) {
      const remote = (name: string, path: string) =>
        `:sftp,host=127.0.0.1,port=${server.port},user=${server.user},key_file=${key.file},known_hosts_file=${knownHosts}:${path}/${name}`;
      const copy = async (what: string, from: string, to: string, timeoutMs: number) => {
        const target = remote("", await server.remoteDir(to));
        try {
          return await _run(`rclone copy ${what}`, timeoutMs, rclone, ["copy", from, target]);
        } catch (err) {
          rows.push({
            scenario: "objects",
            subject: `rclone copy ${what}`,
            value: 0,
            unit: "",
            failed: _message(err),
          });
          return undefined;
        }
      };
      const rbig = await copy(bigLabel, `${dir}/big`, "r-big", bigMs);
      if (rbig !== undefined) {
        rows.push({
          scenario: "objects",
          subject: `rclone copy ${bigLabel}`,
          value: mb / rbig,
          unit: "MB/s",
          ...ref(sftpBig === undefined ? undefined : mb / sftpBig),
        });
      }
      const rsmall = await copy(smallLabel, `${dir}/small`, "r-small", smallMs);
      if (rsmall !== undefined) {
        rows.push({
          scenario: "objects",
          subject: `rclone copy ${smallLabel}`,
          value: count / rsmall,
          unit: "files/s",
          ...ref(sftpSmall === undefined ? undefined : count / sftpSmall),
        });
      }
    }
  } finally {
    await server.close();
  }
  return rows;
};
