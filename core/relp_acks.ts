/**
 * The bytes of plain RELP acknowledgements (`TXNR rsp 6 200 OK\n`), read and
 * written without a frame object, a string or a decoder call per message:
 * a window of thousands of messages is answered by thousands of these, and
 * both sides of a RELP session spend their CPU on them. Everything else is
 * left to the general parser (core/relp_frame.ts) and encoder
 * (core/relp_encode.ts).
 *
 * @module
 */

import { nextTxnr, type RelpFrame, RelpFrameParser } from "./relp_frame.ts";

/** ` rsp 6 200 OK\n`: what follows the transaction number of a plain acknowledgement. */
const _OK_TAIL = [32, 114, 115, 112, 32, 54, 32, 50, 48, 48, 32, 79, 75, 10];
const _TAIL = _OK_TAIL.length;

/**
 * How many decimal digits `n` has (a transaction number or a DATALEN).
 *
 * @param n A whole number from 0.
 * @returns Its number of digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { relpDigits } from "./relp_acks.ts";
 * assert.equal(relpDigits(0), 1);
 * assert.equal(relpDigits(999_999_999), 9);
 * ```
 */
export function relpDigits(n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  return digits;
}

/**
 * Writes `n` in decimal ASCII digits into `out` at `at`.
 *
 * @param out Room for {@linkcode relpDigits} bytes from `at`.
 * @param at Where to start writing.
 * @param n A whole number from 0.
 * @returns Where the writing ended.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeRelpDigits } from "./relp_acks.ts";
 * const out = new Uint8Array(4);
 * assert.equal(writeRelpDigits(out, 1, 205), 4);
 * assert.equal(new TextDecoder().decode(out.subarray(1)), "205");
 * ```
 */
