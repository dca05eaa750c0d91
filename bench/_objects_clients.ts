/**
 * The clients and server of bench/objects.ts: the SFTP server uploaded to,
 * a reference program (`sftp -b`, `rclone copy`) run to completion with its
 * CPU and memory, and the sftp-object sink uploading a directory once in
 * this process.
 *
 * @module
 */

import { Engine } from "../core/engine.ts";
import { createLogger } from "../core/log.ts";
import { definePipeline } from "../core/pipeline.ts";
import { sftpObjectSink, type SftpObjectSinkOptions } from "../sinks/sftp_object.ts";
import { objectsSource } from "../sources/objects.ts";
import { startSftpServer } from "../tests/fixtures/ssh/sftp_server.ts";
import { sshdPath, startSshd } from "../tests/fixtures/ssh/sshd.ts";
import { deadline, timed } from "./lib.ts";
import { inOwnProcess } from "./_children.ts";
import { type MemoryPeak, runSampled, sampleTree } from "./_memory.ts";

/**
 * The SFTP server the bench uploads to: OpenSSH's sshd when installed, else
 * ssh2's server in process.
 *
 * @example
 * ```ts ignore
 * import { type ObjectsServer, startObjectsServer } from "./_objects_clients.ts";
 * import { writeClientKey } from "../tests/fixtures/ssh/keys.ts";
 * const dir = await Deno.makeTempDir();
 * const server: ObjectsServer = await startObjectsServer(dir, (await writeClientKey(dir)).publicKey);
 * console.log(server.label, await server.remoteDir("x"));
 * await server.close();
 * ```
 */
export interface ObjectsServer {
  port: number;
  user: string;
  hostPublicKey: string;
  /** Makes a fresh remote directory; returns its path as the server sees it. */
  remoteDir(name: string): Promise<string>;
  label: string;
  close(): Promise<void>;
}

/**
 * Starts the server under `dir`, accepting `publicKey`.
 *
 * @param dir A directory for the server's files and the remote directories.
 * @param publicKey The client's public key (OpenSSH format).
 * @returns The running server.
 *
 * @example
 * ```ts ignore
 * import { startObjectsServer } from "./_objects_clients.ts";
 * import { writeClientKey } from "../tests/fixtures/ssh/keys.ts";
 * const dir = await Deno.makeTempDir();
 * const server = await startObjectsServer(dir, (await writeClientKey(dir)).publicKey);
 * await server.close();
 * ```
 */
export async function startObjectsServer(dir: string, publicKey: string): Promise<ObjectsServer> {
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

/**
 * What one run measured.
 *
 * @example
 * ```ts
 * import type { UploadMeasure } from "./_objects_clients.ts";
 * const m: UploadMeasure = { seconds: 2, cpu: 1, memory: { rssMb: 60, privateMb: 40, pssMb: 50 } };
 * console.assert(m.cpu / m.seconds === 0.5);
 * ```
 */
export interface UploadMeasure {
  seconds: number;
  /** CPU seconds of the client (user + system). */
  cpu: number;
  /** Peak memory of the client: the sftp or rclone process tree, or the bench process for the sink. */
  memory: MemoryPeak;
}

/** CPU seconds of this process and of the children it has waited for (/proc/self/stat). */
function _cpu(): { self: number; children: number } {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    // After "(comm) " come the fields from 3 (state): utime, stime, cutime, cstime are 14–17.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = (i: number) => Number(f[i - 3] ?? 0) / 100;
    return { self: ticks(14) + ticks(15), children: ticks(16) + ticks(17) };
  } catch {
    return { self: 0, children: 0 };
  }
}

/**
 * Runs a reference to completion within its deadline; its CPU is the child's.
 *
 * @param what What it is, for the error when it fails or hangs.
 * @param timeoutMs Its deadline.
 * @param cmd The program.
 * @param args Its arguments.
 * @returns Its time, CPU and peak memory.
 * @throws {Error} When it exits non-zero or passes its deadline.
 *
 * @example
 * ```ts
 * import { runReference } from "./_objects_clients.ts";
 * const m = await runReference("true", 10_000, "true", []);
 * console.assert(m.seconds >= 0);
 * ```
 */
