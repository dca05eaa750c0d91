/**
 * The temporary names of the sftp-object sink: an upload is written to
 * `.<16 hex>.partial` beside its target, then renamed into place.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { remoteDirname } from "../ssh/sftp.ts";

/**
 * The temporary name an upload is written to before its rename: beside the
 * target, short whatever the target's length (`.<16 hex>.partial`, 25 bytes),
 * so a name near NAME_MAX (255 bytes) never becomes one past it.
 *
 * @param remote The target path.
 * @returns The temporary path in the same directory.
 *
 * @example
 * ```ts
 * import { partialPathFor } from "./_sftp_partial_name.ts";
 * const p = partialPathFor("samples/vm1/" + "x".repeat(255));
 * console.assert(p.startsWith("samples/vm1/.") && p.endsWith(".partial") && p.length === 12 + 25);
 * ```
 */
export function partialPathFor(remote: string): string {
  const dir = remoteDirname(remote);
  // The name alone is hashed: the same temporary name whatever root the path is under.
  const base = remote.slice(remote.lastIndexOf("/") + 1);
  const name = `.${createHash("sha256").update(base).digest("hex").slice(0, 16)}.partial`;
  return dir === "." ? name : dir === "/" ? `/${name}` : `${dir}/${name}`;
}

/**
 * Whether a remote name is one of the sink's temporary names.
 *
 * @param name A file name or path.
 * @returns Whether it is `.<16 hex>.partial`.
 *
 * @example
 * ```ts
 * import { isPartialName, partialPathFor } from "./_sftp_partial_name.ts";
 * console.assert(isPartialName(partialPathFor("a/b")) && !isPartialName("a/b.partial"));
 * ```
 */
export function isPartialName(name: string): boolean {
  return /(^|\/)\.[0-9a-f]{16}\.partial$/.test(name);
}
