/**
 * Where firewall commands run: locally (`Deno.Command`, an argument array,
 * no shell) or over SSH (see `sshExecutor` in respond/ssh_executor.ts).
 * Backends only ever hand an executor argument arrays.
 *
 * @example
 * ```ts
 * import { localExecutor } from "./executor.ts";
 * const exec = localExecutor({ timeoutMs: 5000 });
 * ```
 *
 * @module
 */

/** What a command returned. */
export interface CommandResult {
  /** The exit code (-1 when it could not start or was killed at its deadline). */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error, or why it could not run. */
  readonly stderr: string;
}

/** Runs one command given as an argument array. */
export interface Executor {
  /** Where commands run, for logs and the `responses` table (`local`, `vm-1`). */
  readonly where: string;
  /** Runs `argv[0]` with the rest as its arguments. Never throws for a failed command. */
  run(argv: readonly string[]): Promise<CommandResult>;
}

/** Options for {@linkcode localExecutor}. */
export interface LocalExecutorOptions {
  /** Words put before every command (`["ip", "netns", "exec", "fw"]`, `["sudo", "-n"]`). @default {[]} */
  prefix?: readonly string[];
  /** Milliseconds before a command is killed. @default {10000} */
  timeoutMs?: number;
  /** The name in logs and the table. @default {"local"} */
  where?: string;
}

/**
 * Checks that an argument array is plain strings without NUL (a NUL would
 * cut an argument short).
 *
 * @param argv The command.
 * @returns The same array.
 *
 * @example
 * ```ts
 * import { checkArgv } from "./executor.ts";
 * checkArgv(["nft", "list", "ruleset"]);
 * ```
 */
export function checkArgv(argv: readonly string[]): readonly string[] {
  if (argv.length === 0) throw new TypeError("executor: empty command");
  for (const a of argv) {
    if (typeof a !== "string" || a.includes("\0")) {
      throw new TypeError(`executor: argument ${JSON.stringify(a)} is not a plain string`);
    }
  }
  return argv;
}

/**
 * Runs commands on this machine with `Deno.Command` (no shell), killed at
 * their deadline.
 *
 * @param options Prefix, deadline, name.
 * @returns The executor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { localExecutor } from "./executor.ts";
 * const r = await localExecutor().run(["true"]);
 * assert.equal(r.code, 0);
 * ```
 */
export function localExecutor(options: LocalExecutorOptions = {}): Executor {
  const prefix = [...(options.prefix ?? [])];
  const timeoutMs = options.timeoutMs ?? 10_000;
  const decoder = new TextDecoder();
  return {
    where: options.where ?? "local",
    async run(argv) {
      const full = checkArgv([...prefix, ...argv]);
      let child: Deno.ChildProcess;
      try {
        child = new Deno.Command(full[0] as string, {
          args: full.slice(1) as string[],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
      } catch (err) {
        return { code: -1, stdout: "", stderr: `cannot run ${full[0]}: ${(err as Error).message}` };
      }
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, timeoutMs);
      try {
        const out = await child.output();
        const stderr = decoder.decode(out.stderr);
        if (killed) {
          return {
            code: -1,
            stdout: "",
            stderr: `${full[0]} killed after ${timeoutMs} ms ${stderr}`,
          };
        }
        return { code: out.code, stdout: decoder.decode(out.stdout), stderr };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
