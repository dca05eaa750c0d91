/**
 * `journalctl -o export` read from the bytes SSH hands over, into the same
 * events `journalctl -o json` gives (`journalEntryToEvent`).
 *
 * Why export: it is the journal's own transfer format (systemd-journal-remote
 * reads it), and journalctl writes it for a third of the CPU: 0.6–0.8 s per
 * 100k sshd entries on the monitored host against 2.1–2.4 s for JSON, which
 * escapes and checks every value (measured with `/usr/bin/time`, systemd
 * 252). An agentless collector exists to be light on the hosts it reads.
 *
 * The format: an entry is lines `NAME=value`, then an empty line. A value
 * that is not printable (a newline, a control character, bytes that are not
 * UTF-8) comes as `NAME`, a newline, its size as 64-bit little-endian, the
 * bytes and a newline. Each value is given to the event as JSON would give
 * it: text when it is UTF-8 with no control characters but tab and newline
 * (nor DEL and the C1 range), else an array of its bytes; a field given
 * several times, an array of its values (all checked against journalctl on
 * the same journal, tests/sources/journal_export_test.ts).
 *
 * Only journald's field names (`[A-Z0-9_]`) become keys. A line that is not
 * a field, an entry larger than `maxEntryBytes`, or a binary value whose size
 * is past it refuses that entry (counted as unparsed); a value too large is
 * skipped by its size, so the next entry is read as usual.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import { emptyJournalLines, journalFieldsToEvent, type JournalLines } from "./_journal_entries.ts";
import { CursorIds } from "./_journal_json_parts.ts";

const _utf8 = new TextDecoder("utf-8");
const _utf8Fatal = new TextDecoder("utf-8", { fatal: true });

/** Field names journald accepts (so no `__proto__`), at most 64 characters. */
const _FIELD = /^[A-Z0-9_]{1,64}$/;

/** Options for {@linkcode JournalExportReader}. */
export interface JournalExportReaderOptions {
  /** Field under which every journal field but `MESSAGE` is kept; `null` keeps none. @default {"journald"} */
  prefix?: string | null;
  /** `HOST` of every event; without it, the entry's `_HOSTNAME`. @default {none} */
  eventHost?: string;
  /** Largest entry in bytes; a larger one is refused and counted. @default {1048576} */
  maxEntryBytes?: number;
}

/** Whether journalctl's JSON output gives this text as a string: no control characters but tab and newline. */
function _printable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10) || (c >= 0x7f && c <= 0x9f)) return false;
  }
  return true;
}

/** A binary-form value as JSON gives it: text when printable UTF-8, else its bytes. */
function _binaryValue(bytes: Uint8Array): string | number[] {
  let text: string;
  try {
    text = _utf8Fatal.decode(bytes);
  } catch {
    return Array.from(bytes);
  }
  return _printable(text) ? text : Array.from(bytes);
}

/** A text-form value: journalctl sends it as printable UTF-8; anything else keeps its bytes. */
function _textValue(bytes: Uint8Array): string | number[] {
  try {
    return _utf8Fatal.decode(bytes);
  } catch {
    return Array.from(bytes);
  }
}

/**
 * Turns the chunks of one `journalctl -o export` stream into events, the
 * ones `JournalStreamReader` gives for `-o json`. Use one reader per stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { JournalExportReader } from "./_journal_export.ts";
 * const reader = new JournalExportReader("vm1", { prefix: "journal", eventHost: "vm1" });
 * const bytes = new TextEncoder().encode("__CURSOR=s=ab;i=1\nMESSAGE=hi\n\n__CURSOR=s=ab;i=2\nMES");
 * const r = reader.push(bytes, 0);
 * assert.equal(r.events[0]?.message, "hi");
 * assert.equal(r.cursor, "s=ab;i=1");
 * assert.equal(reader.push(new TextEncoder().encode("SAGE=two\n\n"), 0).cursor, "s=ab;i=2");
 * ```
 */
