/**
 * The sluice command line: runs a pipeline file, checks one, and hosts the
 * other subcommands.
 *
 * ```sh
 * deno run -A runner/main.ts examples/pipeline.central.ts
 * deno run -A runner/main.ts check examples/pipeline.central.ts
 * ```
 *
 * @module
 */

import { Command, CommanderError } from "commander";
import { Engine } from "../core/engine.ts";
import { createLogger, type Logger, type LogLevel } from "../core/log.ts";
import type { Pipeline } from "../core/pipeline.ts";
import { StatsRegistry } from "../core/stats.ts";
import { describePipeline } from "./graph.ts";
import { loadPipeline, type PipelineContext, PipelineLoadError } from "./load.ts";
import { serveMetrics } from "./metrics.ts";
import { registerQueryCommands } from "./query.ts";
import { registerSyncCommand } from "./sync.ts";
import { registerDecryptCommand } from "./decrypt.ts";

/** The version printed by `--version`. */
export const VERSION = "0.1.0";

/** Signals this soon after the first are the same keypress delivered twice. */
const _SIGNAL_ECHO_MS = 500;

const _LEVELS: LogLevel[] = ["debug", "info", "warn", "error", "silent"];

interface _RunOptions {
  stateDir: string;
  logLevel: string;
  metrics?: string;
  drainTimeout: string;
}

function _level(value: string): LogLevel {
  if (!_LEVELS.includes(value as LogLevel)) {
    throw new PipelineLoadError(
      `--log-level: expected one of ${_LEVELS.join(", ")}, got "${value}"`,
    );
  }
  return value as LogLevel;
}

async function _run(file: string, args: string[], options: _RunOptions): Promise<number> {
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

async function _check(file: string, args: string[]): Promise<number> {
  const pipeline = await loadPipeline(file, { args, env: Deno.env.toObject() });
  console.log(`${file}: ok${pipeline.role ? ` (role ${pipeline.role})` : ""}`);
  for (const line of describePipeline(pipeline)) console.log(`  ${line}`);
  return 0;
}

/**
 * Builds the command-line program. Subcommands from other modules register
 * themselves on it.
 *
 * @param setExitCode Receives the exit code of the command that ran.
 * @returns The commander program.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildProgram } from "./main.ts";
 * const program = buildProgram(() => {});
 * assert.ok(program.name() === "sluice");
 * ```
 */
export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command("sluice")
    .description("sluice: a log pipeline and small-fleet SIEM")
    .version(VERSION)
    .enablePositionalOptions()
    .exitOverride();
  const runOptions = (cmd: Command) =>
    cmd
      .option("--state-dir <dir>", "where checkpoints and queues live", "./data/state")
      .option("--log-level <level>", `one of ${_LEVELS.join(", ")}`, "info")
      .option("--metrics <host:port>", "serve /metrics (Prometheus) and /stats (JSON)")
      .option("--drain-timeout <seconds>", "how long a stop waits for queued events", "30");
  runOptions(
    program.command("run", { isDefault: true })
      .description("run a pipeline file (the default command)")
      .argument("<pipeline>", "a TypeScript file whose default export is a pipeline")
      .argument("[args...]", "arguments passed to the pipeline file")
      .passThroughOptions()
      .allowUnknownOption(),
  ).action(async (file: string, args: string[], options: _RunOptions) => {
    setExitCode(await _run(file, args, options));
  });
  program.command("check")
    .description("validate a pipeline file and print its graph without opening anything")
    .argument("<pipeline>", "the pipeline file")
    .argument("[args...]", "arguments passed to the pipeline file")
    .passThroughOptions()
    .allowUnknownOption()
    .action(async (file: string, args: string[]) => {
      setExitCode(await _check(file, args));
    });
  registerQueryCommands(program);
  registerSyncCommand(program, setExitCode);
  registerDecryptCommand(program, setExitCode);
  return program;
}

/**
 * Runs the command line and returns the exit code.
 *
 * @param argv The arguments (without the program name).
 * @returns The exit code: 0 success, 1 failure, 2 a wrong pipeline file or option.
 */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (
      err instanceof PipelineLoadError ||
      (err instanceof RangeError && String(err.message).startsWith("--"))
    ) {
      console.error(err.message);
      return 2;
    }
    console.error(`sluice: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
