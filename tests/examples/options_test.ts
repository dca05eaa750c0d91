import assert from "node:assert/strict";
import central, { centralSettings } from "../../examples/pipeline.central.ts";
import vm from "../../examples/pipeline.vm.ts";
import { checkpointOption } from "../../examples/_options.ts";

Deno.test("examples: --sqlite-checkpoint picks where SQLite's WAL is checkpointed, from the flag or SLUICE_SQLITE_CHECKPOINT", () => {
  assert.equal(checkpointOption([], {}), "background");
  assert.equal(checkpointOption(["--sqlite-checkpoint=inline"], {}), "inline");
  assert.equal(checkpointOption([], { SLUICE_SQLITE_CHECKPOINT: "inline" }), "inline");
  // The flag wins over the environment.
  assert.equal(
    checkpointOption(["--sqlite-checkpoint", "background"], { SLUICE_SQLITE_CHECKPOINT: "inline" }),
    "background",
  );
  const small = centralSettings(["--sqlite-worker", "off", "--sqlite-checkpoint", "inline"], {});
  assert.equal(small.sqliteWorker, false);
  assert.equal(small.sqliteCheckpoint, "inline");
  assert.equal(centralSettings([], {}).sqliteCheckpoint, "background");
});

Deno.test("examples: a wrong --sqlite-checkpoint stops the central and the VM before they start, naming the flag", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const wrong = ["--data", dir, "--sqlite-checkpoint", "sometimes"];
    const expected = /--sqlite-checkpoint: expected "background" or "inline", got "sometimes"/;
    assert.throws(() => central({ args: wrong, env: {} }), expected);
    assert.throws(() => vm({ args: wrong, env: {} }), expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
