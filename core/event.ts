/**
 * The event model: a raw message, a tree of fields, and the well-known
 * syslog properties addressed by their syslog-ng macro names. Severity and
 * facility names are in core/_severity.ts, the date macros in
 * core/_event_dates.ts (both re-exported here).
 *
 * @module
 */

import { dateMacroGetter, isoDate } from "./_event_dates.ts";
import { FACILITY_NAMES, facilityNumber, SEVERITY_NAMES, severityNumber } from "./_severity.ts";

export { isoDate } from "./_event_dates.ts";
export { FACILITY_NAMES, facilityNumber, SEVERITY_NAMES, severityNumber } from "./_severity.ts";

/** A nested tree of parsed values. Dotted names (`json.host`) address it. */
export type Fields = Record<string, unknown>;

/**
 * One log event as it flows through a pipeline.
 *
 * The well-known properties are read and written through their syslog-ng
 * macro names by {@linkcode getField} and {@linkcode setField}: `HOST`,
 * `PROGRAM`, `PID`, `FACILITY`, `SEVERITY` (alias `LEVEL`), `SOURCEIP`, `MSG`.
 *
 * @example Build an event by hand
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "./event.ts";
 * const event = createEvent("hello", { host: "vm1" });
 * assert.ok(event.host === "vm1");
 * ```
 */
export interface LogEvent {
  /** The raw text as received (syslog-ng's `MSG`). */
  message: string;
  /** Parsed values, written by parsers under a prefix (`json.severity`). */
  fields: Fields;
  /** When this process received the event, in ms since the epoch. */
  receivedAt: number;
  /** When the event happened, in ms since the epoch, when a parser knows it. */
  timestamp?: number;
  /** The time zone offset of {@linkcode LogEvent.timestamp} in minutes east of UTC, when known. */
  tzOffset?: number;
  /** Host name (`HOST`). */
  host?: string;
  /** Program name (`PROGRAM`). */
  program?: string;
  /** Process id (`PID`). */
  pid?: string;
  /** Facility number 0–23 (`FACILITY_NUM`; `FACILITY` is its name). */
  facility?: number;
  /** Severity number 0 (emerg) – 7 (debug) (`LEVEL_NUM`; `LEVEL`/`SEVERITY` is its name). */
  severity?: number;
  /** Address of the peer that sent the event (`SOURCEIP`). */
  sourceIp?: string;
  /** Stable id for replayable sources: same event, same id, across restarts. */
  id?: string;
  /** Name of the source that emitted the event (`SOURCE`). */
  source?: string;
}

/** Properties of a {@linkcode LogEvent} that {@linkcode createEvent} accepts besides the message. */
export type EventInit = Partial<Omit<LogEvent, "message">>;

/**
 * Creates an event with `receivedAt` set to now and an empty field tree.
 *
 * @param message The raw message.
 * @param init Other properties to set.
 * @returns A new event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "./event.ts";
 * const event = createEvent('{"a":1}', { source: "net" });
 * assert.ok(event.fields !== undefined);
 * ```
 */
export function createEvent(message: string, init?: EventInit): LogEvent {
  const event: LogEvent = { message, fields: {}, receivedAt: Date.now() };
  if (init) Object.assign(event, init);
  return event;
}

/** Reads one value from an event. */
export type FieldGetter = (event: LogEvent) => unknown;
/** Writes one value into an event. */
export type FieldSetter = (event: LogEvent, value: unknown) => void;

function _str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : String(value);
}

const _MACRO_GETTERS: Record<string, FieldGetter> = {
  MSG: (e) => e.message,
  MESSAGE: (e) => e.message,
  HOST: (e) => e.host,
  PROGRAM: (e) => e.program,
  PID: (e) => e.pid,
  FACILITY: (e) => e.facility === undefined ? undefined : FACILITY_NAMES[e.facility],
  FACILITY_NUM: (e) => e.facility,
  SEVERITY: (e) => e.severity === undefined ? undefined : SEVERITY_NAMES[e.severity],
  LEVEL: (e) => e.severity === undefined ? undefined : SEVERITY_NAMES[e.severity],
  SEVERITY_NUM: (e) => e.severity,
  LEVEL_NUM: (e) => e.severity,
  PRI: (e) =>
    e.facility === undefined && e.severity === undefined
      ? undefined
      : (e.facility ?? 1) * 8 + (e.severity ?? 5),
  SOURCEIP: (e) => e.sourceIp,
  SOURCE: (e) => e.source,
  ID: (e) => e.id,
  RECVD_MS: (e) => e.receivedAt,
};

