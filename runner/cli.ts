/**
 * The full command line (commander): help, `--version`, `check`, the query
 * commands, `sync` and `decrypt`. `runner/main.ts` loads it only when the
 * arguments are not a plain run of a pipeline file.
 *
 * @module
 */

import { Command } from "../core/_deps/commander.ts";
import { describePipeline } from "./graph.ts";
import { loadPipeline } from "./load.ts";
import { registerQueryCommands } from "./query.ts";
import { registerSyncCommand } from "./sync.ts";
import { registerDecryptCommand } from "./decrypt.ts";
import { registerHostsCommand } from "./hosts.ts";
import { registerRespondCommand } from "./respond.ts";
import { registerArchiveCommand } from "./archive.ts";
import { registerCertsCommand } from "./certs.ts";
import { registerUiCommand } from "./ui.ts";
import { registerUserCommand } from "./user.ts";
import { RUN_OPTIONS, type RunOptions, runPipeline } from "./run.ts";

export { CommanderError } from "../core/_deps/commander.ts";

/** The version printed by `--version`. */
export const VERSION = "0.1.0";

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
 * import { buildProgram } from "./cli.ts";
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
  const run = program.command("run", { isDefault: true })
    .description("run a pipeline file (the default command)")
    .argument("<pipeline>", "a TypeScript file whose default export is a pipeline")
    .argument("[args...]", "arguments passed to the pipeline file")
    .passThroughOptions()
    .allowUnknownOption();
  for (const o of RUN_OPTIONS) run.option(`${o.flag} ${o.value}`, o.help, o.default);
  run.action(async (file: string, args: string[], options: RunOptions) => {
    setExitCode(await runPipeline(file, args, options));
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
  registerHostsCommand(program, setExitCode);
  registerRespondCommand(program, setExitCode);
  registerArchiveCommand(program, setExitCode);
  registerCertsCommand(program, setExitCode);
  registerUiCommand(program, setExitCode);
  registerUserCommand(program, setExitCode);
  return program;
}
