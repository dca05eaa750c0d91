import assert from "node:assert/strict";
import { fileState } from "../../mod.ts";

Deno.test("fileState persists on flush and reloads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await fileState(dir, "source.tail/alerts");
    a.set("offset", 123);
    a.set("file", { ino: 5 });
    await a.flush();
    const b = await fileState(dir, "source.tail/alerts");
    assert.equal(b.get("offset"), 123);
    assert.deepEqual(b.get("file"), { ino: 5 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileState writes within the flush interval without an explicit flush", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await fileState(dir, "s", 10);
    a.set("k", 1);
    await new Promise((r) => setTimeout(r, 60));
    const b = await fileState(dir, "s");
    assert.equal(b.get("k"), 1);
    await a.flush();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fileState sets a corrupt state file aside and starts empty", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/s.json`, "{not json");
    const a = await fileState(dir, "s");
    assert.equal(a.get("k"), undefined);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.ok(names.some((n) => n.startsWith("s.json.corrupt-")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
