/**
 * Where the dashboard's memory is, for `bench/dashboard.ts --smaps`: the
 * resident and anonymous kB of each mapping of the central (/proc/PID/smaps)
 * and, for a fair reference, the `--ui off` central after the same
 * `malloc_trim(0)` the dashboard makes when it goes quiet (ui/_gc.ts), made
 * from outside through gdb.
 *
 * @module
 */

import { runWithDeadline } from "../tests/_peers.ts";

/** Resident and anonymous kB per mapping name. */
export type Mappings = Map<string, { rss: number; anon: number }>;

/**
 * Resident and anonymous kB per mapping of /proc/PID/smaps: `[heap]`,
 * unnamed anonymous memory, the Deno binary, each other file by name.
 *
 * @param pid The process.
 * @returns kB per mapping name.
 *
 * @example
 * ```ts
 * import { smapsByMapping } from "./_dashboard_smaps.ts";
 * console.assert(smapsByMapping(Deno.pid).has("deno binary"));
 * ```
 */
export function smapsByMapping(pid: number): Mappings {
  const out: Mappings = new Map();
  let at: { rss: number; anon: number } | undefined;
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] || "anonymous";
      const key = /\/deno[^/]*$/.test(name) ? "deno binary" : name.replace(/^.*\//, "");
      at = out.get(key) ?? { rss: 0, anon: 0 };
      out.set(key, at);
      continue;
    }
    const m = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (m && at) at[m[1] === "Rss" ? "rss" : "anon"] += Number(m[2]);
  }
  return out;
}

/**
 * Per mapping, what one reading holds more than another, in MB, largest first.
 *
 * @param off The reference (the `--ui off` central).
 * @param on The reading compared (the dashboard's central).
 * @returns One indented line per mapping that differs by 0.1 MB or more.
 *
 * @example
 * ```ts
 * import { smapsDiff } from "./_dashboard_smaps.ts";
 * const a = new Map([["[heap]", { rss: 1024, anon: 1024 }]]);
 * const b = new Map([["[heap]", { rss: 3072, anon: 3072 }]]);
 * console.assert(smapsDiff(a, b).includes("[heap]: RSS 2.0 MB"));
 * ```
 */
export function smapsDiff(off: Mappings, on: Mappings): string {
  const keys = new Set([...off.keys(), ...on.keys()]);
  const rows = [...keys].map((k) => {
    const a = off.get(k) ?? { rss: 0, anon: 0 };
    const b = on.get(k) ?? { rss: 0, anon: 0 };
    return { k, rss: (b.rss - a.rss) / 1024, anon: (b.anon - a.anon) / 1024 };
  }).filter((r) => Math.abs(r.rss) >= 0.1).sort((x, y) => y.rss - x.rss);
  return rows.map((r) => `  ${r.k}: RSS ${r.rss.toFixed(1)} MB, anonymous ${r.anon.toFixed(1)} MB`)
    .join("\n");
}

/**
 * Makes a running process call glibc's `malloc_trim(0)`, through gdb.
 *
 * @param pid The process (stopped for the call, then let go).
 * @returns Whether gdb ran and the call returned.
 *
 * @example
 * ```ts ignore
 * import { trimByDebugger } from "./_dashboard_smaps.ts";
 * await trimByDebugger(1234);
 * ```
 */
export async function trimByDebugger(pid: number): Promise<boolean> {
  const r = await runWithDeadline(
    "gdb",
    ["-p", String(pid), "-batch", "-ex", "call (int) malloc_trim(0)"],
    { timeoutMs: 60_000, what: "gdb malloc_trim" },
  ).catch(() => undefined);
  return r?.code === 0 && /\$1 = [01]/.test(r.stdout);
}
