/**
 * One hash command kept running per connection for the sftp-object sink's
 * remote hash: the server's side of a command (sshd, the user's shell and
 * its startup files, which took 0.6 s and 0.2 s of CPU here for root's
 * `.bashrc`) is paid once, then each path written to its stdin is hashed at
 * once. The command is pinned: `xargs -0 -n 32 sha256sum --` (or `xargs -0
 * -n 32 openssl dgst -sha256 -r --`), the paths NUL-separated on stdin: they
 * reach the program as arguments, never through a shell. The paths asked
 * for while a group is hashed go together in the next; a group short of 32
 * is filled up with `/dev/null` so that it runs at once. Its output is
 * taken only as one `<hex><sep><path>` line per path, in the order given.
 *
 * @module
 */

import { exec, type SshProcess } from "../ssh/exec.ts";
import type { SshConnection } from "../ssh/connect.ts";

/** What {@linkcode StreamHash.hash} found. */
export type StreamOutcome =
  | { kind: "ok"; sha256: string }
  | { kind: "no"; reason: string }
  | { kind: "cold"; reason: string };

interface _Pending {
  path: string;
  size: number;
  resolve: (r: StreamOutcome) => void;
  timer?: ReturnType<typeof setTimeout>;
  filler?: boolean;
}

/**
 * Paths per run of the program (`xargs -n`): a group short of it is filled
 * up with `/dev/null`, whose lines are skipped, so it runs at once.
 */
export const STREAM_GROUP = 32;

/** The filler of a short group. */
const _FILLER = "/dev/null";

/** A line longer than this is no answer (hash, separator, a path of PATH_MAX). */
const MAX_LINE = 64 + 2 + 4096 + 1;

/**
 * One running `xargs -0 -n 32 <hash program>` on a connection.
 *
 * @example
 * ```ts ignore
 * const s = new StreamHash(ssh, ["xargs", "-0", "-n", "32", "sha256sum", "--"], "  ");
 * const r = await s.hash("a/.0123456789abcdef.partial", 10_240);
 * if (r.kind === "ok") console.log(r.sha256);
 * ```
 */
export class StreamHash {
  readonly #conn: SshConnection;
  readonly #p: SshProcess;
  readonly #sep: string;
  readonly #name: string;
  readonly #pending: _Pending[] = [];
  readonly #queue: _Pending[] = [];
  #outstanding = 0;
  #input!: ReadableStreamDefaultController<Uint8Array>;
  #dead: string | undefined;
  #answered = false;
  #buffer = "";

