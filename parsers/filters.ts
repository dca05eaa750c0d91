/**
 * Filters named and behaving like syslog-ng's filter functions: `match()`,
 * `program()`, `host()`, `level()`, `facility()`, `netmask()`, `inList()`,
 * composed with `and()`, `or()` and `not()`. Each is also a member of the
 * {@linkcode filters} object, for code that prefers `filters.not(…)` to a
 * bare `not(…)`.
 *
 * @module
 */

import {
  FACILITY_NAMES,
  facilityNumber,
  fieldGetter,
  type LogEvent,
  SEVERITY_NAMES,
  severityNumber,
  valueToString,
} from "../core/event.ts";
import { compileTemplate, type Template } from "../core/template.ts";
import type { Filter } from "../core/types.ts";

/** A filter, or a plain predicate that keeps the events it returns `true` for. */
export type FilterLike = Filter | ((event: LogEvent) => boolean);

/**
 * How a pattern is compared, as syslog-ng's `type()`: `"regexp"` searches
 * for a regular expression anywhere in the value, `"string"` compares the
 * whole value, `"glob"` matches the whole value against `*` and `?`.
 */
export type MatchType = "regexp" | "string" | "glob";

/** Options shared by {@linkcode program} and {@linkcode host}. */
export interface PatternOptions {
  /** How the pattern is compared. @default {"regexp"} */
  type?: MatchType;
  /** Compares without regard to case. @default {false} */
  ignoreCase?: boolean;
  /** A name for stats. */
  name?: string;
}

/** Options for {@linkcode match}. */
export interface MatchOptions extends PatternOptions {
  /** The field or macro to match (`"PROGRAM"`, `"json.rule"`). @default {"MSG"} */
  value?: string;
  /** A template to render and match instead of one field. */
  template?: Template;
}

/**
 * Keeps events whose value matches a pattern, like syslog-ng's
 * `match("regex" value("MSG"))`. A regular expression is searched anywhere
 * in the value (anchor it with `^…$` for a whole match); a missing value
 * is matched as `""`; numbers and objects as their text.
 *
 * @param pattern A regular expression (text or `RegExp`), a string or a glob.
 * @param options The value to match, the comparison type, case.
 * @returns The filter.
 * @throws {TypeError} When the pattern or an option has the wrong type.
 * @throws {SyntaxError} When a regular expression is invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { match } from "./filters.ts";
 * import { createEvent } from "../core/event.ts";
 * const mimikatz = match("mimikatz", { value: "json.rule", ignoreCase: true });
 * assert.ok(mimikatz.test(createEvent("x", { fields: { json: { rule: "Mimikatz_Strings" } } })));
 * ```
 */
export function match(pattern: string | RegExp, options: MatchOptions = {}): Filter {
  if (options.value !== undefined && options.template !== undefined) {
    throw new TypeError(`match: give "value" or "template", not both`);
  }
  if (options.value !== undefined && (typeof options.value !== "string" || !options.value)) {
    throw new TypeError(`match: "value" must be a field name, got ${_show(options.value)}`);
  }
  const test = _pattern("match", pattern, options);
  const read = options.template !== undefined
    ? compileTemplate(options.template)
    : _text(options.value ?? "MSG");
  return _filter("match", options.name, (e) => test(read(e)));
}

/**
 * Keeps events whose `PROGRAM` matches, like syslog-ng's `program()`: by
 * default a regular expression searched anywhere, so `program("sshd")`
 * also keeps `sshd-session`; use `"^sshd$"` or `{ type: "string" }` for
 * the exact name.
 *
 * @param pattern The program pattern.
 * @param options Comparison type and case.
 * @returns The filter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { program } from "./filters.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.ok(program("^sshd").test(createEvent("x", { program: "sshd-session" })));
 * ```
 */
export function program(pattern: string | RegExp, options: PatternOptions = {}): Filter {
  const test = _pattern("program", pattern, options);
  return _filter("program", options.name, (e) => test(e.program ?? ""));
}

/**
 * Keeps events whose `HOST` matches, like syslog-ng's `host()`: by default
 * a regular expression searched anywhere in the host name.
 *
 * @param pattern The host pattern.
 * @param options Comparison type and case.
 * @returns The filter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { host } from "./filters.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.ok(host("vm-*", { type: "glob" }).test(createEvent("x", { host: "vm-2" })));
 * ```
 */
export function host(pattern: string | RegExp, options: PatternOptions = {}): Filter {
  const test = _pattern("host", pattern, options);
  return _filter("host", options.name, (e) => test(e.host ?? ""));
}

