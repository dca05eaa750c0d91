import assert from "node:assert/strict";
import { runWithDeadline } from "../_peers.ts";

const MAIN = new URL("../../runner/main.ts", import.meta.url).pathname;
const CENTRAL = new URL("../../examples/pipeline.central.ts", import.meta.url).pathname;
const VM = new URL("../../examples/pipeline.vm.ts", import.meta.url).pathname;
const OPTIONS = new URL("../../examples/_options.ts", import.meta.url).href;

async function sluice(args: string[], cwd: string) {
  return await runWithDeadline(Deno.execPath(), ["run", "-A", MAIN, ...args], {
    timeoutMs: 60_000,
    what: `sluice ${args.join(" ")}`,
    cwd,
  });
}

Deno.test("runner: --help after a pipeline file prints its flags and exits 0 without starting it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const args of [[CENTRAL, "--help"], [CENTRAL, "--", "--help"], ["run", CENTRAL, "-h"]]) {
      const result = await sluice(args, dir);
      assert.equal(result.code, 0, result.stderr);
      for (
        const flag of ["--listen", "--json-port", "--relp-port", "--data", "--sqlite-checkpoint"]
      ) {
        assert.ok(result.stdout.includes(flag), `${flag} missing from:\n${result.stdout}`);
      }
      assert.match(result.stdout, /--json-port <value> +SLUICE_JSON_PORT, default: 5514/);
      assert.match(result.stdout, /--state-dir/);
      assert.doesNotMatch(result.stderr, /listening/);
    }
    // Nothing was created: the pipeline was built, not started.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    // Flags before --help are taken into account: the VM over TCP names its JSON port.
    const vm = await sluice([VM, "--transport", "tcp", "--help"], dir);
    assert.equal(vm.code, 0, vm.stderr);
    assert.match(vm.stdout, /--json-port/);
    assert.match(vm.stdout, /--central <value>/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner: --help lists a user pipeline's own flags with their help text, and says why it could not be built", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/p.ts`,
      `import { option } from "${OPTIONS}";
export default ({ args, env }: { args: string[]; env: Record<string, string> }) => {
  option(args, env, "colour", "blue", "the colour of the sky");
  throw new Error("no pipeline today");
};
`,
    );
    const result = await sluice(["p.ts", "--help"], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /--colour <value> +SLUICE_COLOUR, default: blue\n +the colour of the sky/,
    );
    assert.match(result.stdout, /could not be built.*no pipeline today/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
