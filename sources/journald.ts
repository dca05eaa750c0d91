/**
 * Reads the systemd journal through `journalctl -o json`, following it and
 * resuming after the last acknowledged entry by its cursor.
 *
 * @module
 */

import { backoff, sleep } from "../core/backoff.ts";
import type { LogEvent } from "../core/event.ts";
import { LINE_TRUNCATED, LineFramer } from "../core/framing.ts";
import type { Source, SourceContext } from "../core/types.ts";

/** Options for {@linkcode journaldSource}. */
export interface JournaldSourceOptions {
  /**
   * journalctl matches, e.g. `["_SYSTEMD_UNIT=ssh.service"]`; matches of
   * different fields must all hold, `"+"` between groups means "or".
   * @default {[]} (every entry)
   */
  matches?: string[];
  /** Journal files to read (`--file`); journalctl cannot follow files, so the source ends at their end. */
  file?: string | string[];
  /** A journal directory to read (`--directory`), e.g. one written by `systemd-journal-remote`. */
  directory?: string;
  /** The journalctl program. @default {"journalctl"} */
  journalctl?: string;
  /** Where to start without a saved cursor. @default {"beginning"} */
  startAt?: "beginning" | "end";
  /** Keep running and read new entries as they come (`-f`). @default {true} unless `file` is given */
  follow?: boolean;
  /** Longest JSON entry in bytes; a longer one is cut, cannot be parsed, and is counted. @default {1048576} */
  maxLineBytes?: number;
  /** Field under which every journal field is kept; `null` keeps none. @default {"journald"} */
  prefix?: string | null;
  /** Host name used in event ids. @default {Deno.hostname()} */
  host?: string;
  /** More journalctl arguments, e.g. `["--boot"]` or `["--unit", "ssh"]`. @default {[]} */
  args?: string[];
  /** A name for stats and state. */
  name?: string;
}

const _MATCH = /^[A-Z0-9_]+=.*$/s;
const _utf8 = new TextDecoder("utf-8");
const _utf8Fatal = new TextDecoder("utf-8", { fatal: true });

/** Turns a journal field value (text, bytes as an array of numbers, or several values) into text. */
function _text(value: unknown): { text: string; invalid: boolean } | undefined {
  if (typeof value === "string") return { text: value, invalid: false };
  if (Array.isArray(value)) {
    if (value.every((b) => typeof b === "number")) {
      const bytes = Uint8Array.from(value as number[]);
      try {
        return { text: _utf8Fatal.decode(bytes), invalid: false };
      } catch {
        return { text: _utf8.decode(bytes), invalid: true };
      }
    }
    // A field given more than once: the first value.
    return value.length ? _text(value[0]) : undefined;
  }
  return undefined;
}

function _hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/** Builds a stable, per-journal monotonic id from a cursor's seqnum id and seqnum. */
function _idFromCursor(host: string, cursor: string): string {
  let seqnumId = "";
  let seqnum = "";
  for (const part of cursor.split(";")) {
    if (part.startsWith("s=")) seqnumId = part.slice(2, 14);
    else if (part.startsWith("i=")) seqnum = part.slice(2);
  }
  if (!seqnumId || !/^[0-9a-f]+$/.test(seqnum)) return `${host}:journald:${cursor}`;
  return `${host}:journald:${seqnumId}:${seqnum.padStart(16, "0")}`;
}

/**
 * Maps one journal entry (`journalctl -o json`) to an event: `MESSAGE` is
 * the message, `_HOSTNAME` the host, `SYSLOG_IDENTIFIER` (or `_COMM`) the
 * program, `_PID` (or `SYSLOG_PID`) the pid, `PRIORITY` the severity,
 * `SYSLOG_FACILITY` the facility and the source's real-time stamp the time.
 *
 * @param entry A parsed JSON entry.
 * @param host The local host name for the id.
 * @param prefix Field that keeps every journal field, or `null`.
 * @param receivedAt Receive time in ms.
 * @returns The event, or `undefined` when the entry has no cursor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { journalEntryToEvent } from "./journald.ts";
 * const event = journalEntryToEvent(
 *   { __CURSOR: "s=ab;i=1f", MESSAGE: "hi", _HOSTNAME: "vm1", PRIORITY: "3" },
 *   "central",
 * );
 * assert.ok(event?.host === "vm1" && event.severity === 3);
 * ```
 */