export function writeRelpDigits(out: Uint8Array, at: number, n: number): number {
  const end = at + relpDigits(n);
  let v = n;
  for (let d = end - 1; d >= at; d--) {
    out[d] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  return end;
}

/**
 * Reads plain acknowledgements from `bytes[pos..end)` for as long as they
 * come whole, calling `onOk(txnr)` for each; stops at the first frame that
 * is anything else or is cut off by `end`, and at the first `onOk` that
 * returns `false` (the acknowledgement was not due: the caller breaks the
 * session). Those bytes are for the general parser, or to be kept until
 * more arrive.
 *
 * @param bytes What was read.
 * @param pos Where a frame starts.
 * @param end The end of the bytes read.
 * @param onOk Takes one acknowledgement; `false` stops the scan.
 * @returns Where the scan stopped: the start of the first frame not taken.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scanRelpOks } from "./relp_acks.ts";
 * const bytes = new TextEncoder().encode("7 rsp 6 200 OK\n8 rsp 6 200 OK\n9 rsp 3 500");
 * const seen: number[] = [];
 * const stop = scanRelpOks(bytes, 0, bytes.length, (t) => seen.push(t) > 0);
 * assert.deepEqual(seen, [7, 8]);
 * assert.equal(stop, 30);
 * ```
 */
export function scanRelpOks(
  bytes: Uint8Array,
  pos: number,
  end: number,
  onOk: (txnr: number) => boolean,
): number {
  while (pos < end) {
    let i = pos;
    let txnr = 0;
    for (; i < end && i - pos < 10; i++) {
      const c = bytes[i] as number;
      if (c < 48 || c > 57) break;
      txnr = txnr * 10 + c - 48;
    }
    const digits = i - pos;
    if (digits === 0 || digits > 9 || i + _TAIL > end) return pos;
    for (let k = 0; k < _TAIL; k++) {
      if (bytes[i + k] !== _OK_TAIL[k]) return pos;
    }
    if (!onOk(txnr)) return pos;
    pos = i + _TAIL;
  }
  return pos;
}

/**
 * Writes the plain acknowledgements of `count` transactions from `first`
 * on (numbers as {@linkcode nextTxnr} counts them) into `out` at `at`.
 *
 * @param out Room for {@linkcode relpOksLength} bytes from `at`.
 * @param at Where to start writing.
 * @param first The first transaction number.
 * @param count How many.
 * @returns Where the writing ended.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { relpOksLength, writeRelpOks } from "./relp_acks.ts";
 * const out = new Uint8Array(relpOksLength(9, 2));
 * assert.equal(writeRelpOks(out, 0, 9, 2), out.length);
 * assert.equal(new TextDecoder().decode(out), "9 rsp 6 200 OK\n10 rsp 6 200 OK\n");
 * ```
 */
export function writeRelpOks(out: Uint8Array, at: number, first: number, count: number): number {
  let txnr = first;
  for (let n = 0; n < count; n++) {
    at = writeRelpDigits(out, at, txnr);
    for (let k = 0; k < _TAIL; k++) out[at + k] = _OK_TAIL[k] as number;
    at += _TAIL;
    txnr = nextTxnr(txnr);
  }
  return at;
}

/**
 * Bytes of the plain acknowledgements of `count` transactions from `first`
 * on (see {@linkcode writeRelpOks}).
 *
 * @param first The first transaction number.
 * @param count How many.
 * @returns Their length in bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { relpOksLength } from "./relp_acks.ts";
 * assert.equal(relpOksLength(9, 2), 31);
 * ```
 */
export function relpOksLength(first: number, count: number): number {
  let bytes = count * _TAIL;
  let txnr = first;
  for (let n = 0; n < count; n++) {
    bytes += relpDigits(txnr);
    txnr = nextTxnr(txnr);
  }
  return bytes;
}

/**
 * The answers a RELP client reads: plain acknowledgements are matched in
 * the bytes ({@linkcode scanRelpOks}), anything else (the answer to `open`,
 * a refusal, `serverclose`) goes through the general parser. Read into
 * {@linkcode RelpAnswerReader.room}, then call {@linkcode RelpAnswerReader.took}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RelpAnswerReader } from "./relp_acks.ts";
 * const oks: number[] = [];
 * const others: string[] = [];
 * const reader = new RelpAnswerReader((t) => oks.push(t) > 0, (f) => others.push(f.command));
 * for (const part of ["1 rsp 6 200 OK\n2 rsp 6 2", "00 OK\n0 serverclose 0\n"]) {
 *   const bytes = new TextEncoder().encode(part);
 *   reader.room.set(bytes);
 *   reader.took(bytes.length);
 * }
 * assert.deepEqual(oks, [1, 2]);
 * assert.deepEqual(others, ["serverclose"]);
 * ```
 */
export class RelpAnswerReader {
  readonly #buffer = new Uint8Array(64 * 1024);
  /** Bytes kept from the last read: the start of a frame that had not ended. */
  #kept = 0;
  // Answers are short; the limit only guards against a peer that is not RELP.
  readonly #parser = new RelpFrameParser({ maxDataBytes: 1 << 20 });
  readonly #onOk: (txnr: number) => boolean;
  readonly #onFrame: (frame: RelpFrame) => void;

  /**
   * Creates a reader with nothing read yet.
   *
   * @param onOk Takes a plain acknowledgement; `false` hands it to the parser instead.
   * @param onFrame Takes every other frame.
   */
  constructor(onOk: (txnr: number) => boolean, onFrame: (frame: RelpFrame) => void) {
    this.#onOk = onOk;
    this.#onFrame = onFrame;
  }

  /** Where the next read goes. */
  get room(): Uint8Array {
    return this.#buffer.subarray(this.#kept);
  }

  /**
   * Takes `n` bytes read into {@linkcode RelpAnswerReader.room}.
   *
   * @param n Bytes read.
   * @throws {RelpFrameError} When the bytes are not RELP.
   */
  took(n: number): void {
    const buffer = this.#buffer;
    const end = this.#kept + n;
    this.#kept = 0;
    if (this.#parser.pendingBytes > 0) {
      // The parser holds the start of a frame: it goes on until that ends.
      for (const frame of this.#parser.push(buffer.subarray(0, end))) this.#onFrame(frame);
      return;
    }
    const at = scanRelpOks(buffer, 0, end, this.#onOk);
    if (at === end) return;
    if (end - at < 64 && buffer.subarray(at, end).indexOf(10) < 0) {
      // The start of a frame: kept for the next read.
      buffer.copyWithin(0, at, end);
      this.#kept = end - at;
      return;
    }
    for (const frame of this.#parser.push(buffer.subarray(at, end))) this.#onFrame(frame);
  }
}