  /**
   * Starts `args` on `conn`.
   *
   * @param conn The connection.
   * @param args The pinned command.
   * @param sep What parts digest and path in its lines.
   */
  constructor(conn: SshConnection, args: readonly string[], sep: string) {
    this.#conn = conn;
    this.#sep = sep;
    this.#name = args.join(" ");
    const stdin = new ReadableStream<Uint8Array>({ start: (c) => void (this.#input = c) });
    const p = exec(conn, args, { stdin, highWaterMark: 64 * 1024, windowBytes: 256 * 1024 });
    this.#p = p;
    const decoder = new TextDecoder();
    (async () => {
      for await (const chunk of p.stdout) {
        this.#buffer += decoder.decode(chunk, { stream: true });
        if (!this.#lines()) return;
      }
    })().catch(() => {});
    p.status.then(
      (status) =>
        this.#end(
          `"${this.#name}" ended (exit code ${status.code}${
            status.stderr.trim()
              ? `, stderr ${JSON.stringify(status.stderr.trim().slice(0, 200))}`
              : ""
          })`,
          true,
        ),
      (err) =>
        this.#end(`"${this.#name}" failed: ${err instanceof Error ? err.message : err}`, true),
    );
  }

  /** Whether it answered a path once. */
  get answered(): boolean {
    return this.#answered;
  }

  /** Why it ended, once it did. */
  get ended(): string | undefined {
    return this.#dead;
  }

  /** Whether it still takes paths. */
  get alive(): boolean {
    return this.#dead === undefined && !this.#conn.closed;
  }

  /** Ends it (what waits is answered "no"). */
  close(): void {
    this.#end("closed", false);
    this.#p.kill();
  }

  /**
   * Hashes `path` on the server.
   *
   * @param path A remote path (no NUL, newline or `\`).
   * @param size Its size (sets the deadline).
   * @returns The digest; `no` with why not; `cold` when this command cannot serve (ask otherwise).
   */
  hash(path: string, size: number): Promise<StreamOutcome> {
    if (this.#dead !== undefined) return Promise.resolve({ kind: "cold", reason: this.#dead });
    return new Promise<StreamOutcome>((resolve) => {
      this.#queue.push({ path, size, resolve });
      this.#flush();
    });
  }

  /** Sends what waits once nothing is outstanding (so the files asked meanwhile go together). */
  #flush(): void {
    if (this.#outstanding > 0 || this.#queue.length === 0 || this.#dead !== undefined) return;
    const send = this.#queue.splice(0);
    let text = "";
    let size = 0;
    for (let i = 0; i < send.length; i += STREAM_GROUP) {
      const group = send.slice(i, i + STREAM_GROUP);
      for (const p of group) {
        text += p.path + "\0";
        size += p.size;
        this.#pending.push(p);
      }
      for (let k = group.length; k < STREAM_GROUP; k++) {
        text += _FILLER + "\0";
        this.#pending.push({ path: _FILLER, size: 0, resolve: () => {}, filler: true });
      }
    }
    this.#outstanding = send.length;
    // At 20 MB/s on a slow disk; past it the command is ended and the caller reads back.
    const timer = setTimeout(() => {
      this.#end(`"${this.#name}" did not answer in time`, false);
      this.#p.kill();
    }, 30_000 + Math.ceil(size / 20_000));
    for (const p of send) p.timer = timer;
    this.#input.enqueue(new TextEncoder().encode(text));
  }

  #settle(p: _Pending, r: StreamOutcome): void {
    if (p.filler) return;
    p.resolve(r);
    if (--this.#outstanding === 0) {
      clearTimeout(p.timer);
      this.#flush();
    }
  }

  /** Takes the complete lines; false once the output is no answer. */
  #lines(): boolean {
    for (;;) {
      const nl = this.#buffer.indexOf("\n");
      if (nl < 0) {
        if (this.#buffer.length > MAX_LINE) return this.#garbage();
        return true;
      }
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      const hex = line.slice(0, 64);
      if (!/^[0-9a-f]{64}$/.test(hex) || line.slice(64, 66) !== this.#sep) return this.#garbage();
      const name = line.slice(66);
      const at = this.#pending.findIndex((p) => p.path === name);
      if (at < 0) return this.#garbage();
      // The paths before it got no line: the program could not read them (said on stderr).
      for (const skipped of this.#pending.splice(0, at)) {
        this.#settle(skipped, { kind: "no", reason: `"${this.#name}" gave no line for it` });
      }
      this.#answered = true;
      this.#settle(this.#pending.shift() as _Pending, { kind: "ok", sha256: hex });
    }
  }

  #garbage(): false {
    this.#end(`"${this.#name}" answered ${JSON.stringify(this.#buffer.slice(0, 120))}`, true);
    this.#p.kill();
    return false;
  }

  /** Ends it: what waits is answered `cold` (ask otherwise) or `no`. */
  #end(reason: string, cold: boolean): void {
    if (this.#dead === undefined) this.#dead = reason;
    try {
      this.#input.close();
    } catch {
      // already closed
    }
    for (const p of [...this.#pending.splice(0), ...this.#queue.splice(0)]) {
      clearTimeout(p.timer);
      p.resolve(cold ? { kind: "cold", reason } : { kind: "no", reason });
    }
  }
}
