/**
 * tests/_peers.ts: children that never outlive their deadline, and peers
 * that `SLUICE_TEST_HIDE_PEERS` hides.
 */

import assert from "node:assert/strict";
import { runWithDeadline, waitFor } from "./_peers.ts";

const PEERS = new URL("./_peers.ts", import.meta.url).href;

function _alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

Deno.test("runWithDeadline() kills a hung child and the grandchild holding its pipes, naming what hung", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      runWithDeadline("sh", ["-c", `sleep 60 & echo $! > ${dir}/pid; wait`], {
        timeoutMs: 500,
        what: "two sleepers",
      }),
      /two sleepers hung: killed after 500 ms/,
    );
    const pid = Number(await Deno.readTextFile(`${dir}/pid`));
    await waitFor("the grandchild to be gone", () => !_alive(pid), 5_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runWithDeadline() returns when the child exits, though a grandchild keeps its pipes open", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runWithDeadline("sh", ["-c", `sleep 60 & echo $! > ${dir}/pid; echo hi`], {
      timeoutMs: 30_000,
      what: "a shell that leaves a sleeper behind",
    });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "hi\n");
    const pid = Number(await Deno.readTextFile(`${dir}/pid`));
    await waitFor("the left-over grandchild to be gone", () => !_alive(pid), 5_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runWithDeadline() passes stdin, cwd and env, and returns the exit code", async () => {
  const r = await runWithDeadline("sh", ["-c", 'cat; echo "$X"; pwd; exit 3'], {
    timeoutMs: 30_000,
    what: "sh",
    stdin: "in\n",
    cwd: "/",
    env: { X: "x" },
  });
  assert.deepEqual([r.code, r.stdout], [3, "in\nx\n/\n"]);
});

Deno.test("SLUICE_TEST_HIDE_PEERS hides every peer, or the ones it names, with one skip line each", async () => {
  const script = `import { peer } from "${PEERS}";
console.log(String(peer("sh", "dash")), String(peer("sh", "dash")), String(peer("cat")));`;
  const run = (hide: string) =>
    runWithDeadline(Deno.execPath(), ["eval", script], {
      timeoutMs: 30_000,
      what: "deno eval of peer()",
      env: { SLUICE_TEST_HIDE_PEERS: hide, SLUICE_TEST_SKIPS_SAID: "", NO_COLOR: "1" },
    });
  const all = await run("1");
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(all.stdout.trim().split("\n"), [
    "skip: sh not found (apt-get install dash, as .ci/run does)",
    "skip: cat not found (apt-get install cat, as .ci/run does)",
    "undefined undefined undefined",
  ]);
  const some = await run("cat, nft");
  assert.equal(some.code, 0, some.stderr);
  const lines = some.stdout.trim().split("\n");
  assert.equal(lines[0], "skip: cat not found (apt-get install cat, as .ci/run does)");
  assert.match(lines[1] ?? "", /^\/\S+\/sh \/\S+\/sh undefined$/);
  const none = await run("");
  assert.doesNotMatch(none.stdout, /skip:/);
});
