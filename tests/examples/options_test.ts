import assert from "node:assert/strict";
import central, { centralSettings } from "../../examples/pipeline.central.ts";
import vm from "../../examples/pipeline.vm.ts";
import { checkpointOption, memoryOption } from "../../examples/_options.ts";

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
  assert.equal(centralSettings([], { SLUICE_MEMORY: "large" }).sqliteCheckpoint, "background");
  // The heap cap is off on the central unless asked; a wrong step names the flag.
  assert.equal(centralSettings([], {}).heapStepMb, 0);
  assert.equal(centralSettings(["--heap-step-mb", "8"], {}).heapStepMb, 8);
  assert.throws(() => centralSettings(["--heap-step-mb", "-1"], {}), /--heap-step-mb/);
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

Deno.test("examples: --memory sizes the central's defaults, and explicit flags still win", () => {
  const small = centralSettings(["--memory", "small"], {});
  assert.equal(small.budget.profile, "small");
  assert.equal(small.sqliteWorker, false);
  assert.equal(small.sqliteCheckpoint, "inline");
  const fromEnv = centralSettings([], { SLUICE_MEMORY: "small" });
  assert.equal(fromEnv.budget.queueSize, small.budget.queueSize);
  // A flag named beside the profile overrides what the profile chose.
  const mixed = centralSettings(["--memory=small", "--sqlite-checkpoint", "background"], {});
  assert.equal(mixed.sqliteCheckpoint, "background");
  const large = centralSettings(["--memory", "large"], {});
  assert.equal(large.budget.queueSize, 4000);
  assert.equal(large.sqliteCheckpoint, "background");
  // auto: from the machine's memory.
  assert.equal(memoryOption([], {}, 1024).profile, "small");
  assert.equal(memoryOption([], {}, 4096).profile, "default");
  assert.equal(memoryOption(["--memory", "auto"], {}, 4096).profile, "default");
});

Deno.test("examples: a wrong --memory stops the central and the VM before they start, naming the flag", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const wrong = ["--data", dir, "--memory", "tiny"];
    const expected = /--memory: expected "small", "default", "large" or "auto", got "tiny"/;
    assert.throws(() => central({ args: wrong, env: {} }), expected);
    assert.throws(() => vm({ args: wrong, env: {} }), expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
