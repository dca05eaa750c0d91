/**
 * Where the central example's memory goes, at idle and after a burst: RSS,
 * private memory (RssAnon + RssShmem) and PSS from /proc, the resident
 * pages per mapping (the Deno binary, shared libraries, anonymous memory:
 * V8 heaps, isolates of workers, SQLite's page cache, queued batches) from
 * /proc/PID/smaps, and each V8 isolate's heap from `--trace-gc`.
 *
 * ```sh
 * deno run -A bench/memory_breakdown.ts [events=100000] [central example flags, e.g. --memory small]
 * ```
 *
 * V8 flags: `BENCH_V8_FLAGS`, else the ones `deno task start` gives (read from deno.json).
 *
 * @module
 */

import { alertLine } from "./workload.ts";
import { memoryMb, sampleMemory } from "./lib.ts";
import { waitFor } from "../tests/_peers.ts";

/** Resident kB per kind of mapping in /proc/PID/smaps. */
export interface MappingBreakdown {
  /** Kind (`deno binary`, `shared libraries`, `anonymous`, `[heap]`, `[stack]` …) → { rss, private } kB. */
  [kind: string]: { rss: number; private: number; count: number };
}

/**
 * Sums /proc/PID/smaps by kind of mapping.
 *
 * @param pid The process.
 * @returns Resident and private (clean + dirty) kB per kind.
 *
 * @example
 * ```ts
 * import { smapsBreakdown } from "./memory_breakdown.ts";
 * const b = smapsBreakdown(Deno.pid);
 * console.assert(Object.keys(b).length > 0);
 * ```
 */
export function smapsBreakdown(pid: number): MappingBreakdown {
  const out: MappingBreakdown = {};
  let kind = "";
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? "";
      kind = name === ""
        ? "anonymous (V8 heaps, malloc arenas, SQLite cache, buffers)"
        : name.startsWith("[")
        ? name
        : /\/deno[^/]*$/.test(name)
        ? "deno binary"
        : /\.so(\.|$)/.test(name)
        ? "shared libraries"
        : name.includes("(deleted)") || name.startsWith("/memfd:")
        ? "shared memory (memfd)"
        : "other files (databases, logs)";
      out[kind] ??= { rss: 0, private: 0, count: 0 };
      (out[kind] as { count: number }).count++;
      continue;
    }
    const m = /^(Rss|Private_Clean|Private_Dirty):\s+(\d+) kB/.exec(line);
    if (m && kind) {
      const entry = out[kind] as { rss: number; private: number };
      if (m[1] === "Rss") entry.rss += Number(m[2]);
      else entry.private += Number(m[2]);
    }
  }
  return out;
}

/** The last `--trace-gc` line of each isolate: heap used (committed) MB after its last GC. */
function _isolates(trace: string): Map<string, string> {
  const last = new Map<string, string>();
  for (const line of trace.split("\n")) {
    const m =
      /^\[\d+:(0x[0-9a-f]+)\][^:]*:\s+(\S+(?: \(\S+\))?)\s+([\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB)/
        .exec(line);
    if (m) last.set(m[1] as string, `${m[2]} ${m[3]}`);
  }
  return last;
}

function _table(title: string, pid: number, trace: string, peakPrivate?: number): string {
  const m = memoryMb(pid);
  const rows = [
    `### ${title}`,
    "",
    `RSS ${m.rss.toFixed(1)} MB (of it file-backed ${m.file.toFixed(1)} MB), private ${
      m.private.toFixed(1)
    } MB${peakPrivate ? ` (peak ${peakPrivate.toFixed(1)} MB, sampled every 20 ms)` : ""}, PSS ${
      m.pss.toFixed(1)
    } MB.`,
    "",
    "| mappings (smaps) | count | resident | private |",
    "| --- | ---: | ---: | ---: |",
  ];
  const b = smapsBreakdown(pid);
  for (const [kind, v] of Object.entries(b).sort((x, y) => y[1].rss - x[1].rss)) {
    if (v.rss < 100) continue;
    rows.push(
      `| ${kind} | ${v.count} | ${(v.rss / 1024).toFixed(1)} MB | ${
        (v.private / 1024).toFixed(1)
      } MB |`,
    );
  }
  rows.push("", "| V8 isolate (trace-gc, last GC) | heap used (committed) before -> after |");
  rows.push("| --- | --- |");
  for (const [isolate, last] of _isolates(trace)) rows.push(`| ${isolate} | ${last} |`);
  return rows.join("\n") + "\n";
}

/** The V8 flags of deno.json's `start` task. */
function _shippedV8Flags(): string {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url))) as {
    tasks: { start: string };
  };
  return /--v8-flags=(\S+)/.exec(config.tasks.start)?.[1] ?? "--max-semi-space-size=4";
}

if (import.meta.main) {
  const events = Number(Deno.args[0] ?? 100_000);
  const data = await Deno.makeTempDir({ prefix: "sluice-mem-" });
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `--v8-flags=${Deno.env.get("BENCH_V8_FLAGS") ?? _shippedV8Flags()},--trace-gc`,
      "runner/main.ts",
      "examples/pipeline.central.ts",
      "--",
      "--data",
      data,
      "--json-port",
      String(port),
      "--relp-port",
      String(port + 1),
      "--syslog-port",
      String(port + 2),
      "--ui",
      "off",
      ...Deno.args.slice(1),
    ],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let trace = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stdout) trace += decoder.decode(chunk, { stream: true });
  })();
  try {
    const conn = await waitFor("the central's JSON port", async () => {
      try {
        return await Deno.connect({ hostname: "127.0.0.1", port });
      } catch {
        return undefined;
      }
    }, 60_000);
    await new Promise((r) => setTimeout(r, 3000));
    console.log(_table("Idle (3 s after start)", child.pid, trace));
    const sampler = sampleMemory(child.pid, 20);
    const encoder = new TextEncoder();
    for (let i = 0; i < events; i += 1000) {
      let text = "";
      for (let j = i; j < Math.min(events, i + 1000); j++) text += alertLine(j) + "\n";
      const bytes = encoder.encode(text);
      for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    }
    conn.close();
    // Stored when the process has gone quiet (no CPU for a second).
    const ticks = () => {
      const f = Deno.readTextFileSync(`/proc/${child.pid}/stat`).split(") ")[1]?.split(" ") ?? [];
      return Number(f[11]) + Number(f[12]);
    };
    let last = -1;
    await waitFor(
      "the central to finish the burst",
      async () => {
        const now = ticks();
        const quiet = now === last;
        last = now;
        if (!quiet) await new Promise((r) => setTimeout(r, 1000));
        return quiet;
      },
      300_000,
      10,
    );
    const peak = sampler.stop().peakPrivate;
    console.log(
      _table(`After a burst of ${events} alerts over one TCP connection`, child.pid, trace, peak),
    );
    // What stays once it has been idle (the central collects once when it turns idle).
    const idleMs = Number(Deno.env.get("BENCH_IDLE_AFTER_MS") ?? 10_000);
    await new Promise((r) => setTimeout(r, idleMs));
    console.log(_table(`Idle again, ${idleMs / 1000} s after the burst`, child.pid, trace));
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reading.catch(() => {});
    await Deno.remove(data, { recursive: true }).catch(() => {});
  }
}
