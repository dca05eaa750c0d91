/**
 * `sluice sync PIPELINE.ts --once [--dry-run]`: runs only a pipeline's
 * object paths (those fed by objects sources, and the paths that send
 * their stored-object events on), one scan, then stops and prints a summary.
 *
 * ```sh
 * deno run -A runner/main.ts sync examples/pipeline.vm.ts --once
 * deno run -A runner/main.ts sync examples/pipeline.vm.ts --once --dry-run
 * ```
 *
 * @module
 */

import type { Command } from "../core/_deps/commander.ts";
import { Engine } from "../core/engine.ts";
import { createLogger, type LogLevel } from "../core/log.ts";
import { definePipeline } from "../core/pipeline.ts";
import type { ObjectActivity, ObjectSink } from "../sources/objects.ts";
import { loadPipeline, PipelineLoadError } from "./load.ts";
import { formatSize, SyncProgress } from "./_sync_progress.ts";
import { guardSinks, objectPipeline } from "./_sync_pipeline.ts";

/** Options for {@linkcode runSync}. */
export interface SyncOptions {
  /** One scan per objects source, then stop. Without it, scan every interval until SIGINT/SIGTERM. @default {false} */
  once?: boolean;
  /** List what would be uploaded or deleted; change nothing. @default {false} */
  dryRun?: boolean;
  /** The state directory. @default {"./data/state"} */
  stateDir?: string;
  /** Log level of the pipeline's components. @default {"warn"} */
  logLevel?: LogLevel;
  /** Failed write attempts after which a `--once` run gives up. @default {3} */
  retries?: number;
  /** Arguments for a pipeline file that exports a function. @default {[]} */
  args?: string[];
  /** Where the listing and the summary go. @default {console.log} */
  out?: (line: string) => void;
  /** Draw progress bars on stderr. @default {Deno.stderr.isTerminal()} */
  progress?: boolean;
  /** Stops a run without `--once` (the command wires SIGINT and SIGTERM to it). */
  signal?: AbortSignal;
}

/** What a sync did (or, in a dry run, would do). */
export interface SyncSummary {
  /** Objects uploaded (or that would be). */
  files: number;
  /** Bytes sent (or that would be). */
  bytes: number;
  /** Objects already stored unchanged. */
  skipped: number;
  /** Objects that failed or were refused, and files whose name is not UTF-8 (which cannot be read). */
  failed: number;
  /** Symbolic links not followed because they lead out of the scanned directory. */
  linksOutside: number;
  /** Local files deleted after their upload (move). */
  deletedLocal: number;
  /** Remote files deleted (sync with deleteRemote), or that would be. */
  deletedRemote: number;
  /** Failed write attempts (connection, host key, verification). */
  errors: string[];
  /** Whether the run gave up after too many failed attempts. */
  gaveUp: boolean;
}

/**
 * Runs the object paths of a pipeline file: once (`once: true`) or every
 * interval until stopped, optionally as a dry run. Prints one line per
 * object and a summary to `out`, and progress bars on stderr when it is a
 * terminal.
 *
 * @param file The pipeline file.
 * @param options Once, dry run, state directory, output.
 * @returns What was done.
 * @throws {PipelineLoadError} When the file is wrong or has no objects source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runSync } from "./sync.ts";
 * import { PipelineLoadError } from "./load.ts";
 * try {
 *   await runSync("no-such-pipeline.ts", { once: true });
 * } catch (err) {
 *   assert.ok(err instanceof PipelineLoadError);
 * }
 * ```
 */
