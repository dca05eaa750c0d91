/**
 * `sluice user add|passwd|set|del|list`: the dashboard's users (the `users`
 * table of the SIEM database: a SQLite file, or a PostgreSQL or MariaDB/MySQL
 * server given as `--db postgres://…` / `mysql://…`, store/open.ts). `passwd`, `set` and `del` end the user's
 * dashboard sessions, so a stolen session cookie stops working. Passwords are read without echo from a
 * terminal, or as the first line of standard input (`--password-stdin`,
 * for scripts); they are stored as argon2id hashes.
 *
 * @module
 */

import type { Command } from "../core/_deps/commander.ts";
import { openStore } from "../store/open.ts";
import type { SiemStore } from "../store/types.ts";
import { hashPassword } from "../ui/password.ts";
import { checkPassword, checkRole, checkUserName } from "../ui/users.ts";

/** Where the commands read and write (tests replace it). */
export interface UserIo {
  /** Writes a line to standard output. */
  out(line: string): void;
  /** Writes a line to standard error. */
  err(line: string): void;
  /** Reads a password (without echo on a terminal). */
  password(prompt: string, fromStdin: boolean): Promise<string>;
}

async function _readLine(): Promise<string> {
  const reader = Deno.stdin.readable.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (text.length > 4096) break;
    }
  } finally {
    reader.releaseLock();
  }
  return text.split(/\r?\n/)[0] ?? "";
}

async function _readPassword(prompt: string, fromStdin: boolean): Promise<string> {
  if (fromStdin || !Deno.stdin.isTerminal()) return await _readLine();
  await Deno.stderr.write(new TextEncoder().encode(prompt));
  Deno.stdin.setRaw(true);
  try {
    const bytes: number[] = [];
    const buf = new Uint8Array(1);
    while (true) {
      const n = await Deno.stdin.read(buf);
      const b = buf[0] as number;
      if (n === null || b === 13 || b === 10) break;
      if (b === 3) throw new Error("cancelled");
      if (b === 127 || b === 8) bytes.pop();
      else bytes.push(b);
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(new TextEncoder().encode("\n"));
  }
}

/** The default I/O: the console and the terminal. */
export const CONSOLE_USER_IO: UserIo = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  password: _readPassword,
};

function _sessions(n: number): string {
  return `${n} dashboard session${n === 1 ? "" : "s"}`;
}

const _DB_HELP =
  "the SIEM database: a path, sqlite:PATH, postgres://user@host/db or mysql://user@host/db (SLUICE_DB, ./data/siem.db)";

function _db(options: { db?: string }): string {
  return options.db ?? Deno.env.get("SLUICE_DB") ?? "./data/siem.db";
}

/**
 * Registers `user` and its subcommands on the program.
 *
 * @param program The commander program.
 * @param setExitCode Receives each command's exit code.
 * @param io Output and password input. @default {CONSOLE_USER_IO}
 * @returns The program.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "commander";
 * import { registerUserCommand } from "./user.ts";
 * const program = registerUserCommand(new Command("sluice"), () => {});
 * assert.ok(program.commands.some((c) => c.name() === "user"));
 * ```
 */
