/**
 * Runs ONE command over SSH, given as an argument array. SSH carries a
 * command as one string that the remote login shell parses, so every
 * argument is single-quoted here: `; rm -rf /`, `$(…)`, quotes and newlines
 * arrive as single literal arguments (the login shell must be POSIX-like:
 * sh, dash, bash, zsh, ksh; not csh or fish).
 *
 * @module
 */

import type { Ssh2Channel } from "./_ssh2_types.ts";
import type { SshConnection } from "./connect.ts";
import { SshError } from "./error.ts";
import { shellCommand } from "./_exec_quote.ts";

export { shellCommand, shellQuote } from "./_exec_quote.ts";

const _STDERR_MAX = 64 * 1024;

/** ssh2's channel internals: its `signal()` sends nothing once stdin is closed. */
interface _ChannelInternals {
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal(id: number, name: string): void } };
}

/** Asks the server to SIGKILL the command (OpenSSH ≥ 7.9 does; others ignore it). */
function _kill(channel: Ssh2Channel): void {
  const c = channel as unknown as _ChannelInternals;
  try {
    if (c.outgoing?.state !== "closed" && c.outgoing?.id !== undefined) {
      c._client?._protocol?.signal(c.outgoing.id, "KILL");
    }
  } catch {
    // not every server takes signals
  }
}

/** Options for {@linkcode exec} and {@linkcode execOutput}. */
export interface ExecOptions {
  /** Deadline for the whole command, in ms; past it, it is killed and `status` rejects with reason `timeout`. @default {none} */
  timeoutMs?: number;
  /** Stops the command; `status` rejects with the signal's reason. @default {none} */
  signal?: AbortSignal;
  /**
   * Bytes for the command's stdin, then EOF; a stream's chunks are sent as
   * they come, EOF when it ends (or fails).
   * @default {EOF at once}
   */
  stdin?: string | Uint8Array | ReadableStream<Uint8Array>;
  /** Called with each piece of stderr as it arrives (already decoded). @default {none} */
  onStderr?: (text: string) => void;
  /** Bytes of stdout buffered before the remote side is made to wait. @default {1048576} */
  highWaterMark?: number;
  /**
   * The channel's SSH receive window: the most output the server sends
   * ahead of what was handed on (64 KiB … 2 MiB). ssh2's own 2 MiB window
   * is topped up even while the channel waits, so up to ~4 MiB can sit in
   * this process per command; many commands at once want less.
   * @default {2097152 (ssh2's)}
   */
  windowBytes?: number;
}

/** How a command ended. */
export interface ExecStatus {
  /** The exit code; `null` when a signal ended it or the server said nothing. */
  code: number | null;
  /** The signal's name (`KILL`, `TERM` …), when one ended it. */
  signal: string | undefined;
  /** The first 64 KiB of stderr. */
  stderr: string;
}

/** A running command. */
export interface SshProcess {
  /** The command line sent (quoted). */
  readonly command: string;
  /** Its stdout; the remote side waits while this is not read (SSH flow control). */
  readonly stdout: ReadableStream<Uint8Array>;
  /** Resolves when the command has ended and its channel closed. */
  readonly status: Promise<ExecStatus>;
  /** Ends the command now (closes its channel); `status` then resolves or rejects. */
  kill(): void;
}

/**
 * Starts a command given as an argument array and streams its stdout.
 *
 * @param conn A connection from `connectSsh`.
 * @param args The program and its arguments, each passed literally.
 * @param options Deadline, abort, stdin.
 * @returns The running command.
 * @throws {TypeError} On a bad argument array (synchronously).
 *
 * @example Follow a journal
 * ```ts ignore
 * const p = exec(ssh, ["sudo", "-n", "journalctl", "-o", "json", "--follow"], { signal });
 * for await (const chunk of p.stdout) handle(chunk);
 * const { code, stderr } = await p.status;
 * ```
 */
