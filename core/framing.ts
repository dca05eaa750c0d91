/**
 * Byte-level newline framing shared by every stream source (tcp, stdin,
 * file-tail): splits chunks into lines without copying more than needed,
 * cuts oversized lines, keeps invalid UTF-8 (as U+FFFD) and flags it, and
 * reports each line's end offset for checkpoints and event ids.
 *
 * @module
 */

import { MAX_DECODED_BYTES } from "./_decode_limit.ts";

/** Per-line flag: the line was longer than `maxLineBytes` and was cut. */
export const LINE_TRUNCATED = 1;
/** Per-line flag: the line was not valid UTF-8; bad bytes became U+FFFD. */
export const LINE_INVALID_UTF8 = 2;

/** Lines framed from one chunk. */
export interface FramedLines {
  /** The lines, without their `\n` (and without a trailing `\r`). */
  lines: string[];
  /** For each line, the stream offset just past its newline. */
  ends: number[];
  /** For each line, {@linkcode LINE_TRUNCATED} | {@linkcode LINE_INVALID_UTF8} bits; `null` when no line has a flag. */
  flags: Uint8Array | null;
}

/** Options for {@linkcode LineFramer}. */
export interface LineFramerOptions {
  /** Longest line in bytes; longer lines are cut to this and the rest up to the newline is skipped. @default {65536} */
  maxLineBytes?: number;
  /** Stream offset of the first byte pushed (to resume a file at a checkpoint). @default {0} */
  startOffset?: number;
}

const _utf8 = new TextDecoder("utf-8");
const _utf8Fatal = new TextDecoder("utf-8", { fatal: true });

/**
 * Splits a byte stream into lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineFramer } from "./framing.ts";
 * const framer = new LineFramer();
 * const enc = new TextEncoder();
 * assert.ok(framer.push(enc.encode("a\nb")).lines.join() === "a");
 * const next = framer.push(enc.encode("c\n"));
 * assert.ok(next.lines[0] === "bc" && next.ends[0] === 5);
 * ```
 */
export class LineFramer {
  /** Lines cut because they were too long. */
  truncated = 0;
  /** Lines that were not valid UTF-8. */
  invalidUtf8 = 0;
  readonly #max: number;
  #position: number;
  #pending: Uint8Array | null = null;
  #discarding = false;

