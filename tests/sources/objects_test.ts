import assert from "node:assert/strict";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { runWithDeadline } from "../_peers.ts";
import { globMatcher, localObject, type ObjectInfo, objectsSource } from "../../sources/objects.ts";

import { age, HOUR, paths, runOnce, tree } from "./_objects_helpers.ts";

Deno.test("objectsSource() emits one event per file with path, size, mtime, kind and host", async () => {
  const dir = await tree({ "a.bin": "aaaa", "sub/deep/b.bin": "bb", "sub/c.bin": "" });
  try {
    const { events } = await runOnce({ dir, kind: "quarantine" });
    assert.deepEqual(paths(events), ["a.bin", "sub/c.bin", "sub/deep/b.bin"]);
    const b = events.find((e) => localObject(e)?.path === "sub/deep/b.bin") as LogEvent;
    const object = b.fields.object as ObjectInfo;
    assert.equal(object.size, 2);
    assert.equal(object.kind, "quarantine");
    assert.equal(object.abs, `${await Deno.realPath(dir)}/sub/deep/b.bin`);
    assert.equal(object.mtime, (await Deno.stat(`${dir}/sub/deep/b.bin`)).mtime?.getTime());
    assert.equal(b.host, "vm1");
    assert.match(b.id as string, /sub\/deep\/b\.bin:\d+:2$/);
    // the files stay: copy is the default
    assert.equal(await Deno.readTextFile(`${dir}/a.bin`), "aaaa");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() names the kind after the directory by default", async () => {
  const base = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${base}/dumps`);
    await Deno.writeTextFile(`${base}/dumps/x.dmp`, "x");
    const { events } = await runOnce({ dir: `${base}/dumps/` });
    assert.equal(localObject(events[0] as LogEvent)?.kind, "dumps");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("objectsSource() leaves files within settle, older than maxAge or newer than minAge", async () => {
  const dir = await tree({ "fresh.bin": "f", "hour.bin": "h", "old.bin": "o" });
  try {
    await age(`${dir}/hour.bin`, HOUR);
    await age(`${dir}/old.bin`, 8 * 24 * HOUR);
    const settled = await runOnce({ dir, settle: "10s", maxAge: "7d" });
    assert.deepEqual(paths(settled.events), ["hour.bin"]);
    assert.equal(settled.stats.unsettled, 1);
    assert.equal(settled.stats.too_old, 1);
    assert.deepEqual(paths((await runOnce({ dir, minAge: "2h" })).events), ["old.bin"]);
    assert.deepEqual(paths((await runOnce({ dir, minAge: 30 * 60_000, maxAge: "1d" })).events), [
      "hour.bin",
    ]);
    assert.deepEqual(paths((await runOnce({ dir })).events), ["fresh.bin", "hour.bin", "old.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() keeps to include globs and drops exclude globs", async () => {
  const dir = await tree({
    "a.bin": "1",
    "a.tmp": "2",
    "sub/b.bin": "3",
    "tmp/c.bin": "4",
    "tmp/deep/d.bin": "5",
  });
  try {
    const { events } = await runOnce({ dir, include: ["*.bin"], exclude: ["tmp/**"] });
    assert.deepEqual(paths(events), ["a.bin", "sub/b.bin"]);
    const only = await runOnce({ dir, include: ["sub/*", "{a,x}.tmp"] });
    assert.deepEqual(paths(only.events), ["a.tmp", "sub/b.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() follows symbolic links only while they stay inside the directory", async () => {
  const outside = await tree({ "secret.txt": "s", "dir/x.txt": "x" });
  const dir = await tree({ "real/a.bin": "a" });
  try {
    await Deno.symlink(`${dir}/real/a.bin`, `${dir}/link.bin`);
    await Deno.symlink(`${dir}/real`, `${dir}/linkdir`);
    await Deno.symlink(`${outside}/secret.txt`, `${dir}/escape.txt`);
    await Deno.symlink(`${outside}/dir`, `${dir}/escapedir`);
    await Deno.symlink(`${dir}/nowhere`, `${dir}/dangling`);
    await Deno.symlink(dir, `${dir}/real/loop`);
    const { events, stats } = await runOnce({ dir });
    assert.deepEqual(paths(events), ["link.bin", "linkdir/a.bin", "real/a.bin"]);
    assert.equal(stats.symlinks_outside, 2);
    const link = events.find((e) => localObject(e)?.path === "link.bin") as LogEvent;
    assert.equal(localObject(link)?.abs, `${await Deno.realPath(dir)}/real/a.bin`);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

/**
 * Makes `caf\xe9.bin` (Latin-1, not UTF-8) in `dir`: no Deno API takes such a name, so a
 * fixed shell script with the directory as its argument does.
 */
async function makeLatin1Name(dir: string): Promise<void> {
  const r = await runWithDeadline("sh", [
    "-c",
    `cd "$1" && printf x > "$(printf 'caf\\351.bin')"`,
    "sh",
    dir,
  ], {
    timeoutMs: 10_000,
    what: "sh making a Latin-1 file name",
  });
  assert.equal(r.code, 0, r.stderr);
}

Deno.test("objectsSource() warns about and counts a file whose name is not UTF-8 (issue 20 item 8)", async () => {
  const dir = await tree({ "a.bin": "a" });
  try {
    await makeLatin1Name(dir);
    await Deno.mkdir(`${dir}/sub`);
    await makeLatin1Name(`${dir}/sub`);
    const lines: string[] = [];
    const { events, stats } = await runOnce(
      { dir, mode: "move" },
      () => "confirm",
      createLogger("warn", (line) => lines.push(line)),
    );
    assert.deepEqual(paths(events), ["a.bin"]);
    assert.equal(stats.bad_names, 2);
    assert.equal(stats.errors, 2);
    const warned = lines.filter((l) => l.includes("not valid UTF-8"));
    assert.equal(warned.length, 2, lines.join("\n"));
    assert.ok(warned.some((l) => l.includes('"caf\\ufffd.bin"')), warned.join("\n"));
    assert.ok(warned.some((l) => l.includes('"sub/caf\\ufffd.bin"')), warned.join("\n"));
    // It stays where it is: nothing can open it, and nothing deletes it.
    assert.equal([...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("caf")).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() warns about a symbolic link out of the directory (issue 20 item 10)", async () => {
  const outside = await tree({ "secret.txt": "s" });
  const dir = await tree({ "a.bin": "a" });
  try {
    await Deno.symlink(`${outside}/secret.txt`, `${dir}/escape.txt`);
    const lines: string[] = [];
    const { stats } = await runOnce({ dir }, undefined, createLogger("warn", (l) => lines.push(l)));
    assert.equal(stats.symlinks_outside, 1);
    assert.ok(
      lines.some((l) => l.includes('"escape.txt"') && l.includes("out of the directory")),
      lines.join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("objectsSource() refuses bad options with the option's name", () => {
  assert.throws(() => objectsSource({ dir: "" }), /"dir"/);
  assert.throws(() => objectsSource({ dir: "/x", interval: "soon" }), /"interval" must be like/);
  assert.throws(() => objectsSource({ dir: "/x", maxAge: -1 }), /"maxAge"/);
  assert.throws(
    () => objectsSource({ dir: "/x", mode: "delete" as "move" }),
    /"mode" must be "copy" or "move"/,
  );
  assert.throws(() => objectsSource({ dir: "/x", batchSize: 0 }), /"batchSize"/);
  assert.throws(() => objectsSource({ dir: "/x", include: ["{a,b"] }), /unclosed/);
});

Deno.test("objectsSource() reports a missing directory and finishes", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.remove(dir);
  const { events, stats } = await runOnce({ dir });
  assert.equal(events.length, 0);
  assert.equal(stats.errors, 1);
});

Deno.test("globMatcher() matches like a shell glob", () => {
  assert.ok(globMatcher("*.bin")("x.bin"));
  assert.ok(globMatcher("*.bin")("deep/x.bin"));
  assert.ok(!globMatcher("/*.bin")("deep/x.bin"));
  assert.ok(globMatcher("a/**/z")("a/z"));
  assert.ok(globMatcher("a/**/z")("a/b/c/z"));
  assert.ok(globMatcher("file?.[0-9]")("file1.7"));
  assert.ok(!globMatcher("file?.[!0-9]")("file1.7"));
  assert.ok(globMatcher("*.{dmp,raw}")("mem.raw"));
  assert.ok(!globMatcher("a.b")("axb"));
});