export class JournalExportReader {
  readonly #idHost: string;
  readonly #prefix: string | null;
  readonly #eventHost: string | undefined;
  readonly #max: number;
  readonly #ids: (cursor: string) => string;
  /** The start of a line or binary value that the last chunk cut. */
  #carry: Uint8Array | undefined;
  /** The entry's fields but `MESSAGE`, which is kept apart (`journalFieldsToEvent`). */
  #entry: Record<string, unknown> = {};
  #message: unknown = undefined;
  #fields = 0;
  #entryBytes = 0;
  /** Why the entry being read is refused (read on to its end, nothing kept). */
  #refused: string | undefined;
  /** Bytes of a too large binary value (and its newline) still to pass over. */
  #skip = 0;
  /** Passing over the rest of a too long line. */
  #skipLine = false;
  /** Fields of the entry being read that were given more than once. */
  readonly #multi = new Set<string>();
  /** Field names seen, by a hash of their bytes: checked once, then found without a new string. */
  readonly #names = new Map<number, string[]>();

  /**
   * Makes the reader of one stream.
   *
   * @param idHost The host name in event ids (`<host>:journald:…`).
   * @param options Prefix, event host and entry limit.
   */
  constructor(idHost: string, options: JournalExportReaderOptions = {}) {
    this.#idHost = idHost;
    this.#prefix = options.prefix === undefined ? "journald" : options.prefix;
    this.#eventHost = options.eventHost;
    this.#max = options.maxEntryBytes ?? 1 << 20;
    const ids = new CursorIds(idHost);
    this.#ids = (cursor) => ids.id(cursor);
  }

  /**
   * Reads the next chunk of the stream.
   *
   * @param chunk The next bytes (may be reused by the caller afterwards).
   * @param receivedAt Receive time in ms.
   * @returns The events of the entries it finished, their last cursor and what was refused.
   */
  push(chunk: Uint8Array, receivedAt: number): JournalLines {
    const out = emptyJournalLines();
    let buf = chunk;
    if (this.#carry) {
      buf = new Uint8Array(this.#carry.length + chunk.length);
      buf.set(this.#carry);
      buf.set(chunk, this.#carry.length);
      this.#carry = undefined;
    }
    let pos = 0;
    const len = buf.length;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, len);
      this.#skip -= n;
      pos = n;
    }
    if (this.#skipLine && pos < len) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0) return out;
      this.#skipLine = false;
      pos = nl + 1;
    }
    // All ASCII (the usual case): names and values are slices of one decoded string.
    const text = _utf8.decode(buf.subarray(pos));
    const ascii = text.length === len - pos && text.indexOf("\uFFFD") < 0;
    // The names are compared with that string when it is one character per byte.
    const names = ascii ? text : undefined;
    const base = pos;
    while (pos < len) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0) {
        if (len - pos > this.#max) {
          this.#refuse(`a line of more than ${this.#max} bytes`);
          this.#skipLine = true;
          pos = len;
        }
        break;
      }
      if (nl === pos) {
        this.#end(receivedAt, out);
        pos++;
        continue;
      }
      let eq = buf.indexOf(61, pos);
      if (eq > nl) eq = -1;
      if (eq >= 0) {
        this.#entryBytes += nl + 1 - pos;
        if (this.#entryBytes > this.#max) this.#refuse(`an entry of more than ${this.#max} bytes`);
        if (this.#refused === undefined) {
          const name = this.#name(buf, pos, eq, names, base);
          if (name !== undefined) {
            this.#set(
              name,
              ascii ? text.slice(eq + 1 - base, nl - base) : _textValue(buf.subarray(eq + 1, nl)),
            );
          }
        }
        pos = nl + 1;
        continue;
      }
      // A binary value: the name, its size (64-bit little-endian), the bytes, a newline.
      const name = this.#name(buf, pos, nl, names, base);
      if (name === undefined) {
        pos = nl + 1;
        continue;
      }
      if (len < nl + 9) break;
      const view = new DataView(buf.buffer, buf.byteOffset + nl + 1, 8);
      const size = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
      if (size > 2 ** 32) {
        // No journal holds such a value: not export format. Read on from after the name.
        this.#refuse(`a binary value of ${size} bytes`);
        pos = nl + 1;
        continue;
      }
      if (this.#entryBytes + (nl + 1 - pos) + 9 + size > this.#max) {
        this.#refuse(`an entry of more than ${this.#max} bytes`);
        const have = len - (nl + 9);
        if (have < size + 1) {
          this.#skip = size + 1 - have;
          pos = len;
          break;
        }
        pos = nl + 9 + size + 1;
        continue;
      }
      const end = nl + 9 + size;
      if (len < end + 1) break;
      this.#entryBytes += end + 1 - pos;
      if (this.#refused === undefined) this.#set(name, _binaryValue(buf.subarray(nl + 9, end)));
      if (buf[end] !== 10) {
        this.#refuse("a binary value not followed by a newline");
        pos = end;
        continue;
      }
      pos = end + 1;
    }
    if (pos < len) this.#carry = buf.slice(pos);
    return out;
  }