export function exec(
  conn: SshConnection,
  args: readonly string[],
  options: ExecOptions = {},
): SshProcess {
  const command = shellCommand(args);
  const shown = args.length > 3 ? `${args.slice(0, 3).join(" ")} …` : args.join(" ");
  let channel: Ssh2Channel | undefined;
  let done = false;
  let stopped = false;
  let failure: unknown;
  let wake: () => void = () => {};
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let stdoutEnded = false;
  let cancelled = false;
  const stop = (err: unknown) => {
    if (done) return;
    stopped = true;
    failure ??= err;
    // Servers that refuse the signal (sshd for a root session) close the channel only
    // when the command exits: the caller does not wait for that.
    wake();
    if (channel) {
      _kill(channel);
      try {
        channel.close();
      } catch {
        // already closed
      }
    }
  };
  const stdout = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        channel?.resume();
      },
      cancel() {
        cancelled = true;
        stop(undefined);
      },
    },
    { highWaterMark: options.highWaterMark ?? 1024 * 1024, size: (c) => c.byteLength },
  );
  // ssh2 gives one "data" event per SSH packet (often 4 KiB: ~8 journal entries), many at
  // once from one socket read: they are gathered and handed on as one chunk when that burst
  // is over, so a reader pays its per-chunk costs (a read, framing, a batch) once per burst.
  // The packets are kept as ssh2 gave them (it allocates each one and never reuses it: its
  // own stream buffers them while paused) and copied once, into the burst's chunk; a burst
  // of one packet is handed on as a plain Uint8Array view of it, no copy.
  let parts: Uint8Array[] = [];
  let partsBytes = 0;
  let gathering = false;
  const deliver = () => {
    gathering = false;
    if (parts.length === 0) return;
    let chunk: Uint8Array;
    if (parts.length === 1) {
      const only = parts[0] as Uint8Array;
      chunk = new Uint8Array(only.buffer, only.byteOffset, only.byteLength);
    } else {
      chunk = new Uint8Array(partsBytes);
      let at = 0;
      for (const part of parts) {
        chunk.set(part, at);
        at += part.byteLength;
      }
    }
    parts = [];
    partsBytes = 0;
    if (stdoutEnded || cancelled) return;
    try {
      controller.enqueue(chunk);
    } catch {
      // the reader cancelled meanwhile: nothing wants these bytes
      return;
    }
    if ((controller.desiredSize ?? 1) <= 0) channel?.pause();
  };
  const endStdout = (err?: unknown) => {
    if (stdoutEnded) return;
    if (err === undefined) deliver();
    stdoutEnded = true;
    try {
      if (err === undefined) controller.close();
      else controller.error(err);
    } catch {
      // cancelled by the reader
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => stop(options.signal?.reason);
  const status = (async (): Promise<ExecStatus> => {
    options.signal?.throwIfAborted();
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(
        () =>
          stop(
            new SshError(
              "timeout",
              `ssh: "${shown}" on ${conn.where} did not finish within ${options.timeoutMs} ms; killed`,
            ),
          ),
        options.timeoutMs,
      );
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    channel = await conn.openExecChannel(command, options.windowBytes);
    if (stopped) stop(failure);
    const ch = channel;
    let stderr = "";
    const decoder = new TextDecoder();
    let code: number | null = null;
    let signal: string | undefined;
    ch.on("exit", (c, s) => {
      code = c ?? null;
      signal = s ?? undefined;
    });
    ch.on("data", (chunk) => {
      if (stdoutEnded || cancelled) return;
      parts.push(chunk);
      partsBytes += chunk.byteLength;
      if (!gathering) {
        gathering = true;
        queueMicrotask(deliver);
      }
      if ((controller.desiredSize ?? 1) - partsBytes <= 0) ch.pause();
    });
    ch.stderr.on("data", (chunk) => {
      const text = decoder.decode(chunk, { stream: true });
      if (stderr.length < _STDERR_MAX) stderr += text.slice(0, _STDERR_MAX - stderr.length);
      try {
        options.onStderr?.(text);
      } catch {
        // a listener must not break the command
      }
    });
    const unwatch = conn.whenLost(() => stop(conn.lost(`while "${shown}" ran`)));
    try {
      const input = options.stdin;
      if (input instanceof ReadableStream) {
        (async () => {
          try {
            for await (const chunk of input) {
              if (done || stopped) return;
              ch.write(chunk);
            }
          } catch {
            // a failed stream ends stdin too
          }
          if (!done && !stopped) ch.end();
        })().catch(() => {});
      } else if (input !== undefined) {
        ch.end(typeof input === "string" ? new TextEncoder().encode(input) : input);
      } else ch.end();
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (stopped) resolve();
        ch.on("close", () => resolve());
        ch.on("error", (err) => {
          failure ??= err;
          resolve();
        });
        if (conn.closed) resolve();
      });
    } finally {
      unwatch();
    }
    done = true;
    if (failure !== undefined) throw failure;
    stderr += decoder.decode();
    return { code, signal, stderr: stderr.slice(0, _STDERR_MAX) };
  })().then(
    (result) => {
      endStdout();
      return result;
    },
    (err) => {
      endStdout(err);
      throw err;
    },
  ).finally(() => {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  });
  return {
    command,
    stdout,
    status,
    kill: () => stop(undefined),
  };
}

/** What {@linkcode execOutput} gives. */
export interface ExecOutput extends ExecStatus {
  /** All of stdout. */
  stdout: Uint8Array;
  /** stdout decoded as UTF-8. */
  text: string;
}

/**
 * Runs a command to its end and collects its output.
 *
 * @param conn A connection from `connectSsh`.
 * @param args The program and its arguments, each passed literally.
 * @param options Deadline, abort, stdin; `check: true` makes a non-zero exit
 *   (or a signal) reject with an {@linkcode SshError} `command-failed`
 *   carrying the exit code and stderr.
 * @returns Exit code, signal, stdout, stderr.
 *
 * @example Add an address to a set
 * ```ts ignore
 * const r = await execOutput(ssh, ["sudo", "-n", "nft", "add", "element", "inet", "sluice", "blocked", "{ 192.0.2.7 timeout 1h }"], { timeoutMs: 10_000 });
 * if (r.code !== 0) console.error(r.stderr);
 * ```
 */
export async function execOutput(
  conn: SshConnection,
  args: readonly string[],
  options: ExecOptions & { check?: boolean } = {},
): Promise<ExecOutput> {
  const p = exec(conn, args, options);
  const parts: Uint8Array[] = [];
  let size = 0;
  const reading = (async () => {
    for await (const chunk of p.stdout) {
      parts.push(chunk);
      size += chunk.byteLength;
    }
  })();
  const [result] = await Promise.all([p.status, reading.catch(() => {})]);
  const stdout = new Uint8Array(size);
  let off = 0;
  for (const part of parts) {
    stdout.set(part, off);
    off += part.byteLength;
  }
  if (options.check && (result.code !== 0 || result.signal !== undefined)) {
    const how = result.signal !== undefined
      ? `signal ${result.signal}`
      : `exit code ${result.code}`;
    throw new SshError(
      "command-failed",
      `ssh: "${args.join(" ")}" on ${conn.where} failed with ${how}${
        result.stderr.trim() ? `: ${result.stderr.trim().slice(0, 500)}` : ""
      }`,
      {
        exitCode: result.code,
        ...(result.signal ? { exitSignal: result.signal } : {}),
        stderr: result.stderr,
      },
    );
  }
  return { ...result, stdout, text: new TextDecoder().decode(stdout) };
}
