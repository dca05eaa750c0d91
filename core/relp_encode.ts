/**
 * RELP frames out: an encoder that packs many frames into one write, and
 * the small text formats carried inside frames (offers, responses). The
 * parser of frames in is core/relp_frame.ts.
 *
 * @module
 */

import { relpDigits, writeRelpDigits } from "./relp_acks.ts";

const _encoder = new TextEncoder();

/**
 * Packs frames into one buffer, so a window of messages goes out in one
 * write. DATA given as a string is encoded as UTF-8 straight into the
 * buffer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RelpFrameEncoder } from "./relp_encode.ts";
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
    // Header bytes are written by hand: TXNR and DATALEN are digits, a command is letters.
    const reserve = 9 + 1 + command.length + 1 + 9 + 1;
    const dataLen = data === undefined ? 0 : data.length;
    this.#ensure(reserve + (typeof data === "string" ? dataLen * 3 : dataLen) + 1);
    const buf = this.#buf;
    let at = writeRelpDigits(buf, this.#len, txnr);
    buf[at++] = 32;
    for (let i = 0; i < command.length; i++) buf[at++] = command.charCodeAt(i);
    buf[at++] = 32;
    let bytes = dataLen;
    if (data === undefined || dataLen === 0) {
      buf[at++] = 48;
    } else if (typeof data === "string") {
      // Encode the data behind a DATALEN guessed from its length (right for ASCII), then move
      // it when its byte length has more digits.
      const guess = relpDigits(dataLen);
      const dataAt = at + guess + 1;
      bytes = _encoder.encodeInto(data, buf.subarray(dataAt)).written;
      const digits = relpDigits(bytes);
      if (digits !== guess) buf.copyWithin(at + digits + 1, dataAt, dataAt + bytes);
      at = writeRelpDigits(buf, at, bytes);
      buf[at++] = 32;
      at += bytes;
    } else {
      at = writeRelpDigits(buf, at, dataLen);
      buf[at++] = 32;
      buf.set(data, at);
      at += dataLen;
    }
    buf[at++] = 10;
    this.#len = at;
    return bytes;
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
 * import { encodeRelpFrame } from "./relp_encode.ts";
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
 * import { parseRelpOffers } from "./relp_encode.ts";
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
 * import { formatRelpOffers } from "./relp_encode.ts";
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
 * import { parseRelpResponse } from "./relp_encode.ts";
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
