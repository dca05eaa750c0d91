/**
 * Command-line flags and environment variables shared by the example
 * pipelines: `--name value` after the pipeline file, or `SLUICE_NAME`.
 *
 * @module
 */

import { type MemoryBudget, memoryBudget, parseMemoryProfile } from "../core/memory_budget.ts";

/**
 * What each flag of the examples does, shown by `--help` after a pipeline
 * file (`runner/main.ts examples/pipeline.central.ts --help`). Help lists the
 * flags a pipeline actually reads through {@linkcode option}, with their
 * defaults; this table gives their descriptions, in one place. A new flag
 * needs a line here (or a `help` argument to {@linkcode option}), nothing else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FLAG_HELP } from "./_options.ts";
 * assert.ok(FLAG_HELP["data"] !== undefined);
 * ```
 */
export const FLAG_HELP: Readonly<Record<string, string>> = {
  "listen": "address the listeners bind to",
  "json-port": "port of the JSON lines listener (TCP); on a VM, the central's JSON port",
  "relp-port": "port of the RELP listener; on a VM, the central's RELP port",
  "syslog-port": "port of the syslog listener (UDP and TCP)",
  "data": "directory of the SQLite database, the JSONL files and other state",
  "memory": "small, default, large, or auto (from the machine's or cgroup's memory): queue and " +
    "batch sizes, SQLite's page cache, SQLite's thread and V8's heap growth",
  "sqlite-worker": "on: SQLite inserts run on a worker thread; off: on the main thread " +
    "(default: from --memory)",
  "sqlite-checkpoint": "background: SQLite's WAL is checkpointed on a thread of its own; " +
    "inline: in the commits (one V8 isolate fewer)",
  "central": "the central's address",
  "transport": "how events reach the central: relp or tcp (JSON lines)",
  "host": "this machine's name in the events it sends",
  "alerts": "the alerts JSONL file to tail",
  "yara": "the YARA results JSONL file to tail",
  "heartbeat-seconds": "seconds between heartbeats to the central",
  "journald": "on: also forward sshd's journal",
  "ack-timeout-seconds": "seconds to wait for the central's RELP acknowledgement",
  "relp-window": "RELP messages in flight before waiting for acknowledgements",
  "max-hosts-per-day": "most by_vm/ files made per day (host names come from the senders); " +
    "events of other hosts go to by_vm/_other.jsonl",
  "ui": "the web dashboard's host:port (localhost only by default), or off",
  "ui-cert": "PEM certificate file: serve the dashboard over HTTPS (with --ui-key)",
  "ui-key": "PEM private key file of --ui-cert",
  "pull-hosts": "on: pull the journal over SSH from the hosts of `sluice hosts add` (off)",
  "heap-step-mb": "a full V8 collection each time the old generation grows by this many MiB " +
    "(default: from --memory; 0: V8's own limit)",
};

/** One flag read by {@linkcode option}, as `--help` lists it. */
export interface FlagUse {
  /** The flag's name, `json-port`. */
  name: string;
  /** The environment variable read when the flag is absent, `SLUICE_JSON_PORT`. */
  env: string;
  /** The default. */
  fallback: string;
  /** What it does, when known. */
  help?: string;
}

/**
 * The key under which the runner hangs a recorder on the `args` array it
 * passes to a pipeline factory when `--help` follows the pipeline file:
 * {@linkcode option} reports every flag it reads to it. A registry symbol, so
 * pipelines importing this file by another URL report to the same runner.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FLAG_RECORDER } from "./_options.ts";
 * assert.equal(FLAG_RECORDER, Symbol.for("sluice.flags"));
 * ```
 */
export const FLAG_RECORDER: unique symbol = Symbol.for("sluice.flags") as typeof FLAG_RECORDER;

/**
 * Reads an option from `--name value` / `--name=value` arguments, then the
 * `SLUICE_NAME` environment variable, then the default. When the runner asks
 * for help (`--help` after the pipeline file), it also reports the flag, its
 * default and its description ({@linkcode FLAG_HELP}) for the help text.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @param name The flag's name (`json-port`).
 * @param fallback The default.
 * @param help What the flag does, for `--help`. @default {FLAG_HELP[name]}
 * @returns The value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { option } from "./_options.ts";
 * assert.ok(option(["--data", "/srv"], {}, "data", "./data") === "/srv");
 * assert.ok(option([], { SLUICE_DATA: "/x" }, "data", "./data") === "/x");
 * ```
 */
export function option(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  name: string,
  fallback: string,
  help?: string,
): string {
  const variable = `SLUICE_${name.toUpperCase().replaceAll("-", "_")}`;
  const record = (args as { [FLAG_RECORDER]?: unknown })[FLAG_RECORDER];
  if (typeof record === "function") {
    const text = help ?? FLAG_HELP[name];
    (record as (use: FlagUse) => void)({
      name,
      env: variable,
      fallback,
      ...(text !== undefined ? { help: text } : {}),
    });
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === `--${name}` && i + 1 < args.length) return args[i + 1] as string;
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return env[variable] ?? fallback;
}

