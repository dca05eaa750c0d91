/**
 * RFC 6587 octet-counting framing (`LEN SP MSG`) and a per-stream framer
 * that detects it, like syslog-ng's `transport(auto)`: a stream whose first
 * byte is a digit 1–9 is octet-counted, any other stream is newline framed
 * (through {@linkcode LineFramer}). Shared by the tcp, syslog and RELP-style
 * stream sources and by the forward sink's tests.
 *
 * @module
 */

import { LineFramer } from "./framing.ts";
import { checkMaxMessageBytes, OctetCountingFramer } from "./_octet_counting.ts";

export { OctetCountingFramer, type OctetCountingFramerOptions } from "./_octet_counting.ts";

/** How a byte stream is cut into messages. */
export type Framing = "auto" | "newline" | "octet-counting";

/** Messages framed from one chunk. */
export interface FramedMessages {
  /** The messages, without their framing (and without one trailing `\n` or `\r\n`). */
  messages: string[];
  /**
   * For each message, {@linkcode LINE_TRUNCATED} | {@linkcode LINE_INVALID_UTF8}
   * bits; `null` when no message has a flag.
   */
  flags: Uint8Array | null;
  /**
   * Set when the stream broke the framing (a bad octet count, or the end of
   * the stream inside a frame). The stream cannot be resynchronised: the
   * caller should close it after handling `messages`.
   */
  error?: string;
}

/** Options for {@linkcode StreamFramer}. */
export interface StreamFramerOptions {
  /**
   * `"auto"` picks octet counting when the stream's first byte is a digit
   * 1–9 and newline framing otherwise (a newline-framed stream whose first
   * line starts with a digit needs `"newline"`). @default {"auto"}
   */
  framing?: Framing;
  /** Longest message in bytes; longer ones are cut and flagged. @default {65536} */
  maxMessageBytes?: number;
}

/**
 * Frames one byte stream (one TCP connection) as newline-delimited or
 * octet-counted messages, detecting which on the first byte when asked to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StreamFramer } from "./octet_framing.ts";
 * const enc = new TextEncoder();
 * const counted = new StreamFramer();
 * assert.ok(counted.push(enc.encode("3 abc")).messages[0] === "abc");
 * assert.ok(counted.mode === "octet-counting");
 * const lines = new StreamFramer();
 * assert.ok(lines.push(enc.encode("<13>a\n")).messages[0] === "<13>a");
 * assert.ok(lines.mode === "newline");
 * ```
 */
export class StreamFramer {
  readonly #framing: Framing;
  readonly #max: number;
  #lines: LineFramer | undefined;
  #octets: OctetCountingFramer | undefined;

  /**
   * Creates a framer for one stream.
   *
   * @param options Framing mode and message size limit.
   */
  constructor(options: StreamFramerOptions = {}) {
    const framing = options.framing ?? "auto";
    if (framing !== "auto" && framing !== "newline" && framing !== "octet-counting") {
      throw new TypeError(
        `StreamFramer: "framing" must be "auto", "newline" or "octet-counting", got "${framing}"`,
      );
    }
    this.#framing = framing;
    this.#max = checkMaxMessageBytes("StreamFramer", options.maxMessageBytes ?? 65536);
    if (framing === "newline") this.#lines = new LineFramer({ maxLineBytes: this.#max });
    if (framing === "octet-counting") {
      this.#octets = new OctetCountingFramer({ maxMessageBytes: this.#max });
    }
  }

  /** The framing in use, once known (`undefined` before the first byte in `"auto"` mode). */
  get mode(): "newline" | "octet-counting" | undefined {
    return this.#lines ? "newline" : this.#octets ? "octet-counting" : undefined;
  }

  /** Messages cut because they were too long. */
  get truncated(): number {
    return this.#lines?.truncated ?? this.#octets?.truncated ?? 0;
  }

  /** Messages that were not valid UTF-8. */
  get invalidUtf8(): number {
    return this.#lines?.invalidUtf8 ?? this.#octets?.invalidUtf8 ?? 0;
  }

  /** Bytes held for a message that has not fully arrived. */
  get pendingBytes(): number {
    return this.#lines?.pendingBytes ?? this.#octets?.pendingBytes ?? 0;
  }

  /**
   * Frames a chunk. The chunk may be reused by the caller afterwards.
   *
   * @param chunk The next bytes of the stream.
   * @returns The complete messages, and an error once the stream broke its framing.
   */
  push(chunk: Uint8Array): FramedMessages {
    if (this.#lines) {
      const framed = this.#lines.push(chunk);
      return { messages: framed.lines, flags: framed.flags };
    }
    if (this.#octets) return this.#octets.push(chunk);
    if (chunk.length === 0) return { messages: [], flags: null };
    const first = chunk[0] as number;
    if (first >= 49 && first <= 57) {
      this.#octets = new OctetCountingFramer({ maxMessageBytes: this.#max });
    } else {
      this.#lines = new LineFramer({ maxLineBytes: this.#max });
    }
    return this.push(chunk);
  }

  /**
   * Ends the stream: returns a last message that had no terminator (newline
   * framing) or a frame cut short (octet counting, with an error).
   *
   * @returns The last message, if any.
   */
  flush(): FramedMessages {
    if (this.#lines) {
      const framed = this.#lines.flush();
      return { messages: framed.lines, flags: framed.flags };
    }
    if (this.#octets) return this.#octets.flush();
    return { messages: [], flags: null };
  }
}
