/**
 * Hash commands started ahead for the sftp-object sink's remote hash: the
 * server's side of a command (sshd, the user's shell and its startup files,
 * which took 0.6 s here for root's `.bashrc`) runs while the upload still
 * goes on, and the command then waits for its paths on stdin. The command
 * is pinned: `xargs -0 sha256sum --` (or `xargs -0 openssl dgst -sha256 -r
 * --`), the paths sent NUL-separated on stdin: they reach `sha256sum` as
 * arguments, never through a shell.
 *
 * @module
 */

import { exec, type ExecStatus, type SshProcess } from "../ssh/exec.ts";
import type { SshConnection } from "../ssh/connect.ts";

/** How long a started command may wait for its paths (then it is dropped). */
const WAIT_MS = 10 * 60_000;

/** What a command started ahead ended with. */
export type WarmOutcome =
  | { kind: "lines"; found: Array<string | undefined>; status: ExecStatus; text: string }
  | { kind: "killed"; reason: string }
  | { kind: "cold"; reason: string };

/**
 * One command started ahead, waiting for its paths.
 *
 * @example
 * ```ts ignore
 * const w = new WarmHash(ssh, ["xargs", "-0", "sha256sum", "--"], (text, paths) => parse(text, paths));
 * // … the upload …
 * const r = await w.hash(["a/.0123456789abcdef.partial"], 10_240);
 * ```
 */
export class WarmHash {
  /** The argument array it runs. */
  readonly args: readonly string[];
  readonly #conn: SshConnection;
  readonly #p: SshProcess;
  readonly #give: (paths: string) => void;
  readonly #parse: (
    text: string,
    paths: readonly string[],
  ) => Array<string | undefined> | undefined;
  readonly #done: Promise<{ status?: ExecStatus; error?: unknown }>;
  #max = 0;
  #got = 0;
  #parts: Uint8Array[] = [];
  #used = false;
  #over = false;
  #late = false;

  /**
   * Starts `args` on `conn`; it waits for its paths.
   *
   * @param conn The connection.
   * @param args The pinned command (`xargs -0 <program> …`).
   * @param parse Parses its output for the paths given, strictly.
   */
  constructor(
    conn: SshConnection,
    args: readonly string[],
    parse: (text: string, paths: readonly string[]) => Array<string | undefined> | undefined,
  ) {
    this.args = args;
    this.#conn = conn;
    this.#parse = parse;
    let give!: (paths: string) => void;
    const stdin = new Promise<string>((resolve) => (give = resolve));
    this.#give = give;
    const p = exec(conn, args, { stdin, timeoutMs: WAIT_MS, highWaterMark: 64 * 1024 });
    this.#p = p;
    const reading = (async () => {
      for await (const chunk of p.stdout) {
        this.#got += chunk.byteLength;
        // Output before the paths were given, or more than they can make: no answer.
        if (this.#got > this.#max) {
          this.#over = true;
          p.kill();
          break;
        }
        this.#parts.push(chunk);
      }
    })();
    this.#done = Promise.all([this.#p.status, reading.catch(() => {})]).then(
      ([status]) => ({ status }),
      (error) => ({ error }),
    );
  }

  /** Whether it can still be given paths (not used, not ended). */
  get fresh(): boolean {
    return !this.#used && !this.#over && !this.#conn.closed;
  }

  /** Ends it unused. */
  drop(): void {
    this.#used = true;
    this.#p.kill();
  }

  /**
   * Gives it `paths` and waits for their digests.
   *
   * @param paths Remote paths (none holding NUL, a newline or `\`).
   * @param maxOutput Bytes of output they can make at most.
   * @param timeoutMs Deadline for the hashing.
   * @returns The lines found, a killed command, or why the command cannot serve (`cold`: run it otherwise).
   * @throws When the connection is lost meanwhile.
   */
  async hash(paths: readonly string[], maxOutput: number, timeoutMs: number): Promise<WarmOutcome> {
    this.#used = true;
    this.#max = maxOutput;
    this.#give(paths.map((p) => p + "\0").join(""));
    const timer = setTimeout(() => {
      this.#late = true;
      this.#p.kill();
    }, timeoutMs);
    let r;
    try {
      r = await this.#done;
    } finally {
      clearTimeout(timer);
    }
    if (this.#late) return { kind: "killed", reason: `"${this.args[2]}" did not finish in time` };
    if (this.#over) return { kind: "killed", reason: `"${this.args[2]}" printed too much` };
    if (r.error !== undefined || !r.status) {
      if (this.#conn.closed) throw r.error;
      const why = r.error instanceof Error ? r.error.message : String(r.error);
      return { kind: "cold", reason: `"${this.args.join(" ")}" failed: ${why}` };
    }
    const status = r.status;
    const bytes = new Uint8Array(this.#got);
    let off = 0;
    for (const part of this.#parts) {
      bytes.set(part, off);
      off += part.byteLength;
    }
    const text = new TextDecoder().decode(bytes);
    // 0: all hashed; 123 (xargs: the program exited 1–125): some could not be read.
    const found = status.code === 0 || status.code === 123 ? this.#parse(text, paths) : undefined;
    if (!found || found.every((h) => h === undefined)) {
      return {
        kind: "cold",
        reason: `"${this.args.join(" ")}" answered exit code ${status.code} and ${
          JSON.stringify(text.slice(0, 120))
        }`,
      };
    }
    return { kind: "lines", found, status, text };
  }
}
