/**
 * The central's side of the object channel: reads the manifests that
 * sftp-object sinks append beside the objects they store, checks each
 * stored file (size and SHA-256) and emits one event per object, so the
 * `objects` table records what arrived and an alert's `hash` finds its
 * sample.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { sleep } from "../core/backoff.ts";
import { createEvent, type LogEvent } from "../core/event.ts";
import type { Source, SourceContext } from "../core/types.ts";
import { MANIFEST_VERSION } from "../sinks/_sftp_manifest.ts";

/** Options for {@linkcode objectManifestsSource}. */
export interface ObjectManifestsSourceOptions {
  /** The directory the sinks store under (their `root`), e.g. `/var/siem/samples`. */
  dir: string;
  /** Time between scans, in ms or as `"30s"`, `"1m"`. @default {60000} */
  interval?: number | string;
  /** Scan once, then finish (`done` resolves). @default {false} */
  once?: boolean;
  /** A name for stats and state. */
  name?: string;
}

/** A {@linkcode Source} made by {@linkcode objectManifestsSource}. */
export interface ObjectManifestsSource extends Source {
  /** With `once`, resolves after the scan's events are acknowledged. */
  readonly done: Promise<void>;
}

const _MANIFEST = ".manifest.jsonl";
const _UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function _interval(value: number | string | undefined): number {
  if (value === undefined) return 60_000;
  if (typeof value === "number" && value >= 1) return value;
  const m = typeof value === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim()) : null;
  if (!m) {
    throw new RangeError(
      `objectManifestsSource: "interval" must be ms or like "30s", "1m", got "${value}"`,
    );
  }
  return Number(m[1]) * (_UNITS[m[2] as string] as number);
}

interface _Record {
  v?: unknown;
  path?: unknown;
  size?: unknown;
  sha256?: unknown;
  mtime?: unknown;
  uploaded_at?: unknown;
  host?: unknown;
  kind?: unknown;
  encrypted?: unknown;
  stored_size?: unknown;
  stored_sha256?: unknown;
  deleted_at?: unknown;
}

async function _sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(1024 * 1024);
    while (true) {
      const n = await file.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return hash.digest("hex");
}

/** Manifests under `dir`, at most three levels down (`<host>/`, `<host>/<kind>/`, `samples/<host>/`). */
async function _manifests(dir: string, rel = "", depth = 0, out: string[] = []): Promise<string[]> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(rel ? `${dir}/${rel}` : dir));
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isFile && e.name === _MANIFEST && depth > 0) out.push(child);
    else if (e.isDirectory && depth < 3) await _manifests(dir, child, depth + 1, out);
  }
  return out;
}

/**
 * Reads the sinks' manifests under `dir` every `interval`: each new record
 * whose file is there with the recorded size and SHA-256 becomes an event
 * like `syncedObjectsSource`'s (`fields.object` with `host`,
 * `kind`, `path`, `remote`, `size`, `sha256`, `mtime`, `uploaded_at`,
 * `encrypted`; id `<remote>:<sha256>`), which `categorize()` files as an
 * `object` and the SIEM sink stores in `objects`. How far each manifest was
 * read is saved once its events are acknowledged. A line of a newer
 * manifest format (`"v"` above {@linkcode MANIFEST_VERSION}) stops that
 * manifest's reading before it, with a warning, until a sluice that knows
 * the format reads it. Counters: `records`, `missing` (no such file, or
 * another size), `mismatched` (another SHA-256), `bad_lines`, `newer_lines`.
 *
 * @param options The directory and the interval.
 * @returns The source.
 * @throws {TypeError | RangeError} On a bad option.
 *
 * @example Record what the VMs stored under /var/siem/samples
 * ```ts
 * import { objectManifestsSource } from "./object_manifests.ts";
 * const samples = objectManifestsSource({ dir: "/var/siem/samples", interval: "1m" });
 * ```
 */
