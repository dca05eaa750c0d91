/**
 * `--help` after a pipeline file: the flags that pipeline reads, their
 * environment variables and defaults, and the run options. The pipeline is
 * built (not started: nothing listens, nothing is opened) with a recorder on
 * its arguments that the examples' `option()` reports every flag to.
 *
 * @module
 */

import { loadPipeline } from "./load.ts";
import { RUN_OPTIONS } from "./run.ts";

/** The registry symbol `examples/_options.ts` `option()` reports flags to. */
const _RECORDER = Symbol.for("sluice.flags");

interface _FlagUse {
  name: string;
  env: string;
  fallback: string;
  help?: string;
}

/**
 * Whether the arguments after a pipeline file ask for its help: `--help` or
 * `-h` anywhere among them, `-- --help` included.
 *
 * @param args The arguments after the pipeline file.
 * @returns True when help is asked for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wantsHelp } from "./help.ts";
 * assert.equal(wantsHelp(["--", "--help"]), true);
 * assert.equal(wantsHelp(["--data", "/srv"]), false);
 * ```
 */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

/**
 * Builds the help text of a pipeline file: loads it with `help: true` in its
 * context and a flag recorder on its `args`, then lists what was recorded.
 * A pipeline that fails to build still gets the flags it read before it
 * failed, and the reason.
 *
 * @param file The pipeline file.
 * @param args The arguments after it (flags given before `--help` are used,
 *   so `--transport tcp --help` shows the flags of that transport).
 * @param env The environment.
 * @returns The help text.
 *
 * @example
 * ```ts ignore
 * import { pipelineHelp } from "./help.ts";
 * console.log(await pipelineHelp("examples/pipeline.central.ts", ["--help"], {}));
 * ```
 */
export async function pipelineHelp(
  file: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<string> {
  const uses = new Map<string, _FlagUse>();
  const recorded: string[] & { [_RECORDER]?: (use: _FlagUse) => void } = [...args];
  recorded[_RECORDER] = (use) => {
    if (!uses.has(use.name)) uses.set(use.name, use);
  };
  let failure: string | undefined;
  try {
    await loadPipeline(file, { args: recorded, env, help: true });
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  }
  const lines = [
    `Usage: sluice [run options] ${file} [flags]`,
    "",
  ];
  if (uses.size) {
    lines.push(`Flags of ${file} (--name value, --name=value, or the environment variable):`);
    const rows = [...uses.values()].map((u) => [`  --${u.name} <value>`, u] as const);
    const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
    for (const [flag, use] of rows) {
      lines.push(`${flag.padEnd(width)}${use.env}, default: ${use.fallback}`);
      if (use.help) lines.push(`      ${use.help}`);
    }
  } else {
    lines.push(`${file} reads no flags through option() (examples/_options.ts).`);
  }
  if (failure !== undefined) {
    lines.push("", `The pipeline could not be built with these arguments: ${failure}`);
  }
  lines.push("", "Run options (before the pipeline file):");
  const w = Math.max(...RUN_OPTIONS.map((o) => `${o.flag} ${o.value}`.length)) + 4;
  for (const o of RUN_OPTIONS) {
    const dflt = o.default !== undefined ? ` (default: ${o.default})` : "";
    lines.push(`  ${`${o.flag} ${o.value}`.padEnd(w)}${o.help}${dflt}`);
  }
  return lines.join("\n");
}
