/**
 * The run command: loads a pipeline file, runs it until a signal, drains it,
 * and reloads it on SIGHUP. It imports no command-line library, so a
 * long-running pipeline does not carry one in memory.
 *
 * @module
 */

import { Engine } from "../core/engine.ts";
import {
  createLogger,
  type LogFormat,
  type Logger,
  type LogLevel,
  setLogFormat,
} from "../core/log.ts";
import type { Pipeline } from "../core/pipeline.ts";
import { StatsRegistry } from "../core/stats.ts";
import { loadPipeline, type PipelineContext, PipelineLoadError } from "./load.ts";
import { serveMetrics } from "./metrics.ts";

/** Signals this soon after the first are the same keypress delivered twice. */
const _SIGNAL_ECHO_MS = 500;

const _LEVELS: LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** The run command's options, as text from the command line. */
export interface RunOptions {
  /** Where checkpoints and queues live. */
  stateDir: string;
  /** One of debug, info, warn, error, silent. */
  logLevel: string;
  /** Serve /metrics and /stats on this address. */
  metrics?: string;
  /** Seconds a stop waits for queued events. */
  drainTimeout: string;
  /** `plain` or `json` (one object a line, for journald). */
  logFormat?: string;
}

/** One option of the run command: `--help` and the fast path both read this table. */
export interface RunOptionSpec {
  /** The long flag, `--state-dir`. */
  flag: string;
  /** The value's placeholder in help, `<dir>`. */
  value: string;
  /** The key in {@linkcode RunOptions}. */
  key: keyof RunOptions;
  /** What it does, for help. */
  help: string;
  /** The value when the flag is absent. */
  default?: string;
}

/**
 * The options of the run command (the default command).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RUN_OPTIONS } from "./run.ts";
 * assert.ok(RUN_OPTIONS.some((o) => o.flag === "--state-dir"));
 * ```
 */
export const RUN_OPTIONS: readonly RunOptionSpec[] = [
  {
    flag: "--state-dir",
    value: "<dir>",
    key: "stateDir",
    help: "where checkpoints and queues live",
    default: "./data/state",
  },
  {
    flag: "--log-level",
    value: "<level>",
    key: "logLevel",
    help: `one of ${_LEVELS.join(", ")}`,
    default: "info",
  },
  {
    flag: "--log-format",
    value: "<format>",
    key: "logFormat",
    help: "plain (the default), or json (one object a line, for journald)",
  },
  {
    flag: "--metrics",
    value: "<host:port>",
    key: "metrics",
    help: "serve /metrics (Prometheus) and /stats (JSON)",
  },
  {
    flag: "--drain-timeout",
    value: "<seconds>",
    key: "drainTimeout",
    help: "how long a stop waits for queued events",
    default: "30",
  },
];

/**
 * The subcommands other than `run`. A first word from this list is never
 * taken for a pipeline file (a test holds it equal to the program's commands).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SUBCOMMANDS } from "./run.ts";
 * assert.ok(SUBCOMMANDS.includes("query"));
 * ```
 */
export const SUBCOMMANDS: readonly string[] = [
  "check",
  "query",
  "tail",
  "sync",
  "decrypt",
  "help",
  "hosts",
  "respond",
  "ui",
  "user",
  "certs",
  "archive",
];

/**
 * Reads a plain run command line (`[run] [options] <pipeline> [args...]`)
 * without loading the full command-line parser, which would stay in memory
 * for the pipeline's whole life (commander and the Node modules it pulls in
 * cost ~13 MB of RSS). Anything else, a subcommand, `--help`, `--version`,
 * an unknown option or a missing value, returns `undefined`, and the full
 * parser answers it with its help or its error.
 *
 * @param argv The arguments without the program name.
 * @returns The pipeline file, its arguments and the options; or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRunArgs } from "./run.ts";
 * const run = parseRunArgs(["--log-level=warn", "p.ts", "--data", "/srv"]);
 * assert.deepEqual(run?.args, ["--data", "/srv"]);
 * assert.equal(run?.options.logLevel, "warn");
 * assert.equal(parseRunArgs(["query", "critical"]), undefined);
 * ```
 */
export function parseRunArgs(
  argv: readonly string[],
): { file: string; args: string[]; options: RunOptions } | undefined {
  const options: Record<string, string> = {};
  for (const o of RUN_OPTIONS) if (o.default !== undefined) options[o.key] = o.default;
  let i = argv[0] === "run" ? 1 : 0;
  for (; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      i++;
      break;
    }
    if (!word.startsWith("-")) break;
    const eq = word.indexOf("=");
    const spec = RUN_OPTIONS.find((o) => o.flag === (eq < 0 ? word : word.slice(0, eq)));
    if (!spec) return undefined;
    const value = eq < 0 ? argv[++i] : word.slice(eq + 1);
    if (value === undefined) return undefined;
    options[spec.key] = value;
  }
  const file = argv[i];
  if (file === undefined || (i === 0 && SUBCOMMANDS.includes(file))) return undefined;
  return { file, args: argv.slice(i + 1), options: options as unknown as RunOptions };
}

function _level(value: string): LogLevel {
  if (!_LEVELS.includes(value as LogLevel)) {
    throw new PipelineLoadError(
      `--log-level: expected one of ${_LEVELS.join(", ")}, got "${value}"`,
    );
  }
  return value as LogLevel;
}

