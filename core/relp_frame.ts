/**
 * RELP (the Reliable Event Logging Protocol of rsyslog/librelp) on bytes:
 * a frame parser that copes with frames split across reads and many frames
 * per read, a frame encoder that packs many frames into one write, and the
 * small text formats carried inside frames (offers, responses). Shared by
 * the RELP source and the RELP sink.
 *
 * A frame is `TXNR SP COMMAND SP DATALEN [SP DATA] LF`: TXNR has 1–9
 * digits (0 is reserved for hints such as `serverclose`; a session counts
 * from 1 and wraps from 999,999,999 back to 1), COMMAND 1–32 letters,
 * DATALEN 1–9 digits counting the bytes of DATA, and DATA is absent when
 * DATALEN is 0.
 *
 * @module
 */

import type { LogEvent } from "./event.ts";

/** The largest transaction number; the next one after it is 1. */
export const RELP_MAX_TXNR = 999_999_999;

/** The longest header a valid frame can have: 9 digits, SP, 32 letters, SP, 9 digits, SP. */
const _MAX_HEADER = 9 + 1 + 32 + 1 + 9 + 1;

/** RELP protocol version spoken (librelp speaks and offers version 0). */
export const RELP_VERSION = "0";

/**
 * The transaction number after `txnr`: counts up and wraps from
 * {@linkcode RELP_MAX_TXNR} back to 1 (0 is reserved for hints).
 *
 * @param txnr The current transaction number.
 * @returns The next one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextTxnr } from "./relp_frame.ts";
 * assert.ok(nextTxnr(1) === 2);
 * assert.ok(nextTxnr(999_999_999) === 1);
 * ```
 */
export function nextTxnr(txnr: number): number {
  return txnr >= RELP_MAX_TXNR ? 1 : txnr + 1;
}

/** One parsed frame. */
export interface RelpFrame {
  /** Transaction number (0 for hints). */
  txnr: number;
  /** The command (`open`, `syslog`, `close`, `rsp`, `serverclose` …). */
  command: string;
  /**
   * The data bytes (empty when DATALEN is 0). It may be a view into the
   * chunk given to {@linkcode RelpFrameParser.push}: use it before the chunk
   * is reused.
   */
  data: Uint8Array;
}

/** Why a byte stream is not RELP. */
export type RelpFrameErrorCode = "invalid" | "too-large";

/**
 * Thrown by {@linkcode RelpFrameParser.push} when the stream is not valid
 * RELP (`code` `"invalid"`) or a frame announces more data than allowed
 * (`code` `"too-large"`). The stream cannot be resynchronised: close the
 * connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RelpFrameError } from "./relp_frame.ts";
 * const err = new RelpFrameError("too-large", "RELP frame data of 10 bytes exceeds the limit of 5 bytes");
 * assert.ok(err.code === "too-large");
 * ```
 */
export class RelpFrameError extends Error {
  /** What was wrong. */
  readonly code: RelpFrameErrorCode;

  /**
   * Creates the error.
   *
   * @param code What was wrong.
   * @param message A message naming the offending value.
   */
  constructor(code: RelpFrameErrorCode, message: string) {
    super(message);
    this.name = "RelpFrameError";
    this.code = code;
  }
}

/** Options for {@linkcode RelpFrameParser}. */
export interface RelpFrameParserOptions {
  /** Most DATA bytes one frame may carry; a larger DATALEN is an error. @default {131072} */
  maxDataBytes?: number;
}

const _SYSLOG = [115, 121, 115, 108, 111, 103]; // "syslog"
const _RSP = [114, 115, 112]; // "rsp"

function _isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function _printable(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end && i < start + 20; i++) {
    const c = bytes[i] as number;
    s += c >= 32 && c < 127 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return s;
}

/**
 * Splits a byte stream into RELP frames. Frames may be split anywhere
 * across chunks; a chunk may hold many frames. Data of a frame that lies
 * wholly inside a chunk is returned as a view, without copying.
 *
 * @example Parse two frames, the second split across chunks
 * ```ts
 * import assert from "node:assert/strict";
 * import { RelpFrameParser } from "./relp_frame.ts";
 * const parser = new RelpFrameParser();
 * const enc = new TextEncoder();
 * const first = parser.push(enc.encode("1 syslog 5 hello\n2 sys"));
 * assert.ok(first.length === 1 && first[0]!.command === "syslog");
 * const second = parser.push(enc.encode("log 0\n"));
 * assert.ok(second[0]!.txnr === 2 && second[0]!.data.length === 0);
 * ```
 */
