/**
 * RFC 6587 octet-counting framing (`LEN SP MSG`): {@linkcode OctetCountingFramer},
 * re-exported by `octet_framing.ts` beside the per-stream framer that
 * detects it.
 *
 * @module
 */

import { MAX_DECODED_BYTES } from "./_decode_limit.ts";
import { LINE_INVALID_UTF8, LINE_TRUNCATED } from "./framing.ts";
import type { FramedMessages } from "./octet_framing.ts";

/** Options for {@linkcode OctetCountingFramer}. */
export interface OctetCountingFramerOptions {
  /** Longest message in bytes; longer frames are cut to this and the rest is skipped. @default {65536} */
  maxMessageBytes?: number;
}

const _utf8 = new TextDecoder("utf-8");
const _utf8Fatal = new TextDecoder("utf-8", { fatal: true });
/** Octet counts above this are treated as garbage rather than as a frame to skip. */
const _MAX_COUNT = 0x7fffffff;
const _HEADER = 0;
const _BODY = 1;
const _BROKEN = 2;

/**
 * A framer's `maxMessageBytes`, checked.
 *
 * @param who The framer, for the message.
 * @param max The option's value.
 * @returns The value.
 * @throws {RangeError} When it is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkMaxMessageBytes } from "./_octet_counting.ts";
 * assert.throws(() => checkMaxMessageBytes("x", 0), /maxMessageBytes/);
 * ```
 */
export function checkMaxMessageBytes(who: string, max: number): number {
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`${who}: "maxMessageBytes" must be a positive integer, got ${max}`);
  }
  return max;
}

function _trimNewline(text: string): string {
  if (text.endsWith("\n")) {
    return text.endsWith("\r\n") ? text.slice(0, -2) : text.slice(0, -1);
  }
  return text;
}

/**
 * Splits an RFC 6587 octet-counted stream (`LEN SP MSG LEN SP MSG …`) into
 * messages. Line feeds between frames are tolerated; anything else where a
 * count is expected breaks the stream (see {@linkcode FramedMessages.error}).
 * Frames longer than the limit are cut and the rest of them skipped exactly,
 * so the next frame is still found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OctetCountingFramer } from "./octet_framing.ts";
 * const framer = new OctetCountingFramer();
 * const enc = new TextEncoder();
 * assert.ok(framer.push(enc.encode("5 hello3 a")).messages.join() === "hello");
 * assert.ok(framer.push(enc.encode("b\n")).messages[0] === "ab");
 * ```
 */
export class OctetCountingFramer {
  /** Messages cut because they were too long. */
  truncated = 0;
  /** Messages that were not valid UTF-8. */
  invalidUtf8 = 0;
  readonly #max: number;
  #state = _HEADER;
  #count = 0;
  #digits = 0;
  /** Bytes of the current frame still to come (kept or skipped). */
  #remaining = 0;
  /** The kept part of a frame that spans chunks. */
  #body: Uint8Array | null = null;
  #bodyLength = 0;
  #cut = false;
  #error = "";

  /**
   * Creates a framer for one stream.
   *
   * @param options The message size limit.
   */
  constructor(options: OctetCountingFramerOptions = {}) {
    this.#max = checkMaxMessageBytes("OctetCountingFramer", options.maxMessageBytes ?? 65536);
  }

  /** Bytes held for a frame that has not fully arrived. */
  get pendingBytes(): number {
    return this.#bodyLength;
  }

