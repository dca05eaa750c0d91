import assert from "node:assert/strict";
import { jsonlLifecycle, type JsonlStep } from "../../archive/jsonl_lifecycle.ts";
import { runWithDeadline, skipLine, which } from "../_peers.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 6, 12);
const day = (n: number) => new Date(NOW - n * DAY).toISOString().slice(0, 10);
const MODULE = new URL("../../archive/jsonl_lifecycle.ts", import.meta.url).href;

function lines(tag: string, n: number): string {
  let text = "";
  for (let i = 0; i < n; i++) text += `{"ID":"${tag}:${String(i).padStart(12, "0")}","n":${i}}\n`;
  return text;
}

async function gunzip(path: string): Promise<string> {
  const file = await Deno.open(path, { read: true });
  let text = "";
  const decoder = new TextDecoder();
  for await (const c of file.readable.pipeThrough(new DecompressionStream("gzip"))) {
    text += decoder.decode(c, { stream: true });
  }
  return text;
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...(await names(`${dir}/${e.name}`)).map((n) => `${e.name}/${n}`));
    else if (!e.name.startsWith(".")) out.push(e.name);
  }
  return out.sort();
}

/** Every line readable for a file: the original (if any) and its .gz (if any). */
async function readable(path: string): Promise<string[]> {
  const plain = await Deno.readTextFile(path).catch(() => "");
  const gz = await gunzip(`${path}.gz`).catch(() => "");
  return (gz + plain).split("\n").filter((l) => l !== "");
}

function assertEachOnce(got: string[], expected: string): void {
  const want = expected.split("\n").filter((l) => l !== "");
  assert.equal(new Set(got).size, got.length, "a line is in two places");
  assert.deepEqual([...got].sort(), [...want].sort());
}