const _MACRO_SETTERS: Record<string, FieldSetter> = {
  MSG: (e, v) => {
    e.message = _str(v) ?? "";
  },
  MESSAGE: (e, v) => {
    e.message = _str(v) ?? "";
  },
  HOST: (e, v) => _assign(e, "host", _str(v)),
  PROGRAM: (e, v) => _assign(e, "program", _str(v)),
  PID: (e, v) => _assign(e, "pid", _str(v)),
  SOURCEIP: (e, v) => _assign(e, "sourceIp", _str(v)),
  ID: (e, v) => _assign(e, "id", _str(v)),
  FACILITY: (e, v) => _assign(e, "facility", facilityNumber(v)),
  FACILITY_NUM: (e, v) => _assign(e, "facility", facilityNumber(Number(v))),
  SEVERITY: (e, v) => _assign(e, "severity", severityNumber(v)),
  LEVEL: (e, v) => _assign(e, "severity", severityNumber(v)),
  SEVERITY_NUM: (e, v) => _assign(e, "severity", severityNumber(Number(v))),
  LEVEL_NUM: (e, v) => _assign(e, "severity", severityNumber(Number(v))),
};

function _assign<K extends keyof LogEvent>(e: LogEvent, key: K, value: LogEvent[K] | undefined) {
  if (value === undefined) delete e[key];
  else e[key] = value;
}

/**
 * Tells whether a name is a syslog-ng macro (`HOST`, `ISODATE`, `R_YEAR` …)
 * rather than a field path.
 *
 * @param name A macro name or dotted field path.
 * @returns `true` for macro names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isMacro } from "./event.ts";
 * assert.ok(isMacro("HOST") && !isMacro("json.host"));
 * ```
 */
export function isMacro(name: string): boolean {
  return name in _MACRO_GETTERS || dateMacroGetter(name) !== undefined;
}

/**
 * Compiles a name into a fast reader: a macro (`HOST`, `YEAR`) or a dotted
 * path into `fields` (`json.alert.rule`). A path that does not exist reads
 * as `undefined`.
 *
 * @param name A macro name or dotted field path.
 * @returns A function that reads the value from an event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent, fieldGetter } from "./event.ts";
 * const rule = fieldGetter("json.rule");
 * const event = createEvent("x", { fields: { json: { rule: "R1" } } });
 * assert.ok(rule(event) === "R1");
 * ```
 */
export function fieldGetter(name: string): FieldGetter {
  const macro = _MACRO_GETTERS[name] ?? dateMacroGetter(name);
  if (macro) return macro;
  const parts = name.split(".");
  if (parts.length === 1) return (e) => e.fields[name];
  if (parts.length === 2) {
    const [a, b] = parts as [string, string];
    return (e) => {
      const v = e.fields[a];
      return v !== null && typeof v === "object" ? (v as Fields)[b] : undefined;
    };
  }
  return (e) => {
    let v: unknown = e.fields;
    for (const part of parts) {
      if (v === null || typeof v !== "object") return undefined;
      v = (v as Fields)[part];
    }
    return v;
  };
}

/**
 * Compiles a name into a writer. Macros set the well-known properties
 * (`SEVERITY` accepts names or numbers); dotted paths create intermediate
 * objects and replace non-object values on the way. Writing `undefined`
 * removes the value.
 *
 * @param name A macro name or dotted field path.
 * @returns A function that writes the value into an event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent, fieldSetter } from "./event.ts";
 * const event = createEvent("x");
 * fieldSetter("geo.country")(event, "FR");
 * assert.ok((event.fields.geo as { country: string }).country === "FR");
 * ```
 */