export class RelpFrameParser {
  readonly #max: number;
  /** Bytes of a header that has not ended yet. */
  #head: Uint8Array | null = null;
  /** A frame whose data is still arriving. */
  #frame: RelpFrame | null = null;
  #filled = 0;
  /** The frame's data is complete; its trailer (LF) has not arrived. */
  #needTrailer = false;
  #failed: RelpFrameError | null = null;
  // Results of #header(), kept in fields to avoid an object per frame.
  #txnr = 0;
  #command = "";
  #length = 0;

  /**
   * Creates a parser for one stream.
   *
   * @param options The data limit.
   */
  constructor(options: RelpFrameParserOptions = {}) {
    const max = options.maxDataBytes ?? 131072;
    if (!Number.isInteger(max) || max < 1 || max > RELP_MAX_TXNR) {
      throw new RangeError(
        `RelpFrameParser: "maxDataBytes" must be an integer from 1 to 999999999, got ${max}`,
      );
    }
    this.#max = max;
  }

  /** Bytes held for a frame that has not ended yet. */
  get pendingBytes(): number {
    return (this.#head?.length ?? 0) + (this.#frame ? this.#filled : 0);
  }

  /**
   * Parses a chunk.
   *
   * @param chunk The next bytes of the stream.
   * @returns The frames the chunk completed, in order.
   * @throws {RelpFrameError} When the stream is not RELP or a frame is too large; every later call throws the same error.
   */
  push(chunk: Uint8Array): RelpFrame[] {
    if (this.#failed) throw this.#failed;
    try {
      return this.#push(chunk);
    } catch (err) {
      if (err instanceof RelpFrameError) this.#failed = err;
      throw err;
    }
  }

  #push(chunk: Uint8Array): RelpFrame[] {
    const out: RelpFrame[] = [];
    const end = chunk.length;
    let pos = 0;
    if (this.#frame) {
      pos = this.#continueFrame(chunk, out);
      if (pos < 0) return out;
    } else if (this.#head) {
      const head = this.#head;
      const joined = new Uint8Array(head.length + Math.min(end, _MAX_HEADER + 1));
      joined.set(head);
      joined.set(chunk.subarray(0, joined.length - head.length), head.length);
      const start = this.#header(joined, 0, joined.length);
      if (start < 0) {
        this.#head = joined;
        return out;
      }
      this.#head = null;
      pos = this.#data(chunk, start - head.length, out);
      if (pos < 0) return out;
    }
    while (pos < end) {
      const start = this.#header(chunk, pos, end);
      if (start < 0) {
        this.#head = chunk.slice(pos);
        break;
      }
      pos = this.#data(chunk, start, out);
      if (pos < 0) break;
    }
    return out;
  }

  /**
   * Reads a header at `pos`. Returns where its data starts (for DATALEN 0:
   * where its trailer is), or -1 when the header has not ended in `bytes`.
   */
  #header(bytes: Uint8Array, pos: number, end: number): number {
    let i = pos;
    let txnr = 0;
    let digits = 0;
    for (; i < end; i++) {
      const c = bytes[i] as number;
      if (c >= 48 && c <= 57) {
        if (++digits > 9) {
          throw new RelpFrameError(
            "invalid",
            `RELP transaction number has more than 9 digits ("${_printable(bytes, pos, end)}")`,
          );
        }
        txnr = txnr * 10 + c - 48;
      } else if (c === 32 && digits > 0) break;
      else {
        throw new RelpFrameError(
          "invalid",
          `RELP frame must start with a transaction number, got "${_printable(bytes, pos, end)}"`,
        );
      }
    }
    if (i >= end) return -1;
    const cmdStart = ++i;
    for (; i < end; i++) {
      const c = bytes[i] as number;
      if (_isLetter(c)) {
        if (i - cmdStart >= 32) {
          throw new RelpFrameError("invalid", "RELP command is longer than 32 letters");
        }
      } else if (c === 32 && i > cmdStart) break;
      else {
        throw new RelpFrameError(
          "invalid",
          `RELP command must be 1 to 32 letters, got "${_printable(bytes, cmdStart, end)}"`,
        );
      }
    }
    if (i >= end) return -1;
    const cmdEnd = i;
    let length = 0;
    digits = 0;
    for (i++; i < end; i++) {
      const c = bytes[i] as number;
      if (c >= 48 && c <= 57) {
        if (++digits > 9) {
          throw new RelpFrameError("invalid", "RELP DATALEN has more than 9 digits");
        }
        length = length * 10 + c - 48;
      } else if (digits === 0) {
        throw new RelpFrameError(
          "invalid",
          `RELP DATALEN must be a number, got "${_printable(bytes, i, end)}"`,
        );
      } else break;
    }
    if (i >= end) return -1;
    if (length > this.#max) {
      throw new RelpFrameError(
        "too-large",
        `RELP frame data of ${length} bytes exceeds the limit of ${this.#max} bytes (maxDataBytes)`,
      );
    }
    this.#txnr = txnr;
    this.#command = _command(bytes, cmdStart, cmdEnd);
    this.#length = length;
    if (length === 0) return i; // the trailer must follow the digits
    if (bytes[i] !== 32) {
      throw new RelpFrameError(
        "invalid",
        `RELP DATALEN must be followed by a space, got "${_printable(bytes, i, end)}"`,
      );
    }
    return i + 1;
  }

