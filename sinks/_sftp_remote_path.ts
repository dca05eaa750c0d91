/**
 * Remote paths of the sftp-object sink: rendered paths checked and
 * normalised, refused when unsafe, placed under the sink's root.
 *
 * @module
 */

import { safeJoin } from "../core/safe_path.ts";

/**
 * A path the sink will not write to.
 *
 * @example
 * ```ts
 * import { RefusedPath } from "./_sftp_remote_path.ts";
 * console.assert(new RefusedPath("no") instanceof Error);
 * ```
 */
export class RefusedPath extends Error {}

/**
 * An error's message, or the thrown value as text.
 *
 * @param err What was thrown.
 * @returns Its message.
 *
 * @example
 * ```ts
 * import { errorText } from "./_sftp_remote_path.ts";
 * console.assert(errorText(new Error("x")) === "x" && errorText(3) === "3");
 * ```
 */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Normalises a rendered relative path, refusing absolute paths, `..` and NUL.
 *
 * @param rendered The rendered path.
 * @returns It normalised, without a leading `./`.
 * @throws {RefusedPath} When it is unsafe.
 *
 * @example
 * ```ts
 * import { remoteRelative } from "./_sftp_remote_path.ts";
 * console.assert(remoteRelative("a//b/./c") === "a/b/c");
 * let refused = false;
 * try {
 *   remoteRelative("../x");
 * } catch {
 *   refused = true;
 * }
 * console.assert(refused);
 * ```
 */
export function remoteRelative(rendered: string): string {
  try {
    return safeJoin(".", rendered).slice(2);
  } catch (err) {
    throw new RefusedPath(errorText(err).replace(/^safeJoin: /, ""));
  }
}

/**
 * A relative path under the sink's `root`, as sent to the server.
 *
 * @param root The resolved root (`"."`, `"/"` or a path without a trailing slash).
 * @param rel The relative path.
 * @returns The path for SFTP.
 *
 * @example
 * ```ts
 * import { remoteFull } from "./_sftp_remote_path.ts";
 * console.assert(remoteFull(".", "a") === "a" && remoteFull("/", "a") === "/a");
 * console.assert(remoteFull("/srv", "a") === "/srv/a");
 * ```
 */
export function remoteFull(root: string, rel: string): string {
  return root === "." ? rel : root === "/" ? `/${rel}` : `${root}/${rel}`;
}
