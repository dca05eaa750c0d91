/**
 * syslog-ng-like templates: `"${json.host}"`, `"${YEAR}-${MONTH}-${DAY}"`,
 * `"$HOST $MSG"`, compiled once into functions.
 *
 * @module
 */

import { fieldGetter, type LogEvent, valueToString } from "./event.ts";

/** A compiled template: renders an event to text. */
export type TemplateFn = (event: LogEvent) => string;

/**
 * A template string (`"${HOST}/${json.rule}"`) or a function that renders
 * an event. Accepted wherever sluice takes a template.
 */
export type Template = string | TemplateFn;

const _NAME = /^[A-Za-z_][A-Za-z0-9_.@-]*$/;
const _BARE = /^[A-Z_][A-Z0-9_]*/;

/**
 * Compiles a template once. Syntax:
 *
 * - `${name}` a macro (`MSG`, `HOST`, `ISODATE`, `YEAR`…`SEC`, `R_YEAR` …)
 *   or a dotted field path (`json.alert.rule`); a missing value renders `""`;
 *   objects render as JSON.
 * - `${name:-fallback}` renders `fallback` when the value is missing or empty.
 * - `$NAME` a bare upper-case macro (`$HOST`), as in syslog-ng.
 * - `$$` a literal `$`.
 *
 * A function is returned as it is.
 *
 * @param template The template text or a function.
 * @returns A function that renders an event.
 * @throws {SyntaxError} On an unclosed `${` or an empty or invalid name.
 *
 * @example Render a per-host path
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileTemplate } from "./template.ts";
 * import { createEvent } from "./event.ts";
 * const path = compileTemplate("by_vm/${HOST:-unknown}.jsonl");
 * assert.ok(path(createEvent("x", { host: "vm1" })) === "by_vm/vm1.jsonl");
 * assert.ok(path(createEvent("x")) === "by_vm/unknown.jsonl");
 * ```
 */
export function compileTemplate(template: Template): TemplateFn {
  if (typeof template === "function") return template;
  if (typeof template !== "string") {
    throw new TypeError(`compileTemplate: expected a string or a function, got ${typeof template}`);
  }
  const parts: Array<string | TemplateFn> = [];
  let literal = "";
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf("$", i);
    if (dollar < 0) {
      literal += template.slice(i);
      break;
    }
    literal += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === "$") {
      literal += "$";
      i = dollar + 2;
      continue;
    }
    if (next === "{") {
      const close = template.indexOf("}", dollar + 2);
      if (close < 0) {
        throw new SyntaxError(`compileTemplate: unclosed "\${" at ${dollar} in "${template}"`);
      }
      const body = template.slice(dollar + 2, close);
      const sep = body.indexOf(":-");
      const name = sep < 0 ? body : body.slice(0, sep);
      if (!_NAME.test(name)) {
        throw new SyntaxError(`compileTemplate: invalid name "${name}" in "${template}"`);
      }
      if (literal) parts.push(literal);
      literal = "";
      parts.push(_part(name, sep < 0 ? undefined : body.slice(sep + 2)));
      i = close + 1;
      continue;
    }
    const bare = _BARE.exec(template.slice(dollar + 1));
    if (bare) {
      if (literal) parts.push(literal);
      literal = "";
      parts.push(_part(bare[0], undefined));
      i = dollar + 1 + bare[0].length;
      continue;
    }
    literal += "$";
    i = dollar + 1;
  }
  if (literal) parts.push(literal);
  if (parts.length === 0) return () => "";
  if (parts.length === 1) {
    const only = parts[0] as string | TemplateFn;
    return typeof only === "string" ? () => only : only;
  }
  if (parts.length === 2) {
    const [a, b] = parts as [string | TemplateFn, string | TemplateFn];
    if (typeof a === "function" && typeof b === "string") return (e) => a(e) + b;
    if (typeof a === "string" && typeof b === "function") return (e) => a + b(e);
  }
  return (e) => {
    let out = "";
    for (const part of parts) out += typeof part === "string" ? part : part(e);
    return out;
  };
}

function _part(name: string, fallback: string | undefined): TemplateFn {
  const get = fieldGetter(name);
  if (fallback === undefined) return (e) => valueToString(get(e));
  return (e) => {
    const text = valueToString(get(e));
    return text === "" ? fallback : text;
  };
}

/**
 * Lists the field names a template reads, for validation and docs.
 *
 * @param template The template text.
 * @returns The names, in order of appearance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { templateNames } from "./template.ts";
 * assert.ok(templateNames("${HOST}/${json.rule}").join() === "HOST,json.rule");
 * ```
 */
export function templateNames(template: string): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(/\$\{([^}:]+)(?::-[^}]*)?\}|\$([A-Z_][A-Z0-9_]*)/g)) {
    names.push((m[1] ?? m[2]) as string);
  }
  return names;
}