  /**
   * Takes the data and trailer of the frame whose header was just read.
   * Returns the position after the frame, or -1 when the chunk ended first.
   */
  #data(chunk: Uint8Array, start: number, out: RelpFrame[]): number {
    const length = this.#length;
    const end = chunk.length;
    if (start + length < end) {
      if (chunk[start + length] !== 10) this.#badTrailer(chunk, start + length);
      out.push({
        txnr: this.#txnr,
        command: this.#command,
        data: chunk.subarray(start, start + length),
      });
      return start + length + 1;
    }
    const data = new Uint8Array(length);
    const have = end - start;
    data.set(chunk.subarray(start, end));
    this.#frame = { txnr: this.#txnr, command: this.#command, data };
    this.#filled = have;
    this.#needTrailer = have === length;
    return -1;
  }

  /** Continues a frame whose data is arriving. Returns the position after it or -1. */
  #continueFrame(chunk: Uint8Array, out: RelpFrame[]): number {
    const frame = this.#frame as RelpFrame;
    let pos = 0;
    if (!this.#needTrailer) {
      const want = frame.data.length - this.#filled;
      const n = Math.min(want, chunk.length);
      frame.data.set(chunk.subarray(0, n), this.#filled);
      this.#filled += n;
      pos = n;
      if (n < want) return -1;
      this.#needTrailer = true;
    }
    if (pos >= chunk.length) return -1;
    if (chunk[pos] !== 10) this.#badTrailer(chunk, pos);
    this.#frame = null;
    this.#needTrailer = false;
    this.#filled = 0;
    out.push(frame);
    return pos + 1;
  }

  #badTrailer(bytes: Uint8Array, at: number): never {
    throw new RelpFrameError(
      "invalid",
      `RELP frame ${this.#frame?.txnr ?? this.#txnr} does not end with LF after its ${
        this.#frame?.data.length ?? this.#length
      } data bytes (got "${_printable(bytes, at, bytes.length)}")`,
    );
  }
}

function _command(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 6 && _same(bytes, start, _SYSLOG)) return "syslog";
  if (n === 3 && _same(bytes, start, _RSP)) return "rsp";
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}

function _same(bytes: Uint8Array, start: number, word: number[]): boolean {
  for (let i = 0; i < word.length; i++) if (bytes[start + i] !== word[i]) return false;
  return true;
}

const _encoder = new TextEncoder();

/**
 * Packs frames into one buffer, so a window of messages goes out in one
 * write. DATA given as a string is encoded as UTF-8 straight into the
 * buffer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RelpFrameEncoder } from "./relp_frame.ts";
 * const encoder = new RelpFrameEncoder();
 * encoder.add(1, "syslog", "héllo");
 * encoder.add(2, "close");
 * const text = new TextDecoder().decode(encoder.take());
 * assert.ok(text === "1 syslog 6 héllo\n2 close 0\n");
 * ```
 */
export class RelpFrameEncoder {
  #buf: Uint8Array;
  #len = 0;

  /**
   * Creates an empty encoder.
   *
   * @param capacity Initial buffer size in bytes; it grows as needed. @default {65536}
   */
  constructor(capacity = 65536) {
    this.#buf = new Uint8Array(Math.max(64, capacity));
  }

  /** Bytes packed so far. */
  get length(): number {
    return this.#len;
  }

