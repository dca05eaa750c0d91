import assert from "node:assert/strict";
import { runWithDeadline } from "../_peers.ts";
import { parseRunArgs, RUN_OPTIONS, SUBCOMMANDS } from "../../runner/run.ts";
import { buildProgram } from "../../runner/cli.ts";

Deno.test("a plain run is read without the full command line: options, file, then the pipeline's own arguments", () => {
  const run = parseRunArgs([
    "--state-dir",
    "/var/lib/sluice",
    "--metrics=:9100",
    "central.ts",
    "--log-level",
    "debug",
  ]);
  assert.deepEqual(run, {
    file: "central.ts",
    // After the file, everything belongs to the pipeline, even a runner flag's name.
    args: ["--log-level", "debug"],
    options: {
      stateDir: "/var/lib/sluice",
      logLevel: "info",
      metrics: ":9100",
      drainTimeout: "30",
    },
  });
});

Deno.test("an explicit run and a -- before the file read the same way", () => {
  assert.deepEqual(parseRunArgs(["run", "p.ts", "x"])?.args, ["x"]);
  assert.equal(parseRunArgs(["--", "-odd-name.ts"])?.file, "-odd-name.ts");
});

Deno.test("anything but a plain run is left to the full parser, which answers with help or an error", () => {
  for (
    const argv of [
      [],
      ["--help"],
      ["--version"],
      ["query", "critical"],
      ["check", "p.ts"],
      ["--unknown", "p.ts"],
      ["--state-dir"],
      ["--log-level", "warn"],
    ]
  ) {
    assert.equal(parseRunArgs(argv), undefined, JSON.stringify(argv));
  }
});

Deno.test("the fast path knows every subcommand and every run option the program has", () => {
  const program = buildProgram(() => {});
  const names = program.commands.map((c) => c.name()).filter((n) => n !== "run");
  assert.deepEqual([...names, "help"].sort(), [...SUBCOMMANDS].sort());
  const run = program.commands.find((c) => c.name() === "run")!;
  assert.deepEqual(run.options.map((o) => o.long), RUN_OPTIONS.map((o) => o.flag));
});

/** The npm packages a module loads at start: its static imports, followed to the end. */
async function staticNpmPackages(entry: string): Promise<string[]> {
  const out = await runWithDeadline(
    Deno.execPath(),
    ["info", "--json", new URL(entry, import.meta.url).pathname],
    { timeoutMs: 60_000, what: `deno info ${entry}` },
  );
  type Dep = { code?: { specifier?: string }; isDynamic?: boolean };
  const info = JSON.parse(out.stdout) as {
    modules: Array<{ specifier: string; dependencies?: Dep[] }>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...bySpecifier.keys()].filter((s) => s.endsWith(entry.replace(/^(\.\.\/)+/, "")));
  const npm = new Set<string>();
  while (todo.length > 0) {
    const specifier = todo.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      const target = dep.code?.specifier;
      if (!target || dep.isDynamic) continue;
      if (target.startsWith("npm:")) npm.add(target.slice(4).replace(/@[^@]*$/, ""));
      else todo.push(target);
    }
  }
  return [...npm].sort();
}

Deno.test("a running pipeline does not carry the command-line library: commander loads only for other commands", async () => {
  for (
    const entry of [
      "../../runner/main.ts",
      "../../examples/pipeline.central.ts",
      "../../examples/pipeline.vm.ts",
    ]
  ) {
    assert.ok(!(await staticNpmPackages(entry)).includes("commander"), entry);
  }
  // The check can fail: the full command line does import it.
  assert.ok((await staticNpmPackages("../../runner/cli.ts")).includes("commander"));
});
