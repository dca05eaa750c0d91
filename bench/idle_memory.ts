/**
 * The idle private memory (RssAnon + RssShmem) of the examples as users run
 * them (`deno task start`'s V8 flags), and what it is made of (issue 26):
 * the central on a fresh data dir, the central over a seeded siem.db
 * (bench/seed_siem.ts), and the VM example forwarding over TCP to a
 * listener here. Each run waits until start-up CPU goes quiet, then
 * `BENCH_IDLE_MS` (11 s: past two looks of core/idle_gc.ts), then reads
 * /proc (status, smaps) and, through bench/_idle_probe.ts, the main
 * isolate's V8 heap.
 *
 * ```sh
 * deno run -A bench/idle_memory.ts [--runs 3] [--seeded /tmp/siem.db] [--only central,central-seeded,vm] [-- extra example flags]
 * ```
 *
 * @module
 */

import { centralArgs, memoryMb } from "./lib.ts";
import { smapsBreakdown } from "./memory_breakdown.ts";
import { waitFor } from "../tests/_peers.ts";
import type { ProbeSnapshot } from "./_idle_probe.ts";

/** One idle reading. */
export interface IdleReading {
  /** Private MB (RssAnon + RssShmem). */
  private: number;
  /** RSS MB. */
  rss: number;
  /** PSS MB. */
  pss: number;
  /** Threads of the process. */
  threads: number;
  /** Private MB per kind of mapping. */
  mappings: Record<string, number>;
  /** The largest anonymous mappings: size and resident MB. */
  largest: { sizeMb: number; rssMb: number }[];
  /** The main isolate's figures, when the probe answered. */
  probe?: ProbeSnapshot;
  /** After each experiment of `BENCH_IDLE_ACTS` (bench/_idle_probe.ts), in order. */
  acts: { act: string; private: number; probe?: ProbeSnapshot }[];
}

const _ROOT = new URL("..", import.meta.url).pathname;
const _ACTS = (Deno.env.get("BENCH_IDLE_ACTS") ?? "").split(",").filter((a) => a);

function _ticks(pid: number): number {
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]?.split(" ") ?? [];
  return Number(f[11]) + Number(f[12]);
}

function _largestAnonymous(pid: number): { sizeMb: number; rssMb: number }[] {
  const out: { sizeMb: number; rssMb: number }[] = [];
  let at: { sizeMb: number; rssMb: number } | undefined;
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      at = undefined;
      if ((head[3] ?? "") === "" || head[3] === "[heap]") {
        at = { sizeMb: (parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 1048576, rssMb: 0 };
        out.push(at);
      }
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m && at) at.rssMb = Number(m[1]) / 1024;
  }
  return out.filter((x) => x.rssMb >= 0.5).sort((a, b) => b.rssMb - a.rssMb).slice(0, 12);
}

function _v8Flags(): string {
  const config = JSON.parse(Deno.readTextFileSync(`${_ROOT}deno.json`)) as {
    tasks: { start: string };
  };
  return Deno.env.get("BENCH_V8_FLAGS") ??
    /--v8-flags=(\S+)/.exec(config.tasks.start)?.[1] ?? "";
}

/**
 * The central example's flags for an idle reading: its data in `data`,
 * every listener on a port of the kernel's choosing, no dashboard.
 *
 * @param data The data directory.
 * @returns The flags.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { centralIdleArgs } from "./idle_memory.ts";
 * assert.deepEqual(centralIdleArgs("/tmp/d").slice(0, 2), ["--data", "/tmp/d"]);
 * ```
 */
export function centralIdleArgs(data: string): string[] {
  return [...centralArgs(data), "--ui", "off"];
}

