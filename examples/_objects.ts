/**
 * The VM's object channel: the three jobs the reference design ran with
 * rclone every 15 minutes, as objects sources and sftp-object sinks.
 *
 * | job | rclone | here (defaults) |
 * | --- | --- | --- |
 * | quarantine | `rclone move /var/quarantine/ central:…/<host>/quarantine/ --bwlimit 1M` | move, 1M |
 * | dumps | `rclone sync /var/sauron/dumps/ …/dumps/ --bwlimit 1M --max-age 7d` | sync, 1M, 7d |
 * | samples | `rclone sync /var/sauron/samples/ …/samples/ --bwlimit 1M` | sync, 1M |
 *
 * Off unless `--objects-to user@central:/var/siem/samples` is given. The
 * SFTP code (npm:ssh2, ~25 MB) is loaded only then, when the sink opens.
 *
 * @module
 */

import type { PathDefinition } from "../core/pipeline.ts";
import type { Sink, SinkContext, Source } from "../core/types.ts";
import type { LogEvent } from "../core/event.ts";
import {
  type ObjectActivity,
  type ObjectSink,
  objectsSource,
  type ObjectsSourceOptions,
} from "../sources/objects.ts";
import type { SftpObjectSink, SftpObjectSinkOptions } from "../sinks/sftp_object.ts";
import { normalizeFingerprint } from "../ssh/known_hosts.ts";
import { option } from "./_options.ts";

/** The object jobs of a VM: sources, sinks and the paths between them. */
export interface ObjectJobs {
  /** One objects source per job, by job name. */
  sources: Record<string, Source>;
  /** One sink per job, named `objects-<job>`. */
  sinks: Record<string, ObjectSink>;
  /** One path per job. */
  paths: PathDefinition[];
  /** A line for the start-up message. */
  summary: string;
}

const _JOBS = [
  { job: "quarantine", dir: "/var/quarantine", mode: "move", maxAge: "off" },
  { job: "dumps", dir: "/var/sauron/dumps", mode: "sync", maxAge: "7d" },
  { job: "samples", dir: "/var/sauron/samples", mode: "sync", maxAge: "off" },
] as const;

/**
 * Splits `user@host:/path` (host may be `[v6]` or carry `:port` inside
 * brackets-free forms as `host:port:/path`).
 *
 * @param text The flag's value.
 * @returns User, host, port and remote root.
 * @throws {RangeError} When it is not of that form.
 *
 * @example
 * ```ts
 * import { parseObjectsTo } from "./_objects.ts";
 * const to = parseObjectsTo("siem@10.0.0.2:/var/siem/samples");
 * console.assert(to.user === "siem" && to.host === "10.0.0.2" && to.root === "/var/siem/samples");
 * ```
 */
export function parseObjectsTo(
  text: string,
): { user: string; host: string; port: number | undefined; root: string } {
  const m = /^([^@\s]+)@(\[[^\]]+\]|[^:\s/]+)(?::(\d+))?:(.+)$/.exec(text.trim());
  if (!m) {
    throw new RangeError(
      `--objects-to: expected user@host:/remote/dir (or user@host:port:/remote/dir), got "${text}"`,
    );
  }
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) {
    throw new RangeError(`--objects-to: port must be 1–65535, got ${port}`);
  }
  return {
    user: m[1] as string,
    host: (m[2] as string).replace(/^\[(.*)\]$/, "$1"),
    port,
    root: m[4] as string,
  };
}

/**
 * An object sink that loads `sinks/sftp_object.ts` (and npm:ssh2) only when
 * it opens; listeners and `dryRun` set before that are handed on.
 */
