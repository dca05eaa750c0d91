/**
 * The processes the bench starts: where syslog-ng is, how sluice is run (the
 * shipped V8 flags, the central's arguments) and a child whose output is kept
 * and waited on. Exported from `lib.ts` too.
 *
 * @module
 */

import { killTree, spawnGroup, which } from "../tests/_peers.ts";
import { type MemoryPeak, runSampled } from "./_memory.ts";

/**
 * Where syslog-ng is installed, if it is.
 *
 * @returns The binary's path, or `undefined`.
 *
 * @example
 * ```ts
 * import { syslogNgBin } from "./lib.ts";
 * const bin = syslogNgBin();
 * console.log(bin ?? "syslog-ng is not installed");
 * ```
 */
export function syslogNgBin(): string | undefined {
  // SLUICE_TEST_HIDE_PEERS hides it, as from the tests (a fresh machine).
  return which("/usr/sbin/syslog-ng", "syslog-ng") ?? which("/usr/bin/syslog-ng", "syslog-ng");
}

/**
 * V8 flags for a machine short of memory: a 2 MiB young generation (the
 * shipped 8 MiB, twice over, lives in each isolate) and an old generation
 * that grows 20% past its live data before the next collection, where V8
 * by default lets it grow up to fourfold under load. More collections, so
 * more CPU per event; the bench measures both sides of that trade.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SMALL_HEAP_V8_FLAGS, sluiceRunArgs } from "./lib.ts";
 * const args = sluiceRunArgs("/tmp/state", "p.ts", SMALL_HEAP_V8_FLAGS);
 * assert.match(args[1]!, /--heap-growing-percent=20$/);
 * ```
 */
export const SMALL_HEAP_V8_FLAGS = "--max-semi-space-size=2,--heap-growing-percent=20";

/**
 * The VM example's small-memory V8 flags: the old generation's growth of
 * {@linkcode SMALL_HEAP_V8_FLAGS} with the young generation `deno task start`
 * and the compiled binary ship (a 4 MiB semi-space). With the heap cap, a
 * 2 MiB young generation promoted more of the VM's short-lived events:
 * 1M-line runs peaked at a median of 40.3 MB private against 36.8 MB, and
 * ran 15–20 % slower (docs/performance.md). The central's small settings
 * keep 2 MiB (50.6–51.5 against 54.3–55.5 MB).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VM_SMALL_V8_FLAGS } from "./lib.ts";
 * assert.doesNotMatch(VM_SMALL_V8_FLAGS, /semi-space/);
 * ```
 */
export const VM_SMALL_V8_FLAGS = "--heap-growing-percent=20";

/**
 * The `deno run` flags a bench child gets: the V8 flags `deno task start`
 * ships (read from deno.json, so the bench measures what users run) with
 * `v8` after them, or `BENCH_V8_FLAGS` in place of both; then
 * `BENCH_SLUICE_FLAGS`, split on spaces (`--cpu-prof`, for profiling).
 *
 * @param v8 V8 flags for this process, after the shipped ones.
 * @returns Flags for `deno run`, before the script.
 *
 * @example
 * ```ts
 * import { shippedDenoFlags } from "./_children.ts";
 * console.assert(shippedDenoFlags().every((f) => f.startsWith("--")));
 * ```
 */
export function shippedDenoFlags(v8?: string): string[] {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("../deno.json", import.meta.url)),
  ) as { tasks: { start: string } };
  const shipped = /--v8-flags=(\S+)/.exec(config.tasks.start)?.[1];
  const flags = Deno.env.get("BENCH_V8_FLAGS") ?? [shipped, v8].filter((f) => f).join(",");
  const extra = (Deno.env.get("BENCH_SLUICE_FLAGS") ?? "").split(" ").filter((f) => f);
  return [...(flags ? [`--v8-flags=${flags}`] : []), ...extra];
}

/**
 * Runs `module` as a script in a process of its own, started with
 * {@linkcode shippedDenoFlags}, `arg` as JSON in its first argument, and
 * reads the JSON it prints on its last line of stdout; its memory is sampled
 * from here meanwhile. For the bench's runs that must be measured alone:
 * in the bench process they would carry the bench's own memory (what it
 * wrote, every earlier run's garbage).
 *
 * @param module The script (a `file:` URL; it runs its job under `import.meta.main`).
 * @param arg Its job, as plain data.
 * @param what What it does, for the error when it fails or hangs.
 * @param timeoutMs Killed with its children past this.
 * @returns What it printed, and its peak memory.
 * @throws {Error} When it exits non-zero (with its stderr's end) or hangs.
 *
 * @example
 * ```ts ignore
 * import { inOwnProcess } from "./_children.ts";
 * const { value, memory } = await inOwnProcess<{ rate: number }>(
 *   new URL("./_ssh_journal_child.ts", import.meta.url), { mode: "source" }, "the source", 60_000,
 * );
 * ```
 */
