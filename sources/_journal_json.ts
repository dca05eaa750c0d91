/**
 * A fast reader of `journalctl -o json` lines for the sources that pull
 * many of them (the agentless collector).
 *
 * journalctl writes each entry's fields in a different order (the order of
 * its hash table), so `JSON.parse` gives every entry an object of its own
 * hidden class: V8 builds a new map chain per entry, field access goes
 * megamorphic and the garbage collector cleans up maps as well as objects.
 * Here a line whose values are all strings (all of them, in practice) is
 * scanned with `indexOf`, its keys are matched against a few cached key
 * sets, and the journal fields are built in sorted key order, so entries of
 * one kind share one shape. Anything else (binary or repeated fields, which
 * journalctl gives as arrays; a line that is not what journalctl writes)
 * goes through `journalLinesToEvents` of sources/journald.ts, which stays
 * the reference: both give the same events.
 *
 * @module
 */

import { LINE_TRUNCATED } from "../core/framing.ts";
import type { LogEvent } from "../core/event.ts";
import { type JournalLines, journalLinesToEvents } from "./journald.ts";

/** Field names journald accepts; only these are used as keys outside `JSON.parse` (no `__proto__`). */
const _FIELD = /^[A-Z0-9_]+$/;
const _HEX = /^[0-9a-f]+$/;
/** Key sets remembered per reader (the units of one host differ in their fields). */
const _SHAPES = 8;

/** One key set: each key's slot (sorted order) and the slots of the fields an event is made of. */
interface _Shape {
  readonly size: number;
  readonly slots: Map<string, number>;
  /** The keys other than `MESSAGE`, sorted, and their slots. */
  readonly restKeys: string[];
  readonly restSlots: number[];
  readonly cursor: number;
  readonly message: number;
  readonly hostname: number;
  readonly identifier: number;
  readonly comm: number;
  readonly pid: number;
  readonly syslogPid: number;
  readonly priority: number;
  readonly facility: number;
  readonly sourceTime: number;
  readonly realtime: number;
}

function _shape(keys: readonly string[]): _Shape | undefined {
  const sorted = [...keys].sort();
  const slots = new Map<string, number>();
  for (let i = 0; i < sorted.length; i++) {
    const key = sorted[i] as string;
    if (!_FIELD.test(key) || slots.has(key)) return undefined;
    slots.set(key, i);
  }
  const at = (key: string) => slots.get(key) ?? -1;
  const cursor = at("__CURSOR");
  if (cursor < 0) return undefined;
  const restKeys = sorted.filter((k) => k !== "MESSAGE");
  return {
    size: sorted.length,
    slots,
    restKeys,
    restSlots: restKeys.map(at),
    cursor,
    message: at("MESSAGE"),
    hostname: at("_HOSTNAME"),
    identifier: at("SYSLOG_IDENTIFIER"),
    comm: at("_COMM"),
    pid: at("_PID"),
    syslogPid: at("SYSLOG_PID"),
    priority: at("PRIORITY"),
    facility: at("SYSLOG_FACILITY"),
    sourceTime: at("_SOURCE_REALTIME_TIMESTAMP"),
    realtime: at("__REALTIME_TIMESTAMP"),
  };
}

/** Options for {@linkcode JournalJsonReader}. */
export interface JournalJsonReaderOptions {
  /** Field under which every journal field but `MESSAGE` is kept; `null` keeps none. @default {"journald"} */
  prefix?: string | null;
  /** `HOST` of every event; without it, the entry's `_HOSTNAME`. @default {none} */
  eventHost?: string;
}

/**
 * Turns framed `journalctl -o json` lines into events, as
 * `journalLinesToEvents` (sources/journald.ts) does, several times faster
 * and with one object shape per kind of entry. Keeps a few key sets between
 * calls: use one reader per stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { JournalJsonReader } from "./_journal_json.ts";
 * const reader = new JournalJsonReader("vm1", { prefix: "journal", eventHost: "vm1" });
 * const r = reader.read({ lines: ['{"__CURSOR":"s=ab;i=1","MESSAGE":"hi","PRIORITY":"3"}'], flags: null }, 0);
 * assert.equal(r.events[0]?.message, "hi");
 * assert.equal(r.events[0]?.severity, 3);
 * assert.equal(r.cursor, "s=ab;i=1");
 * ```
 */
