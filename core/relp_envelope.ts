/**
 * The RFC 5424 envelope in which the RELP sink sends an event (its host,
 * program, pid, time and id around the message) and the source's unwrapping
 * of it.
 *
 * @module
 */

import type { LogEvent } from "./event.ts";
/**
 * The RFC 5424 SD-ID under which the RELP sink sends an event's id:
 * `[sluice@32473 id="…"]` (32473 is the private enterprise number that
 * RFC 5612 reserves for documentation and examples).
 */
export const RELP_ID_SDID = "sluice@32473";

const _SD_PREFIX = `[${RELP_ID_SDID} `;
/** The `nopri` parameter: which half of the PRI the sender did not have (`f`, `s`, or both). */
const _NOPRI_BOTH = ' nopri="fs"';
const _NOPRI_FACILITY = ' nopri="f"';
const _NOPRI_SEVERITY = ' nopri="s"';

function _token(value: string | undefined, max: number): string {
  if (value === undefined || value === "") return "-";
  const clean = value.replace(/[^\x21-\x7e]/g, "_");
  return clean.length > max ? clean.slice(0, max) : clean;
}

/** {@linkcode _token} remembering its last value: a sender's host (and mostly its program) repeats. */
class _TokenCache {
  #value: string | undefined = "";
  #token = "-";
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  get(value: string | undefined): string {
    if (value === this.#value) return this.#token;
    this.#value = value;
    return (this.#token = _token(value, this.#max));
  }
}

const _hostToken = new _TokenCache(255);
const _programToken = new _TokenCache(48);
const _pidToken = new _TokenCache(128);

const _SD_SPECIAL = /["\\\]]/;

function _sdEscape(value: string): string {
  return _SD_SPECIAL.test(value) ? value.replace(/["\\\]]/g, "\\$&") : value;
}

function _pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function _timestamp(ms: number | undefined, offset: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  const iso = new Date(ms + (offset ?? 0) * 60_000).toISOString();
  if (iso.length !== 24) return "-"; // years outside 0000–9999 have no RFC 5424 form
  if (offset === undefined) return iso;
  const abs = Math.abs(offset);
  return `${iso.slice(0, -1)}${offset < 0 ? "-" : "+"}${_pad2(Math.floor(abs / 60))}:${
    _pad2(abs % 60)
  }`;
}

/**
 * Wraps an event into the RFC 5424 message the RELP sink sends:
 * `<PRI>1 TIMESTAMP HOST PROGRAM PID - [sluice@32473 id="ID"] MESSAGE`.
 * Unknown parts are `-` (NILVALUE); an event without facility or severity
 * gets user.notice (PRI 13), which RFC 5424 requires, and `nopri="fs"`
 * (`"f"`, `"s"`: the half it lacked) in the structured data, so a sluice
 * receiver does not store a priority the event never had; a timestamp
 * without a known zone is written in UTC with `Z`. Without an id the
 * structured data is `-` (and the invented PRI stays). Any RFC 5424
 * receiver (rsyslog, syslog-ng) reads it; {@linkcode unwrapRelpEnvelope}
 * restores the event at a sluice receiver.
 *
 * @param event The event.
 * @returns The syslog message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRelpEnvelope } from "./relp_envelope.ts";
 * import { createEvent } from "./event.ts";
 * const text = formatRelpEnvelope(createEvent('{"a":1}', { id: "tail:42", host: "vm-1" }));
 * assert.ok(text === '<13>1 - vm-1 - - - [sluice@32473 id="tail:42" nopri="fs"] {"a":1}');
 * ```
 */
export function formatRelpEnvelope(event: LogEvent): string {
  const facility = event.facility;
  const severity = event.severity;
  const pri = (facility ?? 1) * 8 + (severity ?? 5);
  if (event.id === undefined) return `${_header(event, pri)}- ${event.message}`;
  // The PRI RFC 5424 requires is invented for an event that has none: say which half, so the
  // receiver stores the event as it was sent (no "user"/"notice" it never had).
  const nopri = facility === undefined
    ? severity === undefined ? _NOPRI_BOTH : _NOPRI_FACILITY
    : severity === undefined
    ? _NOPRI_SEVERITY
    : "";
  return `${_header(event, pri)}${_SD_PREFIX}id="${_sdEscape(event.id)}"${nopri}] ${event.message}`;
}

/** The last header made, and what it was made of: a sender's events mostly share theirs. */
const _last = {
  pri: -1,
  timestamp: undefined as number | undefined,
  tzOffset: undefined as number | undefined,
  host: undefined as string | undefined,
  program: undefined as string | undefined,
  pid: undefined as string | undefined,
  text: "",
};

/** `<PRI>1 TIMESTAMP HOST PROGRAM PID - ` of an event. */
function _header(event: LogEvent, pri: number): string {
  const l = _last;
  if (
    l.pri === pri && l.timestamp === event.timestamp && l.tzOffset === event.tzOffset &&
    l.host === event.host && l.program === event.program && l.pid === event.pid
  ) return l.text;
  l.pri = pri;
  l.timestamp = event.timestamp;
  l.tzOffset = event.tzOffset;
  l.host = event.host;
  l.program = event.program;
  l.pid = event.pid;
  return (l.text = `<${pri}>1 ${_timestamp(event.timestamp, event.tzOffset)} ${
    _hostToken.get(event.host)
  } ${_programToken.get(event.program)} ${_pidToken.get(event.pid)} - `);
}

/** Whether `s[from..to)` is the NILVALUE `-`. */
function _nil(s: string, from: number, to: number): boolean {
  return to === from + 1 && s.charCodeAt(from) === 45;
}

let _lastHost = "";

/** The host token: a sender's host repeats, so the last one is reused instead of a new slice. */
function _hostOf(s: string, from: number, to: number): string {
  const last = _lastHost;
  if (last.length === to - from && s.startsWith(last, from)) return last;
  return (_lastHost = s.slice(from, to));
}

/**
 * Restores an event that {@linkcode formatRelpEnvelope} wrapped: when
 * `event.message` is an RFC 5424 message whose structured data is exactly
 * one `sluice@32473` element with an `id`, sets `id`, `facility`,
 * `severity` (but the half `nopri` says the sender did not have),
 * `timestamp`/`tzOffset`, `host`, `program` and `pid` from it and leaves
 * the original message in `event.message`. Any other message is left alone.
 *
 * @param event The received event; changed in place.
 * @returns `true` when the message was a sluice envelope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unwrapRelpEnvelope } from "./relp_envelope.ts";
 * import { createEvent } from "./event.ts";
 * const event = createEvent('<13>1 - vm-1 - - - [sluice@32473 id="tail:42"] {"a":1}');
 * assert.ok(unwrapRelpEnvelope(event));
 * assert.ok(event.id === "tail:42" && event.host === "vm-1" && event.message === '{"a":1}');
 * ```
 */
export function unwrapRelpEnvelope(event: LogEvent): boolean {
  const s = event.message;
  if (s.charCodeAt(0) !== 60) return false;
  const gt = s.indexOf(">", 1);
  if (gt < 2 || gt > 4 || s.charCodeAt(gt + 1) !== 49 || s.charCodeAt(gt + 2) !== 32) {
    return false;
  }
  let pri = 0;
  for (let i = 1; i < gt; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    pri = pri * 10 + c - 48;
  }
  if (pri > 191) return false;
  // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each ended by a space.
  let p = gt + 3;
  const stampEnd = s.indexOf(" ", p);
  if (stampEnd < 0) return false;
  const stampAt = p;
  const hostAt = stampEnd + 1;
  const hostEnd = s.indexOf(" ", hostAt);
  if (hostEnd < 0) return false;
  const programAt = hostEnd + 1;
  const programEnd = s.indexOf(" ", programAt);
  if (programEnd < 0) return false;
  const pidAt = programEnd + 1;
  const pidEnd = s.indexOf(" ", pidAt);
  if (pidEnd < 0) return false;
  const msgidEnd = s.indexOf(" ", pidEnd + 1);
  if (msgidEnd < 0) return false;
  p = msgidEnd + 1;
  if (!s.startsWith(_SD_PREFIX, p)) return false;
  p += _SD_PREFIX.length;
  let id: string | undefined;
  let nopri: string | undefined;
  for (;;) {
    const eq = s.indexOf('="', p);
    if (eq < 0) return false;
    const isId = eq - p === 2 && s.startsWith("id", p);
    const isNopri = eq - p === 5 && s.startsWith("nopri", p);
    let value = "";
    let i = eq + 2;
    const quote = s.indexOf('"', i);
    // Only the value is searched for a backslash, not the message after it; in the slice,
    // by indexOf: charCodeAt on a received message (a slice of the read) costs ~8 ns a
    // character, a third of unwrapping (issue 26).
    if (quote >= 0) value = s.slice(i, quote);
    if (quote >= 0 && value.indexOf("\\") < 0) {
      // No escapes: the common case.
      i = quote;
    } else {
      value = "";
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c === 34) break;
        if (c === 92 && i + 1 < s.length) {
          const n = s[i + 1] as string;
          if (n === '"' || n === "\\" || n === "]") {
            value += n;
            i++;
            continue;
          }
        }
        value += s[i];
      }
    }
    if (i >= s.length) return false;
    if (isId) id = value;
    else if (isNopri) nopri = value;
    i++;
    if (s.charCodeAt(i) === 93) {
      p = i + 1;
      break;
    }
    if (s.charCodeAt(i) !== 32) return false;
    p = i + 1;
  }
  if (id === undefined) return false;
  let message = "";
  if (p < s.length) {
    if (s.charCodeAt(p) !== 32) return false;
    message = s.slice(s.charCodeAt(p + 1) === 0xfeff ? p + 2 : p + 1);
  }
  if (!_nil(s, stampAt, stampEnd)) {
    const stamp = s.slice(stampAt, stampEnd);
    const ms = Date.parse(stamp);
    if (Number.isFinite(ms)) {
      event.timestamp = ms;
      const zone = /([+-])(\d\d):(\d\d)$/.exec(stamp);
      if (zone) {
        const minutes = Number(zone[2]) * 60 + Number(zone[3]);
        event.tzOffset = zone[1] === "-" ? -minutes : minutes;
      }
    }
  }
  event.id = id;
  // `nopri` names the half of the PRI the sender made up (see formatRelpEnvelope).
  if (nopri === undefined || nopri.indexOf("f") < 0) event.facility = pri >> 3;
  if (nopri === undefined || nopri.indexOf("s") < 0) event.severity = pri & 7;
  if (!_nil(s, hostAt, hostEnd)) event.host = _hostOf(s, hostAt, hostEnd);
  if (!_nil(s, programAt, programEnd)) event.program = s.slice(programAt, programEnd);
  if (!_nil(s, pidAt, pidEnd)) event.pid = s.slice(pidAt, pidEnd);
  event.message = message;
  return true;
}
