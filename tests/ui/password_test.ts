import assert from "node:assert/strict";
import { hashPassword, verifyPassword } from "../../ui/password.ts";

Deno.test("verifyPassword() run 20 times does not keep 20 argon2 memories (7 MiB each)", async () => {
  const hash = await hashPassword("a-password");
  assert.ok(await verifyPassword("a-password", hash));
  const before = Deno.memoryUsage().rss;
  for (let i = 0; i < 20; i++) await verifyPassword(`wrong-${i}`, hash);
  const grown = (Deno.memoryUsage().rss - before) / 1e6;
  // Before the fix this grew by about 7.7 MB a call (150 MB here) until a full GC.
  assert.ok(grown < 50, `RSS grew by ${grown.toFixed(1)} MB over 20 checks`);
});

Deno.test("hashPassword() salts each hash: the same password hashes differently", async () => {
  const a = await hashPassword("same-password");
  const b = await hashPassword("same-password");
  assert.notEqual(a, b);
  assert.match(a, /^\$argon2id\$v=19\$m=7168,t=5,p=1\$/);
  assert.ok(await verifyPassword("same-password", b));
});