  /**
   * Creates a framer.
   *
   * @param options Line limit and start offset.
   */
  constructor(options: LineFramerOptions = {}) {
    const max = options.maxLineBytes ?? 65536;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`LineFramer: "maxLineBytes" must be a positive integer, got ${max}`);
    }
    this.#max = max;
    this.#position = options.startOffset ?? 0;
  }

  /** Stream offset of the next byte to be pushed. */
  get position(): number {
    return this.#position;
  }

  /** Bytes held for a line whose newline has not arrived. */
  get pendingBytes(): number {
    return this.#pending?.length ?? 0;
  }

  /**
   * Frames a chunk. The chunk may be reused by the caller afterwards.
   *
   * @param chunk The next bytes of the stream.
   * @returns The complete lines it finished.
   */
  push(chunk: Uint8Array): FramedLines {
    const out: FramedLines = { lines: [], ends: [], flags: null };
    const base = this.#position;
    this.#position += chunk.length;
    let start = 0;
    if (this.#discarding) {
      const nl = chunk.indexOf(10);
      if (nl < 0) return out;
      this.#discarding = false;
      start = nl + 1;
    }
    if (this.#pending) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        this.#hold(chunk.subarray(start), out, base + chunk.length);
        return out;
      }
      const pending = this.#pending;
      this.#pending = null;
      const line = new Uint8Array(pending.length + nl - start);
      line.set(pending);
      line.set(chunk.subarray(start, nl), pending.length);
      this.#line(line, out, base + nl + 1);
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last >= start) {
      this.#block(chunk.subarray(start, last), out, base + start);
      start = last + 1;
    }
    if (start < chunk.length) this.#hold(chunk.subarray(start), out, base + chunk.length);
    return out;
  }

  /**
   * Returns the partial last line at the end of the stream (no newline), if any.
   *
   * @returns The last line, or no lines.
   */
  flush(): FramedLines {
    const out: FramedLines = { lines: [], ends: [], flags: null };
    if (this.#pending) {
      const pending = this.#pending;
      this.#pending = null;
      this.#line(pending, out, this.#position);
    }
    this.#discarding = false;
    return out;
  }

  #hold(bytes: Uint8Array, out: FramedLines, end: number): void {
    const held = this.#pending?.length ?? 0;
    if (held + bytes.length > this.#max) {
      const line = new Uint8Array(this.#max);
      if (this.#pending) line.set(this.#pending);
      line.set(bytes.subarray(0, this.#max - held), held);
      this.#pending = null;
      this.#discarding = true;
      this.#line(line, out, end, LINE_TRUNCATED);
      return;
    }
    if (!this.#pending) {
      this.#pending = bytes.slice();
      return;
    }
    const joined = new Uint8Array(held + bytes.length);
    joined.set(this.#pending);
    joined.set(bytes, held);
    this.#pending = joined;
  }

  /** Frames a block that holds whole lines separated by `\n` (the last newline excluded). */
  #block(block: Uint8Array, out: FramedLines, offset: number): void {
    // Decoded in pieces cut at newlines, none a large object for V8 (see _decode_limit.ts).
    let from = 0;
    while (block.length - from > MAX_DECODED_BYTES) {
      let cut = block.lastIndexOf(10, from + MAX_DECODED_BYTES);
      if (cut < from) cut = block.indexOf(10, from + MAX_DECODED_BYTES);
      if (cut < 0) break;
      this.#piece(block.subarray(from, cut), out, offset + from);
      from = cut + 1;
    }
    this.#piece(from === 0 ? block : block.subarray(from), out, offset + from);
  }

  /** Frames whole lines separated by `\n` (the last newline excluded). */
  #piece(block: Uint8Array, out: FramedLines, offset: number): void {
    const text = _utf8.decode(block);
    if (text.length === block.length && text.indexOf("\uFFFD") < 0) {
      // Only one-byte characters: string offsets are byte offsets.
      let pos = offset;
      for (const raw of text.split("\n")) {
        pos += raw.length + 1;
        if (raw.length > this.#max) {
          this.#push(out, raw.slice(0, this.#max), pos, LINE_TRUNCATED);
        } else {
          this.#push(out, raw.endsWith("\r") ? raw.slice(0, -1) : raw, pos, 0);
        }
      }
      return;
    }
    let from = 0;
    while (from <= block.length) {
      let nl = block.indexOf(10, from);
      if (nl < 0) nl = block.length;
      this.#line(block.subarray(from, nl), out, offset + nl + 1);
      from = nl + 1;
    }
  }

  #line(bytes: Uint8Array, out: FramedLines, end: number, flag = 0): void {
    if (bytes.length > this.#max) {
      bytes = bytes.subarray(0, this.#max);
      flag |= LINE_TRUNCATED;
    }
    let text: string;
    try {
      text = _utf8Fatal.decode(bytes);
    } catch {
      text = _utf8.decode(bytes);
      flag |= LINE_INVALID_UTF8;
    }
    if (text.endsWith("\r")) text = text.slice(0, -1);
    this.#push(out, text, end, flag);
  }

  #push(out: FramedLines, text: string, end: number, flag: number): void {
    if (flag) {
      if (flag & LINE_TRUNCATED) this.truncated++;
      if (flag & LINE_INVALID_UTF8) this.invalidUtf8++;
      if (!out.flags || out.flags.length <= out.lines.length) {
        const grown = new Uint8Array(Math.max(16, (out.lines.length + 1) * 2));
        if (out.flags) grown.set(out.flags);
        out.flags = grown;
      }
      out.flags[out.lines.length] = flag;
    }
    out.lines.push(text);
    out.ends.push(end);
  }
}
