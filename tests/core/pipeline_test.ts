import assert from "node:assert/strict";
import {
  blackholeSink,
  definePipeline,
  generatorSource,
  PipelineError,
  validatePipeline,
} from "../../mod.ts";

const src = generatorSource({ count: 1 });
const sink = blackholeSink();

Deno.test("validatePipeline accepts named sources and sinks referenced by name", () => {
  assert.deepEqual(
    validatePipeline({
      sources: { a: src },
      sinks: { b: sink },
      paths: [{ from: ["a"], to: ["b"] }],
    }),
    [],
  );
});

Deno.test("validatePipeline names the place of each problem", () => {
  const issues = validatePipeline({
    paths: [
      { from: [src], to: [sink] },
      { from: [src], to: [{ kind: "half", write() {} }] },
      { from: [src] },
      { from: ["ghost"], to: [sink] },
      { from: [src], to: [sink], flags: ["finale"] },
      { from: [src], steps: [42], to: [sink] },
      { from: [src], to: [sink], paths: [{ from: [src], to: [sink] }] },
      { from: [src], tos: [sink] },
    ],
  });
  const where = issues.map((i) => i.where);
  assert.ok(where.includes("paths[1].to[0]"), where.join());
  assert.ok(where.includes("paths[2].to"));
  assert.ok(where.includes("paths[3].from[0]"));
  assert.ok(where.includes("paths[4].flags[0]"));
  assert.ok(where.includes("paths[5].steps[0]"));
  assert.ok(where.includes("paths[6].paths[0].from"));
  assert.ok(where.some((w) => w.startsWith("paths[7]")));
  const sinkIssue = issues.find((i) => i.where === "paths[1].to[0]");
  assert.match(sinkIssue?.message ?? "", /expected a Sink.*got a "half" object/);
});

Deno.test("validatePipeline rejects a non-object and a pipeline without paths or sources", () => {
  assert.equal(validatePipeline(42)[0]?.where, "");
  assert.ok(validatePipeline({ paths: [] }).some((i) => i.where === "paths"));
  assert.ok(validatePipeline({ paths: [{ to: [sink] }] }).some((i) => i.where === "sources"));
});

Deno.test("definePipeline throws a PipelineError listing every problem", () => {
  assert.throws(
    () => definePipeline({ paths: [{ from: [src] }] }),
    (err: unknown) => err instanceof PipelineError && /paths\[0\]\.to/.test(err.message),
  );
});
