/**
 * One host of the agentless collector: an SSH session running
 * `sudo -n journalctl -o export --follow --after-cursor=…` (or `-o json`), its entries turned
 * into batches, the cursor saved when a batch is acknowledged, reconnects
 * with back-off and jitter, and the host's state for stats and `vms`.
 *
 * @module
 */

import { backoff, sleep } from "../core/backoff.ts";
import type { LogEvent } from "../core/event.ts";
import type { SourceContext } from "../core/types.ts";
import { countJournalLines } from "./journald.ts";
import { JournalExportReader } from "./_journal_export.ts";
import { JournalStreamReader } from "./_journal_stream.ts";
import {
  classifyExit,
  REASON_TEXT,
  type SshJournalReason,
  stripAnsi,
} from "./_ssh_journal_reasons.ts";

export { classifyExit, REASON_TEXT, type SshJournalReason, stripAnsi };
import type { SshJournalHost } from "./_ssh_journal_registry.ts";
import type { HostLink, HostSsh } from "./_ssh_journal_wire.ts";

export type { HostLink, HostSsh };
import type { HostReaderSettings, SshJournalHostStatus } from "./_ssh_journal_settings.ts";

export {
  type HostReaderSettings,
  hostWindowBytes,
  SHARED_WINDOW_BYTES,
  type SshJournalHostStatus,
} from "./_ssh_journal_settings.ts";

const _LINGER = Symbol("linger");

/** Runs one host until stopped. */
export class HostReader {
  /** The host, as configured. */
  readonly host: SshJournalHost;
  /** What it is doing. */
  readonly status: SshJournalHostStatus;
  readonly #ssh: HostSsh;
  readonly #ctx: SourceContext;
  readonly #s: HostReaderSettings;
  readonly #onStatus: (reader: HostReader) => void;
  readonly #abort = new AbortController();
  readonly #stateKey: string;
  #cursor: string | undefined;
  #loop: Promise<void> | undefined;
  #emitting = false;
  /** Entries emitted in the current attempt (a cut link after entries retries at once). */
  #read = 0;

