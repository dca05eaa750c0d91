/**
 * `sluice sync`'s progress bars and sizes.
 *
 * @module
 */

import type { ObjectActivity } from "../sources/objects.ts";

/**
 * Bytes in KiB, MiB … with one decimal below 10.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSize } from "./_sync_progress.ts";
 * assert.equal(formatSize(1536), "1.5 KiB");
 * ```
 */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/**
 * Plain-text progress bars on stderr, one line redrawn per file.
 *
 * @example
 * ```ts ignore
 * const progress = new SyncProgress();
 * sink.subscribe((a) => progress.on(a));
 * ```
 */
export class SyncProgress {
  readonly #active = new Map<string, { path: string; size: number; sent: number; t0: number }>();
  readonly #enc = new TextEncoder();
  #lastDraw = 0;

  #write(text: string): void {
    try {
      Deno.stderr.writeSync(this.#enc.encode(text));
    } catch {
      // stderr closed
    }
  }

  #bar(path: string, sent: number, size: number, t0: number): string {
    const frac = size > 0 ? Math.min(1, sent / size) : 1;
    const width = 24;
    const full = Math.round(frac * width);
    const secs = (performance.now() - t0) / 1000;
    const rate = secs > 0 ? `${formatSize(sent / secs)}/s` : "";
    return `[${"#".repeat(full)}${".".repeat(width - full)}] ${
      String(Math.floor(frac * 100)).padStart(3)
    }% ${path} ${formatSize(sent)}/${formatSize(size)} ${rate}`;
  }

  /** Draws what an object sink reports (start, progress, uploaded, error). */
  on(a: ObjectActivity): void {
    if (a.type === "start") {
      this.#active.set(a.remote, {
        path: a.path,
        size: a.size,
        sent: a.resumeAt,
        t0: performance.now(),
      });
    } else if (a.type === "progress") {
      const f = this.#active.get(a.remote);
      if (!f) return;
      f.sent = a.sent;
      const now = performance.now();
      if (now - this.#lastDraw < 100) return;
      this.#lastDraw = now;
      this.#write(`\r\x1b[2K${this.#bar(f.path, f.sent, f.size, f.t0)}`);
    } else if (a.type === "uploaded") {
      const f = this.#active.get(a.object.remote);
      this.#active.delete(a.object.remote);
      if (f) this.#write(`\r\x1b[2K${this.#bar(f.path, f.size, f.size, f.t0)}\n`);
    } else if (a.type === "error") {
      this.#active.clear();
      this.#write("\r\x1b[2K");
    }
  }
}