/** A severity or facility: a name, a number, or a range of names `"a..b"`. */
export type PriorityValue = string | number;

/**
 * Keeps events whose severity is in a set, like syslog-ng's `level()`:
 * `level("warning..emerg")` is severities 4 down to 0, both ends included
 * (either order); a single name (`"err"`), a number, or a list of them are
 * accepted. Events without a severity are dropped.
 *
 * @param levels A name, number or range, or a list of them.
 * @param options A name for stats.
 * @returns The filter.
 * @throws {RangeError} When a name is not a severity.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { level } from "./filters.ts";
 * import { createEvent } from "../core/event.ts";
 * const urgent = level("warning..emerg");
 * assert.ok(urgent.test(createEvent("x", { severity: 3 })));
 * assert.ok(!urgent.test(createEvent("x", { severity: 6 })));
 * ```
 */
export function level(
  levels: PriorityValue | readonly PriorityValue[],
  options: { name?: string } = {},
): Filter {
  const mask = _mask("level", levels, severityNumber, SEVERITY_NAMES);
  return _filter("level", options.name, (e) => e.severity !== undefined && _bit(mask, e.severity));
}

/**
 * Keeps events whose facility is in a set, like syslog-ng's `facility()`:
 * names (`"auth"`, `"authpriv"`), numbers, ranges (`"local0..local7"`) or a
 * list of them. Events without a facility are dropped.
 *
 * @param facilities A name, number or range, or a list of them.
 * @param options A name for stats.
 * @returns The filter.
 * @throws {RangeError} When a name is not a facility.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { facility } from "./filters.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.ok(facility(["auth", "authpriv"]).test(createEvent("x", { facility: 10 })));
 * ```
 */
export function facility(
  facilities: PriorityValue | readonly PriorityValue[],
  options: { name?: string } = {},
): Filter {
  const mask = _mask("facility", facilities, facilityNumber, FACILITY_NAMES);
  return _filter(
    "facility",
    options.name,
    (e) => e.facility !== undefined && _bit(mask, e.facility),
  );
}

/** Options for {@linkcode netmask}. */
export interface NetmaskOptions {
  /** The field or macro holding the address (`"kv.SRC"`). @default {"SOURCEIP"} */
  value?: string;
  /** A name for stats. */
  name?: string;
}

/**
 * Keeps events whose address is in one of the given networks, like
 * syslog-ng's `netmask()` and `netmask6()` in one: IPv4 and IPv6 CIDRs
 * (`"10.0.0.0/8"`, `"2001:db8::/32"`), a dotted mask (`"10.0.0.0/255.0.0.0"`)
 * or a bare address (one host). An IPv4-mapped IPv6 address
 * (`::ffff:10.1.2.3`) matches IPv4 networks. A missing or invalid address
 * is dropped.
 *
 * @param networks One network or a list.
 * @param options The field holding the address.
 * @returns The filter.
 * @throws {RangeError} When a network is not a valid address or prefix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { netmask } from "./filters.ts";
 * import { createEvent } from "../core/event.ts";
 * const lan = netmask(["192.168.0.0/16", "fd00::/8"]);
 * assert.ok(lan.test(createEvent("x", { sourceIp: "192.168.1.23" })));
 * assert.ok(!lan.test(createEvent("x", { sourceIp: "203.0.113.9" })));
 * ```
 */
export function netmask(
  networks: string | readonly string[],
  options: NetmaskOptions = {},
): Filter {
  const list = typeof networks === "string" ? [networks] : networks;
  if (!Array.isArray(list) || list.length === 0 || list.some((n) => typeof n !== "string")) {
    throw new TypeError(
      `netmask: "networks" must be a CIDR string or a non-empty array of them, got ${
        _show(networks)
      }`,
    );
  }
  const v4: number[] = []; // pairs: network, mask
  const v6: number[] = []; // groups of 8: four network words, four mask words
  for (const network of list) _network(network as string, v4, v6);
  const read = fieldGetter(options.value ?? "SOURCEIP");
  const words = new Uint32Array(4);
  return _filter("netmask", options.name, (e) => {
    const value = read(e);
    if (typeof value !== "string") return false;
    const family = _ip(value, words);
    if (family === 4) {
      const a = words[0] as number;
      for (let i = 0; i < v4.length; i += 2) {
        if (((a & (v4[i + 1] as number)) >>> 0) === v4[i]) return true;
      }
      return false;
    }
    if (family !== 6) return false;
    for (let i = 0; i < v6.length; i += 8) {
      if (
        ((words[0]! & v6[i + 4]!) >>> 0) === v6[i] &&
        ((words[1]! & v6[i + 5]!) >>> 0) === v6[i + 1] &&
        ((words[2]! & v6[i + 6]!) >>> 0) === v6[i + 2] &&
        ((words[3]! & v6[i + 7]!) >>> 0) === v6[i + 3]
      ) return true;
    }
    // An IPv4-mapped address (::ffff:a.b.c.d) also matches IPv4 networks.
    if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
      const a = words[3] as number;
      for (let i = 0; i < v4.length; i += 2) {
        if (((a & (v4[i + 1] as number)) >>> 0) === v4[i]) return true;
      }
    }
    return false;
  });
}

