import assert from "node:assert/strict";
import { runWithDeadline } from "../_peers.ts";

const ROOT = new URL("../../", import.meta.url);
const MOD = new URL("mod.ts", ROOT).href;
const MAIN = new URL("runner/main.ts", ROOT).pathname;

// What a plugin author writes in a project of their own: no deno.json, no import map, sluice
// imported by URL. A parser of their own, a source to test with, and sinks of the library.
const PIPELINE = `
import {
  definePipeline,
  generatorSource,
  jsonlSink,
  type LogEvent,
  type Parser,
  type Pipeline,
} from "${MOD}";

/** Marks events whose message holds "ERROR". */
function errorMarker(): Parser {
  return {
    kind: "error-marker",
    parse(e: LogEvent): boolean {
      e.fields.marked = e.message.includes("ERROR") ? "yes" : "no";
      return true;
    },
  };
}

export default function (context: { args: string[]; env: Record<string, string> }): Pipeline {
  return definePipeline({
    name: "mine",
    sources: { gen: generatorSource({ count: 5, message: (n) => "ERROR " + n }) },
    sinks: { out: jsonlSink({ dir: context.args[0] ?? "out", path: "\${marked}.jsonl" }) },
    paths: [{ from: ["gen"], steps: [errorMarker()], to: ["out"] }],
  });
}
`;

Deno.test("library: a pipeline in a directory without deno.json imports mod.ts by URL, type-checks and runs through the runner", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-user-" });
  try {
    await Deno.writeTextFile(`${dir}/pipeline.ts`, PIPELINE);
    const check = await runWithDeadline(Deno.execPath(), ["check", "pipeline.ts"], {
      timeoutMs: 120_000,
      what: "deno check of a user's pipeline",
      cwd: dir,
    });
    assert.equal(check.code, 0, check.stderr);
    // Every entry of deno.json "exports" (the runner, the SQLite and SFTP sinks …) too.
    const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
    const entries = Object.values(config.exports as Record<string, string>)
      .map((path) => new URL(path, ROOT).href);
    const checkEntries = await runWithDeadline(Deno.execPath(), ["check", ...entries], {
      timeoutMs: 180_000,
      what: "deno check of the library's exports from a directory without deno.json",
      cwd: dir,
    });
    assert.equal(checkEntries.code, 0, checkEntries.stderr);
    const run = await runWithDeadline(
      Deno.execPath(),
      ["run", "-A", MAIN, "--state-dir", "state", "--log-level", "warn", "pipeline.ts", "out"],
      { timeoutMs: 60_000, what: "sluice running a user's pipeline", cwd: dir },
    );
    assert.equal(run.code, 0, run.stderr);
    const lines = (await Deno.readTextFile(`${dir}/out/yes.jsonl`)).trim().split("\n");
    assert.equal(lines.length, 5);
    // `sluice check` through the full command line (commander) works from there too.
    const check2 = await runWithDeadline(Deno.execPath(), [
      "run",
      "-A",
      MAIN,
      "check",
      "pipeline.ts",
    ], {
      timeoutMs: 60_000,
      what: "sluice check of a user's pipeline",
      cwd: dir,
    });
    assert.equal(check2.code, 0, check2.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("library: no library file imports a package by a bare name (only our deno.json resolves those); core/_deps/<pkg>.ts pins each", async () => {
  const bare: string[] = [];
  const dirs = [
    "core",
    "sources",
    "parsers",
    "sinks",
    "siem",
    "runner",
    "store",
    "ssh",
    "ui",
    "respond",
    "archive",
    "examples",
  ];
  const spec = /(?:^|\s)(?:import|export)\b[^"';]*?\bfrom\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g;
  async function walk(dir: URL, rel: string): Promise<void> {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory) {
        await walk(new URL(`${entry.name}/`, dir), `${rel}${entry.name}/`);
        continue;
      }
      if (!/\.tsx?$/.test(entry.name)) continue;
      // Maintainer tools run inside this repository (`deno run -A ui/assets/vendor_gen.ts`).
      if (entry.name.endsWith("_gen.ts")) continue;
      const text = await Deno.readTextFile(new URL(entry.name, dir));
      text.split("\n").forEach((line, i) => {
        // JSDoc examples run under our deno.json (deno test --doc): they may use bare names.
        if (/^\s*(\*|\/\/)/.test(line)) return;
        for (const m of line.matchAll(spec)) {
          const target = m[1] ?? m[2] ?? "";
          if (!/^(\.|\/|node:|npm:|file:|https?:|data:)/.test(target)) {
            bare.push(`${rel}${entry.name}:${i + 1}: "${target}"`);
          }
        }
      });
    }
  }
  for (const dir of dirs) await walk(new URL(`${dir}/`, ROOT), `${dir}/`);
  assert.deepEqual(bare, [], "import these through core/_deps/<pkg>.ts (see docs/plugins.md)");
});
