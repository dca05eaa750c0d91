/**
 * The per-host manifest of the sftp-object sink: a JSON-lines file beside
 * the objects, one record per stored object (and one per remote deletion),
 * read once per connection's life and appended with fsync. Each line
 * carries the format's version (`"v"`, {@linkcode MANIFEST_VERSION}); lines
 * without one were written before versions (version 0) and stay as they
 * are, the file being append-only. A manifest with a line from a newer
 * version is neither read nor appended to.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { remoteDirname, type SftpSession } from "../ssh/sftp.ts";
import { checkVersion } from "../core/_state_version.ts";

/**
 * The version of the manifest lines this code writes.
 *
 * @example
 * ```ts
 * import { MANIFEST_VERSION } from "./_sftp_manifest.ts";
 * console.log(MANIFEST_VERSION); // 1
 * ```
 */
export const MANIFEST_VERSION = 1;

/** A manifest line. */
export interface ManifestRecord {
  /** The line's format version (absent before versions). */
  v?: number;
  /** The remote path, relative to the sink's root. */
  path: string;
  /** Plaintext size. */
  size: number;
  /** SHA-256 of the plaintext, hex. */
  sha256: string;
  /** The local mtime, ISO 8601. */
  mtime: string;
  /** When it was stored, ISO 8601. */
  uploaded_at: string;
  /** The host it came from. */
  host?: string;
  /** The object's kind. */
  kind?: string;
  /** Stored encrypted. */
  encrypted?: boolean;
  /** Stored size, when encrypted. */
  stored_size?: number;
  /** SHA-256 of the stored bytes, when encrypted. */
  stored_sha256?: string;
  /** Set on a deletion record. */
  deleted_at?: string;
}

/**
 * Applies one manifest line: a record replaces the one for its path, a
 * deletion removes it, a torn or foreign line is ignored.
 *
 * @param records Records by remote path.
 * @param line One line.
 * @returns The line's format version (0 without one, or for a line that is not a record).
 *
 * @example
 * ```ts
 * import { applyRecord, type ManifestRecord } from "./_sftp_manifest.ts";
 * const records = new Map<string, ManifestRecord>();
 * applyRecord(records, '{"path":"a","size":1,"sha256":"x"}');
 * console.assert(records.size === 1);
 * ```
 */
export function applyRecord(records: Map<string, ManifestRecord>, line: string): number {
  if (!line.trim()) return 0;
  try {
    const rec = JSON.parse(line) as ManifestRecord;
    const version = typeof rec.v === "number" ? rec.v : 0;
    // A newer line is not applied: what it means is the newer version's to say.
    if (typeof rec.path !== "string" || version > MANIFEST_VERSION) return version;
    if (rec.deleted_at) records.delete(rec.path);
    else if (typeof rec.size === "number" && typeof rec.sha256 === "string") {
      records.set(rec.path, rec);
    }
    return version;
  } catch {
    // a torn or foreign line
    return 0;
  }
}

/**
 * The manifests a sink has read, and the serialised appends to them.
 *
 * @example
 * ```ts
 * import { ManifestStore } from "./_sftp_manifest.ts";
 * const store = new ManifestStore();
 * ```
 */
export class ManifestStore {
  readonly #records = new Map<string, Map<string, ManifestRecord>>();
  readonly #sizes = new Map<string, number>();
  #lock: Promise<void> = Promise.resolve();

  /**
   * The records of a manifest, read once and then kept up to date.
   *
   * @param c The SFTP session.
   * @param path The manifest's remote path.
   * @returns Records by remote path.
   * @throws {DowngradeError} When a line was written by a newer sluice.
   */
  async load(c: SftpSession, path: string): Promise<Map<string, ManifestRecord>> {
    const manifests = this.#records;
    const manifestSizes = this.#sizes;
    const cached = manifests.get(path);
    if (cached) return cached;
    const records = new Map<string, ManifestRecord>();
    let size = 0;
    let version = 0;
    const st = await c.stat(path);
    if (st) {
      const handle = await c.open(path, "r");
      try {
        let rest = "";
        const decoder = new TextDecoder();
        const step = c.maxRead;
        while (true) {
          const chunk = await c.read(handle, step, size);
          if (chunk.length === 0) break;
          size += chunk.length;
          const text = rest + decoder.decode(chunk, { stream: true });
          const lines = text.split("\n");
          rest = lines.pop() as string;
          for (const line of lines) version = Math.max(version, applyRecord(records, line));
        }
        // A torn last line (a crash mid-append) is ignored, as is any bad line.
        version = Math.max(version, applyRecord(records, rest));
      } finally {
        await c.close(handle).catch(() => {});
      }
    }
    checkVersion("sftpObjectSink", path, version, MANIFEST_VERSION, "manifest format");
    manifests.set(path, records);
    manifestSizes.set(path, size);
    return records;
  }

  /**
   * Appends records (one at a time per sink), each with its format version,
   * and fsyncs. A manifest not read yet is read first, so one from a newer
   * sluice is refused rather than appended to.
   *
   * @param c The SFTP session.
   * @param path The manifest's remote path.
   * @param batch The records.
   * @throws {DowngradeError} When a line was written by a newer sluice.
   */
  append(c: SftpSession, path: string, batch: ManifestRecord[]): Promise<void> {
    const manifests = this.#records;
    const manifestSizes = this.#sizes;
    const run = async () => {
      if (!manifests.has(path)) await this.load(c, path);
      await c.mkdirp(remoteDirname(path));
      const handle = await c.open(path, "a");
      try {
        const st = await c.fstat(handle);
        // Some servers ignore the append flag; writing at the end works with either.
        const size = Math.max(st.size, manifestSizes.get(path) ?? 0);
        const data = Buffer.from(
          batch.map((r) =>
            JSON.stringify(Object.assign({ v: MANIFEST_VERSION }, r, { v: MANIFEST_VERSION })) +
            "\n"
          ).join(""),
        );
        for (let off = 0; off < data.length;) {
          const len = Math.min(c.maxWrite, data.length - off);
          await c.write(handle, data, off, len, size + off);
          off += len;
        }
        await c.fsync(handle);
        manifestSizes.set(path, size + data.length);
      } finally {
        await c.close(handle).catch(() => {});
      }
      const records = manifests.get(path);
      if (records) {
        for (const record of batch) {
          if (record.deleted_at) records.delete(record.path);
          else records.set(record.path, record);
        }
      }
    };
    const next = this.#lock.then(run, run);
    this.#lock = next.catch(() => {});
    return next;
  }
}
