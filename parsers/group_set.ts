/**
 * syslog-ng's `groupset()`: several fields, or every leaf under a glob, set
 * from one template of their current value. Re-exported by parsers/rewrites.ts.
 *
 * @module
 */

import { fieldGetter, type Fields, type LogEvent, valueToString } from "../core/event.ts";
import { compileTemplate } from "../core/template.ts";
import type { Rewrite } from "../core/types.ts";
import { showValue as _show } from "./_filter_base.ts";
import {
  rewriteOf as _rewrite,
  type RewriteOptions,
  setterOf as _setter,
} from "./_rewrite_base.ts";

/**
 * A value for {@linkcode groupSet}: a template in which `${_}` (or `$_`)
 * stands for the field's current value, or a function of the value, the
 * field's dotted name and the event.
 */
export type GroupSetTemplate =
  | string
  | ((value: unknown, name: string, event: LogEvent) => unknown);

/**
 * Sets several fields at once, like syslog-ng's `groupset()`. `values`
 * names fields or macros (`"HOST"`, `"meta.site"`), which are set whether
 * or not they exist, and globs (`"json.*"`, `"fw.?PT"`), which rewrite the
 * existing leaf values below them (`*` spans dots; objects are walked,
 * arrays are leaves). The template sees the current value as `${_}`.
 *
 * @param values Names and globs.
 * @param template The new value: a template using `${_}`, or a function.
 * @param options A condition and a name.
 * @returns The rewrite.
 * @throws {TypeError} When an argument has the wrong type or names a read-only macro.
 *
 * @example Trim every parsed value
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupSet } from "./group_set.ts";
 * import { createEvent, getField } from "../core/event.ts";
 * const event = createEvent("x", { fields: { csv: { ip: " 10.0.0.5 ", mac: " aa:bb " } } });
 * groupSet("csv.*", (v) => String(v).trim()).apply(event);
 * assert.ok(getField(event, "csv.ip") === "10.0.0.5");
 * ```
 */
export function groupSet(
  values: string | readonly string[],
  template: GroupSetTemplate,
  options: RewriteOptions = {},
): Rewrite {
  const names = typeof values === "string" ? [values] : values;
  if (
    !Array.isArray(names) || names.length === 0 ||
    names.some((n) => typeof n !== "string" || n === "")
  ) {
    throw new TypeError(
      `groupSet: "values" must be a name or glob, or a non-empty array of them, got ${
        _show(values)
      }`,
    );
  }
  const render = _groupTemplate(template);
  const steps: Array<(e: LogEvent) => void> = [];
  for (const name of names as string[]) {
    if (!/[*?]/.test(name)) {
      const read = fieldGetter(name);
      const write = _setter("groupSet", name);
      steps.push((e) => write(e, render(read(e), name, e)));
      continue;
    }
    const parts = name.split(".");
    const staticEnd = parts.findIndex((p) => /[*?]/.test(p));
    const base = parts.slice(0, staticEnd).join(".");
    const rest = parts.slice(staticEnd).join(".");
    const glob = new RegExp(
      "^" + rest.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^]*").replace(/\?/g, "[^]") +
        "$",
    );
    const root = base === "" ? (e: LogEvent) => e.fields : fieldGetter(base);
    const prefix = base === "" ? "" : base + ".";
    steps.push((e) => {
      const node = root(e);
      if (node !== null && typeof node === "object" && !Array.isArray(node)) {
        _walk(node as Fields, "", glob, (parent, key, path, value) => {
          const next = render(value, prefix + path, e);
          if (key === "__proto__") {
            Object.defineProperty(parent, key, {
              value: next,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          } else parent[key] = next;
        });
      }
    });
  }
  if (steps.length === 1) return _rewrite("group-set", options, steps[0]!);
  return _rewrite("group-set", options, (e) => {
    for (const step of steps) step(e);
  });
}

function _groupTemplate(template: unknown): (value: unknown, name: string, e: LogEvent) => unknown {
  if (typeof template === "function") {
    return template as (value: unknown, name: string, e: LogEvent) => unknown;
  }
  if (typeof template !== "string") {
    throw new TypeError(
      `groupSet: "template" must be a string or a function, got ${_show(template)}`,
    );
  }
  const pieces = template.split(/\$\{_\}|\$_(?![A-Za-z0-9_])/).map((p) => compileTemplate(p));
  if (pieces.length === 1) {
    const only = pieces[0]!;
    return (_v, _n, e) => only(e);
  }
  return (value, _name, e) => {
    const text = valueToString(value);
    let out = pieces[0]!(e);
    for (let i = 1; i < pieces.length; i++) out += text + pieces[i]!(e);
    return out;
  };
}

function _walk(
  node: Fields,
  path: string,
  glob: RegExp,
  visit: (parent: Fields, key: string, path: string, value: unknown) => void,
): void {
  for (const key in node) {
    const value = node[key];
    const here = path === "" ? key : path + "." + key;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      _walk(value as Fields, here, glob, visit);
    } else if (glob.test(here)) visit(node, key, here, value);
  }
}
