import assert from "node:assert/strict";
import {
  LARGE_MACHINE_MB,
  machineMemoryMb,
  memoryBudget,
  parseMemoryProfile,
  SMALL_MACHINE_MB,
} from "../../core/memory_budget.ts";

Deno.test("memory budget: the machine's memory is the smaller of MemTotal and the cgroup's limit", () => {
  const files = (f: Record<string, string>) => (path: string) => f[path];
  const meminfo = "MemTotal:       2097152 kB\nMemFree:         100 kB\n";
  assert.equal(machineMemoryMb(files({ "/proc/meminfo": meminfo })), 2048);
  // cgroup v2 without a limit, and v1's "no limit" (a number near 2^63), are no limit.
  assert.equal(
    machineMemoryMb(files({ "/proc/meminfo": meminfo, "/sys/fs/cgroup/memory.max": "max\n" })),
    2048,
  );
  assert.equal(
    machineMemoryMb(files({
      "/proc/meminfo": meminfo,
      "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
    })),
    2048,
  );
  assert.equal(
    machineMemoryMb(files({
      "/proc/meminfo": meminfo,
      "/sys/fs/cgroup/memory.max": String(512 * 1024 * 1024),
    })),
    512,
  );
  assert.equal(machineMemoryMb(files({})), undefined);
  // On this machine: something, and not more than /proc/meminfo says.
  const here = machineMemoryMb();
  if (Deno.build.os === "linux") assert.ok(here !== undefined && here > 0);
});

Deno.test("memory budget: auto picks small below SMALL_MACHINE_MB, large from LARGE_MACHINE_MB, default between", () => {
  assert.equal(memoryBudget("auto", SMALL_MACHINE_MB - 1, 2).profile, "small");
  assert.equal(memoryBudget("auto", SMALL_MACHINE_MB, 2).profile, "default");
  assert.equal(memoryBudget("auto", LARGE_MACHINE_MB - 1, 2).profile, "default");
  assert.equal(memoryBudget("auto", LARGE_MACHINE_MB, 2).profile, "large");
  assert.equal(memoryBudget("auto", undefined, 2).profile, "default");
  assert.equal(memoryBudget("auto", 512, 2).machineMb, 512);
  // A profile named wins over the machine.
  assert.equal(memoryBudget("large", 512, 2).profile, "large");
});

Deno.test("memory budget: each profile spends no more than the next, small keeps one isolate", () => {
  const [small, normal, large] = (["small", "default", "large"] as const).map((p) =>
    memoryBudget(p, 8192, 2)
  ) as [
    ReturnType<typeof memoryBudget>,
    ReturnType<typeof memoryBudget>,
    ReturnType<typeof memoryBudget>,
  ];
  for (const key of ["queueSize", "maxBatch", "sqliteBatch", "sqliteCacheMb"] as const) {
    assert.ok(small[key] <= normal[key] && normal[key] <= large[key], key);
  }
  assert.equal(small.sqliteWorker, false);
  assert.equal(small.sqliteCheckpoint, "inline");
  assert.equal(normal.sqliteWorker, false);
  assert.equal(memoryBudget("default", 8192, 4).sqliteWorker, true);
  assert.equal(large.sqliteWorker, true);
  assert.deepEqual(large.v8Flags, []);
  // A full collection every few MiB of old generation: the smaller the profile, the sooner.
  assert.deepEqual([small.heapStepMb, normal.heapStepMb, large.heapStepMb], [4, 16, 0]);
  // One core: SQLite stays on the main thread whatever the profile.
  assert.equal(memoryBudget("large", 8192, 1).sqliteWorker, false);
  // The flags are a copy: changing one budget's does not change the next.
  normal.v8Flags.push("--x");
  assert.ok(!memoryBudget("default", 8192, 2).v8Flags.includes("--x"));
});

Deno.test("memory budget: a wrong profile name is refused, naming where it came from", () => {
  assert.throws(() => parseMemoryProfile("huge", "--memory"), /--memory: expected/);
  assert.throws(() => parseMemoryProfile("", "SLUICE_MEMORY"), /SLUICE_MEMORY/);
});