function _lazySftpObjectSink(options: SftpObjectSinkOptions, maxBatch: number): ObjectSink {
  let real: SftpObjectSink | undefined;
  let dryRun = false;
  const listeners = new Set<(a: ObjectActivity) => void>();
  const sink: ObjectSink & Sink = {
    kind: "sftp-object",
    ...(options.name ? { name: options.name } : {}),
    maxBatch,
    mode: options.mode ?? "copy",
    get dryRun() {
      return dryRun;
    },
    set dryRun(value: boolean) {
      dryRun = value;
      if (real) real.dryRun = value;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async open(ctx: SinkContext) {
      const { sftpObjectSink } = await import("../sinks/sftp_object.ts");
      real = sftpObjectSink(options);
      real.dryRun = dryRun;
      real.subscribe((a) => {
        for (const l of listeners) l(a);
      });
      await real.open(ctx);
    },
    write(batch: readonly LogEvent[]) {
      if (!real) return Promise.reject(new Error(`${options.name}: write() before open()`));
      return real.write(batch);
    },
    async close() {
      await real?.close();
    },
  };
  return sink;
}

/**
 * Reads the `--objects-*` flags and builds the three jobs, or nothing when
 * `--objects-to` is not given.
 *
 * @param args The pipeline's arguments.
 * @param env The environment.
 * @param host This VM's name (the remote directory under the root).
 * @returns The jobs, or `undefined`.
 * @throws {RangeError} On a bad flag.
 *
 * @example Off by default
 * ```ts
 * import { objectJobs } from "./_objects.ts";
 * console.assert(objectJobs([], {}, "vm1") === undefined);
 * ```
 */
export function objectJobs(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  host: string,
): ObjectJobs | undefined {
  const to = option(
    args,
    env,
    "objects-to",
    "off",
    "user@central:/var/siem/samples: move and sync object directories there over SFTP",
  );
  const key = option(args, env, "objects-key", "", "the SSH private key for --objects-to");
  const pin = option(
    args,
    env,
    "objects-known-hosts",
    "",
    "known_hosts file pinning the central's SSH key, or its SHA256: fingerprint",
  );
  const interval = option(args, env, "objects-interval", "15m", "time between object scans");
  const bwlimit = option(args, env, "objects-bwlimit", "1M", "bandwidth limit of each object job");
  const settle = option(
    args,
    env,
    "objects-settle",
    "10s",
    "an object file unchanged for this long is complete; younger ones wait",
  );
  const jobs = _JOBS.map((j) => ({
    ...j,
    dir: option(args, env, `objects-${j.job}`, j.dir, `directory of the ${j.job} job, or off`),
    mode: option(args, env, `objects-${j.job}-mode`, j.mode, `${j.job}: move, sync or copy`),
    maxAge: option(
      args,
      env,
      `objects-${j.job}-max-age`,
      j.maxAge,
      `${j.job}: skip files older than this (7d), or off`,
    ),
  }));
  if (to === "off" || to === "") return undefined;
  const target = parseObjectsTo(to);
  if (!key) {
    throw new RangeError(`--objects-key: the SSH private key file is needed with --objects-to`);
  }
  if (!pin) {
    throw new RangeError(
      `--objects-known-hosts: a known_hosts file or a SHA256: fingerprint is needed with --objects-to (ssh-keyscan the central, check the fingerprint)`,
    );
  }
  const pinOptions = pin.startsWith("SHA256:")
    ? { hostKeyFingerprint: normalizeFingerprint(pin, "--objects-known-hosts") }
    : { knownHostsFile: pin };
  const out: ObjectJobs = { sources: {}, sinks: {}, paths: [], summary: "" };
  const parts: string[] = [];
  for (const j of jobs) {
    if (j.dir === "off" || j.dir === "") continue;
    if (j.mode !== "move" && j.mode !== "sync" && j.mode !== "copy") {
      throw new RangeError(`--objects-${j.job}-mode: expected move, sync or copy, got "${j.mode}"`);
    }
    const sourceOptions: ObjectsSourceOptions = {
      dir: j.dir,
      kind: j.job,
      host,
      mode: j.mode === "move" ? "move" : "copy",
      interval,
      settle,
      listing: j.mode === "sync",
      name: `objects-${j.job}`,
      ...(j.maxAge !== "off" && j.maxAge !== "" ? { maxAge: j.maxAge } : {}),
    };
    out.sources[`objects-${j.job}`] = objectsSource(sourceOptions);
    out.sinks[`objects-${j.job}`] = _lazySftpObjectSink({
      host: target.host,
      ...(target.port ? { port: target.port } : {}),
      user: target.user,
      privateKeyFile: key,
      ...pinOptions,
      root: target.root,
      path: "${HOST}/${kind}/${path}",
      // One manifest per job: three sinks never append to one file at once.
      manifest: "${HOST}/${kind}/.manifest.jsonl",
      mode: j.mode as "move" | "sync" | "copy",
      ...(j.mode === "sync" ? { deleteRemote: true } : {}),
      bwlimit,
      name: `objects-${j.job}`,
    }, 100);
    out.paths.push({ from: [`objects-${j.job}`], to: [`objects-${j.job}`] });
    parts.push(`${j.job} ${j.dir} (${j.mode}${j.maxAge !== "off" ? `, max-age ${j.maxAge}` : ""})`);
  }
  out.summary =
    `objects every ${interval} to ${target.user}@${target.host}:${target.root}/${host}/ at ${bwlimit}/s each: ${
      parts.join(", ")
    }`;
  return out;
}