export function objectManifestsSource(
  options: ObjectManifestsSourceOptions,
): ObjectManifestsSource {
  if (!options || typeof options.dir !== "string" || options.dir === "") {
    throw new TypeError(`objectManifestsSource: "dir" must be a directory path`);
  }
  const dir = options.dir.replace(/\/+$/, "") || "/";
  const interval = _interval(options.interval);
  const once = options.once ?? false;
  const stopper = new AbortController();
  let loop: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  // Manifests already reported for a line of a newer format (warned once each).
  const newerSeen = new Set<string>();

  const readManifest = async (ctx: SourceContext, rel: string, acks: Promise<void>[]) => {
    const key = `offset:${rel}`;
    let offset = ctx.state.get<number>(key) ?? 0;
    let bytes: Uint8Array;
    try {
      // Only what was appended since the last acknowledged read; a shorter file starts over.
      const file = await Deno.open(`${dir}/${rel}`, { read: true });
      try {
        const size = (await file.stat()).size;
        if (size < offset) offset = 0;
        await file.seek(offset, Deno.SeekMode.Start);
        bytes = new Uint8Array(size - offset);
        let got = 0;
        while (got < bytes.length) {
          const n = await file.read(bytes.subarray(got));
          if (n === null) break;
          got += n;
        }
        bytes = bytes.subarray(0, got);
      } finally {
        file.close();
      }
    } catch {
      return;
    }
    const tail = bytes.lastIndexOf(0x0a) + 1;
    if (tail === 0) return;
    let next = offset + tail;
    const decoder = new TextDecoder();
    const events: LogEvent[] = [];
    for (let start = 0; start < tail;) {
      const nl = bytes.indexOf(0x0a, start);
      const line = decoder.decode(bytes.subarray(start, nl));
      const lineStart = start;
      start = nl + 1;
      if (!line.trim()) continue;
      let rec: _Record;
      try {
        rec = JSON.parse(line);
      } catch {
        ctx.stats.add("bad_lines");
        continue;
      }
      if (typeof rec !== "object" || rec === null || Array.isArray(rec)) {
        ctx.stats.add("bad_lines");
        continue;
      }
      const version = typeof rec.v === "number" ? rec.v : 0;
      if (version > MANIFEST_VERSION) {
        // Written by a newer sluice: what the line means is that version's to say. Reading stops
        // before it (and stays there, so the sluice that knows the format reads it after an
        // upgrade); the lines before it are taken.
        next = offset + lineStart;
        if (!newerSeen.has(rel)) {
          newerSeen.add(rel);
          ctx.stats.add("newer_lines");
          ctx.stats.errors++;
          ctx.log.warn(
            `"${rel}" has a line of manifest format ${version}, this sluice knows up to ${MANIFEST_VERSION}: ` +
              `stopped reading it there (a downgrade?); upgrade the central to read on`,
          );
        }
        break;
      }
      if (rec.deleted_at || typeof rec.path !== "string" || typeof rec.sha256 !== "string") {
        continue;
      }
      const event = await checkRecord(ctx, rec, rel);
      if (event) events.push(event);
    }
    if (events.length === 0) {
      ctx.state.set(key, next);
      return;
    }
    ctx.stats.received += events.length;
    acks.push(
      new Promise<void>((resolve) => {
        ctx.emit(events, () => {
          ctx.state.set(key, next);
          resolve();
        }).catch(() => resolve());
      }),
    );
  };

  const checkRecord = async (
    ctx: SourceContext,
    rec: _Record,
    manifest: string,
  ): Promise<LogEvent | undefined> => {
    const remote = rec.path as string;
    const file = `${dir}/${remote}`;
    if (remote.split("/").includes("..") || remote.startsWith("/")) {
      ctx.stats.add("bad_lines");
      return undefined;
    }
    const encrypted = rec.encrypted === true;
    const storedSize = typeof rec.stored_size === "number" ? rec.stored_size : rec.size;
    const storedHash = typeof rec.stored_sha256 === "string" ? rec.stored_sha256 : rec.sha256;
    let size: number;
    try {
      size = (await Deno.stat(file)).size;
    } catch {
      size = -1;
    }
    if (size !== storedSize) {
      ctx.stats.add("missing");
      ctx.log.warn(`"${remote}" in "${manifest}" is not there with ${storedSize} bytes`);
      return undefined;
    }
    const actual = await _sha256(file);
    if (actual !== storedHash) {
      ctx.stats.add("mismatched");
      ctx.stats.errors++;
      ctx.log.warn(`"${remote}" has SHA-256 ${actual}, its manifest says ${storedHash}`);
      return undefined;
    }
    ctx.stats.add("records");
    const host = typeof rec.host === "string" && rec.host
      ? rec.host
      : manifest.split("/").at(-2) ?? "";
    const kind = typeof rec.kind === "string" ? rec.kind : "";
    const marker = kind ? `/${kind}/` : "";
    const at = marker ? remote.indexOf(marker) : -1;
    const path = at >= 0 ? remote.slice(at + marker.length) : remote;
    const object = {
      host,
      kind,
      path: encrypted ? path.replace(/\.enc$/, "") : path,
      remote,
      size: rec.size,
      sha256: rec.sha256,
      mtime: typeof rec.mtime === "string" ? Date.parse(rec.mtime) : 0,
      uploaded_at: rec.uploaded_at,
      encrypted,
    };
    return createEvent(`stored ${remote} sha256=${rec.sha256} size=${rec.size}`, {
      host,
      program: "sluice-objects",
      id: `${remote}:${rec.sha256}`,
      fields: { object },
    });
  };

  const run = async (ctx: SourceContext) => {
    try {
      while (!stopper.signal.aborted) {
        const acks: Promise<void>[] = [];
        for (const rel of await _manifests(dir)) {
          if (stopper.signal.aborted) break;
          await readManifest(ctx, rel, acks);
        }
        ctx.stats.add("scans");
        if (once) {
          await Promise.all(acks);
          break;
        }
        await sleep(interval, stopper.signal);
      }
    } catch (err) {
      ctx.stats.errors++;
      ctx.log.error("manifest scan failed", { error: String(err) });
    } finally {
      resolveDone();
    }
  };

  return {
    kind: "object-manifests",
    ...(options.name ? { name: options.name } : {}),
    done,
    start(ctx) {
      ctx.signal.addEventListener("abort", () => stopper.abort(), { once: true });
      loop = run(ctx);
      return Promise.resolve();
    },
    async stop() {
      stopper.abort();
      await loop;
    },
  };
}