export class JournalJsonReader {
  readonly #idHost: string;
  readonly #prefix: string | null;
  readonly #eventHost: string | undefined;
  readonly #shapes: _Shape[] = [];
  /** The current line's keys and values, in the line's order. */
  readonly #keys: string[] = [];
  readonly #values: string[] = [];
  /** The values by slot of the shape being filled (cleared after each entry). */
  readonly #bySlot: (string | undefined)[] = [];
  #cursor: string | undefined;
  #idSeqnumId = "";
  #idPrefix = "";

  /**
   * @param idHost The host name in event ids (`<host>:journald:…`).
   * @param options Prefix and event host.
   */
  constructor(idHost: string, options: JournalJsonReaderOptions = {}) {
    this.#idHost = idHost;
    this.#prefix = options.prefix === undefined ? "journald" : options.prefix;
    this.#eventHost = options.eventHost;
  }

  /**
   * Reads the lines of one chunk.
   *
   * @param framed Lines and their flags, as `LineFramer.push()` gives them.
   * @param receivedAt Receive time in ms.
   * @returns The events, the last cursor and what could not be parsed.
   */
  read(
    framed: { readonly lines: readonly string[]; readonly flags: Uint8Array | null },
    receivedAt: number,
  ): JournalLines {
    const out: JournalLines = {
      events: [],
      cursor: undefined,
      unparsed: 0,
      example: undefined,
      invalidUtf8: 0,
    };
    const lines = framed.lines;
    const flags = framed.flags;
    const count = lines.length;
    for (let i = 0; i < count; i++) {
      const line = lines[i] as string;
      const event = flags && flags[i]! & LINE_TRUNCATED ? undefined : this.#fast(line, receivedAt);
      if (event !== undefined) {
        out.events.push(event);
        out.cursor = this.#cursor;
        continue;
      }
      // The reference path decides (and counts) everything the fast one does not take.
      const slow = journalLinesToEvents(
        { lines: [line], flags: flags ? flags.subarray(i, i + 1) : null },
        this.#idHost,
        this.#prefix,
        receivedAt,
      );
      const e = slow.events[0];
      if (e) {
        if (this.#eventHost !== undefined) e.host = this.#eventHost;
        out.events.push(e);
        out.cursor = slow.cursor;
        out.invalidUtf8 += slow.invalidUtf8;
      } else {
        out.unparsed++;
        out.example ??= slow.example;
      }
    }
    return out;
  }

  /**
   * The event of a line whose values are all strings, or `undefined` for the
   * reference path. Leaves its cursor in `#cursor`.
   */
  #fast(line: string, receivedAt: number): LogEvent | undefined {
    const n = line.length;
    if (n < 3 || line.charCodeAt(0) !== 123 || line.charCodeAt(n - 1) !== 125) return undefined;
    const keys = this.#keys;
    const values = this.#values;
    let k = 0;
    let i = 1;
    let backslash = line.indexOf("\\");
    while (true) {
      if (line.charCodeAt(i) !== 34) return undefined;
      const keyEnd = line.indexOf('"', i + 1);
      if (keyEnd < 0 || line.charCodeAt(keyEnd + 1) !== 58) return undefined;
      const key = line.slice(i + 1, keyEnd);
      i = keyEnd + 2;
      // Not a string (an array of bytes or of values, null): the reference path.
      if (line.charCodeAt(i) !== 34) return undefined;
      let end = line.indexOf('"', i + 1);
      if (end < 0) return undefined;
      if (backslash >= 0 && backslash < i) backslash = line.indexOf("\\", i);
      let value: string;
      if (backslash < 0 || backslash > end) {
        value = line.slice(i + 1, end);
      } else {
        // Escapes: the closing quote is the first one after an even run of backslashes.
        while (true) {
          let b = end - 1;
          while (line.charCodeAt(b) === 92) b--;
          if ((end - 1 - b) % 2 === 0) break;
          end = line.indexOf('"', end + 1);
          if (end < 0) return undefined;
        }
        try {
          value = JSON.parse(line.slice(i, end + 1));
        } catch {
          return undefined;
        }
      }
      keys[k] = key;
      values[k] = value;
      k++;
      i = end + 1;
      const c = line.charCodeAt(i);
      if (c === 44) {
        i++;
        continue;
      }
      if (c === 125 && i === n - 1) break;
      return undefined;
    }
    const shape = this.#match(k);
    if (shape === undefined) return undefined;
    return this.#event(shape, receivedAt);
  }

