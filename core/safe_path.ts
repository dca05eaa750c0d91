/**
 * Safe file names from event data. Sinks that put field values into paths
 * (`logs/by_vm/${HOST}.jsonl`, `samples/${HOST}/quarantine/`) use these so a
 * hostile value (`../../etc`, `a/b`, a NUL, 10 KB of text) can neither leave
 * the base directory nor make a name the file system refuses.
 *
 * Paths here are POSIX paths (`/` separators): local paths on Linux and
 * macOS, and remote SFTP paths everywhere.
 *
 * @module
 */

import { memoize } from "./memo.ts";
import { compileTemplate, type Template, type TemplateFn } from "./template.ts";

/** Options for {@linkcode safePathComponent}. */
export interface SafePathComponentOptions {
  /**
   * Longest result in UTF-8 bytes. Longer values are cut and end in `~` and
   * a hash of the whole value, so two long values stay apart. Leaves room
   * under the usual 255-byte name limit for an extension and a rotation
   * suffix. @default {200}
   */
  maxBytes?: number;
  /** What an empty value becomes. @default {"_"} */
  empty?: string;
}

// Separators, NUL and other control characters (C0, DEL, C1), which no name should hold;
// the bidi marks, embeddings, overrides and isolates (U+061C, U+200E-U+200F, U+202A-U+202E,
// U+2066-U+2069), which make a listing show a name other than the one stored
// (`\u202eevil\u202d`); the line and paragraph separators; and lone surrogates, which have
// no UTF-8 form.
const _UNSAFE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069/\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const _encoder = new TextEncoder();

/**
 * Turns any text into one safe path component: `/`, `\`, NUL and control
 * characters (C0, DEL and C1), bidi controls (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069), U+2028, U+2029 and lone surrogates
 * become `_`, no `..` remains, a leading or trailing dot becomes `_`, an
 * empty value becomes `_`, and the result is at most `maxBytes` UTF-8 bytes.
 * Ordinary names (`vm1`, `web-01.example.org`, `2026-11-23`) pass unchanged.
 *
 * @param value The text, usually a rendered field value.
 * @param options Length limit and the name for empty values.
 * @returns A name that is safe as a single component under any directory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { safePathComponent } from "./safe_path.ts";
 * assert.ok(safePathComponent("vm1") === "vm1");
 * assert.ok(safePathComponent("../../etc") === "_.__._etc");
 * assert.ok(safePathComponent("") === "_");
 * ```
 */
export function safePathComponent(value: string, options: SafePathComponentOptions = {}): string {
  const maxBytes = options.maxBytes ?? 200;
  let out = String(value).replace(_UNSAFE, "_");
  // "a..b" is harmless inside one component, but "no .. anywhere" is simpler to audit.
  if (out.includes("..")) out = out.replace(/\.(?=\.)/g, "_");
  if (out.startsWith(".")) out = "_" + out.slice(1);
  // A trailing dot would meet an extension's dot (`${HOST}.jsonl`) and some file systems drop it.
  if (out.endsWith(".")) out = out.slice(0, -1) + "_";
  if (out === "") out = options.empty ?? "_";
  if (out.length * 3 <= maxBytes || _encoder.encode(out).length <= maxBytes) return out;
  const suffix = "~" + _fnv1a(String(value));
  let cut = "";
  let bytes = 0;
  for (const ch of out) {
    const n = _encoder.encode(ch).length;
    if (bytes + n > maxBytes - suffix.length) break;
    cut += ch;
    bytes += n;
  }
  return cut + suffix;
}

/**
 * Joins a relative POSIX path under a base directory, and refuses anything
 * that would leave it: an absolute path, a `..` component, a NUL. Empty and
 * `.` components are dropped. It does not resolve symbolic links: the base
 * directory is the caller's to trust.
 *
 * @param base The base directory (absolute or relative).
 * @param relative A path under it, `/`-separated (`by_vm/vm1.jsonl`).
 * @returns `base/relative`, normalised.
 * @throws {RangeError} When the relative path is empty, absolute, holds a
 *   `..` component or a NUL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { safeJoin } from "./safe_path.ts";
 * assert.ok(safeJoin("/var/log/sluice", "by_vm//vm1.jsonl") === "/var/log/sluice/by_vm/vm1.jsonl");
 * let refused = false;
 * try { safeJoin("/var/log/sluice", "../etc/passwd"); } catch { refused = true; }
 * assert.ok(refused);
 * ```
 */
