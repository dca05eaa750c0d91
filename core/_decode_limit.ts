/**
 * How much of a read the stream framers decode into one string.
 *
 * V8 puts a string over 128 KiB in its large-object space: pages of its
 * own, mapped for it and unmapped once it is collected. Decoding each
 * 256 KiB read whole did that for every read; on the benchmark machine it
 * held a TCP source to a third of a raw read loop. The framers (lines,
 * octet counting, RELP) decode at most this much at a time, cut at message
 * boundaries, so every string stays in V8's ordinary young generation.
 *
 * @module
 */

/**
 * Bytes of a read decoded into one string at most (a single message may be longer).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_DECODED_BYTES } from "./_decode_limit.ts";
 * assert.ok(MAX_DECODED_BYTES < 128 * 1024);
 * ```
 */
export const MAX_DECODED_BYTES = 64 * 1024;