/**
 * Runs a pipeline file until it is done or stopped: SIGINT/SIGTERM drain the
 * queues and exit, SIGHUP reloads the file (see below).
 *
 * @param file The pipeline file.
 * @param args Arguments after the file, for a factory export.
 * @param options The run options.
 * @returns The exit code, 0 after a drained stop.
 * @throws {PipelineLoadError} For a bad file or option.
 *
 * @example
 * ```ts ignore
 * import { runPipeline } from "./run.ts";
 * Deno.exitCode = await runPipeline("examples/pipeline.central.ts", [], {
 *   stateDir: "./data/state",
 *   logLevel: "info",
 *   drainTimeout: "30",
 * });
 * ```
 */
export async function runPipeline(
  file: string,
  args: string[],
  options: RunOptions,
): Promise<number> {
  // `p.ts --help` (or `p.ts -- --help`) prints the pipeline's flags instead of running it.
  const { wantsHelp, pipelineHelp } = await import("./help.ts");
  if (wantsHelp(args)) {
    console.log(await pipelineHelp(file, args, Deno.env.toObject()));
    return 0;
  }
  try {
    if (options.logFormat !== undefined) setLogFormat(options.logFormat as LogFormat);
  } catch (err) {
    throw new PipelineLoadError((err as Error).message);
  }
  const log = createLogger(_level(options.logLevel));
  const drainTimeoutMs = Number(options.drainTimeout) * 1000;
  if (!(drainTimeoutMs >= 0)) {
    throw new PipelineLoadError(`--drain-timeout: expected seconds, got "${options.drainTimeout}"`);
  }
  let stats = new StatsRegistry();
  let pipeline = await loadPipeline(file, { args, env: Deno.env.toObject(), stats });
  const makeEngine = (p: Pipeline, s: StatsRegistry) =>
    new Engine(p, { stateDir: options.stateDir, logger: log, stats: s, drainTimeoutMs });
  let engine = makeEngine(pipeline, stats);
  // The metrics server reads whichever registry is current, across reloads.
  const metrics = options.metrics
    ? serveMetrics(options.metrics, { current: () => stats })
    : undefined;
  let firstSignalAt: number | undefined;
  let wake!: (why: "stop" | "reload") => void;
  let next = new Promise<"stop" | "reload">((resolve) => (wake = resolve));
  const onSignal = (signal: Deno.Signal) => () => {
    if (firstSignalAt !== undefined) {
      // Ctrl-C under `deno task` reaches us twice at once (from the terminal's process group
      // and forwarded by the task runner): only a second press, later, skips the drain.
      if (Date.now() - firstSignalAt < _SIGNAL_ECHO_MS) return;
      log.warn(`second ${signal}: exiting without draining`);
      Deno.exit(1);
    }
    firstSignalAt = Date.now();
    log.info(`${signal}: stopping sources and draining queues`);
    wake("stop");
  };
  const handlers: Array<[Deno.Signal, () => void]> = [
    ["SIGINT", onSignal("SIGINT")],
    ["SIGTERM", onSignal("SIGTERM")],
    ["SIGHUP", () => wake("reload")],
  ];
  for (const [sig, handler] of handlers) Deno.addSignalListener(sig, handler);
  try {
    await engine.start();
    if (metrics) {
      log.info(`metrics on http://${metrics.addr.hostname}:${metrics.addr.port}/metrics`);
    }
    while (true) {
      const why = await Promise.race([next, engine.done.then(() => "done" as const)]);
      if (why !== "reload") break;
      next = new Promise((resolve) => (wake = resolve));
      const fresh = new StatsRegistry();
      const context = { args, env: Deno.env.toObject(), stats: fresh };
      pipeline = await _reload(file, context, engine, pipeline, log, async (p) => {
        const s = fresh;
        const e = makeEngine(p, s);
        await e.start();
        engine = e;
        stats = s;
      });
    }
    await engine.stop();
    log.info("stopped", { drained: true });
    return 0;
  } finally {
    for (const [sig, handler] of handlers) Deno.removeSignalListener(sig, handler);
    await metrics?.shutdown();
  }
}

/**
 * SIGHUP: load and validate the file again; an invalid file leaves the running
 * pipeline alone. Otherwise drain the running pipeline completely (its sources
 * stop, every queued event is written and acknowledged, checkpoints are
 * written), then start the new one, which resumes from those checkpoints: no
 * event is lost or stored twice. Listeners are closed for the moment of the swap.
 */
async function _reload(
  file: string,
  context: PipelineContext,
  running: Engine,
  current: Pipeline,
  log: Logger,
  start: (p: Pipeline) => Promise<void>,
): Promise<Pipeline> {
  log.info("SIGHUP: reloading the pipeline file");
  let candidate: Pipeline;
  try {
    candidate = await loadPipeline(file, context);
  } catch (err) {
    log.error("reload refused, the running pipeline stays", {
      error: err instanceof Error ? err.message : String(err),
    });
    return current;
  }
  await running.stop();
  try {
    await start(candidate);
    log.info("reloaded");
    return candidate;
  } catch (err) {
    log.error("the new pipeline failed to start; starting the previous file's pipeline again", {
      error: err instanceof Error ? err.message : String(err),
    });
    // The old engine's components were stopped; a fresh load builds new ones.
    const again = await loadPipeline(file, context).catch(() => current);
    await start(again);
    return again;
  }
}