/** Options for {@linkcode inList}. */
export interface InListOptions {
  /** Compares without regard to case. @default {false} */
  ignoreCase?: boolean;
  /** A name for stats. */
  name?: string;
}

/**
 * Keeps events whose field equals one of the values, like syslog-ng's
 * `in-list()` (which reads the list from a file; here it is given).
 * Values are compared as text, so `inList("kv.DPT", [22, 23])` works on
 * the string `"22"`.
 *
 * @param field The field or macro to look up.
 * @param values The accepted values.
 * @param options Case handling.
 * @returns The filter.
 * @throws {TypeError} When the field or the values have the wrong type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inList } from "./filters.ts";
 * import { createEvent } from "../core/event.ts";
 * const admins = inList("sshd.user", ["root", "admin"]);
 * assert.ok(admins.test(createEvent("x", { fields: { sshd: { user: "root" } } })));
 * ```
 */
export function inList(
  field: string,
  values: Iterable<string | number>,
  options: InListOptions = {},
): Filter {
  if (typeof field !== "string" || field === "") {
    throw new TypeError(`inList: "field" must be a field name, got ${_show(field)}`);
  }
  if (values === null || typeof values !== "object" || !(Symbol.iterator in values)) {
    throw new TypeError(`inList: "values" must be an array or a set, got ${_show(values)}`);
  }
  const fold = options.ignoreCase === true;
  const set = new Set<string>();
  for (const v of values) {
    if (typeof v !== "string" && typeof v !== "number") {
      throw new TypeError(`inList: values must be strings or numbers, got ${_show(v)}`);
    }
    set.add(fold ? String(v).toLowerCase() : String(v));
  }
  const read = fieldGetter(field);
  return _filter("in-list", options.name, (e) => {
    const value = read(e);
    if (value === undefined || value === null) return false;
    const text = valueToString(value);
    return set.has(fold ? text.toLowerCase() : text);
  });
}

/**
 * Keeps events that every filter keeps (short-circuits on the first no).
 *
 * @param filters Filters or predicates.
 * @returns The filter.
 * @throws {TypeError} When an argument is neither a filter nor a function.
 *
 * @example
 * ```ts
 * import { and, level, program } from "./filters.ts";
 * const sshAlerts = and(program("sshd"), level("warning..emerg"));
 * ```
 */
export function and(...filters: FilterLike[]): Filter {
  const tests = _tests("and", filters);
  if (tests.length === 2) {
    const [a, b] = tests as [_Test, _Test];
    return _filter("and", undefined, (e) => a(e) && b(e));
  }
  return _filter("and", undefined, (e) => {
    for (const t of tests) if (!t(e)) return false;
    return true;
  });
}

/**
 * Keeps events that any filter keeps (short-circuits on the first yes).
 *
 * @param filters Filters or predicates.
 * @returns The filter.
 * @throws {TypeError} When an argument is neither a filter nor a function.
 *
 * @example
 * ```ts
 * import { facility, or, program } from "./filters.ts";
 * const auth = or(facility(["auth", "authpriv"]), program("^sshd"));
 * ```
 */
export function or(...filters: FilterLike[]): Filter {
  const tests = _tests("or", filters);
  return _filter("or", undefined, (e) => {
    for (const t of tests) if (t(e)) return true;
    return false;
  });
}

/**
 * Keeps events the filter drops.
 *
 * @param filter A filter or predicate.
 * @returns The filter.
 * @throws {TypeError} When the argument is neither a filter nor a function.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { host, not } from "./filters.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.ok(not(host("^central$")).test(createEvent("x", { host: "vm-1" })));
 * ```
 */
export function not(filter: FilterLike): Filter {
  const [t] = _tests("not", [filter]) as [_Test];
  return _filter("not", undefined, (e) => !t(e));
}

/**
 * All filter factories of this module in one object, for
 * `import { filters } from "…"; filters.not(filters.host("^central$"))`.
 *
 * @example
 * ```ts
 * import { filters } from "./filters.ts";
 * const drop = filters.not(filters.level("debug"));
 * ```
 */