Deno.test("jsonlLifecycle gzips past days that zcat reads, leaves today and live files, deletes only what is past --retain-jsonl", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-jsonl-life-" });
  try {
    await Deno.mkdir(`${dir}/by_vm`);
    await Deno.mkdir(`${dir}/daily`);
    const files: Record<string, string> = {
      "all_events.jsonl": lines("live", 3),
      [`all_events-${day(0)}.jsonl`]: lines("today", 3),
      [`all_events-${day(1)}.jsonl`]: lines("d1", 5000),
      [`by_vm/vm1-${day(2)}.jsonl`]: lines("vm1", 10),
      [`by_vm/vm1-${day(2)}.1.jsonl`]: lines("vm1b", 2),
      [`daily/${day(3)}.jsonl`]: lines("daily3", 7),
      [`daily/${day(40)}.jsonl`]: lines("daily40", 7),
    };
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    // A day the first pass compresses, past the retention of the second.
    await Deno.writeTextFile(`${dir}/all_events-${day(31)}.jsonl`, lines("d31", 4));
    const first = await jsonlLifecycle({ dir, now: () => NOW });
    assert.equal(first.compressed, 6);
    assert.equal(first.deleted, 0);
    const s = await jsonlLifecycle({ dir, retainJsonlMs: 30 * DAY, now: () => NOW });
    assert.equal(s.deleted, 2);
    assert.equal(s.compressed, 0);
    assert.deepEqual(
      await names(dir),
      [
        `all_events-${day(0)}.jsonl`,
        `all_events-${day(1)}.jsonl.gz`,
        "all_events.jsonl",
        `by_vm/vm1-${day(2)}.1.jsonl.gz`,
        `by_vm/vm1-${day(2)}.jsonl.gz`,
        `daily/${day(3)}.jsonl.gz`,
      ].sort(),
    );
    assert.ok(s.bytes > 0);
    const gz = `${dir}/all_events-${day(1)}.jsonl.gz`;
    assert.equal(await gunzip(gz), files[`all_events-${day(1)}.jsonl`]);
    if (which("zcat")) {
      const z = await runWithDeadline("zcat", [gz], { timeoutMs: 20_000, what: "zcat" });
      assert.equal(z.stdout, files[`all_events-${day(1)}.jsonl`]);
    } else skipLine("zcat reads the .gz", "zcat is not on PATH");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jsonlLifecycle skips a file a sink holds open, and late lines of a compressed day join its .gz", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-jsonl-life-" });
  try {
    const path = `${dir}/${day(2)}.jsonl`;
    await Deno.writeTextFile(path, lines("a", 10));
    const sink = await Deno.open(path, { append: true });
    await sink.lock(false); // as the JSONL sink holds every file it has open
    const held = await jsonlLifecycle({ dir, now: () => NOW });
    assert.equal(held.compressed, 0);
    assert.equal(held.skippedOpen, 1);
    sink.close();
    assert.equal((await jsonlLifecycle({ dir, now: () => NOW })).compressed, 1);
    // A late event of that day makes the file again; the next pass adds it to the .gz.
    await Deno.writeTextFile(path, lines("late", 3));
    assert.equal((await jsonlLifecycle({ dir, now: () => NOW })).compressed, 1);
    assert.equal(await gunzip(`${path}.gz`), lines("a", 10) + lines("late", 3));
    assert.deepEqual(await names(dir), [`${day(2)}.jsonl.gz`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const STEPS: JsonlStep[] = ["locked", "written", "verified", "journaled", "renamed", "removed"];

for (const merge of [false, true]) {
  Deno.test(`jsonlLifecycle killed with SIGKILL after each step${merge ? " of a merge into an existing .gz" : ""} leaves every line in exactly one place`, async () => {
    const root = await Deno.makeTempDir({ prefix: "sluice-jsonl-kill-" });
    try {
      for (const step of STEPS) {
        const dir = `${root}/${step}`;
        await Deno.mkdir(dir);
        const path = `${dir}/all_events-${day(1)}.jsonl`;
        let expected = lines(step, 20_000);
        if (merge) {
          await Deno.writeTextFile(path, lines("earlier", 500));
          await jsonlLifecycle({ dir, now: () => NOW });
          expected = lines("earlier", 500) + expected;
        }
        await Deno.writeTextFile(path, lines(step, 20_000));
        const code = `
          import { jsonlLifecycle } from ${JSON.stringify(MODULE)};
          await jsonlLifecycle({
            dir: ${JSON.stringify(dir)},
            now: () => ${NOW},
            hooks: { step: (s) => { if (s === ${
          JSON.stringify(step)
        }) Deno.kill(Deno.pid, "SIGKILL"); } },
          });
          console.log("not killed");`;
        const r = await runWithDeadline(Deno.execPath(), ["eval", code], {
          timeoutMs: 60_000,
          what: `jsonlLifecycle killed after ${step}`,
        });
        assert.ok(!r.stdout.includes("not killed"), `${step}: ${r.stdout}${r.stderr}`);
        assert.notEqual(r.code, 0, `${step}: ${r.stderr}`);
        // Between the kill and the next pass every line is still readable somewhere.
        assert.ok((await readable(path)).length >= expected.split("\n").length - 1, step);
        const next = await jsonlLifecycle({ dir, now: () => NOW });
        assertEachOnce(await readable(path), expected);
        assert.deepEqual(await names(dir), [`all_events-${day(1)}.jsonl.gz`], step);
        if (step !== "removed") assert.ok(next.compressed + next.leftovers >= 1, step);
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test("jsonlLifecycle on a full disk (a failing write) fails clearly, leaves the original untouched and no partial .gz, and completes once there is room", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-jsonl-full-" });
  try {
    const path = `${dir}/all_events-${day(1)}.jsonl`;
    const text = lines("full", 50_000);
    await Deno.writeTextFile(path, text);
    let room = 4096;
    const write = async (file: Deno.FsFile, bytes: Uint8Array) => {
      if (room <= 0) throw new Error("No space left on device (os error 28)");
      const n = await file.write(bytes.subarray(0, Math.min(room, bytes.length)));
      room -= n;
      return n;
    };
    await assert.rejects(
      jsonlLifecycle({ dir, now: () => NOW, hooks: { write } }),
      /compressing ".*all_events-.*\.jsonl" failed: No space left on device/,
    );
    assert.equal(await Deno.readTextFile(path), text);
    assert.deepEqual(await names(dir), [`all_events-${day(1)}.jsonl`]);
    room = Infinity;
    assert.equal((await jsonlLifecycle({ dir, now: () => NOW, hooks: { write } })).compressed, 1);
    assert.equal(await gunzip(`${path}.gz`), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jsonlLifecycle on a real full tmpfs leaves the original whole and no partial .gz", async () => {
  const root = await Deno.makeTempDir({ prefix: "sluice-jsonl-tmpfs-" });
  const mounted = Deno.uid() === 0 &&
    (await runWithDeadline("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", root], {
        timeoutMs: 10_000,
        what: "mount tmpfs",
      }).catch(() => ({ code: 1 }))).code === 0;
  if (!mounted) {
    skipLine("a real full tmpfs", "mount -t tmpfs needs root here");
    await Deno.remove(root, { recursive: true });
    return;
  }
  try {
    // Random text compresses little: the .gz does not fit beside the original.
    const bytes = new Uint8Array(110_000);
    for (let i = 0; i < bytes.length; i += 65_536) {
      crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65_536, bytes.length)));
    }
    let text = "";
    for (let i = 0; i < bytes.length; i += 100) {
      text += `{"x":"${btoa(String.fromCharCode(...bytes.subarray(i, i + 100)))}"}\n`;
    }
    const path = `${root}/all_events-${day(1)}.jsonl`;
    await Deno.writeTextFile(path, text);
    await assert.rejects(
      jsonlLifecycle({ dir: root, now: () => NOW }),
      /No space left|os error 28/,
    );
    assert.equal(await Deno.readTextFile(path), text);
    assert.deepEqual(await names(root), [`all_events-${day(1)}.jsonl`]);
  } finally {
    await runWithDeadline("umount", [root], { timeoutMs: 10_000, what: "umount tmpfs" });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("sluice archive --once --retain-jsonl gzips logs/ beside the database; the central's archive service does it on its schedule and counts it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-jsonl-cli-" });
  try {
    const yesterday = new Date(Date.now() - DAY).toISOString().slice(0, 10);
    const old = new Date(Date.now() - 100 * DAY).toISOString().slice(0, 10);
    await Deno.mkdir(`${dir}/logs/by_vm`, { recursive: true });
    await Deno.writeTextFile(`${dir}/logs/critical-${yesterday}.jsonl`, lines("c", 5));
    await Deno.writeTextFile(`${dir}/logs/by_vm/vm1-${old}.jsonl`, lines("v", 5));
    const main = new URL("../../runner/main.ts", import.meta.url).pathname;
    const r = await runWithDeadline(
      Deno.execPath(),
      ["run", "-A", main, "archive", "--once", "--db", `${dir}/siem.db`, "--retain-jsonl", "90d"],
      { timeoutMs: 120_000, what: "sluice archive --once --retain-jsonl" },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /JSONL: 1 compressed, 1 deleted/);
    assert.deepEqual(await names(`${dir}/logs`), [`critical-${yesterday}.jsonl.gz`]);

    await Deno.writeTextFile(`${dir}/logs/all_events-${yesterday}.jsonl`, lines("a", 5));
    const { archiveFor } = await import("../../examples/_archive.ts");
    assert.throws(() => archiveFor(["--retain-jsonl", "soon"], {}, dir), /--retain-jsonl/);
    const service = archiveFor(["--retain-jsonl", "forever"], {}, dir);
    assert.ok(service);
    const { ComponentStats, createLogger, memoryState } = await import("../../mod.ts");
    const stats = new ComponentStats("service", "archive", "archive");
    await service.start({
      name: "archive",
      stats,
      log: createLogger("silent"),
      signal: new AbortController().signal,
      state: memoryState(),
    });
    try {
      await service.runOnce();
    } finally {
      await service.stop();
    }
    assert.equal(stats.counters.jsonl_compressed, 1);
    assert.equal(stats.counters.archive_errors ?? 0, 0);
    assert.ok(await Deno.stat(`${dir}/logs/all_events-${yesterday}.jsonl.gz`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