/**
 * The VM example's flags for an idle reading, forwarding over TCP to
 * `centralPort`; creates the empty files it tails in `data`.
 *
 * @param data The data directory (it exists).
 * @param centralPort Where a listener takes the VM's connection.
 * @returns The flags.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { vmIdleArgs } from "./idle_memory.ts";
 * const dir = Deno.makeTempDirSync();
 * assert.ok(vmIdleArgs(dir, 5514).includes("benchvm"));
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function vmIdleArgs(data: string, centralPort: number): string[] {
  Deno.writeTextFileSync(`${data}/alerts.jsonl`, "");
  Deno.writeTextFileSync(`${data}/yara.jsonl`, "");
  return [
    "--transport",
    "tcp",
    "--central",
    "127.0.0.1",
    "--json-port",
    String(centralPort),
    "--data",
    data,
    "--host",
    "benchvm",
  ];
}

/**
 * Starts `example` with `args`, waits until it has been idle for `idleMs`,
 * and reads its memory.
 *
 * @param example The pipeline file under examples/.
 * @param args Its flags.
 * @param idleMs Time after start-up CPU went quiet.
 * @returns The reading.
 *
 * @example
 * ```ts ignore
 * import { idleReading } from "./idle_memory.ts";
 * const r = await idleReading("examples/pipeline.central.ts", ["--data", "/tmp/x", "--ui", "off"], 11_000);
 * console.log(r.private);
 * ```
 */
export async function idleReading(
  example: string,
  args: string[],
  idleMs: number,
): Promise<IdleReading> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-idle-" });
  const probeFile = `${dir}/probe.json`;
  const flags = _v8Flags();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      example === "bare" ? "eval" : "run",
      ...(example === "bare" ? [] : ["-A"]),
      ...(flags ? [`--v8-flags=${flags}`] : []),
      ...(example === "bare" ? ["setInterval(() => {}, 1e9)"] : [
        "bench/_idle_probe.ts",
        "--log-level",
        "warn",
        "--state-dir",
        `${dir}/state`,
        example,
        "--",
        ...args,
      ]),
    ],
    cwd: _ROOT,
    env: { SLUICE_IDLE_PROBE: probeFile, SLUICE_IDLE_PROBE_ACTS: _ACTS.join(",") },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    let last = -1;
    await waitFor(
      "start-up CPU to go quiet",
      async () => {
        const now = _ticks(child.pid);
        const quiet = now === last;
        last = now;
        if (!quiet) await new Promise((r) => setTimeout(r, 1000));
        return quiet;
      },
      120_000,
      10,
    );
    await new Promise((r) => setTimeout(r, idleMs));
    const m = memoryMb(child.pid);
    const readProbe = async (signal: Deno.Signal, acts: number) => {
      Deno.kill(child.pid, signal);
      for (let i = 0; i < 30; i++) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          const p = JSON.parse(Deno.readTextFileSync(probeFile)) as ProbeSnapshot;
          if ((p.acts?.length ?? 0) === acts) return p;
        } catch {
          // not written yet
        }
      }
      return undefined;
    };
    const mappings: Record<string, number> = {};
    for (const [kind, v] of Object.entries(smapsBreakdown(child.pid))) {
      if (v.private >= 100) mappings[kind] = v.private / 1024;
    }
    const threads = [...Deno.readDirSync(`/proc/${child.pid}/task`)].length;
    const largest = _largestAnonymous(child.pid);
    const probe = example.endsWith(".ts") ? await readProbe("SIGUSR2", 0) : undefined;
    const acts: IdleReading["acts"] = [];
    for (const act of probe ? _ACTS : []) {
      const p = await readProbe("SIGUSR1", acts.length + 1);
      await new Promise((r) => setTimeout(r, 500));
      acts.push({ act, private: memoryMb(child.pid).private, ...(p ? { probe: p } : {}) });
    }
    return {
      acts,
      private: m.private,
      rss: m.rss,
      pss: m.pss,
      threads,
      mappings,
      largest,
      ...(probe ? { probe } : {}),
    };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // gone
    }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const _MB = 1048576;

