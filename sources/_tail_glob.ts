/**
 * The paths the file-tail source follows: a path or a glob (`*`, `?` and
 * `[…]` in any segment) split into a literal base directory and the
 * segments to match below it, and expanded against the file system.
 *
 * @module
 */

/** A glob split at its first segment with a wildcard. */
export interface TailGlob {
  /** The literal directory above the first wildcard (watched for changes). */
  base: string;
  /** The segments below it, the last one naming files. */
  segments: string[];
}

/**
 * Whether a path segment holds a wildcard.
 *
 * @param segment One segment of a path.
 * @returns Whether it has `*`, `?` or `[`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasGlobMeta } from "./_tail_glob.ts";
 * assert.equal(hasGlobMeta("*.jsonl"), true);
 * assert.equal(hasGlobMeta("app.log"), false);
 * ```
 */
export function hasGlobMeta(segment: string): boolean {
  return /[*?[]/.test(segment);
}

/**
 * The regular expression one glob segment stands for: `*` and `?` never
 * cross a `/`, `[!…]` negates, and, as in a shell, a wildcard does not
 * match a leading dot.
 *
 * @param segment One segment of a glob.
 * @returns A regular expression anchored at both ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { globSegmentRegExp } from "./_tail_glob.ts";
 * const re = globSegmentRegExp("app-[0-9].log*");
 * assert.equal(re.test("app-1.log.1"), true);
 * assert.equal(globSegmentRegExp("*").test(".hidden"), false);
 * ```
 */
export function globSegmentRegExp(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i] as string;
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const close = segment.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
        continue;
      }
      let body = segment.slice(i + 1, close);
      if (body.startsWith("!")) body = "^" + body.slice(1);
      re += `[${body.replace(/\\/g, "\\\\")}]`;
      i = close;
    } else re += ch.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(segment.startsWith(".") ? `^${re}$` : `^(?!\\.)${re}$`);
}

/**
 * Joins a directory and a name with one `/`.
 *
 * @param dir A directory.
 * @param name A name in it.
 * @returns The path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { joinPath } from "./_tail_glob.ts";
 * assert.equal(joinPath("/var/log/", "auth.log"), "/var/log/auth.log");
 * assert.equal(joinPath("/var/log", "auth.log"), "/var/log/auth.log");
 * ```
 */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/**
 * The directory of a path (`/` for a file at the root).
 *
 * @param path An absolute path.
 * @returns Its directory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dirnameOf } from "./_tail_glob.ts";
 * assert.equal(dirnameOf("/var/log/auth.log"), "/var/log");
 * assert.equal(dirnameOf("/auth.log"), "/");
 * ```
 */
export function dirnameOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/**
 * Splits a path or glob (relative to `cwd` unless absolute) into its
 * literal base directory and the segments below it.
 *
 * @param path The path or glob the source was given.
 * @param cwd The directory a relative path is taken from.
 * @returns The base and segments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitGlob } from "./_tail_glob.ts";
 * assert.deepEqual(splitGlob("/var/log/*\/auth.log", "/"), {
 *   base: "/var/log",
 *   segments: ["*", "auth.log"],
 * });
 * assert.deepEqual(splitGlob("app.log", "/srv"), { base: "/srv", segments: ["app.log"] });
 * ```
 */
export function splitGlob(path: string, cwd: string): TailGlob {
  const pattern = path.startsWith("/") ? path : joinPath(cwd, path);
  const parts = pattern.split("/").filter((p) => p !== "" && p !== ".");
  let literal = 0;
  while (literal < parts.length - 1 && !hasGlobMeta(parts[literal] as string)) literal++;
  return { base: "/" + parts.slice(0, literal).join("/"), segments: parts.slice(literal) };
}

/**
 * The paths a glob matches now, sorted per level; a directory that
 * vanished or cannot be read matches nothing. The last segment may match
 * anything (the caller keeps the regular files); the others only
 * directories.
 *
 * @param glob The split glob.
 * @returns The matching paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expandGlob, splitGlob } from "./_tail_glob.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.log`, "");
 * await Deno.writeTextFile(`${dir}/b.txt`, "");
 * assert.deepEqual(await expandGlob(splitGlob(`${dir}/*.log`, "/")), [`${dir}/a.log`]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function expandGlob(glob: TailGlob): Promise<string[]> {
  let paths = [glob.base];
  const segs = glob.segments;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] as string;
    const last = i === segs.length - 1;
    if (!hasGlobMeta(seg)) {
      paths = paths.map((p) => joinPath(p, seg));
      continue;
    }
    const re = globSegmentRegExp(seg);
    const next: string[] = [];
    for (const dir of paths) {
      try {
        for await (const entry of Deno.readDir(dir)) {
          if (!re.test(entry.name)) continue;
          if (!last && entry.isFile) continue;
          next.push(joinPath(dir, entry.name));
        }
      } catch {
        // a directory that vanished or cannot be read matches nothing
      }
    }
    paths = next.sort();
  }
  return paths;
}
