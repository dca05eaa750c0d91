/**
 * journald entries as events: one parsed `journalctl -o json` entry
 * ({@linkcode journalEntryToEvent}), a batch of framed lines
 * ({@linkcode journalLinesToEvents}, with the counters of what could not be
 * read) and a count of the entries in lines. Used by sources/journald.ts
 * (which re-exports them) and the agentless source.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import { LINE_TRUNCATED } from "../core/framing.ts";
import type { SourceContext } from "../core/types.ts";

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
  if (prefix === null) return journalFieldsToEvent(entry, entry.MESSAGE, host, null, receivedAt);
  const rest: Record<string, unknown> = {};
  for (const key in entry) if (key !== "MESSAGE") rest[key] = entry[key];
  return journalFieldsToEvent(rest, entry.MESSAGE, host, prefix, receivedAt);
}

/**
 * {@linkcode journalEntryToEvent} for an entry whose `MESSAGE` is already
 * apart from its other fields: `fields` itself becomes the event's
 * `fields[prefix]` (no copy), as a reader that builds the entry can arrange.
 *
 * @param entry The entry's fields but `MESSAGE` (with it too when `prefix` is `null`).
 * @param messageValue The `MESSAGE` value, as JSON gives it.
 * @param host The local host name for the id.
 * @param prefix Field that keeps `entry`, or `null`.
 * @param receivedAt Receive time in ms.
 * @param idOf The id of a cursor, when the caller keeps a faster one (`CursorIds`); the same ids.
 * @returns The event, or `undefined` when the entry has no cursor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { journalFieldsToEvent } from "./_journal_entries.ts";
 * const event = journalFieldsToEvent({ __CURSOR: "s=ab;i=1f", PRIORITY: "3" }, "hi", "vm1", "journal", 0);
 * assert.ok(event?.message === "hi" && event.severity === 3);
 * ```
 */
export function journalFieldsToEvent(
  entry: Record<string, unknown>,
  messageValue: unknown,
  host: string,
  prefix: string | null,
  receivedAt: number,
  idOf?: (cursor: string) => string,
): LogEvent | undefined {
  const cursor = entry.__CURSOR;
  if (typeof cursor !== "string") return undefined;
  const message = _text(messageValue);
  const fields: Record<string, unknown> = {};
  const event: LogEvent = {
    message: message?.text ?? "",
    fields,
    receivedAt,
    id: idOf ? idOf(cursor) : _idFromCursor(host, cursor),
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
  if (prefix !== null) fields[prefix] = entry;
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
 * A {@linkcode JournalLines} with nothing in it yet, for a reader to fill.
 *
 * @returns No events, no cursor, nothing unparsed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptyJournalLines } from "./_journal_entries.ts";
 * assert.equal(emptyJournalLines().events.length, 0);
 * ```
 */
export function emptyJournalLines(): JournalLines {
  return { events: [], cursor: undefined, unparsed: 0, example: undefined, invalidUtf8: 0 };
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
  const out = emptyJournalLines();
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