function _describe(name: string, r: IdleReading): string {
  const lines = [
    `${name}: private ${r.private.toFixed(1)} MB, RSS ${r.rss.toFixed(1)} MB, threads ${r.threads}`,
    `  mappings (private MB): ${
      Object.entries(r.mappings).map(([k, v]) => `${k.replace(/ \(.*/, "")} ${v.toFixed(1)}`)
        .join(", ")
    }`,
    `  largest anonymous (size/resident MB): ${
      r.largest.map((x) => `${x.sizeMb.toFixed(1)}/${x.rssMb.toFixed(1)}`).join(" ")
    }`,
  ];
  const p = r.probe;
  if (p) {
    lines.push(
      `  main isolate: heap used ${(p.heap.used_heap_size! / _MB).toFixed(1)} of ${
        (p.heap.total_physical_size! / _MB).toFixed(1)
      } MB committed, malloced ${(p.heap.malloced_memory! / _MB).toFixed(1)} MB, external ${
        (p.memory.external / _MB).toFixed(1)
      } MB; code+metadata ${(p.code.code_and_metadata_size! / _MB).toFixed(1)} MB, bytecode ${
        (p.code.bytecode_and_metadata_size! / _MB).toFixed(1)
      } MB`,
      `  spaces (committed/used MB): ${
        Object.entries(p.spaces).filter(([, v]) => v.physical > 0).map(([k, v]) =>
          `${k.replace("_space", "")} ${(v.physical / _MB).toFixed(1)}/${(v.used / _MB).toFixed(1)}`
        ).join(", ")
      }`,
    );
  }
  if (p?.malloc) {
    const m = p.malloc;
    lines.push(
      `  malloc (all arenas): ${(m.inUse / _MB).toFixed(1)} MB in use, ${
        (m.free / _MB).toFixed(1)
      } MB free; arenas ${(m.arena / _MB).toFixed(1)} MB, mmapped ${
        (m.mmapped / _MB).toFixed(1)
      } MB`,
    );
  }
  for (const a of r.acts) {
    const h = a.probe?.heap;
    lines.push(
      `  after ${a.act}: private ${a.private.toFixed(1)} MB${
        h
          ? `, heap used ${(h.used_heap_size! / _MB).toFixed(1)} of ${
            (h.total_physical_size! / _MB).toFixed(1)
          } MB, bytecode ${(a.probe!.code.bytecode_and_metadata_size! / _MB).toFixed(1)} MB`
          : ""
      }`,
    );
  }
  if (p?.sqlite) {
    lines.push(
      `  sqlite: ${
        p.sqlite.map((d) => `${d.file.replace(/^.*\//, "") || ":memory:"} ${d.cacheSize}`).join(
          ", ",
        )
      }`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const sep = Deno.args.indexOf("--");
  const own = sep < 0 ? Deno.args : Deno.args.slice(0, sep);
  const extra = sep < 0 ? [] : Deno.args.slice(sep + 1);
  const opt = (flag: string, fallback: string) => {
    const i = own.indexOf(flag);
    return i >= 0 ? own[i + 1] ?? fallback : fallback;
  };
  const runs = Number(opt("--runs", "3"));
  const seeded = opt("--seeded", "");
  const only = opt("--only", seeded ? "central,central-seeded,vm" : "central,vm").split(",");
  const idleMs = Number(Deno.env.get("BENCH_IDLE_MS") ?? 11_000);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  (async () => {
    for await (const conn of listener) {
      (async () => {
        for await (const _ of conn.readable) { /* discard */ }
      })().catch(() => {});
    }
  })().catch(() => {});
  const seededDir = seeded ? await Deno.makeTempDir({ prefix: "sluice-idle-seeded-" }) : "";
  if (seeded) await Deno.copyFile(seeded, `${seededDir}/siem.db`);
  const made: string[] = [];
  const cases: Record<string, () => [string, string[]]> = {
    bare: () => ["bare", []],
    central: () => {
      const data = Deno.makeTempDirSync({ prefix: "sluice-idle-data-" });
      made.push(data);
      return ["examples/pipeline.central.ts", centralIdleArgs(data)];
    },
    "central-seeded": () => ["examples/pipeline.central.ts", centralIdleArgs(seededDir)],
    vm: () => {
      const data = Deno.makeTempDirSync({ prefix: "sluice-idle-vm-" });
      made.push(data);
      return ["examples/pipeline.vm.ts", vmIdleArgs(data, port)];
    },
  };
  console.log(`load ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}, V8 flags ${_v8Flags()}`);
  for (const name of only) {
    const privs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const [example, args] = cases[name]!();
      const r = await idleReading(example, [...args, ...extra], idleMs);
      privs.push(r.private);
      console.log(_describe(`${name} #${i + 1}`, r));
    }
    privs.sort((a, b) => a - b);
    console.log(
      `== ${name}: private MB ${privs.map((x) => x.toFixed(1)).join(", ")} (median ${
        privs[Math.floor(privs.length / 2)]!.toFixed(1)
      })\n`,
    );
  }
  console.log(`load ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  listener.close();
  for (const d of [...made, ...(seededDir ? [seededDir] : [])]) {
    await Deno.remove(d, { recursive: true }).catch(() => {});
  }
  Deno.exit(0);
}
