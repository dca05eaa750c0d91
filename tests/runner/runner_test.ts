import assert from "node:assert/strict";
import { exitWithin, runWithDeadline } from "../_peers.ts";
import { freePort } from "../_ports.ts";

const MAIN = new URL("../../runner/main.ts", import.meta.url).pathname;
const FIXTURES = new URL("../fixtures/pipelines/", import.meta.url).pathname;

function sluice(args: string[], env: Record<string, string> = {}) {
  return runWithDeadline(Deno.execPath(), ["run", "-A", MAIN, ...args], {
    env,
    timeoutMs: 60_000,
    what: `sluice ${args.join(" ")}`,
  });
}

Deno.test("check prints the graph of a good pipeline and exits 0", async () => {
  const r = await sluice(["check", `${FIXTURES}good.ts`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /good\.ts: ok \(role test\)/);
  assert.match(r.stdout, /paths\[0\]: generator\(gen\) → predicate.* → stdout\(out\) \[final\]/);
  assert.match(r.stdout, /paths\[1\]: generator\(gen\) → blackhole \[fallback\]/);
});

Deno.test("check rejects a file without a default export with exit code 2", async () => {
  const r = await sluice(["check", `${FIXTURES}no_export.ts`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no_export\.ts: expected a default export/);
});

Deno.test("check rejects a path with no sinks, naming the place", async () => {
  const r = await sluice(["check", `${FIXTURES}no_sinks.ts`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no_sinks\.ts: paths\[1\]\.to: expected at least one sink/);
});

Deno.test("check rejects an object that is not a Source, naming the place and what was expected", async () => {
  const r = await sluice(["check", `${FIXTURES}not_a_source.ts`]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /not_a_source\.ts: paths\[0\]\.from\[0\]: expected a Source .* got a "tcp" object/,
  );
});

Deno.test("check rejects a bad option with the factory's message", async () => {
  const r = await sluice(["check", `${FIXTURES}bad_option.ts`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad_option\.ts: generatorSource: "rate" must be positive, got -5/);
});

Deno.test("check on a missing file exits 2", async () => {
  const r = await sluice(["check", `${FIXTURES}nope.ts`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nope\.ts: no such pipeline file/);
});

Deno.test("run passes the arguments after the pipeline file to a factory export and exits 0 when done", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await sluice([
      "--state-dir",
      dir,
      "--log-level",
      "warn",
      `${FIXTURES}factory.ts`,
      "--count",
      "3",
    ]);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run rejects an unknown log level with exit code 2", async () => {
  const r = await sluice(["--log-level", "loud", `${FIXTURES}good.ts`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--log-level: expected one of/);
});

async function drainsOn(signal: (child: Deno.ChildProcess) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const outFile = `${dir}/out.txt`;
  const port = freePort();
  const n = 5000;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "--state-dir",
      `${dir}/state`,
      "--metrics",
      `127.0.0.1:${port}`,
      `${FIXTURES}drain.ts`,
    ],
    env: { OUT_FILE: outFile },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const writer = child.stdin.getWriter();
    const lines = Array.from({ length: n }, (_, i) => `event ${i}`).join("\n") + "\n";
    await writer.write(new TextEncoder().encode(lines));
    // Wait until the runner has read every line (its stats say so), while the slow sink still has a backlog.
    let received = 0;
    let written = 0;
    for (let i = 0; i < 200 && received < n; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        const stats = await (await fetch(`http://127.0.0.1:${port}/stats`)).json();
        const comps = stats.components as Array<
          { type: string; received: number; processed: number }
        >;
        received = comps.find((c) => c.type === "source")?.received ?? 0;
        written = comps.find((c) => c.type === "sink")?.processed ?? 0;
      } catch {
        // not listening yet
      }
    }
    assert.equal(received, n, "the runner read every line");
    assert.ok(
      written < n,
      `the sink still had a backlog when the signal came (${written} written)`,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /sluice_received_total\{type="source",name="input",kind="stdin"\} 5000/);
    await signal(child);
    const status = await exitWithin(child, 30_000, "the runner draining after the signal");
    await writer.close().catch(() => {});
    assert.equal(status.code, 0);
    const got = (await Deno.readTextFile(outFile)).trimEnd().split("\n");
    assert.equal(got.length, n);
    assert.equal(new Set(got).size, n);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.stderr.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SIGTERM drains: every event read before the signal is written, then exit 0", async () => {
  await drainsOn((child) => Promise.resolve(child.kill("SIGTERM")));
});

Deno.test("Ctrl-C under deno task (SIGINT twice at once, terminal and task runner) still drains", async () => {
  await drainsOn(async (child) => {
    child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
  });
});
