/**
 * The JSONL sink's usual line, the whole event as JSON, encoded once for all
 * the sinks that share an event.
 *
 * @module
 */

import {
  eventToJson,
  FACILITY_NAMES,
  isoDate,
  type LogEvent,
  SEVERITY_NAMES,
} from "../core/event.ts";

/**
 * A line template writing the whole event as one JSON object (the message,
 * the well-known properties, the id, the fields) and a newline.
 *
 * @param event The event.
 * @returns Its JSON line.
 *
 * @example
 * ```ts
 * import { jsonLine, jsonlSink } from "./jsonl.ts";
 * const sink = jsonlSink({ dir: "logs", path: "all_events.jsonl", line: jsonLine });
 * ```
 */
export function jsonLine(event: LogEvent): string {
  const fast = _jsonLineFast(event);
  if (fast !== undefined) return fast;
  let text: string;
  try {
    text = JSON.stringify(eventToJson(event));
  } catch {
    // BigInts or cycles in the fields: keep the event, lose only the fields.
    const json = eventToJson({ ...event, fields: {} });
    json.FIELDS_ERROR = "fields could not be serialised";
    text = JSON.stringify(json);
  }
  return text + "\n";
}

// Names a field may not have for the line to be built in pieces: the well-known
// properties (the field would replace one in place), keys V8 orders first or treats
// apart, and toJSON (JSON.stringify would call it on the fields).
const _OWN_KEYS = new Set([
  "ISODATE",
  "HOST",
  "PROGRAM",
  "PID",
  "FACILITY",
  "LEVEL",
  "SOURCEIP",
  "ID",
  "MESSAGE",
  "__proto__",
  "toJSON",
]);

function _put(name: string, value: unknown): string {
  if (value === undefined) return "";
  const json = JSON.stringify(value);
  return json === undefined ? "" : `,"${name}":${json}`;
}

// The same text as JSON.stringify(eventToJson(event)), built from pieces: V8 stringifies
// the message and the field tree faster apart than inside one object (2.1 against 1.4 µs
// for a 300-byte JSON alert). `undefined` when the fields could make the two differ.
function _jsonLineFast(event: LogEvent): string | undefined {
  const fields = event.fields;
  const proto = Object.getPrototypeOf(fields);
  if (proto !== Object.prototype && proto !== null) return undefined;
  for (const key in fields) {
    const first = key.charCodeAt(0);
    // An array index ("0", "17") comes first in any object: not where eventToJson puts it.
    if ((first >= 48 && first <= 57) || _OWN_KEYS.has(key)) return undefined;
  }
  let tree: string;
  try {
    tree = JSON.stringify(fields);
  } catch {
    return undefined;
  }
  const ms = event.timestamp ?? event.receivedAt;
  let line = `{"ISODATE":"${
    isoDate(ms, event.timestamp === undefined ? undefined : event.tzOffset)
  }"`;
  if (event.host !== undefined) line += _put("HOST", event.host);
  if (event.program !== undefined) line += _put("PROGRAM", event.program);
  if (event.pid !== undefined) line += _put("PID", event.pid);
  if (event.facility !== undefined) line += _put("FACILITY", FACILITY_NAMES[event.facility]);
  if (event.severity !== undefined) line += _put("LEVEL", SEVERITY_NAMES[event.severity]);
  if (event.sourceIp !== undefined) line += _put("SOURCEIP", event.sourceIp);
  if (event.id !== undefined) line += _put("ID", event.id);
  line += _put("MESSAGE", event.message);
  return line + (tree.length > 2 ? "," + tree.slice(1) : "}") + "\n";
}

const _LINE = Symbol("sluice.jsonLine");
const _encoder = new TextEncoder();

// The cache names its event, so a copy made with `{ ...event }` (which copies symbol
// keys) renders its own line. It holds the line as UTF-8: every sink writing jsonLine
// (all_events, by_vm, by_category, daily) copies the same bytes instead of encoding again.
// Events are never changed once delivered to sinks, and slab bytes are never rewritten.
/**
 * An event's {@linkcode jsonLine} as UTF-8, encoded once for every sink that shares it.
 *
 * @param event The event.
 * @returns Its line's bytes (never to be changed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "../core/event.ts";
 * import { sharedJsonBytes } from "./_jsonl_line.ts";
 * const e = createEvent("x");
 * assert.equal(sharedJsonBytes(e), sharedJsonBytes(e));
 * ```
 */
