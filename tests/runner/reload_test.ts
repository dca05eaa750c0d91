import assert from "node:assert/strict";
import { exitWithin } from "../_peers.ts";

const MAIN = new URL("../../runner/main.ts", import.meta.url).pathname;
const MOD = new URL("../../mod.ts", import.meta.url).href;

function pipelineSource(tag: string, outFile: string): string {
  return `
import { definePipeline, generatorSource, type LogEvent } from "${MOD}";
let file: Deno.FsFile | undefined;
export default definePipeline({
  paths: [{
    from: [generatorSource({ rate: 200, message: (n) => "${tag} " + n })],
    to: [{
      kind: "file",
      async open() { file = await Deno.open("${outFile}", { create: true, append: true }); },
      async write(batch: readonly LogEvent[]) {
        await file!.write(new TextEncoder().encode(batch.map((e) => e.message + "\\n").join("")));
      },
      close() { file?.close(); return Promise.resolve(); },
    }],
  }],
});
`;
}

async function waitFor(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("SIGHUP swaps in a changed pipeline file and keeps running on an invalid one", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/pipeline.ts`;
  const out = `${dir}/out.txt`;
  await Deno.writeTextFile(file, pipelineSource("first", out));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--state-dir", `${dir}/state`, file],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const read = async () => await Deno.readTextFile(out).catch(() => "");
  try {
    await waitFor(async () => (await read()).includes("first 10"), "the first pipeline");
    // An invalid file: the running pipeline must stay.
    await Deno.writeTextFile(file, "export default { paths: [] };");
    child.kill("SIGHUP");
    const before = (await read()).length;
    await waitFor(
      async () => (await read()).length > before + 200,
      "the old pipeline to keep writing",
    );
    // A valid changed file: the new one takes over.
    await Deno.writeTextFile(file, pipelineSource("second", out));
    child.kill("SIGHUP");
    await waitFor(async () => (await read()).includes("second 10"), "the reloaded pipeline");
    child.kill("SIGTERM");
    const status = await exitWithin(child, 30_000, "the runner stopping on SIGTERM");
    assert.equal(status.code, 0);
    const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.match(stderr, /reload refused, the running pipeline stays/);
    assert.match(stderr, /expected at least one path/);
    assert.match(stderr, /reloaded/);
    const lines = (await read()).trimEnd().split("\n");
    const firstAfterSecond = lines.findIndex((l) => l.startsWith("second"));
    assert.ok(firstAfterSecond > 0);
    assert.ok(
      lines.slice(firstAfterSecond).every((l) => l.startsWith("second")),
      "no old events after the swap",
    );
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
    await child.status;
    await child.stderr.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
