/**
 * The guard against npm:postgres's null-socket write crash (core/_pg_crash_guard.ts).
 * The real crash depends on a connection closing between a queued write and its timer (it
 * hit 2 of 10 suite runs in tests/sinks/postgres_test.ts's `pg_ctl restart` case); here the
 * same error, with the stack frame the client gives it, is thrown where the client throws it
 * (a setImmediate callback), in a child process, so a guard that fails ends that child.
 */

import assert from "node:assert/strict";
import { isPostgresConnectionError, isPostgresWriteCrash } from "../../core/_pg_crash_guard.ts";
import { runWithDeadline } from "../_peers.ts";

const GUARD = new URL("../../core/_pg_crash_guard.ts", import.meta.url).href;
// The frame as npm:postgres@3.4.9 gives it (copied from a failed suite run's output).
const FRAME =
  "    at Immediate.nextWrite (file:///root/.cache/deno/npm/registry.npmjs.org/postgres/3.4.9/src/connection.js:255:22)";

function crash(frame = FRAME): TypeError {
  const e = new TypeError("Cannot read properties of null (reading 'write')");
  e.stack = `${e.name}: ${e.message}\n${frame}`;
  return e;
}

Deno.test("isPostgresWriteCrash() knows the client's crash by its message and frame, nothing else", () => {
  assert.equal(isPostgresWriteCrash(crash()), true);
  assert.equal(
    isPostgresWriteCrash(new TypeError("Cannot read properties of null (reading 'write')")),
    false,
  );
  assert.equal(
    isPostgresWriteCrash(crash("    at nextWrite (file:///app/my/connection.js:1:1)")),
    false,
  );
  const other = new TypeError("Cannot read properties of null (reading 'end')");
  other.stack = `TypeError: x\n${FRAME}`;
  assert.equal(isPostgresWriteCrash(other), false);
  assert.equal(isPostgresWriteCrash(Object.assign(new Error("x"), { stack: FRAME })), false);
  assert.equal(isPostgresWriteCrash("Cannot read properties of null (reading 'write')"), false);
});

Deno.test("isPostgresConnectionError() tells a lost connection from a failed statement, through causes", () => {
  const code = (c: string) => Object.assign(new Error(c), { code: c });
  for (
    const c of ["CONNECTION_CLOSED", "CONNECT_TIMEOUT", "CONNECTION_DESTROYED", "ECONNREFUSED"]
  ) {
    assert.equal(isPostgresConnectionError(code(c)), true, c);
    assert.equal(isPostgresConnectionError(new Error("wrapped", { cause: code(c) })), true, c);
  }
  for (const c of ["23505", "42P01", "22P02"]) {
    assert.equal(isPostgresConnectionError(code(c)), false);
  }
  assert.equal(isPostgresConnectionError(crash()), true);
  assert.equal(isPostgresConnectionError(undefined), false);
});

/** Runs a script in a child Deno with a deadline; returns its exit code and output. */
async function child(script: string): Promise<{ code: number; out: string }> {
  const r = await runWithDeadline(Deno.execPath(), ["eval", "--quiet", script], {
    timeoutMs: 20_000,
    what: "the guard's child process",
  });
  return { code: r.code, out: r.stdout + r.stderr };
}

const PRELUDE = `
import { setImmediate } from "node:timers";
import { onPostgresWriteCrash, postgresWriteCrashesCaught } from "${GUARD}";
function crash() {
  const e = new TypeError("Cannot read properties of null (reading 'write')");
  e.stack = e.name + ": " + e.message + "\\n" + ${JSON.stringify(FRAME)};
  throw e;
}
const tick = () => new Promise((r) => setTimeout(r, 20));
`;

Deno.test("the guard keeps the client's crash from ending the process and tells every registrant", async () => {
  const r = await child(`${PRELUDE}
    const seen = [];
    const offA = onPostgresWriteCrash(() => seen.push("a"));
    const offB = onPostgresWriteCrash(() => { seen.push("b"); throw new Error("a registrant failing"); });
    setImmediate(crash);
    await tick();
    setImmediate(crash);
    await tick();
    offA(); offB(); offB();
    console.log("alive", seen.join(","), postgresWriteCrashesCaught());
  `);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /alive a,b,a,b 2/);
});

Deno.test("with the guard on, any other uncaught error still ends the process", async () => {
  const r = await child(`${PRELUDE}
    onPostgresWriteCrash(() => {});
    setImmediate(() => { throw new TypeError("Cannot read properties of null (reading 'write')"); });
    await tick();
    console.log("should not get here");
  `);
  assert.notEqual(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /should not get here/);
});

Deno.test("once every registration is undone, the client's crash ends the process again", async () => {
  const r = await child(`${PRELUDE}
    const off = onPostgresWriteCrash(() => {});
    off();
    setImmediate(crash);
    await tick();
    console.log("should not get here");
  `);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /reading 'write'/);
  assert.doesNotMatch(r.out, /should not get here/);
});
