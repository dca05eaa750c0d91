/**
 * Rewrites named after syslog-ng's rewrite rules: `set()`, `unset()`,
 * `rename()`, `subst()`, `setHost()` and `groupSet()` (syslog-ng's
 * `groupset()`). Each is also a member of the {@linkcode rewrites} object.
 *
 * @module
 */

import { fieldGetter, type LogEvent } from "../core/event.ts";
import { compileTemplate, type Template } from "../core/template.ts";
import type { Rewrite } from "../core/types.ts";
import { showValue as _show } from "./_filter_base.ts";
import {
  rewriteOf as _rewrite,
  type RewriteOptions,
  setterOf as _setter,
} from "./_rewrite_base.ts";
import { groupSet } from "./group_set.ts";

export type { RewriteOptions } from "./_rewrite_base.ts";
export { groupSet, type GroupSetTemplate } from "./group_set.ts";

/**
 * Sets a field or macro to a rendered template, like syslog-ng's
 * `set("template" value("field"))`. Macros are set through their
 * properties (`"HOST"`, `"PROGRAM"`, `"SEVERITY"` accepts a name or number).
 *
 * @param field The field or macro to set (`"meta.site"`, `"HOST"`).
 * @param template The template (`"${kv.SRC}:${kv.SPT}"`) or a function.
 * @param options A condition and a name.
 * @returns The rewrite.
 * @throws {TypeError} When the field names a read-only macro or an argument has the wrong type.
 * @throws {SyntaxError} When the template is malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { set } from "./rewrites.ts";
 * import { createEvent, getField } from "../core/event.ts";
 * const event = createEvent("x", { host: "vm1" });
 * set("origin", "${HOST}/home").apply(event);
 * assert.ok(getField(event, "origin") === "vm1/home");
 * ```
 */
export function set(field: string, template: Template, options: RewriteOptions = {}): Rewrite {
  const write = _setter("set", field);
  if (typeof template !== "string" && typeof template !== "function") {
    throw new TypeError(`set: "template" must be a string or a function, got ${_show(template)}`);
  }
  const render = compileTemplate(template);
  return _rewrite("set", options, (e) => write(e, render(e)));
}

/**
 * Removes fields, like syslog-ng's `unset()`. On a macro it clears the
 * property (`MSG` becomes `""`). Removing a field that is not there does
 * nothing.
 *
 * @param fields One field or macro, or a list.
 * @param options A condition and a name.
 * @returns The rewrite.
 * @throws {TypeError} When a name is not a string or is a read-only macro.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unset } from "./rewrites.ts";
 * import { createEvent } from "../core/event.ts";
 * const event = createEvent("x", { fields: { kv: { MAC: "00:11", SRC: "10.0.0.5" } } });
 * unset("kv.MAC").apply(event);
 * assert.ok(!("MAC" in (event.fields.kv as object)));
 * ```
 */
export function unset(fields: string | readonly string[], options: RewriteOptions = {}): Rewrite {
  const names = typeof fields === "string" ? [fields] : fields;
  if (!Array.isArray(names) || names.length === 0) {
    throw new TypeError(
      `unset: "fields" must be a name or a non-empty array, got ${_show(fields)}`,
    );
  }
  const writers = names.map((n) => _setter("unset", n));
  if (writers.length === 1) {
    const [w] = writers as [(e: LogEvent, v: unknown) => void];
    return _rewrite("unset", options, (e) => w(e, undefined));
  }
  return _rewrite("unset", options, (e) => {
    for (const w of writers) w(e, undefined);
  });
}

/**
 * Moves a value to another name, like syslog-ng's `rename()`. When the
 * source is missing nothing changes; the target is overwritten.
 *
 * @param from The field or macro to move.
 * @param to Its new name.
 * @param options A condition and a name.
 * @returns The rewrite.
 * @throws {TypeError} When a name is not a string or `to` is a read-only macro.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rename } from "./rewrites.ts";
 * import { createEvent, getField } from "../core/event.ts";
 * const event = createEvent("x", { fields: { kv: { SRC: "10.0.0.5" } } });
 * rename("kv.SRC", "src_ip").apply(event);
 * assert.ok(getField(event, "src_ip") === "10.0.0.5" && getField(event, "kv.SRC") === undefined);
 * ```
 */
export function rename(from: string, to: string, options: RewriteOptions = {}): Rewrite {
  if (typeof from !== "string" || from === "") {
    throw new TypeError(`rename: "from" must be a field name, got ${_show(from)}`);
  }
  const read = fieldGetter(from);
  const clear = _setter("rename", from, true);
  const write = _setter("rename", to);
  return _rewrite("rename", options, (e) => {
    const value = read(e);
    if (value === undefined) return;
    clear(e, undefined);
    write(e, value);
  });
}

/** Options for {@linkcode subst}. */
export interface SubstOptions extends RewriteOptions {
  /** The field or macro to rewrite. @default {"MSG"} */
  value?: string;
  /** Replaces every match, not only the first (syslog-ng's `flags(global)`). @default {false} */
  global?: boolean;
  /** `"regexp"` or `"string"` (the pattern is literal text). @default {"regexp"} */
  type?: "regexp" | "string";
  /** Matches without regard to case. @default {false} */
  ignoreCase?: boolean;
}

