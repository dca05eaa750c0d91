/**
 * RELP (the Reliable Event Logging Protocol of rsyslog/librelp) on bytes:
 * a frame parser that copes with frames split across reads and many frames
 * per read, and the transaction numbers. Shared by the RELP source and the
 * RELP sink; frames out (the encoder, offers, responses) are
 * core/relp_encode.ts, the RFC 5424 envelope core/relp_envelope.ts.
 *
 * A frame is `TXNR SP COMMAND SP DATALEN [SP DATA] LF`: TXNR has 1–9
 * digits (0 is reserved for hints such as `serverclose`; a session counts
 * from 1 and wraps from 999,999,999 back to 1), COMMAND 1–32 letters,
 * DATALEN 1–9 digits counting the bytes of DATA, and DATA is absent when
 * DATALEN is 0.
 *
 * @module
 */

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