export function safeJoin(base: string, relative: string): string {
  if (relative.startsWith("/")) {
    throw new RangeError(`safeJoin: "${_show(relative)}" is absolute, expected a relative path`);
  }
  if (relative.includes("\0")) {
    throw new RangeError(`safeJoin: "${_show(relative)}" holds a NUL character`);
  }
  const parts: string[] = [];
  for (const part of relative.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      throw new RangeError(`safeJoin: "${_show(relative)}" leaves the base directory`);
    }
    parts.push(part);
  }
  if (parts.length === 0) {
    throw new RangeError(`safeJoin: "${_show(relative)}" names no file under "${base}"`);
  }
  const root = base === "" ? "." : base.endsWith("/") && base !== "/" ? base.slice(0, -1) : base;
  return root === "/" ? "/" + parts.join("/") : root + "/" + parts.join("/");
}

/** Options for {@linkcode pathTemplate}. */
export interface PathTemplateOptions extends SafePathComponentOptions {
  /**
   * Macros (the whole `${…}` text) whose value is kept as it is, slashes
   * included, because the caller checks every component of the result
   * itself (the SFTP sink's `${object.path}`). @default none
   */
  verbatim?: RegExp;
}

/**
 * Compiles a path template whose literal text is trusted (it comes from the
 * pipeline file) and whose values are not: every `${…}` or `$NAME` value is
 * passed through {@linkcode safePathComponent}, so `by_vm/${HOST}.jsonl`
 * with host `../../etc` renders `by_vm/_.__._etc.jsonl`. A function is
 * trusted to return a relative path; each of its components is made safe
 * the same way. Join the result with {@linkcode safeJoin}.
 *
 * @param template The path template, e.g. `"daily/${YEAR}-${MONTH}-${DAY}.jsonl"`.
 * @param options Passed to {@linkcode safePathComponent} for every value.
 * @returns A function rendering an event's relative path.
 * @throws {SyntaxError} On a template {@linkcode compileTemplate} rejects.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathTemplate } from "./safe_path.ts";
 * import { createEvent } from "./event.ts";
 * const path = pathTemplate("by_vm/${HOST}.jsonl");
 * assert.ok(path(createEvent("x", { host: "a/b" })) === "by_vm/a_b.jsonl");
 * ```
 */
export function pathTemplate(
  template: Template,
  options: PathTemplateOptions = {},
): TemplateFn {
  // Values repeat (a few hosts, one day at a time): each is made safe once.
  const safe = memoize((value: string) => safePathComponent(value, options), 1024);
  if (typeof template === "function") {
    return (e) => template(e).split("/").filter((p) => p !== "" && p !== ".").map(safe).join("/");
  }
  const parts: Array<string | { render: TemplateFn; safe: boolean }> = [];
  let last = 0;
  for (const m of template.matchAll(/\$\$|\$\{[^}]*\}?|\$[A-Z_][A-Z0-9_]*/g)) {
    const literal = template.slice(last, m.index);
    if (literal) parts.push(literal);
    last = m.index + m[0].length;
    if (m[0] === "$$") {
      parts.push("$");
      continue;
    }
    parts.push({ render: compileTemplate(m[0]), safe: !options.verbatim?.test(m[0]) });
  }
  const rest = template.slice(last);
  if (rest) parts.push(rest);
  // The path of the macros' values, in order.
  const pathOf = (values: readonly string[]): string => {
    let out = "";
    let at = 0;
    for (const part of parts) {
      if (typeof part === "string") out += part;
      else {
        const value = values[at++] as string;
        out += part.safe ? safe(value) : value;
      }
    }
    return out;
  };
  const dynamic = parts.filter((p): p is { render: TemplateFn; safe: boolean } =>
    typeof p !== "string"
  );
  const first = dynamic[0];
  if (first && dynamic.length === 1) {
    // One macro (by_vm/${HOST}, by_category/${category}): its few values, interleaved in a
    // batch, each map to their path.
    const byValue = memoize((value: string) => pathOf([value]), 1024);
    return (e) => byValue(first.render(e));
  }
  // Events in a row mostly render the same path (one day): when every macro's value is the
  // last event's, so is the path, without making it safe and joining it again.
  const values: string[] = [];
  let lastPath: string | undefined;
  return (e) => {
    // Forgotten until this event's path is made: a render or safe() that throws leaves none.
    const previous = lastPath;
    lastPath = undefined;
    let same = previous !== undefined;
    for (let at = 0; at < dynamic.length; at++) {
      const value = (dynamic[at] as { render: TemplateFn }).render(e);
      if (same && value !== values[at]) same = false;
      values[at] = value;
    }
    lastPath = same ? previous : pathOf(values);
    return lastPath as string;
  };
}

function _show(text: string): string {
  const shown = text.length > 80 ? text.slice(0, 80) + "…" : text;
  return shown.replace(/\0/g, "\\0");
}

/** FNV-1a over UTF-16 code units, as 8 hex digits: short, stable, dependency-free. */
function _fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}
