/**
 * `deno task compile`: builds `dist/sluice`, one executable with every npm
 * dependency and the example pipelines embedded, and the permissions of one
 * role baked in (the central by default), never `-A`.
 *
 * ```sh
 * deno task compile                                   # dist/sluice, the central
 * deno task compile --role vm --peer central.lan:5515 --tail /var/log/ids/alerts.jsonl \
 *   --output dist/sluice-vm
 * deno task compile --print                           # the deno compile command line only
 * ```
 *
 * `deno compile` takes its runtime (`denort`) from the Deno release downloads, or from
 * the file `DENORT_BIN` names on a machine without that network access.
 *
 * @module
 */

import { type Role, rolePermissions, type RoleScope } from "./permissions.ts";

/**
 * Modules loaded by URL at run time, which `deno compile` cannot see by itself:
 * the pipelines `sluice run central|vm|home` selects, the worker-thread sink's host
 * and the modules it imports (siem.db's sinks), the WAL checkpoint worker, the
 * agentless collector's SSH worker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMPILE_INCLUDES } from "./compile.ts";
 * assert.ok(COMPILE_INCLUDES.includes("examples/"));
 * ```
 */
export const COMPILE_INCLUDES: readonly string[] = [
  "examples/",
  "sinks/_worker_host.ts",
  "sinks/_wal_checkpoint_worker.ts",
  "archive/_mover_worker.ts",
  "archive/_commit_worker.ts",
  "sources/_ssh_journal_worker.ts",
  "siem/schema.ts",
  "siem/vms.ts",
  // Imported by URL (core/lazy.ts importLate), so not in the graph deno compile follows.
  "runner/cli.ts",
  "ui/server.ts",
  "archive/service.ts",
  "sources/ssh_journal.ts",
  "sinks/postgres.ts",
  "sinks/mysql.ts",
  "store/open.ts",
];

/**
 * Options for {@linkcode compileArgs}.
 *
 * @example
 * ```ts
 * import type { CompileOptions } from "./compile.ts";
 * const options: CompileOptions = { role: "vm", output: "dist/sluice-vm" };
 * ```
 */
export interface CompileOptions extends RoleScope {
  /** The role whose permissions are baked in. @default {"central"} */
  role?: Role;
  /** The executable written. @default {"dist/sluice"} */
  output?: string;
}

/**
 * The `deno compile` arguments for a role.
 *
 * @param options The role, its scope and the output.
 * @returns The arguments after `deno`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileArgs } from "./compile.ts";
 * const args = compileArgs({});
 * assert.equal(args[0], "compile");
 * assert.ok(!args.includes("-A") && args.includes("--include=examples/"));
 * ```
 */
export function compileArgs(options: CompileOptions): string[] {
  const { role = "central", output = "dist/sluice", ...scope } = options;
  return [
    "compile",
    "--no-check",
    ...rolePermissions(role, scope),
    // The runtime flag `deno task start` uses: a smaller young generation, less idle memory.
    "--v8-flags=--max-semi-space-size=4",
    ...COMPILE_INCLUDES.map((i) => `--include=${i}`),
    `--output=${output}`,
    "runner/main.ts",
  ];
}

function _options(argv: string[]): CompileOptions & { print: boolean } {
  const out: CompileOptions & { print: boolean } = { print: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === "--print") {
      out.print = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new RangeError(`compile: "${flag}" needs a value`);
    if (flag === "--role") out.role = value as Role;
    else if (flag === "--output") out.output = value;
    else if (flag === "--data") out.data = value;
    else if (flag === "--config") out.config = value;
    else if (flag === "--tail") (out.tails ??= []).push(value);
    else if (flag === "--objects") (out.objects ??= []).push(value);
    else if (flag === "--listen") (out.listen ??= []).push(value);
    else if (flag === "--peer") (out.peers ??= []).push(value);
    else if (flag === "--journald") out.journald = value === "on";
    else throw new RangeError(`compile: unknown option "${flag}"`);
  }
  return out;
}

if (import.meta.main) {
  const { print, ...options } = _options(Deno.args);
  const args = compileArgs(options);
  console.log(`deno ${args.join(" ")}`);
  if (!print) {
    await Deno.mkdir("dist", { recursive: true });
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args,
      stdout: "inherit",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stderr);
    await Deno.stderr.write(stderr);
    if (code !== 0 && /denort|dl\.deno\.land|Setting up base binary/.test(text)) {
      console.error(
        "compile: deno compile could not get its runtime (denort). On a machine without access " +
          "to the Deno release downloads, unzip denort-x86_64-unknown-linux-gnu.zip of the same " +
          "Deno version and run again with DENORT_BIN=/path/to/denort",
      );
    }
    Deno.exit(code);
  }
}
