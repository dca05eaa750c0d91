/**
 * Child processes for the tests and the bench that never outlive their
 * deadline: each in a process group of its own (killed whole), a run with
 * a deadline that names what hung, and a poll with a deadline. Re-exported
 * by tests/_peers.ts.
 *
 * @module
 */

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
 * import { killTree, spawnGroup } from "./_processes.ts";
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
 * import { killAllGroups, spawnGroup } from "./_processes.ts";
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
 * import { killTree, spawnGroup } from "./_processes.ts";
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
 * import { exitWithin } from "./_processes.ts";
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
 * import { runWithDeadline } from "./_processes.ts";
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
 * import { waitFor } from "./_processes.ts";
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
