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
/** Key sets remembered per reader (the units of one host differ in their fields). */
const _SHAPES = 8;
/** Field names remembered per reader; a line with another one takes the reference path. */
const _KEYS = 512;
/** Slots of the open-addressing table of field names (a power of two, twice `_KEYS`). */
const _TABLE = 1024;

/** One key set: each key's slot (sorted order) and the slots of the fields an event is made of. */
interface _Shape {
  readonly size: number;
  /** The sum of the keys' mixed ids: which shape to try first. */
  readonly sig: number;
  /** Slot of each key id, -1 for keys not in the set. */
  readonly slotOf: Int16Array;
  /** The keys other than `MESSAGE`, sorted, and their slots. */
  readonly restKeys: string[];
  readonly restSlots: number[];
  /** An object with the rest keys in order: copied, it has the entries' layout at once. */
  readonly template: Record<string, string>;
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

function _template(keys: readonly string[]): Record<string, string> {
  const t: Record<string, string> = {};
  for (const k of keys) t[k] = "";
  return t;
}

/** A key id spread over 32 bits, so that sums of different sets rarely meet. */
function _mix(id: number): number {
  return Math.imul(id + 1, 0x9e3779b1);
}

function _shape(ids: readonly number[], names: readonly string[]): _Shape | undefined {
  const byName = ids.map((id) => ({ id, key: names[id] as string }));
  byName.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const slotOf = new Int16Array(_KEYS).fill(-1);
  let sig = 0;
  for (let i = 0; i < byName.length; i++) {
    const { id } = byName[i] as { id: number };
    if (slotOf[id] !== -1) return undefined;
    slotOf[id] = i;
    sig = (sig + _mix(id)) | 0;
  }
  const sorted = byName.map((b) => b.key);
  const at = (key: string) => sorted.indexOf(key);
  const cursor = at("__CURSOR");
  if (cursor < 0) return undefined;
  const restKeys = sorted.filter((k) => k !== "MESSAGE");
  return {
    size: sorted.length,
    sig,
    slotOf,
    restKeys,
    restSlots: restKeys.map(at),
    template: _template(restKeys),
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
  /** Field names by id; the table maps a name's hash to `id + 1` (0: empty). */
  readonly #names: string[] = [];
  readonly #tableHash = new Int32Array(_TABLE);
  readonly #tableId = new Int16Array(_TABLE);
  /** The last value seen of each field name (unescaped ones), reused when the next is the same. */
  readonly #last: (string | undefined)[] = [];
  /** The current line's key ids and values, in the line's order. */
  readonly #ids: number[] = [];
  readonly #values: string[] = [];
  /** The values by slot of the shape being filled (cleared after each entry). */
  readonly #bySlot: (string | undefined)[] = [];
  /** The next backslash at or after `#bsFrom` in the text being read (its length: none). */
  #bs = -1;
  #bsFrom = 0;
  #cursor: string | undefined;
  #idSeqnumId = "";
  /** `<host>:journald:<seqnum id>:` and n zeros, by n (`""`: not made yet). */
  readonly #idPads: string[] = new Array<string>(17).fill("");

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
      if (!(flags && flags[i]! & LINE_TRUNCATED)) {
        this.#bs = -1;
        const event = this.#fast(line, 0, line.length, receivedAt);
        if (event !== undefined) {
          out.events.push(event);
          out.cursor = this.#cursor;
          continue;
        }
      }
      this.#slow(line, flags ? flags[i]! : 0, receivedAt, out);
    }
    return out;
  }

  /** The reference path decides (and counts) everything the fast one does not take. */
  #slow(line: string, flag: number, receivedAt: number, out: JournalLines): void {
    const slow = journalLinesToEvents(
      { lines: [line], flags: flag ? Uint8Array.of(flag) : null },
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

  /** The first backslash at or after `from` in `text` (`text.length`: none), found once per stretch. */
  #backslash(text: string, from: number): number {
    if (this.#bs < from || from < this.#bsFrom) {
      const at = text.indexOf("\\", from);
      this.#bs = at < 0 ? text.length : at;
      this.#bsFrom = from;
    }
    return this.#bs;
  }