export function registerUserCommand(
  program: Command,
  setExitCode: (code: number) => void,
  io: UserIo = CONSOLE_USER_IO,
): Command {
  const user = program.command("user").description(
    "the dashboard's users (admin: may triage; viewer: may look)",
  );
  const run = async (options: { db?: string }, fn: (store: SiemStore) => Promise<void>) => {
    let store: SiemStore | undefined;
    try {
      // A path or sqlite:PATH, or a server URL (password from the URL, SLUICE_DB_PASSWORD_FILE,
      // SLUICE_DB_PASSWORD or PGPASSWORD; errors show the URL masked).
      store = await openStore(_db(options));
      await fn(store);
      setExitCode(0);
    } catch (err) {
      io.err(`sluice user: ${err instanceof Error ? err.message : String(err)}`);
      setExitCode(err instanceof TypeError || err instanceof RangeError ? 2 : 1);
    } finally {
      await store?.close().catch(() => {});
    }
  };
  const newPassword = async (stdin: boolean) => {
    const password = checkPassword(await io.password("password: ", stdin));
    if (!stdin && Deno.stdin.isTerminal()) {
      if (await io.password("again: ", stdin) !== password) {
        throw new RangeError("the passwords differ");
      }
    }
    return await hashPassword(password);
  };
  user.command("add")
    .description("add a user")
    .argument("<name>", "the user's name")
    .option("--role <role>", "admin or viewer", "viewer")
    .option("--password-stdin", "read the password from the first line of standard input")
    .option("--db <target>", _DB_HELP)
    .action((name: string, o: { role: string; passwordStdin?: boolean; db?: string }) =>
      run(o, async (store) => {
        checkUserName(name);
        const role = checkRole(o.role);
        if (await store.ui.getUser(name)) throw new RangeError(`user "${name}" exists`);
        const passwordHash = await newPassword(o.passwordStdin ?? false);
        if (!(await store.ui.addUser({ name, role, passwordHash }))) {
          throw new RangeError(`user "${name}" exists`);
        }
        io.out(`added ${role} "${name}"`);
      })
    );
  user.command("passwd")
    .description("set a user's password (and optionally role)")
    .argument("<name>", "the user's name")
    .option("--role <role>", "admin or viewer")
    .option("--password-stdin", "read the password from the first line of standard input")
    .option("--db <target>", _DB_HELP)
    .action((name: string, o: { role?: string; passwordStdin?: boolean; db?: string }) =>
      run(o, async (store) => {
        const before = await store.ui.getUser(name);
        if (!before) throw new RangeError(`no user "${name}"`);
        const role = o.role === undefined ? undefined : checkRole(o.role);
        if (
          role === "viewer" && before.role === "admin" && await store.ui.countUsers("admin") <= 1
        ) {
          throw new RangeError(`"${name}" is the last admin`);
        }
        const passwordHash = await newPassword(o.passwordStdin ?? false);
        await store.ui.updateUser(name, { passwordHash, ...(role ? { role } : {}) });
        // A stolen session cookie must not outlive the password it was got with.
        const ended = await store.ui.deleteSessionsOf(name);
        io.out(`changed "${name}"; ${_sessions(ended)} ended`);
      })
    );
  user.command("set")
    .description("change a user's role (keeps the password)")
    .argument("<name>", "the user's name")
    .requiredOption("--role <role>", "admin or viewer")
    .option("--db <target>", _DB_HELP)
    .action((name: string, o: { role: string; db?: string }) =>
      run(o, async (store) => {
        const before = await store.ui.getUser(name);
        if (!before) throw new RangeError(`no user "${name}"`);
        const role = checkRole(o.role);
        if (
          role === "viewer" && before.role === "admin" && await store.ui.countUsers("admin") <= 1
        ) {
          throw new RangeError(`"${name}" is the last admin`);
        }
        await store.ui.updateUser(name, { role });
        // The sessions started under the old role end with it.
        const ended = await store.ui.deleteSessionsOf(name);
        io.out(`"${name}" is ${role}; ${_sessions(ended)} ended`);
      })
    );
  user.command("del")
    .description("delete a user")
    .argument("<name>", "the user's name")
    .option("--db <target>", _DB_HELP)
    .action((name: string, o: { db?: string }) =>
      run(o, async (store) => {
        const before = await store.ui.getUser(name);
        if (!before) throw new RangeError(`no user "${name}"`);
        if (before.role === "admin" && await store.ui.countUsers("admin") <= 1) {
          throw new RangeError(`"${name}" is the last admin`);
        }
        await store.ui.deleteUser(name);
        io.out(`deleted "${name}"`);
      })
    );
  user.command("list")
    .description("list the users")
    .option("--db <target>", _DB_HELP)
    .action((o: { db?: string }) =>
      run(o, async (store) => {
        for (const u of await store.ui.listUsers()) io.out(`${u.name}\t${u.role}\t${u.created}`);
      })
    );
  return program;
}
