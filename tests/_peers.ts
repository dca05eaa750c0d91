/**
 * Real peers for the tests (sshd, syslog-ng, chromium, postgres …): where
 * they are, one line when one is missing, and child processes that never
 * outlive their deadline.
 *
 * `SLUICE_TEST_HIDE_PEERS=1` (or a comma-separated list of peer names) makes
 * the named peers look missing, so the suite can be run as on a fresh
 * machine that has only Node and npm (`deno task test:fresh`).
 *
 * @example
 * ```ts
 * import { peer } from "./_peers.ts";
 * const sshd = peer("sshd", "openssh-server");
 * Deno.test({ name: "talks to sshd", ignore: !sshd, fn() {} });
 * ```
 *
 * @module
 */

/**
 * Whether the skip line for `name` was printed already, and marks it. Test
 * modules run in workers of one process under `--parallel`: the mark lives
 * in the process's environment, which they share (a worker's globals are
 * its own), so a peer missing for several files is named once.
 */
function _firstTime(name: string): boolean {
  const key = "SLUICE_TEST_SKIPS_SAID";
  let said: string[];
  try {
    said = (Deno.env.get(key) ?? "").split("\n");
    if (said.includes(name)) return false;
    Deno.env.set(key, [...said, name].join("\n"));
  } catch {
    // no env permission: say it
  }
  return true;
}

function _hidden(name: string): boolean {
  const hide = Deno.env.get("SLUICE_TEST_HIDE_PEERS");
  if (!hide) return false;
  if (hide === "1" || hide === "all") return true;
  return hide.split(",").map((s) => s.trim()).includes(name);
}

/**
 * Finds a binary on PATH or in the sbin directories, unless
 * `SLUICE_TEST_HIDE_PEERS` hides it.
 *
 * @param name The binary's name (`sshd`), or an absolute path.
 * @param hideAs The peer name that hides it. @default {name}
 * @returns Its path, or `undefined` when missing or hidden.
 *
 * @example
 * ```ts
 * import { which } from "./_peers.ts";
 * const sh = which("sh");
 * ```
 */