export function fieldSetter(name: string): FieldSetter {
  const macro = _MACRO_SETTERS[name];
  if (macro) return macro;
  if (name in _MACRO_GETTERS || dateMacroGetter(name)) {
    throw new TypeError(`fieldSetter: "${name}" is a read-only macro`);
  }
  const parts = name.split(".");
  const last = parts.pop() as string;
  return (e, value) => {
    let node: Fields = e.fields;
    for (const part of parts) {
      let next = node[part];
      if (next === null || typeof next !== "object" || Array.isArray(next)) {
        if (value === undefined) return;
        next = {};
        node[part] = next;
      }
      node = next as Fields;
    }
    if (value === undefined) delete node[last];
    else node[last] = value;
  };
}

/**
 * Reads a value by macro name or dotted path. For hot paths, compile once
 * with {@linkcode fieldGetter}.
 *
 * @param event The event to read.
 * @param name A macro name or dotted field path.
 * @returns The value, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent, getField } from "./event.ts";
 * assert.ok(getField(createEvent("hi"), "MSG") === "hi");
 * ```
 */
export function getField(event: LogEvent, name: string): unknown {
  return fieldGetter(name)(event);
}

/**
 * Writes a value by macro name or dotted path. For hot paths, compile once
 * with {@linkcode fieldSetter}.
 *
 * @param event The event to change.
 * @param name A macro name or dotted field path.
 * @param value The value; `undefined` removes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent, setField } from "./event.ts";
 * const event = createEvent("x");
 * setField(event, "HOST", "vm2");
 * assert.ok(event.host === "vm2");
 * ```
 */
export function setField(event: LogEvent, name: string, value: unknown): void {
  fieldSetter(name)(event, value);
}

function _cloneValue(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(_cloneValue);
  const out: Fields = {};
  for (const key in value as Fields) out[key] = _cloneValue((value as Fields)[key]);
  return out;
}

/**
 * Copies an event deeply enough that changing the copy's fields never
 * changes the original. The engine uses it when one event fans out to paths
 * that modify it.
 *
 * @param event The event to copy.
 * @returns An independent copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cloneEvent, createEvent } from "./event.ts";
 * const a = createEvent("x", { fields: { n: { v: 1 } } });
 * const b = cloneEvent(a);
 * (b.fields.n as { v: number }).v = 2;
 * assert.ok((a.fields.n as { v: number }).v === 1);
 * ```
 */
export function cloneEvent(event: LogEvent): LogEvent {
  const copy = { ...event };
  copy.fields = _cloneValue(event.fields) as Fields;
  return copy;
}

/**
 * Renders a value as template text: strings as they are, numbers and
 * booleans with `String`, objects and arrays as JSON, nothing as `""`.
 *
 * @param value Any value.
 * @returns Its text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { valueToString } from "./event.ts";
 * assert.ok(valueToString({ a: 1 }) === '{"a":1}');
 * assert.ok(valueToString(undefined) === "");
 * ```
 */
export function valueToString(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/**
 * Serialises an event to a plain JSON-able object: the message, the
 * well-known properties that are set, the ISO time, and the field tree.
 *
 * @param event The event.
 * @returns A plain object for `JSON.stringify`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent, eventToJson } from "./event.ts";
 * const json = eventToJson(createEvent("hi", { host: "vm1" }));
 * assert.ok(json.HOST === "vm1" && json.MESSAGE === "hi");
 * ```
 */
export function eventToJson(event: LogEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const ms = event.timestamp ?? event.receivedAt;
  out.ISODATE = isoDate(ms, event.timestamp === undefined ? undefined : event.tzOffset);
  if (event.host !== undefined) out.HOST = event.host;
  if (event.program !== undefined) out.PROGRAM = event.program;
  if (event.pid !== undefined) out.PID = event.pid;
  if (event.facility !== undefined) out.FACILITY = FACILITY_NAMES[event.facility];
  if (event.severity !== undefined) out.LEVEL = SEVERITY_NAMES[event.severity];
  if (event.sourceIp !== undefined) out.SOURCEIP = event.sourceIp;
  if (event.id !== undefined) out.ID = event.id;
  out.MESSAGE = event.message;
  for (const key in event.fields) out[key] = event.fields[key];
  return out;
}
