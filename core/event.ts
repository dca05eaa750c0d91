/**
 * The event model: a raw message, a tree of fields, and the well-known
 * syslog properties addressed by their syslog-ng macro names.
 *
 * @module
 */

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

/** Severity names by number, as syslog-ng prints `${LEVEL}`. */
export const SEVERITY_NAMES: readonly string[] = [
  "emerg",
  "alert",
  "crit",
  "err",
  "warning",
  "notice",
  "info",
  "debug",
];

/** Facility names by number, as syslog-ng prints `${FACILITY}`. */
export const FACILITY_NAMES: readonly string[] = [
  "kern",
  "user",
  "mail",
  "daemon",
  "auth",
  "syslog",
  "lpr",
  "news",
  "uucp",
  "cron",
  "authpriv",
  "ftp",
  "ntp",
  "security",
  "console",
  "solaris-cron",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
];

const _SEVERITY_ALIASES: Record<string, number> = {
  emergency: 0,
  panic: 0,
  critical: 2,
  error: 3,
  warn: 4,
  informational: 6,
};

/**
 * Turns a severity name (`"warning"`, `"err"`, `"critical"`) or number into 0–7.
 *
 * @param value A name, an alias such as `"error"` or `"warn"`, or a number.
 * @returns The severity number, or `undefined` when the value names none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { severityNumber } from "./event.ts";
 * assert.ok(severityNumber("critical") === 2);
 * assert.ok(severityNumber("warning") === 4);
 * ```
 */
export function severityNumber(value: unknown): number | undefined {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 && value <= 7 ? value : undefined;
  }
  if (typeof value !== "string") return undefined;
  const name = value.trim().toLowerCase();
  const index = SEVERITY_NAMES.indexOf(name);
  if (index >= 0) return index;
  const alias = _SEVERITY_ALIASES[name];
  if (alias !== undefined) return alias;
  if (/^[0-7]$/.test(name)) return Number(name);
  return undefined;
}

/**
 * Turns a facility name (`"auth"`, `"local0"`) or number into 0–23.
 *
 * @param value A facility name or number.
 * @returns The facility number, or `undefined` when the value names none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { facilityNumber } from "./event.ts";
 * assert.ok(facilityNumber("authpriv") === 10);
 * ```
 */
export function facilityNumber(value: unknown): number | undefined {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 && value <= 23 ? value : undefined;
  }
  if (typeof value !== "string") return undefined;
  const name = value.trim().toLowerCase();
  const index = FACILITY_NAMES.indexOf(name);
  if (index >= 0) return index;
  if (/^\d{1,2}$/.test(name) && Number(name) <= 23) return Number(name);
  return undefined;
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

function _pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** The clock fields of an event's time, in the event's own time zone. */
interface _Clock {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  ms: number;
  offset: number;
}

// Events come in bursts from the same second: the clock fields are worked out once a
// second (per zone) and only the milliseconds change. The result is shared and only
// read at once by the caller.
let _memoSecond = NaN;
let _memoZone: number | undefined;
let _memo: _Clock = { year: 0, month: 0, day: 0, hour: 0, min: 0, sec: 0, ms: 0, offset: 0 };
// The local zone's offset only changes on a quarter of an hour (DST, zone changes).
let _zoneQuarter = NaN;
let _zoneOffset = 0;

function _localOffset(ms: number): number {
  const quarter = Math.floor(ms / 900_000);
  if (quarter !== _zoneQuarter) {
    _zoneOffset = -new Date(ms).getTimezoneOffset();
    _zoneQuarter = quarter;
  }
  return _zoneOffset;
}

function _clock(ms: number, offsetMinutes: number | undefined): _Clock {
  const second = Math.floor(ms / 1000);
  if (second !== _memoSecond || offsetMinutes !== _memoZone || Number.isNaN(second)) {
    const offset = offsetMinutes ?? _localOffset(ms);
    const d = new Date(second * 1000 + offset * 60_000);
    _memo = {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      min: d.getUTCMinutes(),
      sec: d.getUTCSeconds(),
      ms: 0,
      offset,
    };
    _memoSecond = second;
    _memoZone = offsetMinutes;
  }
  _memo.ms = Math.floor(ms - second * 1000);
  return _memo;
}

function _tz(offset: number): string {
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${sign}${_pad(Math.floor(abs / 60))}:${_pad(abs % 60)}`;
}

/**
 * Formats a time as syslog-ng's `${ISODATE}` does: `2026-11-23T09:48:00+01:00`.
 *
 * @param ms Milliseconds since the epoch.
 * @param offsetMinutes Time zone offset east of UTC; the local zone when omitted.
 * @returns The ISO 8601 text with the zone offset.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isoDate } from "./event.ts";
 * assert.ok(isoDate(0, 0) === "1970-01-01T00:00:00+00:00");
 * ```
 */
export function isoDate(ms: number, offsetMinutes?: number): string {
  const c = _clock(ms, offsetMinutes);
  return `${c.year}-${_pad(c.month)}-${_pad(c.day)}T${_pad(c.hour)}:${_pad(c.min)}:${_pad(c.sec)}${
    _tz(c.offset)
  }`;
}

type _DateMacro = (c: _Clock, ms: number) => string;

const _DATE_MACROS: Record<string, _DateMacro> = {
  ISODATE: (c) =>
    `${c.year}-${_pad(c.month)}-${_pad(c.day)}T${_pad(c.hour)}:${_pad(c.min)}:${_pad(c.sec)}${
      _tz(c.offset)
    }`,
  DATE: (c) => `${c.year}-${_pad(c.month)}-${_pad(c.day)}`,
  YEAR: (c) => String(c.year),
  MONTH: (c) => _pad(c.month),
  DAY: (c) => _pad(c.day),
  HOUR: (c) => _pad(c.hour),
  MIN: (c) => _pad(c.min),
  SEC: (c) => _pad(c.sec),
  MSEC: (c) => _pad(c.ms, 3),
  TZOFFSET: (c) => _tz(c.offset),
  UNIXTIME: (_c, ms) => String(Math.floor(ms / 1000)),
};

function _dateGetter(name: string): FieldGetter | undefined {
  let which: "stamp" | "received" = "stamp";
  let base = name;
  if (name.startsWith("R_")) {
    which = "received";
    base = name.slice(2);
  } else if (name.startsWith("S_")) base = name.slice(2);
  const macro = _DATE_MACROS[base];
  if (!macro) return undefined;
  if (which === "received") {
    return (e) => macro(_clock(e.receivedAt, undefined), e.receivedAt);
  }
  return (e) => {
    const ms = e.timestamp ?? e.receivedAt;
    return macro(_clock(ms, e.timestamp === undefined ? undefined : e.tzOffset), ms);
  };
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
  return name in _MACRO_GETTERS || _dateGetter(name) !== undefined;
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
  const macro = _MACRO_GETTERS[name] ?? _dateGetter(name);
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
  if (name in _MACRO_GETTERS || _dateGetter(name)) {
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