  /**
   * Frames a chunk. The chunk may be reused by the caller afterwards.
   *
   * @param chunk The next bytes of the stream.
   * @returns The complete messages it finished, and an error once the stream broke.
   */
  push(chunk: Uint8Array): FramedMessages {
    const out: FramedMessages = { messages: [], flags: null };
    if (this.#state === _BROKEN) {
      out.error = this.#error;
      return out;
    }
    // Frames wholly inside this chunk are collected as byte ranges and
    // decoded together at the end.
    let rangeStarts: number[] | null = null;
    let rangeEnds: number[] | null = null;
    let rangeFlags: number[] | null = null;
    const flushRanges = () => {
      if (rangeStarts) this.#decodeRanges(chunk, rangeStarts, rangeEnds!, rangeFlags!, out);
      rangeStarts = rangeEnds = rangeFlags = null;
    };
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#state === _HEADER) {
        const c = chunk[i] as number;
        if (c >= 48 && c <= 57) {
          if (this.#digits === 1 && this.#count === 0) {
            // "0 " (an empty frame) is tolerated; "05 " is not a count.
            this.#break(out, "octet count starts with 0");
            break;
          }
          this.#count = this.#count * 10 + (c - 48);
          if (++this.#digits > 10 || this.#count > _MAX_COUNT) {
            this.#break(out, "octet count too large");
            break;
          }
          i++;
          continue;
        }
        if (c === 32 && this.#digits > 0) {
          i++;
          const count = this.#count;
          this.#count = 0;
          this.#digits = 0;
          // Fast path: the whole frame is in this chunk.
          if (n - i >= count) {
            const keep = Math.min(count, this.#max);
            (rangeStarts ??= []).push(i);
            (rangeEnds ??= []).push(i + keep);
            (rangeFlags ??= []).push(keep < count ? LINE_TRUNCATED : 0);
            i += count;
            continue;
          }
          this.#state = _BODY;
          this.#remaining = count;
          this.#bodyLength = 0;
          this.#cut = count > this.#max;
          this.#body = new Uint8Array(Math.min(count, this.#max));
          continue;
        }
        if ((c === 10 || c === 13) && this.#digits === 0) {
          i++;
          continue;
        }
        this.#break(
          out,
          `invalid octet count: byte 0x${c.toString(16).padStart(2, "0")} where a digit${
            this.#digits ? " or space" : ""
          } was expected`,
        );
        break;
      }
      // _BODY: a frame that began in an earlier chunk (or does not end in this one).
      const take = Math.min(this.#remaining, n - i);
      const room = (this.#body as Uint8Array).length - this.#bodyLength;
      if (room > 0) {
        const kept = Math.min(room, take);
        (this.#body as Uint8Array).set(chunk.subarray(i, i + kept), this.#bodyLength);
        this.#bodyLength += kept;
      }
      this.#remaining -= take;
      i += take;
      if (this.#remaining === 0) {
        flushRanges();
        const body = (this.#body as Uint8Array).subarray(0, this.#bodyLength);
        this.#body = null;
        this.#bodyLength = 0;
        this.#state = _HEADER;
        this.#one(body, this.#cut ? LINE_TRUNCATED : 0, out);
      }
    }
    flushRanges();
    if (this.#state === _BROKEN) out.error = this.#error;
    return out;
  }

  /**
   * Ends the stream: a frame cut short by the end of the stream is returned
   * flagged {@linkcode LINE_TRUNCATED}, with an error.
   *
   * @returns The partial last message, if any.
   */
  flush(): FramedMessages {
    const out: FramedMessages = { messages: [], flags: null };
    if (this.#state === _BODY) {
      const body = (this.#body as Uint8Array).subarray(0, this.#bodyLength);
      this.#one(body, LINE_TRUNCATED, out);
      out.error = `stream ended ${this.#remaining} bytes before the end of a frame`;
    } else if (this.#state === _HEADER && this.#digits > 0) {
      out.error = "stream ended inside an octet count";
    }
    this.#state = _HEADER;
    this.#body = null;
    this.#bodyLength = 0;
    this.#count = 0;
    this.#digits = 0;
    return out;
  }

  #break(out: FramedMessages, why: string): void {
    this.#state = _BROKEN;
    this.#error = why;
    out.error = why;
  }

  #decodeRanges(
    chunk: Uint8Array,
    starts: number[],
    ends: number[],
    flags: number[],
    out: FramedMessages,
  ): void {
    // One decoder call per run of messages up to MAX_DECODED_BYTES: fewer calls than one per
    // message, and no large object for V8 (see _decode_limit.ts).
    let first = 0;
    while (first < starts.length) {
      const from = starts[first] as number;
      let last = first;
      while (last + 1 < starts.length && (ends[last + 1] as number) - from <= MAX_DECODED_BYTES) {
        last++;
      }
      const span = chunk.subarray(from, ends[last] as number);
      const text = _utf8.decode(span);
      if (text.length === span.length && text.indexOf("\uFFFD") < 0) {
        // Only one-byte characters: string offsets are byte offsets.
        for (let k = first; k <= last; k++) {
          const message = text.slice((starts[k] as number) - from, (ends[k] as number) - from);
          this.#add(out, _trimNewline(message), flags[k] as number);
        }
      } else {
        for (let k = first; k <= last; k++) {
          this.#one(
            chunk.subarray(starts[k] as number, ends[k] as number),
            flags[k] as number,
            out,
          );
        }
      }
      first = last + 1;
    }
  }

  #one(bytes: Uint8Array, flag: number, out: FramedMessages): void {
    let text: string;
    try {
      text = _utf8Fatal.decode(bytes);
    } catch {
      text = _utf8.decode(bytes);
      flag |= LINE_INVALID_UTF8;
    }
    this.#add(out, _trimNewline(text), flag);
  }

  #add(out: FramedMessages, text: string, flag: number): void {
    if (flag) {
      if (flag & LINE_TRUNCATED) this.truncated++;
      if (flag & LINE_INVALID_UTF8) this.invalidUtf8++;
      out.flags = _setFlag(out.flags, out.messages.length, flag);
    }
    out.messages.push(text);
  }
}

function _setFlag(flags: Uint8Array | null, index: number, flag: number): Uint8Array {
  if (!flags || flags.length <= index) {
    const grown = new Uint8Array(Math.max(16, (index + 1) * 2));
    if (flags) grown.set(flags);
    flags = grown;
  }
  flags[index] = flag;
  return flags;
}