  /**
   * Appends one frame.
   *
   * @param txnr Transaction number (0 for hints).
   * @param command The command, 1–32 letters.
   * @param data The data, as UTF-8 text or bytes; none when left out.
   * @returns The number of DATA bytes written.
   */
  add(txnr: number, command: string, data?: string | Uint8Array): number {
    const head = `${txnr} ${command} `;
    const reserve = head.length + 11; // header, up to 9 DATALEN digits and SP
    let dataLen: number;
    if (data === undefined || data.length === 0) {
      this.#ensure(reserve + 1);
      this.#len += _encoder.encodeInto(`${head}0\n`, this.#buf.subarray(this.#len)).written;
      return 0;
    }
    if (typeof data === "string") {
      // Encode the data past the longest possible header, then move it
      // down behind the real header once its byte length is known.
      this.#ensure(reserve + data.length * 3 + 1);
      const at = this.#len + reserve;
      dataLen = _encoder.encodeInto(data, this.#buf.subarray(at)).written;
      const header = `${head}${dataLen} `;
      const hl = _encoder.encodeInto(header, this.#buf.subarray(this.#len)).written;
      this.#buf.copyWithin(this.#len + hl, at, at + dataLen);
      this.#len += hl + dataLen;
    } else {
      dataLen = data.length;
      this.#ensure(reserve + dataLen + 1);
      this.#len += _encoder.encodeInto(`${head}${dataLen} `, this.#buf.subarray(this.#len)).written;
      this.#buf.set(data, this.#len);
      this.#len += dataLen;
    }
    this.#buf[this.#len++] = 10;
    return dataLen;
  }

  /**
   * Returns the packed frames and starts empty again.
   *
   * @returns A copy of the bytes packed since the last take.
   */
  take(): Uint8Array {
    const out = this.#buf.slice(0, this.#len);
    this.#len = 0;
    return out;
  }

  #ensure(extra: number): void {
    const need = this.#len + extra;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buf.subarray(0, this.#len));
    this.#buf = grown;
  }
}

/**
 * Encodes a single frame.
 *
 * @param txnr Transaction number (0 for hints).
 * @param command The command.
 * @param data The data, as UTF-8 text or bytes; none when left out.
 * @returns The frame's bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRelpFrame } from "./relp_frame.ts";
 * const bytes = encodeRelpFrame(0, "serverclose");
 * assert.ok(new TextDecoder().decode(bytes) === "0 serverclose 0\n");
 * ```
 */
export function encodeRelpFrame(
  txnr: number,
  command: string,
  data?: string | Uint8Array,
): Uint8Array {
  const encoder = new RelpFrameEncoder(64 + (data?.length ?? 0) * 3);
  encoder.add(txnr, command, data);
  return encoder.take();
}

/**
 * Reads the offers of an `open` command or of its response body:
 * `name=value,value` lines separated by LF.
 *
 * @param text The offers text.
 * @returns Each offer's values by name (an offer without `=` has none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRelpOffers } from "./relp_frame.ts";
 * const offers = parseRelpOffers("relp_version=0\nrelp_software=librelp,1.11.0\ncommands=syslog");
 * assert.ok(offers.get("commands")?.[0] === "syslog");
 * assert.ok(offers.get("relp_software")?.length === 2);
 * ```
 */
export function parseRelpOffers(text: string): Map<string, string[]> {
  const offers = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const eq = line.indexOf("=");
    const name = eq < 0 ? line : line.slice(0, eq);
    const values = eq < 0 ? [] : line.slice(eq + 1).split(",").filter((v) => v !== "");
    offers.set(name, values);
  }
  return offers;
}

/**
 * Writes offers as `name=value,value` lines separated by LF.
 *
 * @param offers Values by offer name.
 * @returns The offers text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRelpOffers } from "./relp_frame.ts";
 * const text = formatRelpOffers([["relp_version", ["0"]], ["commands", ["syslog"]]]);
 * assert.ok(text === "relp_version=0\ncommands=syslog");
 * ```
 */
export function formatRelpOffers(offers: Iterable<readonly [string, readonly string[]]>): string {
  const lines: string[] = [];
  for (const [name, values] of offers) lines.push(`${name}=${values.join(",")}`);
  return lines.join("\n");
}

/** The data of an `rsp` frame. */
export interface RelpResponse {
  /** The status: 200 is OK, anything else an error. */
  code: number;
  /** The human-readable text after the code (`OK`). */
  text: string;
  /** What follows the first LF (the offers of an `open` response), or `""`. */
  body: string;
}

