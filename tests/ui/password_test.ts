import assert from "node:assert/strict";
import { hashPassword, verifyPassword } from "../../ui/password.ts";
import { runWithDeadline } from "../_peers.ts";

// Run in a child process of its own: in the parallel suite this process's RSS also holds what
// other test files allocate at the same time (this check failed once that way, at 50 MB).
const CHILD = `
import { hashPassword, verifyPassword } from "${
  new URL("../../ui/password.ts", import.meta.url).href
}";
const hash = await hashPassword("a-password");
if (!(await verifyPassword("a-password", hash))) throw new Error("the right password failed");
const before = Deno.memoryUsage().rss;
for (let i = 0; i < 20; i++) await verifyPassword(\`wrong-\${i}\`, hash);
console.log((Deno.memoryUsage().rss - before) / 1e6);
`;

Deno.test("verifyPassword() run 20 times does not keep 20 argon2 memories (7 MiB each)", async () => {
  const out = await runWithDeadline(Deno.execPath(), ["eval", "--quiet", CHILD], {
    timeoutMs: 60_000,
    what: "20 password checks",
  });
  assert.equal(out.code, 0, out.stdout + out.stderr);
  const grown = Number(out.stdout.trim().split("\n").at(-1));
  // In this child, before the fix (751d17a~1) this grew by 150.8 and 151.4 MB (two runs) until a
  // full GC; after it, by 0.7-1.0 MB.
  assert.ok(grown < 50, `RSS grew by ${grown.toFixed(1)} MB over 20 checks`);
});

Deno.test("hashPassword() salts each hash: the same password hashes differently", async () => {
  const a = await hashPassword("same-password");
  const b = await hashPassword("same-password");
  assert.notEqual(a, b);
  assert.match(a, /^\$argon2id\$v=19\$m=7168,t=5,p=1\$/);
  assert.ok(await verifyPassword("same-password", b));
});