/**
 * Replaces text in a field, like syslog-ng's `subst()`. With a regular
 * expression the replacement may refer to groups as `$1` or `$<name>`
 * (JavaScript's replacement patterns), or be a function; with
 * `type: "string"` both are taken literally. A missing field is left
 * missing; numbers are rewritten as text; objects are left alone.
 *
 * @param pattern A regular expression (text or `RegExp`) or literal text.
 * @param replacement The replacement text or function.
 * @param options Field, global, type, case, condition.
 * @returns The rewrite.
 * @throws {TypeError} When an argument has the wrong type.
 * @throws {SyntaxError} When the regular expression is invalid.
 *
 * @example Mask the last octet of addresses
 * ```ts
 * import assert from "node:assert/strict";
 * import { subst } from "./rewrites.ts";
 * import { createEvent } from "../core/event.ts";
 * const event = createEvent("from 10.0.0.5 and 10.0.0.6");
 * subst(/(\d+\.\d+\.\d+)\.\d+/, "$1.x", { global: true }).apply(event);
 * assert.ok(event.message === "from 10.0.0.x and 10.0.0.x");
 * ```
 */
export function subst(
  pattern: string | RegExp,
  replacement: string | ((match: string, ...rest: unknown[]) => string),
  options: SubstOptions = {},
): Rewrite {
  const type = options.type ?? "regexp";
  if (type !== "regexp" && type !== "string") {
    throw new RangeError(`subst: "type" must be "regexp" or "string", got ${_show(type)}`);
  }
  if (typeof replacement !== "string" && typeof replacement !== "function") {
    throw new TypeError(
      `subst: "replacement" must be a string or a function, got ${_show(replacement)}`,
    );
  }
  const global = options.global === true;
  let flags = (global ? "g" : "") + (options.ignoreCase ? "i" : "");
  let re: RegExp;
  if (pattern instanceof RegExp) {
    if (type === "string") throw new TypeError(`subst: a RegExp pattern needs "type" "regexp"`);
    for (const f of pattern.flags) if (f !== "g" && f !== "y" && !flags.includes(f)) flags += f;
    re = new RegExp(pattern.source, flags);
  } else if (typeof pattern === "string") {
    if (pattern === "") throw new TypeError(`subst: the pattern must not be empty`);
    const source = type === "string" ? pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") : pattern;
    try {
      re = new RegExp(source, flags);
    } catch (error) {
      throw new SyntaxError(
        `subst: "${pattern}" is not a valid regular expression: ${(error as Error).message}`,
      );
    }
  } else {
    throw new TypeError(`subst: the pattern must be a string or a RegExp, got ${_show(pattern)}`);
  }
  const literal = type === "string" && typeof replacement === "string";
  const field = options.value ?? "MSG";
  const read = fieldGetter(field);
  const write = _setter("subst", field);
  return _rewrite("subst", options, (e) => {
    const value = read(e);
    if (value === undefined || value === null || typeof value === "object") return;
    const text = typeof value === "string" ? value : String(value);
    re.lastIndex = 0;
    const out = literal
      ? text.replace(re, () => replacement as string)
      : text.replace(re, replacement as string);
    if (out !== text || typeof value !== "string") write(e, out);
  });
}

/** Options for {@linkcode setHost}. */
export interface SetHostOptions extends RewriteOptions {
  /** Sets `HOST` only on events that have none. @default {false} */
  onlyIfMissing?: boolean;
}

/**
 * Sets `HOST`: to the rendered template, or, without one, to this machine's
 * host name. The host name is read once, here in the factory (the only
 * `Deno.*` call of a rewrite, and it needs `--allow-sys=hostname`), never
 * per event.
 *
 * @param template The host name template (`"vm-1"`, `"${json.host}"`) or a function;
 *   the local host name when left out.
 * @param options Only-if-missing, a condition and a name.
 * @returns The rewrite.
 * @throws {Error} Without a template when the host name cannot be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setHost } from "./rewrites.ts";
 * import { createEvent } from "../core/event.ts";
 * const event = createEvent("x");
 * setHost("vm-1").apply(event);
 * assert.ok(event.host === "vm-1");
 * ```
 */
export function setHost(template?: Template, options: SetHostOptions = {}): Rewrite {
  let render: (e: LogEvent) => string;
  if (template === undefined) {
    let name: string;
    try {
      name = Deno.hostname();
    } catch (error) {
      throw new Error(
        `setHost: cannot read the local host name (grant --allow-sys=hostname or pass a template): ${
          (error as Error).message
        }`,
      );
    }
    render = () => name;
  } else if (typeof template === "string" || typeof template === "function") {
    render = compileTemplate(template);
  } else {
    throw new TypeError(
      `setHost: "template" must be a string or a function, got ${_show(template)}`,
    );
  }
  const onlyIfMissing = options.onlyIfMissing === true;
  return _rewrite("set-host", options, (e) => {
    if (onlyIfMissing && e.host !== undefined && e.host !== "") return;
    const host = render(e);
    if (host === "") delete e.host;
    else e.host = host;
  });
}

/**
 * All rewrite factories of this module in one object, for
 * `import { rewrites } from "…"; rewrites.set("meta.site", "home")`.
 *
 * @example
 * ```ts
 * import { rewrites } from "./rewrites.ts";
 * const tag = rewrites.set("meta.site", "home");
 * ```
 */
export const rewrites: {
  readonly set: typeof set;
  readonly unset: typeof unset;
  readonly rename: typeof rename;
  readonly subst: typeof subst;
  readonly setHost: typeof setHost;
  readonly groupSet: typeof groupSet;
} = Object.freeze({ set, unset, rename, subst, setHost, groupSet });