export function sharedJsonBytes(event: LogEvent): Uint8Array {
  const e = event as LogEvent & { [_LINE]?: { owner: LogEvent; bytes: Uint8Array } };
  const cached = e[_LINE];
  if (cached?.owner === event) return cached.bytes;
  const bytes = _slabEncode(jsonLine(event));
  e[_LINE] = { owner: event, bytes };
  return bytes;
}

// The cached lines are views of shared 32 KiB slabs rather than one buffer each: a new
// ArrayBuffer per event (TextEncoder.encode) cost the central example 5–20% of its CPU.
// A slab lives until the last event it holds a line of is collected, so an event kept
// for long keeps at most 32 KiB with it; lines over a quarter of a slab get their own.
const _SLAB_BYTES = 32 * 1024;
let _slab = new Uint8Array(_SLAB_BYTES);
let _slabAt = 0;

function _slabEncode(text: string): Uint8Array {
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  const most = text.length * 3;
  if (most > _SLAB_BYTES / 4) return _encoder.encode(text);
  if (_slabAt + most > _SLAB_BYTES) {
    _slab = new Uint8Array(_SLAB_BYTES);
    _slabAt = 0;
  }
  const start = _slabAt;
  _slabAt += _encoder.encodeInto(text, _slab.subarray(start)).written;
  return _slab.subarray(start, _slabAt);
}

/**
 * One batch's lines grouped per file: as text (a line template), or as the
 * shared UTF-8 of {@linkcode jsonLine}, then joined into one buffer per file
 * (one write() per file and batch).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "../core/event.ts";
 * import { LineGroups } from "./_jsonl_line.ts";
 * const lines = new LineGroups((e) => `${e.message}\n`);
 * lines.add("a.jsonl", createEvent("x"));
 * lines.add("a.jsonl", createEvent("y"));
 * assert.equal(new TextDecoder().decode(lines.bytes().get("a.jsonl")), "x\ny\n");
 * ```
 */
export class LineGroups {
  #render: ((event: LogEvent) => string) | undefined;
  #texts = new Map<string, string>();
  // Per file, runs of bytes: lines encoded one after the other into the same slab (all of
  // a batch's events for all_events, most for daily) are one run, copied with one set().
  #parts = new Map<string, _Runs>();

  /** @param render The line template; `undefined` for the shared {@linkcode jsonLine}. */
  constructor(render: ((event: LogEvent) => string) | undefined) {
    this.#render = render;
  }

  /** Adds an event's line to a file's group. */
  add(path: string, event: LogEvent): void {
    if (this.#render) {
      this.#texts.set(path, (this.#texts.get(path) ?? "") + this.#render(event));
      return;
    }
    const bytes = sharedJsonBytes(event);
    const group = this.#parts.get(path);
    if (!group) {
      this.#parts.set(path, {
        buffers: [bytes.buffer],
        starts: [bytes.byteOffset],
        ends: [bytes.byteOffset + bytes.length],
        size: bytes.length,
      });
      return;
    }
    const last = group.ends.length - 1;
    if (group.buffers[last] === bytes.buffer && group.ends[last] === bytes.byteOffset) {
      group.ends[last] += bytes.length;
    } else {
      group.buffers.push(bytes.buffer);
      group.starts.push(bytes.byteOffset);
      group.ends.push(bytes.byteOffset + bytes.length);
    }
    group.size += bytes.length;
  }

  /** Each file's lines as one buffer (a view of a slab when they are one run). */
  bytes(): Map<string, Uint8Array> {
    const groups = new Map<string, Uint8Array>();
    for (const [path, text] of this.#texts) groups.set(path, _encoder.encode(text));
    for (const [path, { buffers, starts, ends, size }] of this.#parts) {
      // Slab bytes are never rewritten: one run is written from where it is.
      if (buffers.length === 1) {
        groups.set(path, new Uint8Array(buffers[0]!, starts[0], size));
        continue;
      }
      const data = new Uint8Array(size);
      let at = 0;
      for (let i = 0; i < buffers.length; i++) {
        const length = ends[i]! - starts[i]!;
        data.set(new Uint8Array(buffers[i]!, starts[i], length), at);
        at += length;
      }
      groups.set(path, data);
    }
    return groups;
  }
}

interface _Runs {
  buffers: ArrayBufferLike[];
  starts: number[];
  ends: number[];
  size: number;
}