export function which(name: string, hideAs: string = name): string | undefined {
  if (_hidden(hideAs)) return undefined;
  const candidates = name.startsWith("/")
    ? [name]
    : (Deno.env.get("PATH") ?? "").split(":").concat([
      "/usr/sbin",
      "/sbin",
      "/usr/bin",
      "/usr/local/sbin",
      "/usr/local/bin",
      "/lib/systemd",
      "/usr/lib/systemd",
      "/usr/lib/postgresql/15/bin",
    ]).filter(Boolean).map((dir) => `${dir}/${name}`);
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Finds a peer and, when it is missing, prints one line (once per process)
 * naming it and how to get it.
 *
 * @param name The binary (`sshd`, `chromium`, `nft`).
 * @param debPackage The Debian package that brings it (`.ci/run` installs it).
 * @returns Its path, or `undefined`.
 *
 * @example
 * ```ts
 * import { peer } from "./_peers.ts";
 * const nft = peer("nft", "nftables");
 * ```
 */
export function peer(name: string, debPackage: string = name): string | undefined {
  const path = which(name);
  if (!path) notFound(name, `apt-get install ${debPackage}, as .ci/run does`);
  return path;
}

/**
 * Prints (once per process) the one line that says a peer is missing, for
 * peers that do not come from a Debian package of their own (rsyslog is
 * fetched into data/peers).
 *
 * @param name The peer.
 * @param how How to get it.
 *
 * @example
 * ```ts
 * import { notFound, which } from "./_peers.ts";
 * function rsyslogd(path: string): string | undefined {
 *   const found = which(path, "rsyslog");
 *   if (!found) notFound("rsyslog", "bash tests/interop/fetch_rsyslog.sh, as .ci/run does");
 *   return found;
 * }
 * ```
 */
export function notFound(name: string, how: string): void {
  if (!_firstTime(name)) return;
  console.log(`skip: ${name} not found (${how})`);
}

/**
 * Says (once per process) why tests are skipped when the reason is not a
 * missing binary (no network namespaces, not root).
 *
 * @param what What is missing.
 * @param how How to get it.
 *
 * @example
 * ```ts
 * import { skipLine } from "./_peers.ts";
 * const haveNetns = true;
 * if (!haveNetns) skipLine("network namespaces", "run as root with iproute2");
 * ```
 */
export function skipLine(what: string, how: string): void {
  if (!_firstTime(what)) return;
  console.log(`skip: ${what} not available (${how})`);
}

/** Options for {@linkcode runWithDeadline}. */
export interface DeadlineOptions {
  /** Milliseconds before the child is killed. */
  timeoutMs: number;
  /** What is running, named in the error when it hangs (`"sftp -b against sshd"`). */
  what: string;
  /** Standard input to write, then close. @default {undefined} (none) */
  stdin?: string | Uint8Array;
  /** Working directory. */
  cwd?: string;
  /** Extra environment. */
  env?: Record<string, string>;
}

/** What a finished child returned. */
export interface DeadlineResult {
  /** The exit code. */
  code: number;
  /** Standard output as text. */
  stdout: string;
  /** Standard error as text. */
  stderr: string;
}

let _setsid: string | null | undefined;
/** Children spawned with a group of their own, still running. */
const _groups = new Set<number>();

/** util-linux `setsid` (never hidden: it is how children get a group of their own). */
function _setsidPath(): string | null {
  if (_setsid !== undefined) return _setsid;
  _setsid = null;
  for (const path of ["/usr/bin/setsid", "/bin/setsid"]) {
    try {
      if (Deno.statSync(path).isFile) return (_setsid = path);
    } catch {
      // not here
    }
  }
  return _setsid;
}

/**
 * Spawns a command in a process group of its own (through `setsid`, which
 * execs it under the same pid), so that {@linkcode killTree} reaches the
 * children it starts too: `sftp` starts `ssh`, which would otherwise keep
 * the output pipes open after `sftp` is killed.
 *
 * @param cmd The program.
 * @param options `Deno.CommandOptions` (stdin/stdout/stderr default to "null").
 * @returns The running child; `killTree(child)` ends it and its descendants.
 *
 * @example
 * ```ts
 * import { killTree, spawnGroup } from "./_peers.ts";
 * const child = spawnGroup("sleep", { args: ["10"] });
 * killTree(child);
 * await child.status;
 * ```
 */
export function spawnGroup(cmd: string, options: Deno.CommandOptions = {}): Deno.ChildProcess {
  const setsid = _setsidPath();
  const grouped: Deno.CommandOptions = {
    stdin: "null",
    stdout: "null",
    stderr: "null",
    ...options,
    args: setsid ? [cmd, ...(options.args ?? [])] : [...(options.args ?? [])],
  };
  const child = new Deno.Command(setsid ?? cmd, grouped).spawn();
  if (setsid) _groups.add(child.pid);
  return child;
}

/**
 * Kills (SIGKILL) the process group of every child {@linkcode spawnGroup}
 * started in this process, for a process that is being stopped itself
 * (SIGTERM, SIGINT, an uncaught error): the groups are sessions of their
 * own, so nothing else would reach them once it is gone. Never throws.
 *
 * @example
 * ```ts
 * import { killAllGroups, spawnGroup } from "./_peers.ts";
 * const child = spawnGroup("sleep", { args: ["10"] });
 * killAllGroups();
 * await child.status;
 * ```
 */
export function killAllGroups(): void {
  for (const pid of _groups) {
    try {
      Deno.kill(-pid, "SIGKILL");
    } catch {
      // the group is gone
    }
  }
}

/**
 * Kills a child and every process of its group (SIGKILL unless told
 * otherwise); never throws.
 *
 * @param child A child from {@linkcode spawnGroup} (or any child: then only it).
 * @param signal The signal. @default {"SIGKILL"}
 *
 * @example
 * ```ts
 * import { killTree, spawnGroup } from "./_peers.ts";
 * const child = spawnGroup("sleep", { args: ["10"] });
 * killTree(child, "SIGTERM");
 * await child.status;
 * ```
 */
export function killTree(child: Deno.ChildProcess, signal: Deno.Signal = "SIGKILL"): void {
  if (_groups.has(child.pid)) {
    try {
      Deno.kill(-child.pid, signal);
    } catch {
      // the group is gone
    }
  }
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

/**
 * Waits for a running child to exit, or kills it (and its group, when it
 * has one) at the deadline and throws an error naming what hung.
 *
 * @param child The child.
 * @param timeoutMs The deadline.
 * @param what What is awaited (`"the runner draining after SIGTERM"`).
 * @returns Its exit status.
 *
 * @example
 * ```ts
 * import { exitWithin } from "./_peers.ts";
 * const child = new Deno.Command("true").spawn();
 * await exitWithin(child, 10_000, "true");
 * ```
 */
export async function exitWithin(
  child: Deno.ChildProcess,
  timeoutMs: number,
  what: string,
): Promise<Deno.CommandStatus> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killTree(child);
  }, timeoutMs);
  try {
    const status = await child.status;
    if (timedOut) throw new Error(`${what} hung: killed after ${timeoutMs} ms`);
    return status;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a stream to its end, or until `stop` resolves (then cancels it). */
async function _drain(
  stream: ReadableStream<Uint8Array>,
  stop: Promise<void>,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const stopped = stop.then(() => "stop" as const);
  try {
    while (true) {
      const r = await Promise.race([reader.read(), stopped]);
      if (r === "stop") {
        await reader.cancel().catch(() => {});
        break;
      }
      if (r.done) break;
      chunks.push(r.value);
      size += r.value.length;
    }
  } catch {
    // a cancelled or broken pipe: keep what came
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) (out.set(c, at), at += c.length);
  return out;
}

/**
 * Runs a command to completion or kills it and its children (SIGKILL to
 * its process group) at its deadline, and throws an error naming what hung.
 * Output pipes that a leftover grandchild keeps open do not hold it up:
 * 2 s after the child exits, the group is killed and the pipes let go.
 *
 * @param cmd The program.
 * @param args Its arguments.
 * @param options The deadline and what to call it.
 * @returns Exit code and output.
 *
 * @example
 * ```ts
 * import { runWithDeadline } from "./_peers.ts";
 * const r = await runWithDeadline("true", [], { timeoutMs: 5000, what: "true" });
 * ```
 */
export async function runWithDeadline(
  cmd: string,
  args: string[],
  options: DeadlineOptions,
): Promise<DeadlineResult> {
  const child = spawnGroup(cmd, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  let timedOut = false;
  let letGo: () => void = () => {};
  const stop = new Promise<void>((resolve) => (letGo = resolve));
  const timer = setTimeout(() => {
    timedOut = true;
    killTree(child);
    letGo();
  }, options.timeoutMs);
  let grace: ReturnType<typeof setTimeout> | undefined;
  try {
    const outputs = Promise.all([_drain(child.stdout, stop), _drain(child.stderr, stop)]);
    if (options.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(
        typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
      ).catch(() => {});
      await w.close().catch(() => {});
    }
    const status = await child.status;
    grace = setTimeout(() => (killTree(child), letGo()), 2_000);
    const [out, err] = await outputs;
    const stdout = new TextDecoder().decode(out);
    const stderr = new TextDecoder().decode(err);
    if (timedOut) {
      throw new Error(
        `${options.what} hung: killed after ${options.timeoutMs} ms\n${stderr.slice(-2000)}`,
      );
    }
    return { code: status.code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    clearTimeout(grace);
    _groups.delete(child.pid);
  }
}

/**
 * Waits until `check` returns a truthy value, or throws naming `what`.
 *
 * @param what What is awaited, for the error.
 * @param check Polled every `intervalMs`.
 * @param timeoutMs The deadline. @default {20000}
 * @param intervalMs How often to poll. @default {25}
 * @returns The truthy value.
 *
 * @example
 * ```ts
 * import { waitFor } from "./_peers.ts";
 * await waitFor("one", () => 1);
 * ```
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  intervalMs = 25,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (true) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= until) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
