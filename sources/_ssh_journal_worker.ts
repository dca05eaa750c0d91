/**
 * The worker thread of the agentless collector (sources/_ssh_journal_wire.ts
 * starts it): it holds the SSH connections (ssh2's handshakes, decryption,
 * channel windows) and runs journalctl over them, and hands each burst of
 * journalctl's output to the main thread as one transferred buffer. The main
 * thread frames, parses and emits; on 2 cores the two halves run at once.
 *
 * The main thread grants each command a number of bytes (its stream's size)
 * and gives them back as it reads: past them this thread stops reading the
 * channel, so SSH's window holds journalctl, exactly as in one thread.
 *
 * @module
 */

import { connectSsh, exec, type SshConnection, type SshProcess } from "../ssh/mod.ts";
import { type MainMessage, toWire, type WorkerMessage } from "./_ssh_journal_wire.ts";

interface _Command {
  proc: SshProcess;
  abort: AbortController;
  /** Bytes handed to the main thread and not yet read there. */
  outstanding: number;
  limit: number;
  wake: (() => void) | undefined;
  /** The main thread stopped reading (kill, abort): nothing more is handed on. */
  dropped: boolean;
}

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<MainMessage>) => void) | null;
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
};

const connections = new Map<number, SshConnection>();
const connecting = new Map<number, AbortController>();
const commands = new Map<number, _Command>();

function post(message: WorkerMessage, transfer?: Transferable[]): void {
  scope.postMessage(message, transfer);
}

async function _connect(id: number, options: Parameters<typeof connectSsh>[0]): Promise<void> {
  const abort = new AbortController();
  connecting.set(id, abort);
  try {
    const conn = await connectSsh({ ...options, signal: abort.signal });
    if (abort.signal.aborted) {
      conn.destroy();
      throw abort.signal.reason;
    }
    connections.set(id, conn);
    post({ t: "connected", id, host: conn.host, port: conn.port, hostKey: conn.hostKey });
  } catch (err) {
    post({ t: "failed", id, error: toWire(err) });
  } finally {
    connecting.delete(id);
  }
}

async function _end(id: number): Promise<void> {
  const conn = connections.get(id);
  connections.delete(id);
  await conn?.end().catch(() => {});
  post({ t: "ended", id });
}

/** Output gathered before it is handed on at once. */
const GATHER_BYTES = 64 * 1024;
/** How long a smaller gathering waits for more, in ms. */
const GATHER_MS = 5;

/**
 * Hands stdout on while the main thread has room for it. Bursts that arrive
 * within {@linkcode GATHER_MS} of each other go as one buffer (up to
 * {@linkcode GATHER_BYTES}): one message and one read on the main thread
 * for many SSH packets.
 */
async function _pump(id: number, cmd: _Command): Promise<void> {
  const reader = cmd.proc.stdout.getReader();
  let parts: Uint8Array[] = [];
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (bytes === 0 || cmd.dropped) return;
    let chunk: Uint8Array;
    const first = parts[0] as Uint8Array;
    if (parts.length === 1 && first.byteOffset === 0 && bytes === first.buffer.byteLength) {
      chunk = first;
    } else {
      // One buffer for the gathering (a view of a larger buffer is never handed over).
      chunk = new Uint8Array(bytes);
      let at = 0;
      for (const part of parts) {
        chunk.set(part, at);
        at += part.byteLength;
      }
    }
    parts = [];
    bytes = 0;
    cmd.outstanding += chunk.byteLength;
    post({ t: "data", id, chunk }, [chunk.buffer as ArrayBuffer]);
  };
  try {
    while (true) {
      while (cmd.outstanding + bytes >= cmd.limit && !cmd.dropped) {
        if (bytes > 0) flush();
        else await new Promise<void>((resolve) => (cmd.wake = resolve));
      }
      if (cmd.dropped) {
        await reader.cancel().catch(() => {});
        break;
      }
      const r = await reader.read();
      if (r.done || cmd.dropped) break;
      parts.push(r.value);
      bytes += r.value.byteLength;
      if (bytes >= GATHER_BYTES) flush();
      else timer ??= setTimeout(flush, GATHER_MS);
    }
    flush();
    post({ t: "eof", id });
  } catch (err) {
    flush();
    post({ t: "eof", id, error: toWire(err) });
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
    commands.delete(id);
  }
}

function _exec(
  id: number,
  conn: number,
  args: string[],
  highWaterMark: number,
  windowBytes: number | undefined,
): void {
  const c = connections.get(conn);
  const abort = new AbortController();
  if (!c) {
    post({ t: "eof", id });
    post({ t: "status", id, error: toWire(new Error("ssh worker: no such connection")) });
    return;
  }
  const proc = exec(c, args, {
    signal: abort.signal,
    highWaterMark,
    ...(windowBytes !== undefined ? { windowBytes } : {}),
  });
  const cmd: _Command = {
    proc,
    abort,
    outstanding: 0,
    limit: highWaterMark,
    wake: undefined,
    dropped: false,
  };
  commands.set(id, cmd);
  void _pump(id, cmd);
  proc.status.then(
    (status) => post({ t: "status", id, status }),
    (err) => post({ t: "status", id, error: toWire(err) }),
  );
}

/** The main thread reads no more of a command's output: stop handing it on. */
function _drop(id: number): _Command | undefined {
  const cmd = commands.get(id);
  if (!cmd) return undefined;
  cmd.dropped = true;
  const wake = cmd.wake;
  cmd.wake = undefined;
  wake?.();
  return cmd;
}

scope.onmessage = (e: MessageEvent<MainMessage>) => {
  const m = e.data;
  switch (m.t) {
    case "connect":
      void _connect(m.id, m.options);
      break;
    case "end":
      void _end(m.id);
      break;
    case "exec":
      _exec(m.id, m.conn, m.args, m.highWaterMark, m.windowBytes);
      break;
    case "credit": {
      const cmd = commands.get(m.id);
      if (!cmd) break;
      cmd.outstanding = Math.max(0, cmd.outstanding - m.bytes);
      const wake = cmd.wake;
      cmd.wake = undefined;
      wake?.();
      break;
    }
    case "kill":
      _drop(m.id)?.proc.kill();
      break;
    case "abort":
      connecting.get(m.id)?.abort();
      _drop(m.id)?.abort.abort();
      break;
  }
};
