/**
 * `journalctl -o json` output read straight from the bytes SSH hands over:
 * the whole lines of each chunk are decoded at once and read in place by
 * {@linkcode JournalJsonReader}, without a string per line; what is left of
 * a chunk (a line cut by the chunk's end, one too long, text that is not
 * valid UTF-8) goes through `LineFramer` as before. The events are the ones
 * `LineFramer` and `JournalJsonReader.read` give.
 *
 * @module
 */

import { MAX_DECODED_BYTES } from "../core/_decode_limit.ts";
import { LineFramer } from "../core/framing.ts";
import { emptyJournalLines, type JournalLines } from "./journald.ts";
import { JournalJsonReader, type JournalJsonReaderOptions } from "./_journal_json.ts";

const _utf8 = new TextDecoder("utf-8");

/** Options for {@linkcode JournalStreamReader}. */
export interface JournalStreamReaderOptions extends JournalJsonReaderOptions {
  /** Longest line in bytes; a longer one is cut and counted as unparsed. @default {1048576} */
  maxLineBytes?: number;
}

/**
 * Turns the chunks of one `journalctl -o json` stream into events.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { JournalStreamReader } from "./_journal_stream.ts";
 * const reader = new JournalStreamReader("vm1", { prefix: "journal", eventHost: "vm1" });
 * const bytes = new TextEncoder().encode('{"__CURSOR":"s=ab;i=1","MESSAGE":"hi"}\n{"__CUR');
 * const r = reader.push(bytes, 0);
 * assert.equal(r.events[0]?.message, "hi");
 * assert.equal(r.cursor, "s=ab;i=1");
 * assert.equal(reader.push(new TextEncoder().encode('SOR":"s=ab;i=2"}\n'), 0).cursor, "s=ab;i=2");
 * ```
 */
export class JournalStreamReader {
  readonly #framer: LineFramer;
  readonly #json: JournalJsonReader;
  readonly #max: number;
  /** Whether the framer holds the start of a line (or skips the rest of a long one). */
  #held = false;

  /**
   * Makes the reader of one stream.
   *
   * @param idHost The host name in event ids (`<host>:journald:…`).
   * @param options Prefix, event host and line limit.
   */
  constructor(idHost: string, options: JournalStreamReaderOptions = {}) {
    this.#max = options.maxLineBytes ?? 1 << 20;
    this.#framer = new LineFramer({ maxLineBytes: this.#max });
    this.#json = new JournalJsonReader(idHost, options);
  }

  /**
   * Reads the next chunk of the stream.
   *
   * @param chunk The next bytes (may be reused by the caller afterwards).
   * @param receivedAt Receive time in ms.
   * @returns The events of the lines it finished, their last cursor and what did not parse.
   */
  push(chunk: Uint8Array, receivedAt: number): JournalLines {
    const out = emptyJournalLines();
    let start = 0;
    if (this.#held) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.#framed(chunk, receivedAt, out);
        return out;
      }
      // The line the framer holds ends here (or the long one it skips).
      this.#framed(chunk.subarray(0, nl + 1), receivedAt, out);
      this.#held = false;
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last >= start) {
      // In pieces cut at newlines, as LineFramer decodes them (see core/_decode_limit.ts).
      let from = start;
      while (last - from > MAX_DECODED_BYTES) {
        let cut = chunk.lastIndexOf(10, from + MAX_DECODED_BYTES);
        if (cut < from) cut = chunk.indexOf(10, from + MAX_DECODED_BYTES);
        if (cut >= last) break;
        this.#piece(chunk, from, cut, receivedAt, out);
        from = cut + 1;
      }
      this.#piece(chunk, from, last, receivedAt, out);
      start = last + 1;
    }
    if (start < chunk.length) {
      this.#framed(chunk.subarray(start), receivedAt, out);
      this.#held = true;
    }
    return out;
  }

  /** Reads the whole lines of `chunk[from, to)` (`to` is a newline). */
  #piece(chunk: Uint8Array, from: number, to: number, receivedAt: number, out: JournalLines): void {
    const bytes = chunk.subarray(from, to);
    // Without U+FFFD the bytes were UTF-8 (the fatal decoder's check costs more than this).
    const text = _utf8.decode(bytes);
    // One byte per character, or no line long enough to be cut: the lines LineFramer would
    // make are the text's own. Otherwise (not UTF-8, or a U+FFFD of its own; long lines of
    // several-byte characters) LineFramer makes them.
    if (
      (text.length === bytes.length || bytes.length <= this.#max) && text.indexOf("\uFFFD") < 0
    ) {
      this.#json.readText(text, 0, text.length, this.#max, receivedAt, out);
    } else {
      this.#framed(chunk.subarray(from, to + 1), receivedAt, out);
    }
  }

  /** Pushes bytes through the framer and reads the lines it gives. */
  #framed(bytes: Uint8Array, receivedAt: number, out: JournalLines): void {
    const framed = this.#framer.push(bytes);
    if (framed.lines.length === 0) return;
    const r = this.#json.read(framed, receivedAt);
    for (const e of r.events) out.events.push(e);
    if (r.cursor !== undefined) out.cursor = r.cursor;
    out.unparsed += r.unparsed;
    out.example ??= r.example;
    out.invalidUtf8 += r.invalidUtf8;
  }
}
