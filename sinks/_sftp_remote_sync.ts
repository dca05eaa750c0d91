/**
 * Sync mode's remote deletions for the sftp-object sink: the remote files
 * under a listed directory that the source's listing no longer holds are
 * deleted, each recorded in the host's manifest.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { ComponentStats } from "../core/stats.ts";
import type { TemplateFn } from "../core/template.ts";
import { type ObjectActivity, objectListing } from "../sources/objects.ts";
import { isSftpCode, SFTP_STATUS, type SftpSession } from "../ssh/sftp.ts";
import type { ManifestStore } from "./_sftp_manifest.ts";
import { isPartialName } from "./_sftp_partial_name.ts";
import { remoteRelative as _relative } from "./_sftp_remote_path.ts";

/**
 * What {@linkcode syncDeletions} needs from its sink.
 *
 * @example
 * ```ts ignore
 * const sync: RemoteSyncDeps = { renderPath, renderDir, renderManifest, encrypted: () => false, full: (rel) => rel, dryRun: () => false, emit, stats: () => undefined, manifests };
 * ```
 */
export interface RemoteSyncDeps {
  /** Where an object goes, relative to the root. */
  renderPath: TemplateFn;
  /** The directory a listing covers (set only with `deleteRemote`). */
  renderDir: TemplateFn | undefined;
  /** Where the host's manifest is. */
  renderManifest: TemplateFn;
  /** Whether objects are stored encrypted (`.enc` appended). */
  encrypted: () => boolean;
  /** A relative path under the root, as sent to the server. */
  full: (rel: string) => string;
  /** Whether the sink only says what it would do. */
  dryRun: () => boolean;
  /** Reports activity. */
  emit: (activity: ObjectActivity) => void;
  /** The sink's stats, once open (`deleted_remote`). */
  stats: () => ComponentStats | undefined;
  /** The per-host manifests. */
  manifests: ManifestStore;
}

/**
 * Deletes the remote files under a listing's directory that the listing
 * does not hold (the manifest and temporary names excepted), recording
 * each deletion in the manifest; in a dry run only reports them.
 *
 * @param d The sink's parts.
 * @param c The SFTP session.
 * @param event A listing event (anything else is ignored).
 *
 * @example
 * ```ts ignore
 * for (const event of listings) await syncDeletions(deps, sessions[0], event);
 * ```
 */
export async function syncDeletions(
  d: RemoteSyncDeps,
  c: SftpSession,
  event: LogEvent,
): Promise<void> {
  const { renderDir, renderPath, renderManifest, full, manifests } = d;
  const listing = objectListing(event);
  if (!listing || !renderDir) return;
  const pseudo = (path: string): LogEvent => ({
    ...event,
    fields: { ...event.fields, object: { kind: listing.kind, path } },
  });
  let dirRel: string;
  try {
    dirRel = _relative(renderDir(pseudo("")) || ".");
  } catch {
    return;
  }
  const keep = new Set<string>();
  for (const path of listing.paths) {
    try {
      keep.add(_relative(renderPath(pseudo(path))) + (d.encrypted() ? ".enc" : ""));
    } catch {
      // a refused path was never uploaded
    }
  }
  const manifestRel = _relative(renderManifest(pseudo("")));
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await c.readdir(full(rel));
    } catch (err) {
      if (isSftpCode(err, SFTP_STATUS.NO_SUCH_FILE)) return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.filename === "." || entry.filename === "..") continue;
      const child = `${rel}/${entry.filename}`;
      if (entry.attrs.isDirectory()) await walk(child);
      else if (
        !keep.has(child) && !isPartialName(child) && child !== manifestRel
      ) {
        if (d.dryRun()) {
          d.emit({ type: "would-delete-remote", remote: child });
          continue;
        }
        await c.unlink(full(child));
        d.stats()?.add("deleted_remote");
        const now = new Date().toISOString();
        await manifests.append(c, full(manifestRel), [{
          path: child,
          size: entry.attrs.size,
          sha256: "",
          mtime: new Date(entry.attrs.mtime * 1000).toISOString(),
          uploaded_at: "",
          deleted_at: now,
        }]);
        d.emit({ type: "deleted-remote", remote: child });
      }
    }
  };
  await walk(dirRel);
}
