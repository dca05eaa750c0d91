/**
 * The pinned hash commands of the sftp-object sink and the strict parsing
 * of their output: `sha256sum -- <path>…` and, for big files,
 * `openssl dgst -sha256 -r -- <path>…`, their answers accepted only as
 * lines of 64 lowercase hex digits, the separator and one of the paths in
 * order (sinks/_sftp_remote_hash.ts runs them).
 *
 * @module
 */

import { STREAM_GROUP } from "./_sftp_warm_hash.ts";

/**
 * Bytes of output a well-formed answer for `path` can never exceed (hash, spaces, path, newline).
 *
 * @param path The remote path.
 * @returns The bound in bytes.
 *
 * @example
 * ```ts
 * import { maxHashOutput } from "./_sftp_hash_commands.ts";
 * console.assert(maxHashOutput("ab") === 64 + 2 + 2 + 1);
 * ```
 */
export function maxHashOutput(path: string): number {
  return 64 + 2 + new TextEncoder().encode(path).length + 1;
}

/**
 * A program that prints a SHA-256 line per file: its pinned command and what parts digest and name.
 *
 * @example
 * ```ts
 * import { type HashTool, SHA256SUM_TOOL } from "./_sftp_hash_commands.ts";
 * const tool: HashTool = SHA256SUM_TOOL;
 * console.assert(tool.command(["a"]).join(" ") === "sha256sum -- a");
 * ```
 */
export interface HashTool {
  /** The program's name, as messages name it. */
  name: string;
  /** The pinned argument array for `paths`. */
  command: (paths: string[]) => string[];
  /** The command kept running, the paths given on its stdin (sinks/_sftp_warm_hash.ts). */
  stream: string[];
  /** What parts digest and name in its output lines. */
  sep: string;
}

/**
 * `sha256sum`, as a {@linkcode HashTool}.
 *
 * @example
 * ```ts
 * import { SHA256SUM_TOOL } from "./_sftp_hash_commands.ts";
 * console.assert(SHA256SUM_TOOL.sep === "  " && SHA256SUM_TOOL.stream[0] === "xargs");
 * ```
 */
export const SHA256SUM_TOOL: HashTool = {
  name: "sha256sum",
  command: (p) => remoteHashCommand(...p),
  stream: ["xargs", "-0", "-n", String(STREAM_GROUP), ...remoteHashCommand()],
  sep: "  ",
};

/**
 * `openssl dgst -sha256 -r`, as a {@linkcode HashTool}.
 *
 * @example
 * ```ts
 * import { OPENSSL_TOOL } from "./_sftp_hash_commands.ts";
 * console.assert(OPENSSL_TOOL.sep === " *" && OPENSSL_TOOL.name === "openssl");
 * ```
 */
export const OPENSSL_TOOL: HashTool = {
  name: "openssl",
  command: (p) => opensslHashCommand(...p),
  stream: ["xargs", "-0", "-n", String(STREAM_GROUP), ...opensslHashCommand()],
  sep: " *",
};

/**
 * The argument array run on the server for `paths` (the command is pinned).
 *
 * @param paths The remote paths as given to SFTP (one or more).
 * @returns `["sha256sum", "--", ...paths]`.
 *
 * @example
 * ```ts
 * import { remoteHashCommand } from "./_sftp_hash_commands.ts";
 * console.assert(remoteHashCommand("-x").join(" ") === "sha256sum -- -x");
 * console.assert(remoteHashCommand("a", "b").join(" ") === "sha256sum -- a b");
 * ```
 */
export function remoteHashCommand(...paths: string[]): string[] {
  return ["sha256sum", "--", ...paths];
}

/**
 * The argument array run on the server for big files when it has OpenSSL
 * (the command is pinned; it prints `<hex> *<path>` lines, as `sha256sum -b`).
 *
 * @param paths The remote paths as given to SFTP (one or more).
 * @returns `["openssl", "dgst", "-sha256", "-r", "--", ...paths]`.
 *
 * @example
 * ```ts
 * import { opensslHashCommand } from "./_sftp_hash_commands.ts";
 * console.assert(opensslHashCommand("-x").join(" ") === "openssl dgst -sha256 -r -- -x");
 * ```
 */
export function opensslHashCommand(...paths: string[]): string[] {
  return ["openssl", "dgst", "-sha256", "-r", "--", ...paths];
}

/**
 * Parses `sha256sum`'s output for one file, strictly.
 *
 * @param output Its stdout.
 * @param path The path it was given.
 * @returns The hex digest, or `undefined` when the output is not exactly one well-formed line for `path`.
 *
 * @example
 * ```ts
 * import { parseSha256sum } from "./_sftp_hash_commands.ts";
 * const h = "a".repeat(64);
 * console.assert(parseSha256sum(`${h}  x/y\n`, "x/y") === h);
 * console.assert(parseSha256sum(`\\${h}  x\\ny\n`, "x\ny") === undefined);
 * ```
 */
export function parseSha256sum(output: string, path: string): string | undefined {
  const all = parseSha256sumLines(output, [path]);
  return all?.[0];
}

/**
 * Parses `sha256sum`'s output for several files, strictly: every line must
 * be `<64 lowercase hex>  <path>` for the next of `paths` in order (a file
 * it could not read has no line: its error went to stderr).
 *
 * @param output Its stdout.
 * @param paths The paths it was given, in order (none holding `\\` or a newline).
 * @param sep What parts digest and name: `"  "` (`sha256sum`), `" *"` (`openssl dgst -r`).
 * @returns Each path's digest (`undefined` for one without a line), or
 *   `undefined` when some text is not such a line.
 *
 * @example
 * ```ts
 * import { parseSha256sumLines } from "./_sftp_hash_commands.ts";
 * const h = "b".repeat(64);
 * const r = parseSha256sumLines(`${h}  a\n${h}  c\n`, ["a", "b", "c"]);
 * console.assert(r?.[0] === h && r[1] === undefined && r[2] === h);
 * console.assert(parseSha256sumLines(`${h}  c\n${h}  a\n`, ["a", "c"]) === undefined);
 * ```
 */
export function parseSha256sumLines(
  output: string,
  paths: readonly string[],
  sep = "  ",
): Array<string | undefined> | undefined {
  const found: Array<string | undefined> = new Array(paths.length).fill(undefined);
  let at = 0;
  let i = 0;
  while (at < output.length) {
    const nl = output.indexOf("\n", at);
    if (nl < 0) return undefined;
    const line = output.slice(at, nl);
    at = nl + 1;
    const hex = line.slice(0, 64);
    if (!/^[0-9a-f]{64}$/.test(hex) || line.slice(64, 66) !== sep) return undefined;
    const name = line.slice(66);
    while (i < paths.length && paths[i] !== name) i++;
    if (i === paths.length) return undefined;
    found[i++] = hex;
  }
  return found;
}