/**
 * Reads the data of an `rsp` frame: `CODE [SP TEXT] [LF BODY]`.
 *
 * @param data The frame's data as text.
 * @returns The response, or `undefined` when it does not start with a three-digit code (as the empty answer to `close`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRelpResponse } from "./relp_frame.ts";
 * const rsp = parseRelpResponse("200 OK\nrelp_version=0");
 * assert.ok(rsp?.code === 200 && rsp.text === "OK" && rsp.body === "relp_version=0");
 * assert.ok(parseRelpResponse("") === undefined);
 * ```
 */
export function parseRelpResponse(data: string): RelpResponse | undefined {
  if (!/^\d{3}(?: |\n|$)/.test(data)) return undefined;
  const code = Number(data.slice(0, 3));
  const nl = data.indexOf("\n");
  const line = nl < 0 ? data : data.slice(0, nl);
  return {
    code,
    text: line.length > 4 ? line.slice(4) : "",
    body: nl < 0 ? "" : data.slice(nl + 1),
  };
}

/**
 * The RFC 5424 SD-ID under which the RELP sink sends an event's id:
 * `[sluice@32473 id="…"]` (32473 is the private enterprise number that
 * RFC 5612 reserves for documentation and examples).
 */
export const RELP_ID_SDID = "sluice@32473";

const _SD_PREFIX = `[${RELP_ID_SDID} `;

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
 * gets user.notice (PRI 13); a timestamp without a known zone is written in
 * UTC with `Z`. Without an id the structured data is `-`. Any RFC 5424
 * receiver (rsyslog, syslog-ng) reads it; {@linkcode unwrapRelpEnvelope}
 * restores the event at a sluice receiver.
 *
 * @param event The event.
 * @returns The syslog message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRelpEnvelope } from "./relp_frame.ts";
 * import { createEvent } from "./event.ts";
 * const text = formatRelpEnvelope(createEvent('{"a":1}', { id: "tail:42", host: "vm-1" }));
 * assert.ok(text === '<13>1 - vm-1 - - - [sluice@32473 id="tail:42"] {"a":1}');
 * ```
 */
export function formatRelpEnvelope(event: LogEvent): string {
  const pri = (event.facility ?? 1) * 8 + (event.severity ?? 5);
  const sd = event.id === undefined ? "-" : `${_SD_PREFIX}id="${_sdEscape(event.id)}"]`;
  return `<${pri}>1 ${_timestamp(event.timestamp, event.tzOffset)} ${_hostToken.get(event.host)} ${
    _programToken.get(event.program)
  } ${_pidToken.get(event.pid)} - ${sd} ${event.message}`;
}

/**
 * Restores an event that {@linkcode formatRelpEnvelope} wrapped: when
 * `event.message` is an RFC 5424 message whose structured data is exactly
 * one `sluice@32473` element with an `id`, sets `id`, `facility`,
 * `severity`, `timestamp`/`tzOffset`, `host`, `program` and `pid` from it
 * and leaves the original message in `event.message`. Any other message is
 * left alone.
 *
 * @param event The received event; changed in place.
 * @returns `true` when the message was a sluice envelope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unwrapRelpEnvelope } from "./relp_frame.ts";
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
  const pri = Number(s.slice(1, gt));
  if (!Number.isInteger(pri) || pri < 0 || pri > 191) return false;
  const tokens: string[] = [];
  let p = gt + 3;
  for (let k = 0; k < 5; k++) {
    const sp = s.indexOf(" ", p);
    if (sp < 0) return false;
    tokens.push(s.slice(p, sp));
    p = sp + 1;
  }
  if (!s.startsWith(_SD_PREFIX, p)) return false;
  p += _SD_PREFIX.length;
  let id: string | undefined;
  for (;;) {
    const eq = s.indexOf('="', p);
    if (eq < 0) return false;
    const name = s.slice(p, eq);
    let value = "";
    let i = eq + 2;
    const quote = s.indexOf('"', i);
    const slash = s.indexOf("\\", i);
    if (quote >= 0 && (slash < 0 || slash > quote)) {
      // No escapes: the common case.
      value = s.slice(i, quote);
      i = quote;
    } else {
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
    if (name === "id") id = value;
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
  const [stamp, host, program, pid] = tokens as [string, string, string, string];
  if (stamp !== "-") {
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
  event.facility = pri >> 3;
  event.severity = pri & 7;
  if (host !== "-") event.host = host;
  if (program !== "-") event.program = program;
  if (pid !== "-") event.pid = pid;
  event.message = message;
  return true;
}