export async function runReference(
  what: string,
  timeoutMs: number,
  cmd: string,
  args: string[],
): Promise<UploadMeasure> {
  const before = _cpu().children;
  let memory: MemoryPeak | undefined;
  const seconds = await timed(async () => {
    const r = await runSampled(cmd, args, { what, timeoutMs });
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.slice(-500)}`);
    memory = r.memory;
  });
  return { seconds, cpu: _cpu().children - before, memory: memory as MemoryPeak };
}

/**
 * The first line of an error's message.
 *
 * @param err What was thrown.
 * @returns Its message's first line.
 *
 * @example
 * ```ts
 * import { firstLine } from "./_objects_clients.ts";
 * console.assert(firstLine(new Error("a\nb")) === "a");
 * ```
 */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}

/**
 * Uploads `local` (a directory) with the sink once, in a process of its own
 * started with the flags `deno task start` ships: the time and CPU are the
 * child's own (from its engine's start), the memory its peak sampled from
 * here. In the bench process the memory was the bench's too (every file it
 * wrote, every earlier run's garbage).
 *
 * @param local The directory to upload.
 * @param options The sink's options (plain data: they travel as JSON).
 * @returns Its time, CPU and peak memory.
 * @throws {Error} When the sink reports an error or failure, or the child fails.
 *
 * @example
 * ```ts ignore
 * import { sinkUpload } from "./_objects_clients.ts";
 * const m = await sinkUpload("/tmp/files", {
 *   host: "127.0.0.1", port: 2222, user: "bench", privateKeyFile: "/tmp/key",
 *   knownHostsFile: "/tmp/known_hosts", root: "/upload",
 * });
 * console.log(m.seconds, m.memory.privateMb);
 * ```
 */
export async function sinkUpload(
  local: string,
  options: SftpObjectSinkOptions,
): Promise<UploadMeasure> {
  const { value, memory } = await inOwnProcess<{ seconds: number; cpu: number }>(
    new URL(import.meta.url),
    { local, options },
    `sftp-object upload of ${local} in its own process`,
    630_000,
  );
  return { seconds: value.seconds, cpu: value.cpu, memory };
}

/**
 * Uploads `local` (a directory) with the sink once, in this process (what
 * {@linkcode sinkUpload}'s child runs).
 *
 * @param local The directory to upload.
 * @param options The sink's options.
 * @returns Its time, this process's CPU and peak memory.
 * @throws {Error} When the sink reports an error or failure.
 *
 * @example
 * ```ts ignore
 * import { sinkUploadHere } from "./_objects_clients.ts";
 * const m = await sinkUpload("/tmp/files", {
 *   host: "127.0.0.1", port: 2222, user: "bench", privateKeyFile: "/tmp/key",
 *   knownHostsFile: "/tmp/known_hosts", root: "/upload",
 * });
 * console.log(m.seconds);
 * ```
 */
export async function sinkUploadHere(
  local: string,
  options: SftpObjectSinkOptions,
): Promise<UploadMeasure> {
  const source = objectsSource({ dir: local, once: true, settle: 0, host: "bench" });
  const sink = sftpObjectSink(options);
  let failure: string | undefined;
  sink.subscribe((a) => {
    if (a.type === "error" || a.type === "failed") failure ??= "error" in a ? a.error : "";
  });
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger: createLogger("silent"),
  });
  const before = _cpu().self;
  const sampler = sampleTree("self", { children: false, intervalMs: 100 });
  const seconds = await timed(async () => {
    await engine.start();
    await deadline(`sftp-object upload of ${local}`, 600_000, source.done ?? Promise.resolve());
  });
  const memory = sampler.stop();
  const cpu = _cpu().self - before;
  await engine.stop();
  if (failure) throw new Error(`sftp-object failed: ${failure}`);
  return { seconds, cpu, memory };
}

if (import.meta.main) {
  const { local, options } = JSON.parse(Deno.args[0] ?? "{}") as {
    local: string;
    options: SftpObjectSinkOptions;
  };
  try {
    const m = await sinkUploadHere(local, options);
    console.log(JSON.stringify({ seconds: m.seconds, cpu: m.cpu }));
  } catch (err) {
    console.error(firstLine(err));
    Deno.exit(1);
  }
}
