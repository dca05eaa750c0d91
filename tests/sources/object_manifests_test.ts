import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Engine } from "../../core/engine.ts";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { definePipeline } from "../../core/pipeline.ts";
import type { Sink } from "../../core/types.ts";
import { objectManifestsSource } from "../../sources/object_manifests.ts";

const silent = createLogger("silent");

function sha(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function record(path: string, text: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    path,
    size: new TextEncoder().encode(text).length,
    sha256: sha(text),
    mtime: "2026-12-01T00:00:00.000Z",
    uploaded_at: "2026-12-06T04:00:00.000Z",
    host: "vm1",
    kind: "quarantine",
    ...extra,
  }) + "\n";
}

async function runOnce(dir: string, stateDir: string) {
  const events: LogEvent[] = [];
  const sink: Sink = {
    kind: "collect",
    open: () => Promise.resolve(),
    write: (batch) => (events.push(...batch), Promise.resolve()),
    close: () => Promise.resolve(),
  };
  const source = objectManifestsSource({ dir, once: true, name: "samples" });
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger: silent,
    stateDir,
  });
  await engine.start();
  await source.done;
  await engine.stop();
  const stats = engine.stats.components.find((c) => c.type === "source")?.toJSON() ?? {};
  return { events, stats: stats as Record<string, number> };
}

Deno.test("objectManifestsSource() records objects whose file matches the manifest, once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const q = `${dir}/vm1/quarantine`;
    await Deno.mkdir(`${q}/sub`, { recursive: true });
    await Deno.writeTextFile(`${q}/a.exe`, "alpha");
    await Deno.writeTextFile(`${q}/sub/b.exe`, "beta");
    await Deno.writeTextFile(`${q}/tampered.exe`, "changed on disk");
    await Deno.writeTextFile(`${q}/swapped.exe`, "ALPHA");
    await Deno.writeTextFile(
      `${q}/.manifest.jsonl`,
      record("vm1/quarantine/a.exe", "alpha") +
        record("vm1/quarantine/sub/b.exe", "beta") +
        record("vm1/quarantine/tampered.exe", "what was sent") +
        record("vm1/quarantine/gone.exe", "gone") +
        record("vm1/quarantine/swapped.exe", "alpha") +
        record("../../etc/passwd", "x") +
        "{torn",
    );
    const first = await runOnce(dir, `${dir}.state`);
    const objects = first.events.map((e) => e.fields.object as Record<string, unknown>);
    assert.deepEqual(objects.map((o) => [o.host, o.kind, o.path, o.remote, o.sha256]), [
      ["vm1", "quarantine", "a.exe", "vm1/quarantine/a.exe", sha("alpha")],
      ["vm1", "quarantine", "sub/b.exe", "vm1/quarantine/sub/b.exe", sha("beta")],
    ]);
    assert.equal(first.events[0]?.id, `vm1/quarantine/a.exe:${sha("alpha")}`);
    assert.equal(first.stats.missing, 2, JSON.stringify(first.stats));
    assert.equal(first.stats.mismatched, 1, "same size, other content");
    assert.equal(first.stats.bad_lines, 1);
    // A torn last line waits; the next run reads only what was appended since.
    await Deno.writeTextFile(`${q}/c.exe`, "gamma");
    await Deno.writeTextFile(
      `${q}/.manifest.jsonl`,
      "\n" + record("vm1/quarantine/c.exe", "gamma"),
      {
        append: true,
      },
    );
    const second = await runOnce(dir, `${dir}.state`);
    assert.deepEqual(
      second.events.map((e) => (e.fields.object as { path: string }).path),
      ["c.exe"],
    );
    assert.equal(second.stats.bad_lines, 1, "the torn line, now complete, is bad JSON");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}.state`, { recursive: true }).catch(() => {});
  }
});

Deno.test("objectManifestsSource() stops before a line of a newer manifest format and reads on once it knows it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const q = `${dir}/vm1/quarantine`;
    await Deno.mkdir(q, { recursive: true });
    for (
      const [name, text] of [["a.exe", "alpha"], ["b.exe", "beta"], ["c.exe", "gamma"]] as const
    ) {
      await Deno.writeTextFile(`${q}/${name}`, text);
    }
    await Deno.writeTextFile(
      `${q}/.manifest.jsonl`,
      record("vm1/quarantine/a.exe", "alpha", { v: 1 }) +
        "null\n[1]\n" +
        record("vm1/quarantine/b.exe", "beta", { v: 2 }) +
        record("vm1/quarantine/c.exe", "gamma", { v: 1 }),
    );
    const state = `${dir}.state`;
    const paths = (r: { events: LogEvent[] }) =>
      r.events.map((e) => (e.fields.object as { path: string }).path);
    const first = await runOnce(dir, state);
    assert.deepEqual(paths(first), ["a.exe"], "the line before the newer one is taken");
    assert.equal(first.stats.newer_lines, 1);
    assert.equal(first.stats.bad_lines, 2, "null and an array are bad lines, not a crash");
    // It stays stopped there: a second pass takes nothing past it, and warns again only per run.
    const second = await runOnce(dir, state);
    assert.deepEqual(paths(second), []);
    assert.equal(second.stats.newer_lines, 1);
    // What a sluice that knows version 2 would do: here, the line rewritten as version 1.
    const text = await Deno.readTextFile(`${q}/.manifest.jsonl`);
    await Deno.writeTextFile(`${q}/.manifest.jsonl`, text.replace('"v":2', '"v":1'));
    const third = await runOnce(dir, state);
    assert.deepEqual(paths(third), ["b.exe", "c.exe"]);
    assert.equal(third.stats.newer_lines ?? 0, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}.state`, { recursive: true }).catch(() => {});
  }
});

Deno.test("objectManifestsSource() refuses bad options", () => {
  assert.throws(() => objectManifestsSource({ dir: "" }), TypeError);
  assert.throws(() => objectManifestsSource({ dir: "/x", interval: "soon" }), RangeError);
});