/**
 * Reads a port option; a wrong value throws a RangeError that names it.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @param name The flag's name.
 * @param fallback The default port.
 * @returns The port.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { portOption } from "./_options.ts";
 * assert.ok(portOption(["--json-port", "0"], {}, "json-port", 5514) === 0);
 * ```
 */
export function portOption(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  name: string,
  fallback: number,
): number {
  const text = option(args, env, name, String(fallback));
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`--${name}: expected a port from 0 to 65535, got "${text}"`);
  }
  return port;
}

/**
 * Reads `--sqlite-checkpoint background|inline` (`SLUICE_SQLITE_CHECKPOINT`):
 * where the SQLite sinks copy their WAL into the database, on a thread of
 * their own (faster, one more V8 isolate) or in the commits (SQLite's own
 * way, the least memory). A wrong value throws a RangeError that names it.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @param fallback The default (the memory budget's). @default {"background"}
 * @returns The sinks' `checkpoint` option.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointOption } from "./_options.ts";
 * assert.equal(checkpointOption([], {}), "background");
 * assert.equal(checkpointOption([], {}, "inline"), "inline");
 * assert.equal(checkpointOption(["--sqlite-checkpoint", "inline"], {}), "inline");
 * ```
 */
export function checkpointOption(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  fallback: "background" | "inline" = "background",
): "background" | "inline" {
  const value = option(args, env, "sqlite-checkpoint", fallback);
  if (value !== "background" && value !== "inline") {
    throw new RangeError(`--sqlite-checkpoint: expected "background" or "inline", got "${value}"`);
  }
  return value;
}

/**
 * The WAL size, in MiB, at which SQLite checkpoints in a commit when the
 * examples' databases checkpoint `inline`: a page rewritten by several
 * commits is copied into the database once per checkpoint instead of several
 * times, and the commits sync less often. Measured against sqliteSink's
 * 8 MiB (docs/performance.md): the central example 1.09–1.25× the rate at
 * 200k alerts, the VM example's backup 1.11–1.12× at 500k lines, same
 * memory (the WAL is a file: its pages are the kernel's cache, not the
 * process's). A background checkpointer keeps sqliteSink's 8 MiB steps.
 *
 * @example
 * ```ts
 * import { sqliteSink } from "../sinks/sqlite.ts";
 * import { checkpointWalMb } from "./_options.ts";
 * const backup = sqliteSink({ database: "backup.db", checkpoint: "inline", walCheckpointMb: checkpointWalMb("inline") });
 * ```
 *
 * @param checkpoint The sink's `checkpoint` option.
 * @returns The sink's `walCheckpointMb`.
 */
export function checkpointWalMb(checkpoint: "background" | "inline"): number {
  return checkpoint === "inline" ? 32 : 8;
}

/**
 * Reads `--heap-step-mb` (`SLUICE_HEAP_STEP_MB`): the old generation's growth
 * between the full collections of `heapCap` (core/heap_cap.ts), default from the
 * memory budget; 0 leaves collections to V8. A wrong value throws a
 * RangeError that names the flag.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @param fallback The budget's step, in MiB.
 * @returns The step in MiB (0: off).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heapStepOption } from "./_options.ts";
 * assert.equal(heapStepOption([], {}, 8), 8);
 * assert.equal(heapStepOption(["--heap-step-mb", "0"], {}, 8), 0);
 * assert.throws(() => heapStepOption(["--heap-step-mb", "x"], {}, 8), /--heap-step-mb/);
 * ```
 */
export function heapStepOption(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  fallback: number,
): number {
  const text = option(args, env, "heap-step-mb", String(fallback));
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`--heap-step-mb: expected a number of MiB ≥ 0, got "${text}"`);
  }
  return value;
}

/**
 * Reads `--memory small|default|large|auto` (`SLUICE_MEMORY`, auto) and
 * returns the budget the examples size themselves from (core/memory_budget.ts):
 * `auto` chooses from the machine's memory or its cgroup's limit. A wrong
 * value throws a RangeError that names the flag.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @param machineMb The machine's memory in MiB. @default {read from /proc and the cgroup}
 * @returns The budget.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryOption } from "./_options.ts";
 * assert.equal(memoryOption(["--memory", "small"], {}).sqliteWorker, false);
 * assert.equal(memoryOption([], { SLUICE_MEMORY: "large" }).queueSize, 4000);
 * assert.equal(memoryOption([], {}, 1024).profile, "small");
 * ```
 */
export function memoryOption(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  machineMb?: number,
): MemoryBudget {
  const profile = parseMemoryProfile(option(args, env, "memory", "auto"), "--memory");
  return machineMb === undefined ? memoryBudget(profile) : memoryBudget(profile, machineMb);
}
