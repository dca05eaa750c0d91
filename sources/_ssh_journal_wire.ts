/**
 * The agentless collector's SSH in a worker thread: {@linkcode SshWorker}
 * offers the part of ssh/ that a host reader uses (`connectSsh`, `exec`,
 * `SshError`) with ssh2 running in sources/_ssh_journal_worker.ts. ssh2's
 * decryption and packet handling then take the other core while this thread
 * frames, parses and emits. The messages between the two are declared here.
 *
 * Flow control stays end to end: each command's output is granted
 * `highWaterMark` bytes; the worker hands on at most that much not yet read
 * here, then stops reading the channel, and SSH's window stops journalctl.
 *
 * @module
 */

import type { ExecOptions, ExecStatus, SshConnectOptions, SshProcess } from "../ssh/mod.ts";
import type * as Ssh from "../ssh/mod.ts";
import { type OfferedHostKey, SshError, type SshErrorReason } from "../ssh/error.ts";

/** An error as it crosses the thread boundary. */
export interface WireError {
  name: string;
  message: string;
  reason?: SshErrorReason;
  hostKey?: OfferedHostKey;
  exitCode?: number | null;
  exitSignal?: string;
  stderr?: string;
}

/** Messages to the worker. */
export type MainMessage =
  | { t: "connect"; id: number; options: Omit<SshConnectOptions, "signal"> }
  | { t: "end"; id: number }
  | {
    t: "exec";
    id: number;
    conn: number;
    args: string[];
    highWaterMark: number;
    windowBytes?: number;
  }
  | { t: "credit"; id: number; bytes: number }
  | { t: "kill"; id: number }
  | { t: "abort"; id: number };

/** Messages from the worker. */
export type WorkerMessage =
  | { t: "connected"; id: number; host: string; port: number; hostKey: OfferedHostKey }
  | { t: "failed"; id: number; error: WireError }
  | { t: "ended"; id: number }
  | { t: "data"; id: number; chunk: Uint8Array }
  | { t: "eof"; id: number; error?: WireError }
  | { t: "status"; id: number; status?: ExecStatus; error?: WireError };

/**
 * An error made fit for `postMessage` (an {@linkcode SshError} keeps its reason and details).
 *
 * @param err Anything thrown.
 * @returns Its wire form.
 *
 * @example
 * ```ts
 * import { fromWire, toWire } from "./_ssh_journal_wire.ts";
 * import { SshError } from "../ssh/error.ts";
 * const back = fromWire(toWire(new SshError("auth-refused", "no")));
 * console.assert(back instanceof SshError && back.reason === "auth-refused");
 * ```
 */
