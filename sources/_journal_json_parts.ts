/**
 * The parts of the fast journalctl JSON reader (sources/_journal_json.ts)
 * that do not scan: the key sets it caches and the event ids it makes from
 * cursors.
 *
 * @module
 */

/**
 * Key sets remembered per reader (the units of one host differ in their fields).
 *
 * @example
 * ```ts
 * import { KEYS, SHAPES } from "./_journal_json_parts.ts";
 * console.assert(SHAPES > 0 && KEYS > 0);
 * ```
 */
export const SHAPES = 8;
/**
 * Field names remembered per reader; a line with another one takes the reference path.
 *
 * @example
 * ```ts
 * import { KEYS } from "./_journal_json_parts.ts";
 * console.assert(KEYS === 512);
 * ```
 */
export const KEYS = 512;

/**
 * Slots of the open-addressing table of field names (a power of two, twice `KEYS`).
 *
 * @example
 * ```ts
 * import { KEYS, TABLE } from "./_journal_json_parts.ts";
 * console.assert((TABLE & (TABLE - 1)) === 0 && TABLE === 2 * KEYS);
 * ```
 */
export const TABLE = 1024;

/**
 * One key set: each key's slot (sorted order) and the slots of the fields an event is made of.
 *
 * @example
 * ```ts
 * import { makeShape } from "./_journal_json_parts.ts";
 * const shape = makeShape([0, 1], ["MESSAGE", "__CURSOR"]);
 * console.assert(shape?.message === 0 && shape.cursor === 1);
 * ```
 */
export interface JournalShape {
  readonly size: number;
  /** The sum of the keys' mixed ids: which shape to try first. */
  readonly sig: number;
  /** Slot of each key id, -1 for keys not in the set. */
  readonly slotOf: Int16Array;
  /** The keys other than `MESSAGE`, sorted, and their slots. */
  readonly restKeys: string[];
  readonly restSlots: number[];
  /** An object with the rest keys in order: copied, it has the entries' layout at once. */
  readonly template: Record<string, string>;
  readonly cursor: number;
  readonly message: number;
  readonly hostname: number;
  readonly identifier: number;
  readonly comm: number;
  readonly pid: number;
  readonly syslogPid: number;
  readonly priority: number;
  readonly facility: number;
  readonly sourceTime: number;
  readonly realtime: number;
}

function _template(keys: readonly string[]): Record<string, string> {
  const t: Record<string, string> = {};
  for (const k of keys) t[k] = "";
  return t;
}

/**
 * A key id spread over 32 bits, so that sums of different sets rarely meet.
 *
 * @param id A key id.
 * @returns Its mixed value.
 *
 * @example
 * ```ts
 * import { mix } from "./_journal_json_parts.ts";
 * console.assert(mix(1) !== mix(2));
 * ```
 */
export function mix(id: number): number {
  return Math.imul(id + 1, 0x9e3779b1);
}

/**
 * The key set of the key ids `ids` (names by id in `names`), or
 * `undefined` when a key is given twice or `__CURSOR` is missing.
 *
 * @param ids The line's key ids.
 * @param names Field names by id.
 * @returns The set.
 *
 * @example
 * ```ts
 * import { makeShape } from "./_journal_json_parts.ts";
 * console.assert(makeShape([0], ["MESSAGE"]) === undefined);
 * ```
 */
export function makeShape(
  ids: readonly number[],
  names: readonly string[],
): JournalShape | undefined {
  const byName = ids.map((id) => ({ id, key: names[id] as string }));
  byName.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const slotOf = new Int16Array(KEYS).fill(-1);
  let sig = 0;
  for (let i = 0; i < byName.length; i++) {
    const { id } = byName[i] as { id: number };
    if (slotOf[id] !== -1) return undefined;
    slotOf[id] = i;
    sig = (sig + mix(id)) | 0;
  }
  const sorted = byName.map((b) => b.key);
  const at = (key: string) => sorted.indexOf(key);
  const cursor = at("__CURSOR");
  if (cursor < 0) return undefined;
  const restKeys = sorted.filter((k) => k !== "MESSAGE");
  return {
    size: sorted.length,
    sig,
    slotOf,
    restKeys,
    restSlots: restKeys.map(at),
    template: _template(restKeys),
    cursor,
    message: at("MESSAGE"),
    hostname: at("_HOSTNAME"),
    identifier: at("SYSLOG_IDENTIFIER"),
    comm: at("_COMM"),
    pid: at("_PID"),
    syslogPid: at("SYSLOG_PID"),
    priority: at("PRIORITY"),
    facility: at("SYSLOG_FACILITY"),
    sourceTime: at("_SOURCE_REALTIME_TIMESTAMP"),
    realtime: at("__REALTIME_TIMESTAMP"),
  };
}

/**
 * Event ids from cursors, as `journalEntryToEvent` (sources/journald.ts)
 * makes them, without splitting the cursor: one host's seqnum id and
 * zero padding are made once.
 *
 * @example
 * ```ts
 * import { CursorIds } from "./_journal_json_parts.ts";
 * const ids = new CursorIds("vm1");
 * console.assert(ids.id("s=0123456789abcdef;i=1f") === "vm1:journald:0123456789ab:000000000000001f");
 * ```
 */
export class CursorIds {
  readonly #host: string;
  #seqnumId = "";
  /** `<host>:journald:<seqnum id>:` and n zeros, by n (`""`: not made yet). */
  readonly #pads: string[] = new Array<string>(17).fill("");

  /** @param host The host name in event ids. */
  constructor(host: string) {
    this.#host = host;
  }

  /**
   * The id `journalEntryToEvent` gives: `<host>:journald:<seqnum id>:<seqnum>`, else the whole cursor.
   *
   * @param cursor The entry's `__CURSOR`.
   * @returns Its id.
   */
  id(cursor: string): string {
    // The cursor's `s=` (its first 12 characters) and `i=` parts, found in place: the last of
    // each wins, as in journalEntryToEvent; only the seqnum is sliced out.
    let sFrom = 0, sTo = 0, iFrom = 0, iTo = 0;
    const len = cursor.length;
    let from = 0;
    while (from <= len) {
      let to = cursor.indexOf(";", from);
      if (to < 0) to = len;
      if (cursor.charCodeAt(from + 1) === 61) {
        const c = cursor.charCodeAt(from);
        if (c === 115) {
          sFrom = from + 2;
          sTo = Math.min(to, from + 14);
        } else if (c === 105) {
          iFrom = from + 2;
          iTo = to;
        }
      }
      from = to + 1;
    }
    if (sTo <= sFrom || iTo <= iFrom) return `${this.#host}:journald:${cursor}`;
    for (let k = iFrom; k < iTo; k++) {
      const c = cursor.charCodeAt(k);
      if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) {
        return `${this.#host}:journald:${cursor}`;
      }
    }
    const seqnumId = this.#seqnumId;
    if (seqnumId.length !== sTo - sFrom || !cursor.startsWith(seqnumId, sFrom)) {
      this.#seqnumId = cursor.slice(sFrom, sTo);
      this.#pads.fill("");
    }
    // The prefix with the seqnum's leading zeros, one string per seqnum length.
    const zeros = Math.max(0, 16 - (iTo - iFrom));
    let head = this.#pads[zeros] as string;
    if (head === "") {
      head = `${this.#host}:journald:${this.#seqnumId}:${"0".repeat(zeros)}`;
      this.#pads[zeros] = head;
    }
    return head + cursor.slice(iFrom, iTo);
  }
}
