/**
 * The per-host manifest of the sftp-object sink: a JSON-lines file beside
 * the objects, one record per stored object (and one per remote deletion),
 * read once per connection's life and appended with fsync.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { remoteDirname, type SftpSession } from "../ssh/sftp.ts";

/** A manifest line. */
export interface ManifestRecord {
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
 *
 * @example
 * ```ts
 * import { applyRecord, type ManifestRecord } from "./_sftp_manifest.ts";
 * const records = new Map<string, ManifestRecord>();
 * applyRecord(records, '{"path":"a","size":1,"sha256":"x"}');
 * console.assert(records.size === 1);
 * ```
 */
export function applyRecord(records: Map<string, ManifestRecord>, line: string): void {
  if (!line.trim()) return;
  try {
    const rec = JSON.parse(line) as ManifestRecord;
    if (typeof rec.path !== "string") return;
    if (rec.deleted_at) records.delete(rec.path);
    else if (typeof rec.size === "number" && typeof rec.sha256 === "string") {
      records.set(rec.path, rec);
    }
  } catch {
    // a torn or foreign line
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
   */
  async load(c: SftpSession, path: string): Promise<Map<string, ManifestRecord>> {
    const manifests = this.#records;
    const manifestSizes = this.#sizes;
    const cached = manifests.get(path);
    if (cached) return cached;
    const records = new Map<string, ManifestRecord>();
    let size = 0;
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
          for (const line of lines) applyRecord(records, line);
        }
        // A torn last line (a crash mid-append) is ignored, as is any bad line.
        applyRecord(records, rest);
      } finally {
        await c.close(handle).catch(() => {});
      }
    }
    manifests.set(path, records);
    manifestSizes.set(path, size);
    return records;
  }

  /**
   * Appends records (one at a time per sink) and fsyncs.
   *
   * @param c The SFTP session.
   * @param path The manifest's remote path.
   * @param batch The records.
   */
  append(c: SftpSession, path: string, batch: ManifestRecord[]): Promise<void> {
    const manifests = this.#records;
    const manifestSizes = this.#sizes;
    const run = async () => {
      await c.mkdirp(remoteDirname(path));
      const handle = await c.open(path, "a");
      try {
        const st = await c.fstat(handle);
        // Some servers ignore the append flag; writing at the end works with either.
        const size = Math.max(st.size, manifestSizes.get(path) ?? 0);
        const data = Buffer.from(batch.map((r) => JSON.stringify(r) + "\n").join(""));
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