  /** The id of the field name at `text[from, to)`, -1 when it is not one journald accepts or there are too many. */
  #keyId(text: string, from: number, to: number): number {
    // A few characters and the length: names are short and differ at their ends; the table
    // checks the whole name.
    const len = to - from;
    let h = Math.imul(len, 0x01000193) ^ text.charCodeAt(from + 1);
    h = Math.imul(h, 0x01000193) ^ text.charCodeAt(to - 1);
    h = Math.imul(h, 0x01000193) ^ text.charCodeAt(to - 2);
    h = Math.imul(h, 0x01000193) ^ text.charCodeAt(from + (len >> 1));
    h = Math.imul(h, 0x01000193) ^ text.charCodeAt(from + (len >> 2));
    h ^= h >>> 15;
    const mask = _TABLE - 1;
    const names = this.#names;
    const hashes = this.#tableHash;
    const ids = this.#tableId;
    let at = h & mask;
    while (true) {
      const id = ids[at]! - 1;
      if (id < 0) break;
      if (hashes[at] === h) {
        const name = names[id] as string;
        if (name.length === to - from && text.startsWith(name, from)) return id;
      }
      at = (at + 1) & mask;
    }
    if (names.length >= _KEYS) return -1;
    const name = text.slice(from, to);
    if (!_FIELD.test(name)) return -1;
    const id = names.length;
    names.push(name);
    this.#last.push(undefined);
    hashes[at] = h;
    ids[at] = id + 1;
    return id;
  }

  /**
   * The event of the line `text[start, end)` if its values are all strings,
   * or `undefined` for the reference path. Leaves its cursor in `#cursor`.
   */
  #fast(text: string, start: number, end: number, receivedAt: number): LogEvent | undefined {
    if (
      end - start < 3 || text.charCodeAt(start) !== 123 || text.charCodeAt(end - 1) !== 125
    ) return undefined;
    const ids = this.#ids;
    const values = this.#values;
    const last = this.#last;
    let k = 0;
    let sig = 0;
    let i = start + 1;
    while (true) {
      if (text.charCodeAt(i) !== 34) return undefined;
      const keyEnd = text.indexOf('"', i + 1);
      if (keyEnd < 0 || keyEnd >= end || text.charCodeAt(keyEnd + 1) !== 58) return undefined;
      const id = this.#keyId(text, i + 1, keyEnd);
      if (id < 0) return undefined;
      i = keyEnd + 2;
      // Not a string (an array of bytes or of values, null): the reference path.
      if (text.charCodeAt(i) !== 34) return undefined;
      let close = text.indexOf('"', i + 1);
      if (close < 0 || close >= end) return undefined;
      const backslash = this.#backslash(text, i);
      let value: string;
      if (backslash > close) {
        const was = last[id];
        if (was !== undefined && was.length === close - i - 1 && text.startsWith(was, i + 1)) {
          value = was;
        } else {
          value = text.slice(i + 1, close);
          last[id] = value;
        }
      } else {
        // Escapes: the closing quote is the first one after an even run of backslashes.
        while (true) {
          let b = close - 1;
          while (text.charCodeAt(b) === 92) b--;
          if ((close - 1 - b) % 2 === 0) break;
          close = text.indexOf('"', close + 1);
          if (close < 0 || close >= end) return undefined;
        }
        try {
          value = JSON.parse(text.slice(i, close + 1));
        } catch {
          return undefined;
        }
      }
      ids[k] = id;
      values[k] = value;
      sig = (sig + _mix(id)) | 0;
      k++;
      i = close + 1;
      const c = text.charCodeAt(i);
      if (c === 44) {
        i++;
        continue;
      }
      if (c === 125 && i === end - 1) break;
      return undefined;
    }
    const shape = this.#match(k, sig);
    if (shape === undefined) return undefined;
    return this.#event(shape, receivedAt);
  }

  /** The cached shape of the current line's keys (made when new), its values placed by slot. */
  #match(k: number, sig: number): _Shape | undefined {
    const ids = this.#ids;
    const values = this.#values;
    const bySlot = this.#bySlot;
    const shapes = this.#shapes;
    for (let s = 0; s < shapes.length; s++) {
      const shape = shapes[s] as _Shape;
      if (shape.size !== k || shape.sig !== sig) continue;
      const slotOf = shape.slotOf;
      let ok = true;
      for (let j = 0; j < k; j++) {
        const slot = slotOf[ids[j] as number] as number;
        // A key not in the set, or one given twice.
        if (slot < 0 || bySlot[slot] !== undefined) {
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
    const shape = _shape(ids.slice(0, k), this.#names);
    if (shape === undefined) return undefined;
    for (let j = 0; j < k; j++) bySlot[shape.slotOf[ids[j] as number] as number] = values[j];
    shapes.unshift(shape);
    if (shapes.length > _SHAPES) shapes.pop();
    return shape;
  }

  /** Builds the event from the values by slot, as `journalEntryToEvent` would, and clears them. */
  #event(shape: _Shape, receivedAt: number): LogEvent {
    const v = this.#bySlot;
    const cursor = v[shape.cursor] as string;
    const fields: Record<string, unknown> = {};
    const message = shape.message >= 0 ? v[shape.message] as string : "";
    const id = this.#id(cursor);
    const host = this.#eventHost !== undefined
      ? this.#eventHost
      : shape.hostname >= 0 && v[shape.hostname]
      ? v[shape.hostname] as string
      : undefined;
    // As journalEntryToEvent: the first field present wins, even when it is empty.
    const program = shape.identifier >= 0 ? v[shape.identifier] : v[shape.comm];
    const pid = shape.pid >= 0 ? v[shape.pid] : v[shape.syslogPid];
    let severity: number | undefined = Number(v[shape.priority]);
    if (!(Number.isInteger(severity) && severity >= 0 && severity <= 7)) severity = undefined;
    let facility: number | undefined = Number(v[shape.facility]);
    if (!(Number.isInteger(facility) && facility >= 0 && facility <= 23)) facility = undefined;
    const micros = Number(shape.sourceTime >= 0 ? v[shape.sourceTime] : v[shape.realtime]);
    const timestamp = Number.isFinite(micros) && micros > 0 ? Math.floor(micros / 1000) : undefined;
    let event: LogEvent;
    if (
      host !== undefined && program && pid && severity !== undefined && facility !== undefined &&
      timestamp !== undefined
    ) {
      // The usual entry has them all: one literal, its properties in the object itself.
      event = {
        message,
        fields,
        receivedAt,
        id,
        host,
        program,
        pid,
        severity,
        facility,
        timestamp,
      };
    } else {
      event = { message, fields, receivedAt, id };
      if (host !== undefined) event.host = host;
      if (program) event.program = program;
      if (pid) event.pid = pid;
      if (severity !== undefined) event.severity = severity;
      if (facility !== undefined) event.facility = facility;
      if (timestamp !== undefined) event.timestamp = timestamp;
    }
    if (this.#prefix !== null) {
      const rest: Record<string, unknown> = { ...shape.template };
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
    // The cursor's `s=` (its first 12 characters) and `i=` parts, found in place: the last of
    // each wins, as in journalEntryToEvent; only the seqnum is sliced out.
    let sFrom = 0, sTo = 0, iFrom = 0, iTo = 0;
    const len = cursor.length;
    let from = 0;
    while (from <= len) {
      let to = cursor.indexOf(";", from);
      if (to < 0) to = len;
      if (cursor.charCodeAt(from + 1) === 61) {
        const c = cursor.charCodeAt(from);
        if (c === 115) {
          sFrom = from + 2;
          sTo = Math.min(to, from + 14);
        } else if (c === 105) {
          iFrom = from + 2;
          iTo = to;
        }
      }
      from = to + 1;
    }
    if (sTo <= sFrom || iTo <= iFrom) return `${this.#idHost}:journald:${cursor}`;
    for (let k = iFrom; k < iTo; k++) {
      const c = cursor.charCodeAt(k);
      if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) {
        return `${this.#idHost}:journald:${cursor}`;
      }
    }
    const seqnumId = this.#idSeqnumId;
    if (seqnumId.length !== sTo - sFrom || !cursor.startsWith(seqnumId, sFrom)) {
      this.#idSeqnumId = cursor.slice(sFrom, sTo);
      this.#idPads.fill("");
    }
    // The prefix with the seqnum's leading zeros, one string per seqnum length.
    const zeros = Math.max(0, 16 - (iTo - iFrom));
    let head = this.#idPads[zeros] as string;
    if (head === "") {
      head = `${this.#idHost}:journald:${this.#idSeqnumId}:${"0".repeat(zeros)}`;
      this.#idPads[zeros] = head;
    }
    return head + cursor.slice(iFrom, iTo);
  }
}