export function journalEntryToEvent(
  entry: Record<string, unknown>,
  host: string,
  prefix: string | null = "journald",
  receivedAt: number = Date.now(),
): LogEvent | undefined {
  const cursor = entry.__CURSOR;
  if (typeof cursor !== "string") return undefined;
  const message = _text(entry.MESSAGE);
  const fields: Record<string, unknown> = {};
  const event: LogEvent = {
    message: message?.text ?? "",
    fields,
    receivedAt,
    id: _idFromCursor(host, cursor),
  };
  if (message?.invalid) fields["sluice_invalid_utf8"] = true;
  const hostname = _text(entry._HOSTNAME)?.text;
  if (hostname) event.host = hostname;
  const program = _text(entry.SYSLOG_IDENTIFIER ?? entry._COMM)?.text;
  if (program) event.program = program;
  const pid = _text(entry._PID ?? entry.SYSLOG_PID)?.text;
  if (pid) event.pid = pid;
  const priority = Number(_text(entry.PRIORITY)?.text);
  if (Number.isInteger(priority) && priority >= 0 && priority <= 7) event.severity = priority;
  const facility = Number(_text(entry.SYSLOG_FACILITY)?.text);
  if (Number.isInteger(facility) && facility >= 0 && facility <= 23) event.facility = facility;
  const micros = Number(
    _text(entry._SOURCE_REALTIME_TIMESTAMP)?.text ?? _text(entry.__REALTIME_TIMESTAMP)?.text,
  );
  if (Number.isFinite(micros) && micros > 0) event.timestamp = Math.floor(micros / 1000);
  if (prefix !== null) {
    const rest: Record<string, unknown> = {};
    for (const key in entry) if (key !== "MESSAGE") rest[key] = entry[key];
    fields[prefix] = rest;
  }
  return event;
}

/** What {@linkcode journalLinesToEvents} made of a run of `journalctl -o json` lines. */
export interface JournalLines {
  /** One event per entry that parsed, in order. */
  events: LogEvent[];
  /** The cursor of the last entry that parsed, or `undefined` when none did. */
  cursor: string | undefined;
  /** Lines that were not JSON entries with a cursor (or were cut as too long). */
  unparsed: number;
  /** The first such line, cut to 200 characters, for a warning. */
  example: string | undefined;
  /** Entries whose message was not valid UTF-8. */
  invalidUtf8: number;
}

/**
 * Turns framed `journalctl -o json` lines into events (one
 * {@linkcode journalEntryToEvent} each), shared by every source that reads
 * journalctl's output (local or over SSH). Bad lines are counted, never thrown.
 *
 * @param framed Lines and their flags, as `LineFramer.push()` gives them.
 * @param host The host name for the ids.
 * @param prefix Field that keeps every journal field, or `null`.
 * @param receivedAt Receive time in ms.
 * @returns The events, the last cursor and what could not be parsed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { journalLinesToEvents } from "./journald.ts";
 * const r = journalLinesToEvents(
 *   { lines: ['{"__CURSOR":"s=ab;i=1","MESSAGE":"hi"}', "nope"], flags: null },
 *   "vm1",
 *   "journald",
 *   0,
 * );
 * assert.ok(r.events.length === 1 && r.cursor === "s=ab;i=1" && r.unparsed === 1);
 * ```
 */
export function journalLinesToEvents(
  framed: { readonly lines: readonly string[]; readonly flags: Uint8Array | null },
  host: string,
  prefix: string | null,
  receivedAt: number,
): JournalLines {
  const out: JournalLines = {
    events: [],
    cursor: undefined,
    unparsed: 0,
    example: undefined,
    invalidUtf8: 0,
  };
  const count = framed.lines.length;
  for (let i = 0; i < count; i++) {
    const line = framed.lines[i] as string;
    let entry: unknown;
    try {
      entry = (framed.flags?.[i] ?? 0) & LINE_TRUNCATED ? undefined : JSON.parse(line);
    } catch {
      entry = undefined;
    }
    const event = entry && typeof entry === "object"
      ? journalEntryToEvent(entry as Record<string, unknown>, host, prefix, receivedAt)
      : undefined;
    if (!event) {
      out.unparsed++;
      out.example ??= line.slice(0, 200);
      continue;
    }
    if (event.fields["sluice_invalid_utf8"]) out.invalidUtf8++;
    out.cursor = (entry as Record<string, unknown>).__CURSOR as string;
    out.events.push(event);
  }
  return out;
}