export const filters: {
  readonly match: typeof match;
  readonly program: typeof program;
  readonly host: typeof host;
  readonly level: typeof level;
  readonly facility: typeof facility;
  readonly netmask: typeof netmask;
  readonly inList: typeof inList;
  readonly and: typeof and;
  readonly or: typeof or;
  readonly not: typeof not;
} = Object.freeze({ match, program, host, level, facility, netmask, inList, and, or, not });

// ---------------------------------------------------------------- helpers

type _Test = (event: LogEvent) => boolean;

function _filter(kind: string, name: string | undefined, test: _Test): Filter {
  return name ? { kind, name, test } : { kind, test };
}

function _tests(kind: string, filters: readonly FilterLike[]): _Test[] {
  if (filters.length === 0) throw new TypeError(`${kind}: needs at least one filter`);
  return filters.map((f, i) => {
    if (typeof f === "function") return f;
    if (f !== null && typeof f === "object" && typeof (f as Filter).test === "function") {
      return (e: LogEvent) => (f as Filter).test(e);
    }
    throw new TypeError(
      `${kind}: argument ${i + 1} must be a filter or a predicate function, got ${_show(f)}`,
    );
  });
}

function _text(name: string): (event: LogEvent) => string {
  if (name === "MSG" || name === "MESSAGE") return (e) => e.message;
  const get = fieldGetter(name);
  return (e) => valueToString(get(e));
}

function _pattern(
  kind: string,
  pattern: unknown,
  options: PatternOptions,
): (text: string) => boolean {
  const type = options.type ?? "regexp";
  const fold = options.ignoreCase === true;
  if (type !== "regexp" && type !== "string" && type !== "glob") {
    throw new RangeError(
      `${kind}: "type" must be "regexp", "string" or "glob", got ${_show(type)}`,
    );
  }
  if (pattern instanceof RegExp) {
    if (type !== "regexp") {
      throw new TypeError(`${kind}: a RegExp pattern needs "type" "regexp", got "${type}"`);
    }
    let flags = pattern.flags.replace(/[gy]/g, "");
    if (fold && !flags.includes("i")) flags += "i";
    const re = flags === pattern.flags ? pattern : new RegExp(pattern.source, flags);
    return (text) => re.test(text);
  }
  if (typeof pattern !== "string") {
    throw new TypeError(`${kind}: the pattern must be a string or a RegExp, got ${_show(pattern)}`);
  }
  if (type === "string") {
    if (!fold) return (text) => text === pattern;
    const lower = pattern.toLowerCase();
    return (text) => text.length === lower.length && text.toLowerCase() === lower;
  }
  let source = pattern;
  if (type === "glob") {
    source = "^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^]*")
      .replace(/\?/g, "[^]") +
      "$";
  }
  let re: RegExp;
  try {
    re = new RegExp(source, fold ? "i" : "");
  } catch (error) {
    throw new SyntaxError(
      `${kind}: "${pattern}" is not a valid regular expression: ${(error as Error).message}`,
    );
  }
  return (text) => re.test(text);
}

function _bit(mask: number, n: number): boolean {
  return ((mask >>> n) & 1) === 1;
}

function _mask(
  kind: string,
  spec: unknown,
  toNumber: (value: unknown) => number | undefined,
  names: readonly string[],
): number {
  const list = Array.isArray(spec) ? spec : [spec];
  if (list.length === 0) throw new RangeError(`${kind}: needs at least one value, got []`);
  let mask = 0;
  const one = (value: unknown): number => {
    const n = toNumber(value);
    if (n === undefined) {
      throw new RangeError(
        `${kind}: ${_show(value)} is not a ${kind} (use ${names.join(", ")} or a number)`,
      );
    }
    return n;
  };
  for (const item of list) {
    if (typeof item === "string" && item.includes("..")) {
      const [from, to, ...rest] = item.split("..");
      if (rest.length > 0) throw new RangeError(`${kind}: invalid range "${item}"`);
      const a = one(from);
      const b = one(to);
      for (let n = Math.min(a, b); n <= Math.max(a, b); n++) mask |= 1 << n;
    } else if (typeof item === "string" || typeof item === "number") {
      mask |= 1 << one(item);
    } else {
      throw new TypeError(`${kind}: values must be names or numbers, got ${_show(item)}`);
    }
  }
  return mask;
}