export function toWire(err: unknown): WireError {
  if (err instanceof SshError) {
    return {
      name: err.name,
      message: err.message,
      reason: err.reason,
      ...(err.hostKey ? { hostKey: err.hostKey } : {}),
      ...(err.exitCode !== undefined ? { exitCode: err.exitCode } : {}),
      ...(err.exitSignal !== undefined ? { exitSignal: err.exitSignal } : {}),
      ...(err.stderr !== undefined ? { stderr: err.stderr } : {}),
    };
  }
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

/**
 * The error again on this side of the boundary.
 *
 * @param w The wire form.
 * @returns An {@linkcode SshError} when it was one, else an `Error` of the same name.
 *
 * @example
 * ```ts
 * import { fromWire } from "./_ssh_journal_wire.ts";
 * console.assert(fromWire({ name: "TypeError", message: "bad" }).name === "TypeError");
 * ```
 */
export function fromWire(w: WireError): Error {
  if (w.reason) {
    return new SshError(w.reason, w.message, {
      ...(w.hostKey ? { hostKey: w.hostKey } : {}),
      ...(w.exitCode !== undefined ? { exitCode: w.exitCode } : {}),
      ...(w.exitSignal !== undefined ? { exitSignal: w.exitSignal } : {}),
      ...(w.stderr !== undefined ? { stderr: w.stderr } : {}),
    });
  }
  const e = new Error(w.message);
  e.name = w.name;
  return e;
}

/** A connection as a host reader holds it: `end()` is all it calls. */
export interface HostLink {
  /** Ends the connection. */
  end(): Promise<void>;
}

/**
 * The part of ssh/ a host reader uses: ssh/mod.ts itself, or an {@linkcode SshWorker} that runs it in a worker thread.
 */
export interface HostSsh {
  /** Connects and logs in (ssh/connect.ts). */
  connectSsh(options: Ssh.SshConnectOptions): Promise<HostLink>;
  /** Runs a command (ssh/exec.ts). */
  exec(conn: HostLink, args: readonly string[], options?: Ssh.ExecOptions): Ssh.SshProcess;
  /** ssh/'s error class. */
  readonly SshError: typeof Ssh.SshError;
}

/** A connection held by the worker. */
export interface WorkerConnection {
  /** The host as dialled. */
  readonly host: string;
  /** The port. */
  readonly port: number;
  /** The host key the pin accepted. */
  readonly hostKey: OfferedHostKey;
  /** Ends the connection. */
  end(): Promise<void>;
}

interface _Waiting {
  resolve: (value: WorkerMessage) => void;
  reject: (err: Error) => void;
}

interface _Stream {
  queue: Uint8Array[];
  ended: boolean;
  error: Error | undefined;
  wake: (() => void) | undefined;
  /** The worker sent the command's status. */
  settled: boolean;
  onStatus: _Waiting;
}

/**
 * ssh/'s `connectSsh` and `exec` with ssh2 in a worker thread. One per
 * source; {@linkcode SshWorker.close} ends the thread.
 *
 * @example
 * ```ts ignore
 * const ssh = new SshWorker();
 * const conn = await ssh.connectSsh({ host: "vm1", user: "sluice", privateKeyFile: "id", knownHostsFile: "kh" });
 * const p = ssh.exec(conn, ["journalctl", "-o", "json"], { highWaterMark: 256 * 1024 });
 * for await (const chunk of p.stdout) console.log(chunk.byteLength);
 * await conn.end();
 * ssh.close();
 * ```
 */
export class SshWorker {
  /** ssh/'s error class, for `instanceof`. */
  readonly SshError: typeof SshError = SshError;
  #worker: Worker | undefined;
  #next = 1;
  readonly #waiting = new Map<number, _Waiting>();
  readonly #streams = new Map<number, _Stream>();
  readonly #ids = new WeakMap<WorkerConnection, number>();

  #post(message: MainMessage): void {
    this.#thread().postMessage(message);
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const w = new Worker(new URL("./_ssh_journal_worker.ts", import.meta.url), {
      type: "module",
    });
    w.onmessage = (e: MessageEvent<WorkerMessage>) => this.#receive(e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      // A new thread is started at the next request; what the old one held is gone.
      this.#fail(new Error(`ssh worker failed: ${e.message}`));
    };
    this.#worker = w;
    return w;
  }

  #fail(err: Error): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.reject(err);
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    for (const s of streams) {
      s.ended = true;
      s.error ??= err;
      s.wake?.();
      s.onStatus.reject(err);
    }
  }

  #receive(m: WorkerMessage): void {
    const s = this.#streams.get(m.id);
    if (s && m.t === "data") {
      s.queue.push(m.chunk);
      s.wake?.();
      return;
    }
    if (s && m.t === "eof") {
      // Output still queued stays readable; the stream ends after it.
      s.ended = true;
      if (m.error) s.error ??= fromWire(m.error);
      s.wake?.();
      if (s.settled) this.#streams.delete(m.id);
      return;
    }
    if (s && m.t === "status") {
      s.settled = true;
      if (s.ended) this.#streams.delete(m.id);
      if (m.error) s.onStatus.reject(fromWire(m.error));
      else s.onStatus.resolve(m);
      return;
    }
    const w = this.#waiting.get(m.id);
    if (!w) return;
    this.#waiting.delete(m.id);
    if (m.t === "failed") w.reject(fromWire(m.error));
    else w.resolve(m);
  }

  #request(message: MainMessage): Promise<WorkerMessage> {
    return new Promise<WorkerMessage>((resolve, reject) => {
      this.#waiting.set(message.id, { resolve, reject });
      try {
        this.#post(message);
      } catch (err) {
        this.#waiting.delete(message.id);
        reject(err);
      }
    });
  }

  /**
   * `connectSsh` (ssh/connect.ts) in the worker: the same pin, deadlines and errors.
   *
   * @param options As for `connectSsh`; `signal` aborts the connect.
   * @returns The connection.
   */
  async connectSsh(options: SshConnectOptions): Promise<WorkerConnection> {
    options.signal?.throwIfAborted();
    const id = this.#next++;
    const { signal, ...rest } = options;
    const onAbort = () => this.#worker?.postMessage({ t: "abort", id } satisfies MainMessage);
    signal?.addEventListener("abort", onAbort, { once: true });
    let m: WorkerMessage;
    try {
      m = await this.#request({ t: "connect", id, options: rest });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    if (m.t !== "connected") throw new Error(`ssh worker: unexpected "${m.t}"`);
    const conn: WorkerConnection = {
      host: m.host,
      port: m.port,
      hostKey: m.hostKey,
      end: async () => {
        if (!this.#worker) return;
        await this.#request({ t: "end", id }).catch(() => {});
      },
    };
    this.#ids.set(conn, id);
    if (signal?.aborted) {
      await conn.end();
      throw signal.reason;
    }
    return conn;
  }

  /**
   * `exec` (ssh/exec.ts) in the worker; stdout arrives in transferred buffers.
   *
   * @param conn A connection from {@linkcode SshWorker.connectSsh}.
   * @param args The program and its arguments, each passed literally.
   * @param options `signal`, `highWaterMark` (the bytes in flight between the threads), `windowBytes`.
   * @returns The running command.
   */
  exec(conn: WorkerConnection, args: readonly string[], options: ExecOptions = {}): SshProcess {
    const id = this.#next++;
    const connId = this.#ids.get(conn) ?? -1;
    const highWaterMark = Math.max(1, options.highWaterMark ?? 1024 * 1024);
    const creditEvery = Math.max(1, Math.floor(highWaterMark / 4));
    let uncredited = 0;
    let onStatus!: _Waiting;
    const status = new Promise<ExecStatus>((resolve, reject) => {
      onStatus = {
        resolve: (m) => resolve((m as { status: ExecStatus }).status),
        reject,
      };
    });
    const s: _Stream = {
      queue: [],
      ended: false,
      error: undefined,
      wake: undefined,
      settled: false,
      onStatus,
    };
    const signal = options.signal;
    const onAbort = () => this.#worker?.postMessage({ t: "abort", id } satisfies MainMessage);
    const settled = status.then(
      (v) => v,
      (err) => {
        throw signal?.aborted ? signal.reason : err;
      },
    ).finally(() => signal?.removeEventListener("abort", onAbort));
    const stdout = new ReadableStream<Uint8Array>({
      pull: async (c) => {
        while (s.queue.length === 0 && !s.ended) {
          await new Promise<void>((resolve) => (s.wake = resolve));
          s.wake = undefined;
        }
        const chunk = s.queue.shift();
        if (chunk) {
          c.enqueue(chunk);
          // Bytes read are given back a quarter of the grant at a time (one message, not one
          // per chunk): the worker waits only with the whole grant out, so it never stalls.
          uncredited += chunk.byteLength;
          if (uncredited >= creditEvery) {
            this.#worker?.postMessage({ t: "credit", id, bytes: uncredited } satisfies MainMessage);
            uncredited = 0;
          }
        } else if (s.error) c.error(s.error);
        else c.close();
      },
      cancel: () => {
        s.queue = [];
        this.#worker?.postMessage({ t: "kill", id } satisfies MainMessage);
      },
    }, { highWaterMark: 0 });
    this.#streams.set(id, s);
    try {
      signal?.throwIfAborted();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#post({
        t: "exec",
        id,
        conn: connId,
        args: [...args],
        highWaterMark,
        ...(options.windowBytes !== undefined ? { windowBytes: options.windowBytes } : {}),
      });
    } catch (err) {
      this.#streams.delete(id);
      s.ended = true;
      s.error = err as Error;
      onStatus.reject(err as Error);
    }
    return {
      command: args.join(" "),
      stdout,
      status: settled,
      kill: () => this.#worker?.postMessage({ t: "kill", id } satisfies MainMessage),
    };
  }

  /** Ends the worker thread; what it still held is cut. */
  close(): void {
    this.#fail(new Error("ssh worker closed"));
  }
}
