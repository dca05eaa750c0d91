/**
 * One `write()` of the RELP sink as its session sees it ({@linkcode RelpJob}),
 * and the byte arithmetic of its messages: {@linkcode cutUtf8} and
 * {@linkcode utf8Length}.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { RelpSession } from "./_relp_session.ts";

const _utf8 = new TextDecoder("utf-8");
const _encoder = new TextEncoder();

/**
 * UTF-8 length of a string (counted without encoding it; a lone surrogate
 * counts as the 3 bytes of U+FFFD it becomes).
 *
 * @param text The string.
 * @returns Its length in UTF-8 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utf8Length } from "./_relp_job.ts";
 * assert.equal(utf8Length("héllo"), 6);
 * ```
 */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n++;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        n += 4;
        i++;
      } else n += 3; // a lone surrogate becomes U+FFFD
    } else n += 3;
  }
  return n;
}

/**
 * One `write()`: its events, how many of them the server answered on the
 * current session (always a prefix: answers come in order), how many were
 * sent on it. A message is rendered when it goes out (and again when it is
 * resent), so no string per message outlives its burst: a window's worth of
 * strings kept until their answers came cost the VM more garbage collection
 * than rendering them twice on the rare resend.
 *
 * @example
 * ```ts ignore
 * import { RelpJob } from "./_relp_job.ts";
 * const job = new RelpJob(events, 1, (e) => e.message);
 * ```
 */
export class RelpJob {
  readonly events: readonly LogEvent[];
  readonly n: number;
  done: number;
  sent: number;
  /** Set when the job joins a session; settles when every message is answered or the session breaks. */
  resolve: () => void = () => {};
  reject: (err: Error) => void = () => {};

  /** Its place among the sink's writes: messages go out, and are resent, in this order. */
  readonly seq: number;
  /** The session it last joined. */
  session: RelpSession | undefined;

  /** Messages rendered at least once (a resend does not count a cut message again). */
  #rendered = 0;
  readonly #format: (event: LogEvent, first: boolean) => string;

  constructor(
    events: readonly LogEvent[],
    seq: number,
    format: (event: LogEvent, first: boolean) => string,
  ) {
    this.events = events;
    this.seq = seq;
    this.#format = format;
    const done = 0;
    this.n = events.length;
    this.done = done;
    this.sent = done;
  }

  /** The DATA of message `k`. */
  payload(k: number): string {
    const first = k >= this.#rendered;
    if (first) this.#rendered = k + 1;
    return this.#format(this.events[k] as LogEvent, first);
  }
}

/**
 * `text` cut to at most `max` bytes of UTF-8 without splitting a
 * character, or `undefined` when it fits.
 *
 * @param text The message.
 * @param max The most bytes.
 * @returns The cut text, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cutUtf8 } from "./_relp_job.ts";
 * assert.equal(cutUtf8("héllo", 2), "h");
 * assert.equal(cutUtf8("hello", 64), undefined);
 * ```
 */
export function cutUtf8(text: string, max: number): string | undefined {
  // Three bytes per UTF-16 unit at most: most messages need no encoding here.
  if (text.length * 3 <= max) return undefined;
  const bytes = _encoder.encode(text);
  if (bytes.length <= max) return undefined;
  let end = max;
  // Do not split a UTF-8 sequence: step back over continuation bytes.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return _utf8.decode(bytes.subarray(0, end));
}
