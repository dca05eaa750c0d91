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
import {
  compilePattern as _pattern,
  filterOf as _filter,
  type FilterTest,
  showValue as _show,
  textOf as _text,
} from "./_filter_base.ts";
import { netmask } from "./netmask.ts";

export { netmask, type NetmaskOptions } from "./netmask.ts";

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
    const [a, b] = tests as [FilterTest, FilterTest];
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
  const [t] = _tests("not", [filter]) as [FilterTest];
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

function _tests(kind: string, filters: readonly FilterLike[]): FilterTest[] {
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