/**
 * Counts what {@linkcode journalLinesToEvents} could not parse in a source's
 * stats (`unparsed_entries`, `invalid_utf8_entries`) and warns once.
 *
 * @param ctx The source's context (stats and log).
 * @param parsed What the lines gave.
 *
 * @example
 * ```ts
 * import { countJournalLines, journalLinesToEvents } from "./journald.ts";
 * import { ComponentStats } from "../core/stats.ts";
 * import { createLogger } from "../core/log.ts";
 * const ctx = { stats: new ComponentStats("source", "j", "journald"), log: createLogger("silent") };
 * countJournalLines(ctx, journalLinesToEvents({ lines: ["x"], flags: null }, "h", null, 0));
 * console.assert(ctx.stats.counters.unparsed_entries === 1);
 * ```
 */
export function countJournalLines(
  ctx: Pick<SourceContext, "stats" | "log">,
  parsed: JournalLines,
): void {
  if (parsed.invalidUtf8) ctx.stats.add("invalid_utf8_entries", parsed.invalidUtf8);
  if (parsed.unparsed === 0) return;
  const first = (ctx.stats.counters.unparsed_entries ?? 0) === 0;
  ctx.stats.errors += parsed.unparsed;
  ctx.stats.add("unparsed_entries", parsed.unparsed);
  if (first) {
    ctx.log.warn("journalctl gave an entry that is not JSON with a cursor", {
      example: parsed.example,
    });
  }
}

/**
 * Reads the systemd journal by running `journalctl -o json` (following with
 * `-f` unless told otherwise), optionally limited by matches such as
 * `_SYSTEMD_UNIT=ssh.service`, or reads journal files (`file`) or a journal
 * directory (`directory`, e.g. one written by `systemd-journal-remote`).
 *
 * Each entry becomes an event (see {@linkcode journalEntryToEvent}) whose id
 * comes from the entry's cursor. The cursor of the last acknowledged entry
 * is kept in the state directory; after a restart journalctl starts with
 * `--after-cursor`. If journalctl exits while following, it is started
 * again with back-off. Entries journalctl cannot give as JSON, or too long
 * to parse, are counted as errors (`unparsed_entries`).
 *
 * @param options Matches, journal location, start, limits.
 * @returns The source.
 * @throws {TypeError} When a match is not `FIELD=value` or `+`, or an option has the wrong type.
 * @throws {RangeError} When `maxLineBytes` is out of range.
 *
 * @example Follow sshd
 * ```ts
 * import { journaldSource } from "./journald.ts";
 * const source = journaldSource({ matches: ["_SYSTEMD_UNIT=ssh.service"] });
 * ```
 */
