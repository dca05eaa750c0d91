/**
 * The JSONL lifecycle's gzip mechanics: one gzip member of a day's lines
 * (with what its `.gz` held before), the counts that check it, and the
 * fsynced commit record.
 *
 * @module
 */

const _CHUNK = 1 << 20;

/**
 * Bytes and lines of uncompressed JSONL.
 *
 * @example
 * ```ts
 * import type { JsonlCounts } from "./_jsonl_gzip.ts";
 * const c: JsonlCounts = { bytes: 0, lines: 0 };
 * ```
 */
export interface JsonlCounts {
  bytes: number;
  lines: number;
}

/**
 * Adds a chunk's bytes and newlines to a count.
 *
 * @param counts The count, changed in place.
 * @param bytes The chunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countInto } from "./_jsonl_gzip.ts";
 * const c = { bytes: 0, lines: 0 };
 * countInto(c, new TextEncoder().encode("a\nb\n"));
 * assert.deepEqual(c, { bytes: 4, lines: 2 });
 * ```
 */
export function countInto(counts: JsonlCounts, bytes: Uint8Array): void {
  counts.bytes += bytes.length;
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) counts.lines++;
}

/**
 * Decompresses a gzip file and counts its bytes and lines.
 *
 * @param path The `.gz` file.
 * @returns What it decompresses to.
 *
 * @example
 * ```ts ignore
 * const { bytes, lines } = await countGzip("logs/all_events-2026-12-05.jsonl.gz");
 * ```
 */
export async function countGzip(path: string): Promise<JsonlCounts> {
  const counts: JsonlCounts = { bytes: 0, lines: 0 };
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable.pipeThrough(new DecompressionStream("gzip"))) {
    countInto(counts, chunk);
  }
  return counts;
}

/**
 * Writes one gzip member holding the old `.gz`'s content (a day's late
 * lines join it; Deno's DecompressionStream reads a single member only) and
 * `file` from `from` to `to`, with the built-in `CompressionStream`.
 *
 * @param old The day's `.gz` so far, or `undefined`.
 * @param file The JSONL file, open for reading.
 * @param from Its first byte to add.
 * @param to Its end.
 * @param out The new member's file.
 * @param write Writes compressed bytes (a test's failing disk). @default {file.write}
 * @returns What the member should decompress to.
 *
 * @example
 * ```ts ignore
 * const expect = await gzipJsonl(undefined, src, 0, (await src.stat()).size, out);
 * ```
 */
export async function gzipJsonl(
  old: string | undefined,
  file: Deno.FsFile,
  from: number,
  to: number,
  out: Deno.FsFile,
  write: (file: Deno.FsFile, bytes: Uint8Array) => Promise<number> = (f, b) => f.write(b),
): Promise<JsonlCounts> {
  const counts: JsonlCounts = { bytes: 0, lines: 0 };
  const prior = old ? await Deno.open(old, { read: true }) : undefined;
  const earlier = prior?.readable.pipeThrough(new DecompressionStream("gzip")).getReader();
  await file.seek(from, Deno.SeekMode.Start);
  let left = to - from;
  const input = new ReadableStream<BufferSource>({
    async pull(controller) {
      if (earlier) {
        const r = await earlier.read();
        if (!r.done) {
          countInto(counts, r.value);
          controller.enqueue(r.value);
          return;
        }
      }
      if (left <= 0) return controller.close();
      const buf = new Uint8Array(Math.min(_CHUNK, left));
      const n = await file.read(buf);
      if (n === null) return controller.close();
      left -= n;
      const bytes = buf.subarray(0, n);
      countInto(counts, bytes);
      controller.enqueue(bytes);
    },
    async cancel() {
      await earlier?.cancel();
    },
  });
  try {
    for await (const chunk of input.pipeThrough(new CompressionStream("gzip"))) {
      let n = 0;
      while (n < chunk.length) n += await write(out, chunk.subarray(n));
    }
  } finally {
    try {
      prior?.close();
    } catch {
      // Closed by its stream already.
    }
  }
  return counts;
}

/**
 * Writes a small file and fsyncs it (the commit record).
 *
 * @param path The file.
 * @param text Its content.
 *
 * @example
 * ```ts
 * import { writeSynced } from "./_jsonl_gzip.ts";
 * const dir = await Deno.makeTempDir();
 * await writeSynced(`${dir}/x.commit`, "{}");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeSynced(path: string, text: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o640 });
  try {
    const bytes = new TextEncoder().encode(text);
    let n = 0;
    while (n < bytes.length) n += await file.write(bytes.subarray(n));
    await file.sync();
  } finally {
    file.close();
  }
}
