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
import { emptyJournalLines, type JournalLines, journalLinesToEvents } from "./journald.ts";
import {
  CursorIds,
  type JournalShape,
  KEYS,
  makeShape,
  mix,
  SHAPES,
  TABLE,
} from "./_journal_json_parts.ts";

/** Field names journald accepts; only these are used as keys outside `JSON.parse` (no `__proto__`). */
const _FIELD = /^[A-Z0-9_]+$/;

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
  readonly #shapes: JournalShape[] = [];
  /** Field names by id; the table maps a name's hash to `id + 1` (0: empty). */
  readonly #names: string[] = [];
  readonly #tableHash = new Int32Array(TABLE);
  readonly #tableId = new Int16Array(TABLE);
  /** The current line's key ids and values, in the line's order. */
  readonly #keys: number[] = [];
  readonly #values: string[] = [];
  /** The values by slot of the shape being filled (cleared after each entry). */
  readonly #bySlot: (string | undefined)[] = [];
  /** The next backslash at or after `#bsFrom` in the text being read (its length: none). */
  #bs = -1;
  #bsFrom = 0;
  #cursor: string | undefined;
  readonly #ids: CursorIds;

  /**
   * @param idHost The host name in event ids (`<host>:journald:…`).
   * @param options Prefix and event host.
   */
  constructor(idHost: string, options: JournalJsonReaderOptions = {}) {
    this.#idHost = idHost;
    this.#prefix = options.prefix === undefined ? "journald" : options.prefix;
    this.#eventHost = options.eventHost;
    this.#ids = new CursorIds(idHost);
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
    const out = emptyJournalLines();
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
        // Values a line left in the slots of the set it was guessed to have.
        this.#bySlot.fill(undefined);
      }
      this.#slow(line, flags ? flags[i]! : 0, receivedAt, out);
    }
    return out;
  }

  /**
   * Reads the whole lines of `text[from, to)` (separated by `\n`, the last
   * one's newline excluded) into `out`, as `read` reads the lines that
   * `LineFramer` makes of them when each character is one byte, or when no
   * line can be longer than `maxLine`: a line longer than `maxLine` is cut
   * and counted as unparsed, a trailing `\r` is dropped. The lines are never
   * cut out of `text` as strings of their own.
   *
   * @param text Decoded lines.
   * @param from Where the first line starts.
   * @param to Where the last line ends.
   * @param maxLine Longest line in characters.
   * @param receivedAt Receive time in ms.
   * @param out Where the events, the cursor and what did not parse go.
   */
  readText(
    text: string,
    from: number,
    to: number,
    maxLine: number,
    receivedAt: number,
    out: JournalLines,
  ): void {
    this.#bs = -1;
    let at = from;
    while (at <= to) {
      let nl = text.indexOf("\n", at);
      if (nl < 0 || nl > to) nl = to;
      if (nl - at > maxLine) {
        this.#slow(text.slice(at, at + maxLine), LINE_TRUNCATED, receivedAt, out);
      } else {
        const end = nl > at && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        const event = this.#fast(text, at, end, receivedAt);
        if (event !== undefined) {
          out.events.push(event);
          out.cursor = this.#cursor;
        } else {
          this.#bySlot.fill(undefined);
          this.#slow(text.slice(at, end), 0, receivedAt, out);
        }
      }
      at = nl + 1;
    }
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

  /**
   * The id of the field name at `text[from, to)` whose hash is `h`, -1 when
   * it is not one journald accepts or there are too many.
   */
  #keyId(text: string, from: number, to: number, h: number): number {
    const mask = TABLE - 1;
    const names = this.#names;
    const hashes = this.#tableHash;
    const ids = this.#tableId;
    let at = (h ^ (h >>> 15)) & mask;
    while (true) {
      const id = ids[at]! - 1;
      if (id < 0) break;
      if (hashes[at] === h) {
        const name = names[id] as string;
        // The whole name is compared: a hash alone could be forged by a field name.
        // (A copy and === costs half of what startsWith costs.)
        if (name.length === to - from && text.slice(from, to) === name) return id;
      }
      at = (at + 1) & mask;
    }
    if (names.length >= KEYS) return -1;
    const name = text.slice(from, to);
    if (!_FIELD.test(name)) return -1;
    const id = names.length;
    names.push(name);
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
    const ids = this.#keys;
    const values = this.#values;
    const bySlot = this.#bySlot;
    // Most lines have the key set of the line before: their values go to its slots at once.
    const guess = this.#shapes[0];
    const guessSlots = guess?.slotOf;
    let guessed = guessSlots !== undefined;
    let k = 0;
    let sig = 0;
    let i = start + 1;
    while (true) {
      if (text.charCodeAt(i) !== 34) return undefined;
      // The key: its length and a few of its characters pick it in the table, which compares
      // the whole name (a new one must be a field name journald accepts: A-Z, 0-9, _).
      const from = i + 1;
      const j = text.indexOf('"', from);
      if (j < 0 || j >= end || text.charCodeAt(j + 1) !== 58) return undefined;
      const len = j - from;
      let h = Math.imul(len, 0x01000193) ^ text.charCodeAt(from + 1);
      h = Math.imul(h, 0x01000193) ^ text.charCodeAt(j - 1);
      h = Math.imul(h, 0x01000193) ^ text.charCodeAt(j - 2);
      h = Math.imul(h, 0x01000193) ^ text.charCodeAt(from + (len >> 1));
      h = Math.imul(h, 0x01000193) ^ text.charCodeAt(from + (len >> 2));
      const id = this.#keyId(text, from, j, h);
      if (id < 0) return undefined;
      i = j + 2;
      // Not a string (an array of bytes or of values, null): the reference path.
      if (text.charCodeAt(i) !== 34) return undefined;
      let close = text.indexOf('"', i + 1);
      if (close < 0 || close >= end) return undefined;
      const backslash = this.#backslash(text, i);
      let value: string;
      if (backslash > close) {
        value = text.slice(i + 1, close);
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
      sig = (sig + mix(id)) | 0;
      k++;
      if (guessed) {
        const slot = guessSlots![id]!;
        // A key not in the guessed set, or one given twice.
        if (slot < 0 || bySlot[slot] !== undefined) {
          guessed = false;
          bySlot.fill(undefined);
        } else bySlot[slot] = value;
      }
      i = close + 1;
      const d = text.charCodeAt(i);
      if (d === 44) {
        i++;
        continue;
      }
      if (d === 125 && i === end - 1) break;
      return undefined;
    }
    // As many distinct keys as the guessed set has, all of them in it: that set.
    if (guessed && k === guess!.size) return this.#event(guess!, receivedAt);
    if (guessed) bySlot.fill(undefined);
    const shape = this.#match(k, sig);
    if (shape === undefined) return undefined;
    return this.#event(shape, receivedAt);
  }

  /** The cached shape of the current line's keys (made when new), its values placed by slot. */
  #match(k: number, sig: number): JournalShape | undefined {
    const ids = this.#keys;
    const values = this.#values;
    const bySlot = this.#bySlot;
    const shapes = this.#shapes;
    for (let s = 0; s < shapes.length; s++) {
      const shape = shapes[s] as JournalShape;
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
    const shape = makeShape(ids.slice(0, k), this.#names);
    if (shape === undefined) return undefined;
    for (let j = 0; j < k; j++) bySlot[shape.slotOf[ids[j] as number] as number] = values[j];
    shapes.unshift(shape);
    if (shapes.length > SHAPES) shapes.pop();
    return shape;
  }

  /** Builds the event from the values by slot, as `journalEntryToEvent` would, and clears them. */
  #event(shape: JournalShape, receivedAt: number): LogEvent {
    const v = this.#bySlot;
    const cursor = v[shape.cursor] as string;
    const fields: Record<string, unknown> = {};
    const message = shape.message >= 0 ? v[shape.message] as string : "";
    const id = this.#ids.id(cursor);
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
}