export function journaldSource(options: JournaldSourceOptions = {}): Source {
  const matches = options.matches ?? [];
  if (!Array.isArray(matches)) {
    throw new TypeError(`journaldSource: "matches" must be an array of strings`);
  }
  for (const m of matches) {
    if (typeof m !== "string" || (m !== "+" && !_MATCH.test(m))) {
      throw new TypeError(
        `journaldSource: each match must be "FIELD=value" (upper-case field) or "+", got ${
          JSON.stringify(m)
        }`,
      );
    }
  }
  if (
    options.startAt !== undefined && options.startAt !== "beginning" && options.startAt !== "end"
  ) {
    throw new TypeError(
      `journaldSource: "startAt" must be "beginning" or "end", got ${
        JSON.stringify(options.startAt)
      }`,
    );
  }
  const maxLine = options.maxLineBytes ?? 1 << 20;
  if (!Number.isInteger(maxLine) || maxLine < 1024) {
    throw new RangeError(
      `journaldSource: "maxLineBytes" must be an integer of at least 1024, got ${
        JSON.stringify(options.maxLineBytes)
      }`,
    );
  }
  const files = options.file === undefined
    ? []
    : Array.isArray(options.file)
    ? options.file
    : [options.file];
  const follow = options.follow ?? files.length === 0;
  const program = options.journalctl ?? "journalctl";
  const prefix = options.prefix === undefined ? "journald" : options.prefix;

  let child: Deno.ChildProcess | undefined;
  let stopped = false;
  let loop: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let wakeSleep: AbortController | undefined;
  let emitting = false;
  let signal: AbortSignal | undefined;

  const buildArgs = (cursor: string | undefined): string[] => {
    const args = ["--output=json", "--all", "--no-pager", "--quiet"];
    if (follow) args.push("--follow");
    if (cursor) {
      args.push(`--after-cursor=${cursor}`);
      // --follow alone shows only the last 10 entries, even after a cursor.
      if (follow) args.push("--no-tail");
    } else if (options.startAt === "end") args.push("--lines=0");
    else if (follow) args.push("--no-tail");
    for (const f of files) args.push(`--file=${f}`);
    if (options.directory !== undefined) args.push(`--directory=${options.directory}`);
    args.push(...(options.args ?? []), ...matches);
    return args;
  };

  /** Runs journalctl once; resolves with its exit status and the end of its stderr. */
  const runOnce = async (
    ctx: SourceContext,
    host: string,
    from: { cursor: string | undefined },
  ): Promise<{ code: number; stderr: string; entries: number }> => {
    const command = new Deno.Command(program, {
      args: buildArgs(from.cursor),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    child = command.spawn();
    const proc = child;
    let stderr = "";
    const errDone = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stderr) {
        stderr = (stderr + decoder.decode(chunk, { stream: true })).slice(-4096);
      }
    })().catch(() => {});
    const framer = new LineFramer({ maxLineBytes: maxLine });
    let entries = 0;
    const reader = proc.stdout.getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        const framed = framer.push(value);
        if (framed.lines.length === 0) continue;
        const parsed = journalLinesToEvents(framed, host, prefix, Date.now());
        countJournalLines(ctx, parsed);
        const batch = parsed.events;
        const last = parsed.cursor;
        entries += batch.length;
        if (last === undefined) continue;
        from.cursor = last;
        ctx.stats.received += batch.length;
        const cursor = last;
        emitting = true;
        try {
          await ctx.emit(batch, () => ctx.state.set("cursor", cursor));
        } finally {
          emitting = false;
        }
        if (stopped) break;
      }
    } finally {
      reader.releaseLock();
    }
    if (stopped) {
      try {
        proc.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
    await proc.stdout.cancel().catch(() => {});
    const status = await proc.status;
    await errDone;
    child = undefined;
    return { code: status.code, stderr: stderr.trim(), entries };
  };

  const run = async (ctx: SourceContext) => {
    const host = options.host ?? _hostname();
    const saved = ctx.state.get("cursor");
    const from = { cursor: typeof saved === "string" ? saved : undefined };
    let failures = 0;
    while (!stopped) {
      let result: { code: number; stderr: string; entries: number };
      try {
        result = await runOnce(ctx, host, from);
      } catch (err) {
        result = { code: -1, stderr: String(err), entries: 0 };
      }
      if (stopped) break;
      if (result.code === 0 && !follow) break;
      ctx.stats.errors++;
      if (/cursor/i.test(result.stderr) && from.cursor && result.entries === 0) {
        ctx.log.warn("journalctl rejected the saved cursor; starting without it", {
          cursor: from.cursor,
          stderr: result.stderr,
        });
        from.cursor = undefined;
        ctx.state.delete("cursor");
        continue;
      }
      if (!follow) {
        ctx.log.error(`journalctl exited with code ${result.code}`, { stderr: result.stderr });
        break;
      }
      failures = result.entries > 0 ? 1 : failures + 1;
      const wait = backoff(failures, { initialMs: 500, maxMs: 30_000 });
      ctx.log.error(`journalctl exited with code ${result.code}; starting it again in ${wait} ms`, {
        stderr: result.stderr,
      });
      wakeSleep = new AbortController();
      await sleep(wait, AbortSignal.any([wakeSleep.signal, ctx.signal]));
    }
  };

  return {
    kind: "journald",
    ...(options.name ? { name: options.name } : {}),
    // A source that follows the journal never finishes.
    ...(follow ? {} : { done }),
    start(ctx) {
      signal = ctx.signal;
      loop = run(ctx)
        .catch((err) => {
          ctx.stats.errors++;
          ctx.log.error("journald source failed", { error: String(err) });
        })
        .finally(resolveDone);
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      wakeSleep?.abort();
      try {
        child?.kill("SIGTERM");
      } catch {
        // already gone
      }
      // An emit() held up by a sink that cannot write must not hold the stop up:
      // the entries are not acknowledged and are read again after a restart.
      while (loop && !(await _settlesWithin(loop, 100))) {
        if (emitting && signal?.aborted) break;
      }
    },
  };
}

/** Waits for a promise at most `ms`; `true` when it settled. */
function _settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true, () => true), timeout]).finally(() =>
    clearTimeout(timer)
  );
}