  /**
   * @param host The host.
   * @param ssh The loaded ssh/ module, or the worker that runs it.
   * @param ctx The source's context (one for every host).
   * @param settings Shared settings.
   * @param onStatus Called when the host's state changes.
   */
  constructor(
    host: SshJournalHost,
    ssh: HostSsh,
    ctx: SourceContext,
    settings: HostReaderSettings,
    onStatus: (reader: HostReader) => void,
  ) {
    this.host = host;
    this.#ssh = ssh;
    this.#ctx = ctx;
    this.#s = settings;
    this.#onStatus = onStatus;
    this.#stateKey = `cursor:${host.name}`;
    const saved = ctx.state.get(this.#stateKey);
    this.#cursor = typeof saved === "string" ? saved : undefined;
    this.status = {
      name: host.name,
      state: "connecting",
      connected: false,
      entries: 0,
      attempts: 0,
    };
  }

  /** Whether it is waiting for the pipeline to take a batch. */
  get emitting(): boolean {
    return this.#emitting;
  }

  /** Starts the loop. */
  start(): void {
    this.#loop ??= this.#run().catch((err) => {
      this.#ctx.stats.errors++;
      this.#ctx.log.error(`ssh journal host "${this.host.name}" failed`, { error: String(err) });
    });
  }

  /**
   * Stops the session and the loop; resolves once no further emit will be
   * made (or, when a full sink holds an emit up and the pipeline is
   * stopping, at once: those entries were not acknowledged and are read
   * again after a restart).
   */
  async stop(): Promise<void> {
    this.#abort.abort();
    while (this.#loop && !(await _settlesWithin(this.#loop, 100))) {
      if (this.#emitting && this.#ctx.signal.aborted) break;
    }
    this.status.state = "stopped";
    this.status.connected = false;
  }

  #set(change: Partial<SshJournalHostStatus>): void {
    Object.assign(this.status, change);
    this.#onStatus(this);
  }

  #args(): string[] {
    const s = this.#s;
    const args = s.sudo ? ["sudo", "-n", s.journalctl] : [s.journalctl];
    args.push(`--output=${s.output}`, "--follow", "--all", "--no-pager", "--quiet");
    // --follow alone shows only the last 10 entries, even after a cursor: --no-tail shows all.
    if (this.#cursor) args.push(`--after-cursor=${this.#cursor}`, "--no-tail");
    else if (s.startAt === "end") args.push("--lines=0");
    else args.push("--no-tail");
    for (const unit of this.host.units ?? []) args.push(`--unit=${unit}`);
    args.push(...(this.host.args ?? []), ...(this.host.matches ?? []));
    return args;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const ctx = this.#ctx;
    let failures = 0;
    while (!signal.aborted) {
      this.status.attempts++;
      ctx.stats.add("connect_attempts");
      this.#set({ state: "connecting", connected: false });
      let reason: SshJournalReason | undefined;
      let message = "";
      this.#read = 0;
      let conn: HostLink | undefined;
      try {
        conn = await this.#ssh.connectSsh({
          host: this.host.address ?? this.host.name,
          port: this.host.port ?? 22,
          user: this.host.user,
          privateKeyFile: this.host.privateKeyFile,
          ...(this.host.knownHostsFile ? { knownHostsFile: this.host.knownHostsFile } : {}),
          ...(this.host.hostKeyFingerprint
            ? { hostKeyFingerprint: this.host.hostKeyFingerprint }
            : {}),
          // Nothing pinned yet (a host added without its key): connect so the refusal
          // ("host key unknown") can show the operator the key it offered.
          ...(!this.host.knownHostsFile && !this.host.hostKeyFingerprint ? { knownHosts: "" } : {}),
          connectTimeoutMs: this.#s.connectTimeoutMs,
          readyTimeoutMs: this.#s.connectTimeoutMs * 2,
          signal,
          name: `ssh journal ${this.host.name}`,
        });
        const result = await this.#session(conn, signal);
        if (!signal.aborted) {
          if (
            /cursor/i.test(result.stderr) && this.#cursor && result.entries === 0 &&
            result.code !== 0
          ) {
            ctx.log.warn(
              `journalctl on "${this.host.name}" rejected the saved cursor; starting without it`,
              {
                cursor: this.#cursor,
                stderr: result.stderr.slice(0, 500),
              },
            );
            this.#cursor = undefined;
            ctx.state.delete(this.#stateKey);
            continue;
          }
          reason = classifyExit(result.code, result.stderr);
          message = `journalctl exited with code ${result.code}${
            result.stderr.trim() ? `: ${result.stderr.trim().slice(0, 300)}` : ""
          }`;
        }
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof this.#ssh.SshError) {
          reason = err.reason;
          if (err.hostKey) this.status.offeredKey = err.hostKey.fingerprint;
        } else {
          reason = "error";
        }
        message = err instanceof Error ? err.message : String(err);
      } finally {
        await conn?.end().catch(() => {});
      }
      if (signal.aborted) break;
      ctx.stats.errors++;
      ctx.stats.add(`refused_${(reason ?? "error").replaceAll("-", "_")}`);
      failures = this.#read > 0 ? 1 : failures + 1;
      // A refused key stays refused until someone changes the pin: try seldom, read nothing.
      const wait = reason === "host-key-changed" || reason === "host-key-unknown"
        ? this.#s.maxBackoffMs
        : backoff(failures, {
          initialMs: this.#s.initialBackoffMs,
          maxMs: this.#s.maxBackoffMs,
          jitter: 0.3,
        });
      if (failures === 1 || this.status.reason !== reason) {
        ctx.log.warn(`ssh journal host "${this.host.name}": ${REASON_TEXT[reason ?? "error"]}`, {
          error: message,
          retryInMs: wait,
        });
      }
      this.#set({
        state: "waiting",
        connected: false,
        ...(reason ? { reason } : {}),
        lastError: message,
        retryInMs: wait,
      });
      await sleep(wait, signal);
    }
    this.#set({ state: "stopped", connected: false });
  }

  /** Runs journalctl over one connection until it ends; returns what it read and how it ended. */
  async #session(
    conn: HostLink,
    signal: AbortSignal,
  ): Promise<{ entries: number; code: number | null; stderr: string }> {
    const ctx = this.#ctx;
    const s = this.#s;
    // Per host, at most a window of unread output (then SSH holds journalctl) and a stream's worth.
    const window = s.windowBytes();
    const proc = this.#ssh.exec(conn, this.#args(), {
      signal,
      highWaterMark: window,
      windowBytes: window,
    });
    const budget = s.budget;
    // It may fail (a cut link) while an emit waits for a full sink; it is read after the loop.
    proc.status.catch(() => {});
    const reader = proc.stdout.getReader();
    // The transport vouches for the host, as a client certificate would.
    const parser = s.output === "export"
      ? new JournalExportReader(this.host.name, {
        prefix: s.prefix,
        eventHost: this.host.name,
        maxEntryBytes: s.maxLineBytes,
      })
      : new JournalStreamReader(this.host.name, {
        prefix: s.prefix,
        eventHost: this.host.name,
        maxLineBytes: s.maxLineBytes,
      });
    let entries = 0;
    let pending: LogEvent[] = [];
    let pendingCursor: string | undefined;
    let linger: Promise<typeof _LINGER> | undefined;
    let lingerTimer: ReturnType<typeof setTimeout> | undefined;
    const connected = () => {
      if (!this.status.connected && !signal.aborted) {
        this.#set({ state: "reading", connected: true, retryInMs: 0 });
        delete this.status.reason;
      }
    };
    // journalctl that runs a while without failing is reading, even with nothing new to say.
    const settle = setTimeout(connected, s.settleMs);
    const flush = async () => {
      clearTimeout(lingerTimer);
      linger = undefined;
      if (pending.length === 0) return;
      const batch = pending;
      const cursor = pendingCursor as string;
      pending = [];
      this.#cursor = cursor;
      entries += batch.length;
      this.#read += batch.length;
      const last = batch[batch.length - 1] as LogEvent;
      if (last.timestamp !== undefined) {
        this.status.lastEntryAt = last.timestamp;
        this.status.lagMs = Math.max(0, last.receivedAt - last.timestamp);
      }
      this.status.entries += batch.length;
      ctx.stats.received += batch.length;
      this.#onStatus(this);
      this.#emitting = true;
      try {
        await ctx.emit(batch, () => ctx.state.set(this.#stateKey, cursor));
      } finally {
        this.#emitting = false;
        budget.give(batch.length);
      }
    };
    let ended = false;
    try {
      let next = reader.read();
      while (true) {
        const r: ReadableStreamReadResult<Uint8Array> | typeof _LINGER = linger
          ? await Promise.race([next, linger])
          : await next;
        if (r === _LINGER) {
          await flush();
          if (signal.aborted) break;
          continue;
        }
        if (r.done) {
          ended = true;
          break;
        }
        connected();
        const parsed = parser.push(r.value, Date.now());
        countJournalLines(ctx, parsed);
        for (const e of parsed.events) {
          if (e.message.includes("\x1b")) e.message = stripAnsi(e.message);
          pending.push(e);
        }
        budget.take(parsed.events.length);
        if (parsed.cursor !== undefined) pendingCursor = parsed.cursor;
        if (pending.length >= s.maxBatch) await flush();
        else if (pending.length > 0 && !linger) {
          linger = new Promise((resolve) => {
            lingerTimer = setTimeout(() => resolve(_LINGER), s.lingerMs);
          });
        }
        if (signal.aborted) break;
        if (budget.spent) {
          // Other hosts' batches fill the budget: hand this one on and read no more for now.
          await flush();
          await budget.room(signal);
          if (signal.aborted) break;
        }
        next = reader.read();
      }
      // What was read before the stream ended (a cut link) is still good.
      if (!signal.aborted) await flush();
    } finally {
      // Entries never handed on (the source stops) are read again after a restart.
      budget.give(pending.length);
      pending = [];
      clearTimeout(settle);
      clearTimeout(lingerTimer);
      reader.releaseLock();
      if (!ended) {
        proc.kill();
        await proc.stdout.cancel().catch(() => {});
      }
    }
    const status = await proc.status;
    return { entries, code: status.code, stderr: status.stderr };
  }
}

/** Waits for a promise at most `ms`; `true` when it settled. */
function _settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true, () => true), timeout]).finally(() =>
    clearTimeout(timer)
  );
}
