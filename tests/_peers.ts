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

const _said = new Set<string>();

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
  if (!path && !_said.has(name)) {
    _said.add(name);
    console.log(`skip: ${name} not found (apt-get install ${debPackage}, as .ci/run does)`);
  }
  return path;
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
 * skipLine("network namespaces", "run as root with iproute2");
 * ```
 */
export function skipLine(what: string, how: string): void {
  if (_said.has(what)) return;
  _said.add(what);
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

/**
 * Runs a command to completion or kills it (SIGKILL) at its deadline and
 * throws an error naming what hung.
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
  const child = new Deno.Command(cmd, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, options.timeoutMs);
  try {
    if (options.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(
        typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
      ).catch(() => {});
      await w.close().catch(() => {});
    }
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    if (timedOut) {
      throw new Error(
        `${options.what} hung: killed after ${options.timeoutMs} ms\n${stderr.slice(-2000)}`,
      );
    }
    return { code: out.code, stdout, stderr };
  } finally {
    clearTimeout(timer);
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
