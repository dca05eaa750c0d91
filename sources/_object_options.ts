/**
 * The objects source's option helpers: durations like `"15m"`, rclone-style
 * globs, names made safe for logs, the default host and kind.
 *
 * @module
 */

const _DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;
const _UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * A duration option in ms: a number of ms or a string like `"15m"`,
 * `"500ms"`, `"7d"`.
 *
 * @param value The option as given.
 * @param name Its name, for the error.
 * @param fallback The default.
 * @returns Milliseconds.
 * @throws {TypeError | RangeError} On anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectDuration } from "./_object_options.ts";
 * assert.equal(objectDuration("15m", "interval", 0), 900_000);
 * assert.equal(objectDuration(undefined, "interval", 5), 5);
 * ```
 */
export function objectDuration(
  value: number | string | undefined,
  name: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value === "number") {
    if (value >= 0 && Number.isFinite(value)) return value;
    throw new RangeError(`objectsSource: "${name}" must be zero or more ms, got ${value}`);
  }
  if (typeof value !== "string") {
    throw new TypeError(`objectsSource: "${name}" must be ms or a string like "15m"`);
  }
  const m = _DURATION.exec(value.trim());
  if (!m) {
    throw new RangeError(
      `objectsSource: "${name}" must be like "500ms", "10s", "15m", "1h", "7d", got "${value}"`,
    );
  }
  return Number(m[1]) * (_UNIT_MS[m[2] as string] as number);
}

/**
 * Compiles a glob into a regular expression (the `include` and `exclude`
 * options of sources/objects.ts).
 *
 * @param glob The pattern.
 * @returns A test on relative paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { globMatcher } from "./_object_options.ts";
 * assert.ok(globMatcher("*.bin")("a/b/x.bin"));
 * assert.ok(globMatcher("tmp/**")("tmp/a/b"));
 * assert.ok(!globMatcher("tmp/*")("tmp/a/b"));
 * ```
 */
export function globMatcher(glob: string): (path: string) => boolean {
  if (typeof glob !== "string" || glob === "") {
    throw new TypeError(`objectsSource: a glob must be a non-empty string, got ${String(glob)}`);
  }
  const baseOnly = !glob.includes("/");
  let re = "";
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        i++;
        if (glob[i + 1] === "/") {
          i++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body}]`;
        i = end;
      }
    } else if (c === "{") {
      braces++;
      re += "(?:";
    } else if (c === "}" && braces > 0) {
      braces--;
      re += ")";
    } else if (c === "," && braces > 0) re += "|";
    else re += c.replace(/[.+^$()|\\\]{}]/g, "\\$&");
  }
  if (braces > 0) throw new SyntaxError(`objectsSource: unclosed "{" in glob "${glob}"`);
  const regex = new RegExp(`^${re}$`);
  if (!baseOnly) return (path) => regex.test(path);
  return (path) => regex.test(path.slice(path.lastIndexOf("/") + 1));
}

let _hostname: string | undefined;

/**
 * This machine's host name (`localhost` when it cannot be read), read once.
 *
 * @returns The name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectsHost } from "./_object_options.ts";
 * assert.ok(objectsHost().length > 0);
 * ```
 */
export function objectsHost(): string {
  if (_hostname === undefined) {
    try {
      _hostname = Deno.hostname();
    } catch {
      _hostname = "localhost";
    }
  }
  return _hostname;
}

/**
 * Whether a path exists (without following a last symbolic link).
 *
 * @param path The path.
 * @returns Whether `lstat` finds it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathExists } from "./_object_options.ts";
 * assert.equal(await pathExists("/"), true);
 * ```
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A name with control characters, U+FFFD and bidi controls escaped as
 * `\\uXXXX` (and `\\` doubled), safe to show in a log line.
 *
 * @param name A file name.
 * @returns The escaped name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeObjectName } from "./_object_options.ts";
 * assert.equal(escapeObjectName("a\nb"), "a\\u000ab");
 * ```
 */
export function escapeObjectName(name: string): string {
  return name.replace(
    // deno-lint-ignore no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd\\]/g,
    (c) => c === "\\" ? "\\\\" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The default kind of a directory's objects: its base name.
 *
 * @param dir The scanned directory.
 * @returns Its last segment (`objects` for `/`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectKindOf } from "./_object_options.ts";
 * assert.equal(objectKindOf("/var/quarantine/"), "quarantine");
 * ```
 */
export function objectKindOf(dir: string): string {
  const trimmed = dir.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1) || "objects";
}
