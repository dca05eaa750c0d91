/**
 * Command-line flags and environment variables shared by the example
 * pipelines: `--name value` after the pipeline file, or `SLUICE_NAME`.
 *
 * @module
 */

/**
 * Reads an option from `--name value` / `--name=value` arguments, then the
 * `SLUICE_NAME` environment variable, then the default.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @param name The flag's name (`json-port`).
 * @param fallback The default.
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
): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === `--${name}` && i + 1 < args.length) return args[i + 1] as string;
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return env[`SLUICE_${name.toUpperCase().replaceAll("-", "_")}`] ?? fallback;
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
 * @returns The sinks' `checkpoint` option.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointOption } from "./_options.ts";
 * assert.equal(checkpointOption([], {}), "background");
 * assert.equal(checkpointOption(["--sqlite-checkpoint", "inline"], {}), "inline");
 * ```
 */
export function checkpointOption(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): "background" | "inline" {
  const value = option(args, env, "sqlite-checkpoint", "background");
  if (value !== "background" && value !== "inline") {
    throw new RangeError(`--sqlite-checkpoint: expected "background" or "inline", got "${value}"`);
  }
  return value;
}