/** Parses a network into `v4` (network, mask) or `v6` (4 network words, 4 mask words). */
function _network(spec: string, v4: number[], v6: number[]): void {
  const bad = (why: string): never => {
    throw new RangeError(`netmask: "${spec}" is not a network (${why})`);
  };
  const slash = spec.indexOf("/");
  const address = slash < 0 ? spec.trim() : spec.slice(0, slash).trim();
  const words = new Uint32Array(4);
  const family = _ip(address, words);
  if (family === 0) bad("invalid address");
  const max = family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const suffix = spec.slice(slash + 1).trim();
    if (/^\d{1,3}$/.test(suffix)) bits = Number(suffix);
    else if (family === 4) {
      const mask = new Uint32Array(4);
      if (_ip(suffix, mask) !== 4) bad("invalid mask");
      const m = mask[0] as number;
      // A dotted mask must be contiguous ones then zeros.
      const inverted = ~m >>> 0;
      if ((inverted & (inverted + 1)) !== 0) bad("mask is not contiguous");
      bits = 32 - Math.log2(inverted + 1);
    } else bad("invalid prefix length");
    if (bits > max) bad(`prefix length above ${max}`);
  }
  if (family === 4) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    v4.push((words[0]! & mask) >>> 0, mask);
    return;
  }
  const masks: number[] = [];
  for (let w = 0; w < 4; w++) {
    const b = Math.max(0, Math.min(32, bits - w * 32));
    masks.push(b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0);
  }
  for (let w = 0; w < 4; w++) v6.push((words[w]! & masks[w]!) >>> 0);
  v6.push(...masks);
}

/**
 * Parses an IPv4 or IPv6 address into `out` (IPv4 in `out[0]`; IPv6 as
 * four 32-bit words). Returns 4, 6, or 0 when the text is no address.
 */
function _ip(text: string, out: Uint32Array): 0 | 4 | 6 {
  if (text.indexOf(":") < 0) {
    const v = _ipv4(text, 0, text.length);
    if (v < 0) return 0;
    out[0] = v;
    return 4;
  }
  let s = text;
  if (s.charCodeAt(0) === 91 && s.charCodeAt(s.length - 1) === 93) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  return _ipv6(s, out) ? 6 : 0;
}

/** An IPv4 address in `s[from, to)` as an unsigned 32-bit number, or -1. */
function _ipv4(s: string, from: number, to: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = from; i <= to; i++) {
    const c = i === to ? 46 : s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      const d = c - 48;
      if (d < 0 || d > 9 || digits === 3) return -1;
      part = part * 10 + d;
      digits++;
    }
  }
  return parts === 4 ? value : -1;
}

// Scratch groups of the address being parsed (the filters run synchronously).
const _GROUPS = new Uint16Array(8);

function _ipv6(s: string, out: Uint32Array): boolean {
  const groups = _GROUPS;
  groups.fill(0);
  const n = s.length;
  let gap = -1;
  let count = 0;
  let i = 0;
  if (s.startsWith("::")) {
    gap = 0;
    i = 2;
    if (n === 2) {
      out.fill(0);
      return true;
    }
  } else if (s.charCodeAt(0) === 58) return false;
  while (i < n) {
    let j = i;
    let value = 0;
    while (j < n && j - i < 5) {
      const c = s.charCodeAt(j);
      const d = c >= 48 && c <= 57
        ? c - 48
        : c >= 97 && c <= 102
        ? c - 87
        : c >= 65 && c <= 70
        ? c - 55
        : -1;
      if (d < 0) break;
      value = value * 16 + d;
      j++;
    }
    if (j < n && s.charCodeAt(j) === 46) {
      // Embedded IPv4 in the last 32 bits.
      const v4 = _ipv4(s, i, n);
      if (v4 < 0 || count > 6) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = n;
      break;
    }
    if (j === i || j - i > 4 || count >= 8) return false;
    groups[count++] = value;
    if (j === n) {
      i = n;
      break;
    }
    if (s.charCodeAt(j) !== 58) return false;
    if (s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i = j + 2;
      if (i === n) break;
    } else {
      i = j + 1;
      if (i === n) return false;
    }
  }
  if (gap >= 0) {
    if (count > 7) return false;
    const tail = count - gap;
    groups.copyWithin(8 - tail, gap, count);
    groups.fill(0, gap, 8 - tail);
  } else if (count !== 8) return false;
  for (let w = 0; w < 4; w++) {
    out[w] = ((groups[w * 2] as number) * 65536 + (groups[w * 2 + 1] as number)) >>> 0;
  }
  return true;
}

function _show(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return JSON.stringify(value);
  if (value !== null && typeof value === "object") return "an object";
  return String(value);
}
