/**
 * How an argument array becomes the one string SSH carries (ssh/exec.ts):
 * every argument quoted for the remote POSIX login shell, so `; rm -rf /`,
 * `$(…)`, quotes and newlines arrive as single literal arguments.
 *
 * @module
 */

const _BARE = /^[A-Za-z0-9_\/.,:=@%+^-]+$/;

/**
 * Quotes one argument for a POSIX shell: bare when it holds only safe
 * characters, otherwise in single quotes (a `'` becomes `'\''`).
 *
 * @param arg The argument.
 * @returns The quoted word.
 * @throws {TypeError} When it holds a NUL character (no argv can).
 *
 * @example
 * ```ts
 * import { shellQuote } from "./_exec_quote.ts";
 * console.assert(shellQuote("a b") === "'a b'");
 * console.assert(shellQuote("it's") === "'it'\\''s'");
 * ```
 */
export function shellQuote(arg: string): string {
  if (typeof arg !== "string") {
    throw new TypeError(`ssh: an argument must be a string, got ${typeof arg}`);
  }
  if (arg.includes("\0")) throw new TypeError("ssh: an argument holds a NUL character");
  if (arg !== "" && _BARE.test(arg)) return arg;
  return "'" + arg.replaceAll("'", "'\\''") + "'";
}

/**
 * The command line for an argument array, every argument quoted.
 *
 * @param args The program and its arguments.
 * @returns One string for SSH's exec request.
 * @throws {TypeError} When `args` is empty or an argument is not a string or holds NUL.
 *
 * @example
 * ```ts
 * import { shellCommand } from "./_exec_quote.ts";
 * console.assert(shellCommand(["printf", "%s\\n", "$(id)"]) === "printf '%s\\n' '$(id)'");
 * ```
 */
export function shellCommand(args: readonly string[]): string {
  if (!Array.isArray(args) || args.length === 0) {
    throw new TypeError("ssh: a command needs at least the program's name");
  }
  return args.map(shellQuote).join(" ");
}