export async function runSync(file: string, options: SyncOptions = {}): Promise<SyncSummary> {
  const out = options.out ?? ((line: string) => console.log(line));
  const once = options.once ?? false;
  const dryRun = options.dryRun ?? false;
  const retries = options.retries ?? 3;
  const pipeline = await loadPipeline(file, {
    args: options.args ?? [],
    env: Deno.env.toObject(),
  });
  const built = objectPipeline(pipeline, once, file);
  if (built.sinks.length === 0) {
    throw new PipelineLoadError(
      `${file}: the objects sources feed no object sink (sftpObjectSink)`,
    );
  }
  const summary: SyncSummary = {
    files: 0,
    bytes: 0,
    skipped: 0,
    failed: 0,
    linksOutside: 0,
    deletedLocal: 0,
    deletedRemote: 0,
    errors: [],
    gaveUp: false,
  };
  const progress = (options.progress ?? Deno.stderr.isTerminal()) ? new SyncProgress() : undefined;
  let stopWriting = false;
  let giveUp!: () => void;
  const gaveUp = new Promise<void>((resolve) => (giveUp = resolve));
  const onActivity = (sink: ObjectSink) => (a: ObjectActivity) => {
    progress?.on(a);
    switch (a.type) {
      case "uploaded":
        summary.files++;
        summary.bytes += a.bytes;
        out(`uploaded ${a.object.remote} (${formatSize(a.object.size)})`);
        break;
      case "unchanged":
        summary.skipped++;
        out(`unchanged ${a.remote}`);
        break;
      case "refused":
        summary.failed++;
        out(`refused ${a.path}: ${a.reason}`);
        break;
      case "failed":
        summary.failed++;
        out(`failed ${a.path}: ${a.error}`);
        break;
      case "would-upload":
        summary.files++;
        summary.bytes += a.size;
        out(
          `would upload ${a.path} -> ${a.remote} (${formatSize(a.size)})${
            a.move ? ", then delete the local file" : ""
          }`,
        );
        break;
      case "would-delete-remote":
        summary.deletedRemote++;
        out(`would delete remote ${a.remote}`);
        break;
      case "deleted-remote":
        summary.deletedRemote++;
        out(`deleted remote ${a.remote}`);
        break;
      case "error":
        if (stopWriting) break;
        summary.errors.push(a.error);
        out(`error (${sink.name ?? sink.kind}): ${a.error}`);
        // N retries are N + 1 attempts: no write starts after this one.
        if (once && summary.errors.length > retries) {
          stopWriting = true;
          giveUp();
        }
        break;
    }
  };
  const unsubscribe = built.sinks.map((sink) => {
    if (dryRun) sink.dryRun = true;
    return sink.subscribe(onActivity(sink));
  });
  // The engine reads drainTimeoutMs when it stops: a run that gave up stops at once.
  const engineOptions = {
    stateDir: options.stateDir ?? "./data/state",
    logger: createLogger(options.logLevel ?? "warn"),
    drainTimeoutMs: 30_000,
  };
  const engine = new Engine(
    definePipeline(guardSinks(built.def, new Set(built.sinks), () => stopWriting)),
    engineOptions,
  );
  try {
    await engine.start();
    if (once) {
      const finished = Promise.all(built.objects.map((s) => s.done)).then(() => false);
      summary.gaveUp = await Promise.race([finished, gaveUp.then(() => true)]);
    } else {
      await new Promise<void>((resolve) => {
        if (options.signal?.aborted) return resolve();
        options.signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    }
    if (summary.gaveUp) {
      engineOptions.drainTimeoutMs = 0;
      out(`giving up after ${summary.errors.length} failed attempts`);
    }
  } finally {
    await engine.stop();
    for (const u of unsubscribe) u();
    if (dryRun) { for (const sink of built.sinks) sink.dryRun = false; }
  }
  for (const c of engine.stats.components) {
    if (c.type === "source" && c.kind === "objects") {
      summary.deletedLocal += c.counters.deleted ?? 0;
      summary.failed += c.counters.bad_names ?? 0;
      summary.linksOutside += c.counters.symlinks_outside ?? 0;
    }
  }
  const verb = dryRun ? "dry run" : "sync";
  out(
    `${verb}: files ${summary.files}, bytes ${
      formatSize(summary.bytes)
    }, skipped ${summary.skipped}, failed ${summary.failed}, deleted local ${summary.deletedLocal}, deleted remote ${summary.deletedRemote}${
      summary.linksOutside ? `, links out of the directory skipped ${summary.linksOutside}` : ""
    }${summary.errors.length ? `, failed attempts ${summary.errors.length}` : ""}`,
  );
  return summary;
}

/**
 * Adds `sync` to the command line.
 *
 * @param program The commander program (`runner/cli.ts` builds it).
 * @param setExitCode Receives the exit code: 0, or 1 when an object failed or the run gave up.
 * @returns The `sync` command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "commander";
 * import { registerSyncCommand } from "./sync.ts";
 * const program = new Command("sluice");
 * registerSyncCommand(program);
 * assert.ok(program.commands.some((c) => c.name() === "sync"));
 * ```
 */
export function registerSyncCommand(
  program: Command,
  setExitCode: (code: number) => void = (code) => (Deno.exitCode = code),
): Command {
  return program.command("sync")
    .description(
      "run only the object paths of a pipeline (objects sources to object sinks) and print a summary",
    )
    .argument("<pipeline>", "the pipeline file")
    .argument("[args...]", "arguments passed to the pipeline file (after --)")
    .option("--once", "scan each objects source once, then stop")
    .option("--dry-run", "list what would be uploaded or deleted; change nothing")
    .option("--state-dir <dir>", "where state lives", "./data/state")
    .option("--log-level <level>", "debug, info, warn, error or silent", "warn")
    .option("--retries <n>", "failed attempts before a --once run gives up", "3")
    .action(async (file: string, args: string[], opts: {
      once?: boolean;
      dryRun?: boolean;
      stateDir: string;
      logLevel: string;
      retries: string;
    }) => {
      const levels = ["debug", "info", "warn", "error", "silent"];
      if (!levels.includes(opts.logLevel)) {
        throw new PipelineLoadError(
          `--log-level: expected one of ${levels.join(", ")}, got "${opts.logLevel}"`,
        );
      }
      const retries = Number(opts.retries);
      if (!Number.isInteger(retries) || retries < 0) {
        throw new PipelineLoadError(`--retries: expected a whole number, got "${opts.retries}"`);
      }
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
      for (const s of signals) Deno.addSignalListener(s, onSignal);
      try {
        const summary = await runSync(file, {
          once: opts.once ?? false,
          dryRun: opts.dryRun ?? false,
          stateDir: opts.stateDir,
          logLevel: opts.logLevel as LogLevel,
          retries,
          args,
          signal: stop.signal,
        });
        setExitCode(summary.failed > 0 || summary.gaveUp ? 1 : 0);
      } finally {
        for (const s of signals) Deno.removeSignalListener(s, onSignal);
      }
    });
}