export async function inOwnProcess<T>(
  module: URL,
  arg: unknown,
  what: string,
  timeoutMs: number,
): Promise<{ value: T; memory: MemoryPeak }> {
  const r = await runSampled(
    Deno.execPath(),
    ["run", ...shippedDenoFlags(), "-A", module.pathname, JSON.stringify(arg)],
    { what, timeoutMs },
  );
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}: ${r.stderr.slice(-2000)}`);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  return { value: JSON.parse(last) as T, memory: r.memory };
}

/**
 * The `deno` arguments that run a pipeline file under the sluice runner in
 * the bench, quiet (`--log-level warn`), with its state in `stateDir`. The
 * V8 flags are the ones `deno task start` ships (read from deno.json, so the
 * bench measures what users run) with `v8` after them, or `BENCH_V8_FLAGS`
 * in place of both; then `BENCH_SLUICE_FLAGS`, split on spaces
 * (`--cpu-prof`, for profiling).
 *
 * @param stateDir The runner's `--state-dir`.
 * @param pipeline The pipeline file; its own arguments go after the result.
 * @param v8 V8 flags for this process, after the shipped ones.
 * @returns Arguments for `deno`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sluiceRunArgs } from "./lib.ts";
 * const args = sluiceRunArgs("/tmp/state", "p.ts", "--max-old-space-size=24");
 * assert.match(args[1]!, /^--v8-flags=--max-semi-space-size=\d+,--max-old-space-size=24$/);
 * assert.deepEqual(args.slice(-3), ["--state-dir", "/tmp/state", "p.ts"]);
 * ```
 */
export function sluiceRunArgs(stateDir: string, pipeline: string, v8?: string): string[] {
  return [
    "run",
    ...shippedDenoFlags(v8),
    "-A",
    new URL("../runner/main.ts", import.meta.url).pathname,
    "--log-level",
    "warn",
    "--state-dir",
    stateDir,
    pipeline,
  ];
}

/**
 * The arguments after a central pipeline file (the example or a bench
 * pipeline): its data under `data`, every listener on a free port (the
 * pipeline prints the ones it got).
 *
 * @param data The pipeline's data directory.
 * @returns Arguments for the pipeline file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { centralArgs } from "./lib.ts";
 * assert.deepEqual(centralArgs("/tmp/d").slice(0, 2), ["--data", "/tmp/d"]);
 * ```
 */
export function centralArgs(data: string): string[] {
  return ["--data", data, "--json-port", "0", "--relp-port", "0", "--syslog-port", "0"];
}

/** Options for {@linkcode LoggedProcess}. */
export interface LoggedProcessOptions {
  /** Its working directory. */
  cwd?: string;
  /** Its environment (added to this one's). */
  env?: Record<string, string>;
}

/**
 * A child process whose stdout and stderr are kept (the last 64 KiB), which
 * can be waited on for a line and stops politely (SIGTERM), then not (SIGKILL
 * after 15 s).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LoggedProcess } from "./lib.ts";
 * const p = new LoggedProcess(Deno.execPath(), ["eval", "console.error('ready')"]);
 * assert.equal((await p.waitFor(/ready/))[0], "ready");
 * await p.stop();
 * ```
 */
export class LoggedProcess {
  readonly #child: Deno.ChildProcess;
  readonly #status: Promise<Deno.CommandStatus>;
  readonly #readers: Promise<void>[];
  #text = "";
  #exited = false;

  /**
   * Starts it.
   *
   * @param bin The program.
   * @param args Its arguments.
   * @param options Working directory and environment.
   */
  constructor(bin: string, args: string[], options: LoggedProcessOptions = {}) {
    this.#child = spawnGroup(bin, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    this.#status = this.#child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    this.#readers = [this.#child.stdout, this.#child.stderr].map(async (stream) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        this.#text += decoder.decode(chunk, { stream: true });
        if (this.#text.length > 1 << 16) this.#text = this.#text.slice(-(1 << 15));
      }
    });
  }

  /** Its process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** What it printed lately. */
  get text(): string {
    return this.#text;
  }

  /** Whether it has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /**
   * Waits until its output matches.
   *
   * @param pattern What to wait for.
   * @param timeoutMs How long at most. @default {60000}
   * @returns The match.
   * @throws {Error} When it exits or the time is up first, with what it printed.
   */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const m = this.#text.match(pattern);
      if (m) return m;
      if (this.#exited) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`timed out waiting for ${pattern} in:\n${this.#text.slice(-3000)}`);
  }

  /**
   * SIGTERM, SIGKILL (to it and its children) after 15 s, then waits for
   * the exit and, at most 5 s more, for the output.
   */
  async stop(): Promise<void> {
    if (!this.#exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // gone already
      }
      const timer = setTimeout(() => killTree(this.#child), 15_000);
      await this.#status;
      clearTimeout(timer);
    }
    await this.#status;
    // A child of its own that outlived it would keep the pipes open.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#readers),
      new Promise((resolve) => (timer = setTimeout(resolve, 5_000))),
    ]);
    clearTimeout(timer);
    killTree(this.#child);
  }
}
