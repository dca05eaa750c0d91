import assert from "node:assert/strict";
import { freePort, POSTGRES_BIN, startPostgres } from "../fixtures/sql_servers.ts";

Deno.test({
  name:
    "startPostgres: a port taken between the draw and the postmaster's bind is retried on a fresh one; a start that keeps failing names the server log",
  ignore: !POSTGRES_BIN,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The race CI met: the drawn port is bound by someone else before the postmaster binds it.
    const taken = Deno.listen({ hostname: "127.0.0.1", port: freePort() });
    const takenPort = (taken.addr as Deno.NetAddr).port;
    try {
      const draws: number[] = [];
      const pg = await startPostgres({
        ports: () => {
          const p = draws.length === 0 ? takenPort : freePort();
          draws.push(p);
          return p;
        },
      });
      try {
        assert.equal(draws.length, 2);
        assert.equal(pg.port, draws[1]);
        assert.equal((await pg.sql("SELECT 1")).trim(), "1");
      } finally {
        await pg.stop();
      }
      // Every draw taken: the error carries the log's reason, not just pg_ctl's "examine the log".
      await assert.rejects(
        startPostgres({ ports: () => takenPort }),
        (err: Error) =>
          /server log/.test(err.message) && /could not bind|in use/i.test(err.message),
      );
    } finally {
      taken.close();
    }
  },
});