  /** The cached shape of the current line's keys (made when new), its values placed by slot. */
  #match(k: number): _Shape | undefined {
    const keys = this.#keys;
    const values = this.#values;
    const bySlot = this.#bySlot;
    const shapes = this.#shapes;
    for (let s = 0; s < shapes.length; s++) {
      const shape = shapes[s] as _Shape;
      if (shape.size !== k) continue;
      let ok = true;
      for (let j = 0; j < k; j++) {
        const slot = shape.slots.get(keys[j] as string);
        // A key not in the set, or one given twice.
        if (slot === undefined || bySlot[slot] !== undefined) {
          ok = false;
          break;
        }
        bySlot[slot] = values[j];
      }
      if (ok) {
        if (s > 0) {
          shapes.splice(s, 1);
          shapes.unshift(shape);
        }
        return shape;
      }
      bySlot.fill(undefined);
    }
    const shape = _shape(keys.slice(0, k));
    if (shape === undefined) return undefined;
    for (let j = 0; j < k; j++) bySlot[shape.slots.get(keys[j] as string) as number] = values[j];
    shapes.unshift(shape);
    if (shapes.length > _SHAPES) shapes.pop();
    return shape;
  }

  /** Builds the event from the values by slot, as `journalEntryToEvent` would, and clears them. */
  #event(shape: _Shape, receivedAt: number): LogEvent {
    const v = this.#bySlot;
    const cursor = v[shape.cursor] as string;
    const fields: Record<string, unknown> = {};
    const event: LogEvent = {
      message: shape.message >= 0 ? v[shape.message] as string : "",
      fields,
      receivedAt,
      id: this.#id(cursor),
    };
    if (this.#eventHost !== undefined) event.host = this.#eventHost;
    else if (shape.hostname >= 0 && v[shape.hostname]) event.host = v[shape.hostname] as string;
    // As journalEntryToEvent: the first field present wins, even when it is empty.
    const program = shape.identifier >= 0 ? v[shape.identifier] : v[shape.comm];
    if (program) event.program = program;
    const pid = shape.pid >= 0 ? v[shape.pid] : v[shape.syslogPid];
    if (pid) event.pid = pid;
    const priority = Number(v[shape.priority]);
    if (Number.isInteger(priority) && priority >= 0 && priority <= 7) event.severity = priority;
    const facility = Number(v[shape.facility]);
    if (Number.isInteger(facility) && facility >= 0 && facility <= 23) event.facility = facility;
    const micros = Number(shape.sourceTime >= 0 ? v[shape.sourceTime] : v[shape.realtime]);
    if (Number.isFinite(micros) && micros > 0) event.timestamp = Math.floor(micros / 1000);
    if (this.#prefix !== null) {
      const rest: Record<string, unknown> = {};
      const keys = shape.restKeys;
      const slots = shape.restSlots;
      for (let j = 0; j < keys.length; j++) rest[keys[j] as string] = v[slots[j] as number];
      fields[this.#prefix] = rest;
    }
    this.#cursor = cursor;
    v.fill(undefined);
    return event;
  }

  /** The id `journalEntryToEvent` gives: `<host>:journald:<seqnum id>:<seqnum>`, else the whole cursor. */
  #id(cursor: string): string {
    let seqnumId = "";
    let seqnum = "";
    let from = 0;
    while (from <= cursor.length) {
      let to = cursor.indexOf(";", from);
      if (to < 0) to = cursor.length;
      if (cursor.startsWith("s=", from)) seqnumId = cursor.slice(from + 2, Math.min(to, from + 14));
      else if (cursor.startsWith("i=", from)) seqnum = cursor.slice(from + 2, to);
      from = to + 1;
    }
    if (!seqnumId || !_HEX.test(seqnum)) return `${this.#idHost}:journald:${cursor}`;
    if (seqnumId !== this.#idSeqnumId) {
      this.#idSeqnumId = seqnumId;
      this.#idPrefix = `${this.#idHost}:journald:${seqnumId}:`;
    }
    return this.#idPrefix + seqnum.padStart(16, "0");
  }
}