  /**
   * The field name in `buf[from, to)`: the same string each time a name
   * comes again (found by a hash of its bytes), checked against journald's
   * names the first time. `undefined` (and the entry refused) when it is not one.
   */
  #name(
    buf: Uint8Array,
    from: number,
    to: number,
    text: string | undefined,
    base: number,
  ): string | undefined {
    const n = to - from;
    // Length, first, middle and last byte: names of one journal rarely share all four.
    const h = n * 16777216 + (buf[from] as number) * 65536 +
      (buf[from + (n >> 1)] as number) * 256 +
      (buf[to - 1] as number);
    const known = this.#names.get(h);
    if (known !== undefined) {
      for (const name of known) {
        if (name.length !== n) continue;
        if (text !== undefined) {
          if (text.startsWith(name, from - base)) return name;
          continue;
        }
        let same = true;
        for (let i = 0; i < n; i++) {
          if (name.charCodeAt(i) !== buf[from + i]) {
            same = false;
            break;
          }
        }
        if (same) return name;
      }
    }
    const name = _utf8.decode(buf.subarray(from, to));
    if (!_FIELD.test(name)) {
      this.#refuse(`a line that is not a journald field: ${JSON.stringify(name.slice(0, 80))}`);
      return undefined;
    }
    if (this.#names.size < 4096) {
      if (known) known.push(name);
      else this.#names.set(h, [name]);
    }
    return name;
  }

  /** Adds a value; a field given again becomes an array of its values, as in JSON. */
  #set(name: string, value: string | number[]): void {
    this.#fields++;
    const message = name === "MESSAGE";
    const had = message ? this.#message : this.#entry[name];
    let next: unknown = value;
    if (had !== undefined) {
      if (this.#multi.has(name)) {
        (had as unknown[]).push(value);
        return;
      }
      next = [had, value];
      this.#multi.add(name);
    }
    if (message) this.#message = next;
    else this.#entry[name] = next;
  }

  #refuse(why: string): void {
    this.#refused ??= why;
    this.#entry = {};
    this.#message = undefined;
    this.#multi.clear();
  }

  /** The empty line: the entry is complete. */
  #end(receivedAt: number, out: JournalLines): void {
    const entry = this.#entry;
    const message = this.#message;
    const refused = this.#refused;
    const any = this.#fields > 0 || refused !== undefined;
    this.#entry = {};
    this.#message = undefined;
    this.#fields = 0;
    this.#entryBytes = 0;
    this.#refused = undefined;
    if (this.#multi.size > 0) this.#multi.clear();
    if (!any) return;
    let event: LogEvent | undefined;
    if (refused === undefined) {
      event = journalFieldsToEvent(
        entry,
        message,
        this.#idHost,
        this.#prefix,
        receivedAt,
        this.#ids,
      );
    }
    if (!event) {
      out.unparsed++;
      out.example ??= refused ?? "an entry without __CURSOR";
      return;
    }
    if (this.#eventHost !== undefined) event.host = this.#eventHost;
    if (event.fields["sluice_invalid_utf8"]) out.invalidUtf8++;
    out.cursor = entry.__CURSOR as string;
    out.events.push(event);
  }
}
