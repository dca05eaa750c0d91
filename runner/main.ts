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

import { type LogFormat, redactSecrets, setLogFormat } from "../core/log.ts";
import { PipelineLoadError } from "./load.ts";
import { importLate } from "../core/lazy.ts";
import { parseRunArgs, runPipeline } from "./run.ts";

/**
 * Runs the command line and returns the exit code.
 *
 * @param argv The arguments (without the program name).
 * @returns The exit code: 0 success, 1 failure, 2 a wrong pipeline file or option.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./main.ts";
 * assert.equal(await main(["--version"]), 0);
 * assert.equal(await main(["--no-such-option", "p.ts"]), 2);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  try {
    // SLUICE_LOG_FORMAT=json makes every subcommand log JSON (the units set it for `sync`).
    const format = _env("SLUICE_LOG_FORMAT");
    if (format && format !== "plain" && format !== "json") {
      throw new RangeError(
        `--log-format (SLUICE_LOG_FORMAT): expected plain or json, got "${format}"`,
      );
    }
    if (format) setLogFormat(format as LogFormat);
    // A plain run skips the full command line (`cli.ts`): a pipeline runs for months, and
    // what it imports stays in memory all that time.
    const run = parseRunArgs(argv);
    if (run) return await runPipeline(run.file, run.args, run.options);
    // Imported by URL: the command line's modules stay out of the module graph Deno keeps for the
    // life of a pipeline run (core/lazy.ts importLate; issue 26's idle memory).
    const { buildProgram, CommanderError } = await importLate<typeof import("./cli.ts")>(
      new URL("./cli.ts", import.meta.url),
    );
    let code = 0;
    try {
      await buildProgram((c) => (code = c)).parseAsync(argv, { from: "user" });
    } catch (err) {
      if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
      throw err;
    }
    return code;
  } catch (err) {
    if (
      err instanceof PipelineLoadError ||
      (err instanceof RangeError && String(err.message).startsWith("--"))
    ) {
      console.error(redactSecrets(err.message));
      return 2;
    }
    // A connection string in an error keeps its user and host, never its password.
    console.error(`sluice: ${redactSecrets(err instanceof Error ? err.message : String(err))}`);
    return 1;
  }
}

function _env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: the default
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
