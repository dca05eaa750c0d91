import assert from "node:assert/strict";
import { createEvent } from "../../mod.ts";
import { siemPostgresSink } from "../../sinks/postgres.ts";
import { PgLostWatch } from "../../sinks/_sql_pg_batch.ts";
import { POSTGRES_BIN, rowsAndIds, startPostgres } from "../fixtures/sql_servers.ts";
import { openSink } from "../fixtures/siem_corpus.ts";
import { waitFor } from "../_peers.ts";
import { alertBatch } from "./_sql_events.ts";

const opts = { ignore: !POSTGRES_BIN, sanitizeResources: false, sanitizeOps: false };

/** One write, failed with a message naming the hang when it neither resolves nor rejects in time. */
function settleWithin(work: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} neither stored nor failed in ${ms} ms`)),
      ms,
    );
  });
  work.catch(() => {});
  return Promise.race([work, hung]).finally(() => clearTimeout(timer));
}

Deno.test({
  name:
    "postgresSink: pipelined 5k-row batches in flight across `pg_ctl restart -m immediate` fail at once (no wait for the write deadline), then store every row once",
  ...opts,
  async fn() {
    const pg = await startPostgres();
    const sink = siemPostgresSink({
      url: pg.url,
      connectTimeoutS: 5,
      // Far beyond the test's bounds: a batch left waiting after the restart cannot hide behind it.
      writeTimeoutMs: 600_000,
    });
    try {
      await openSink(sink);
      let failed = 0;
      // Two writers, as the engine runs two batches at once on the default two connections; each
      // batch of 5000 rows is big enough to fill the socket, so its move and COMMIT queue in the
      // client behind the COPY data (the reverted reserve() version hung there for 120 s).
      const writer = async (from: number) => {
        const until = Date.now() + 90_000;
        for (let i = from; i < from + 40_000; i += 5000) {
          while (true) {
            try {
              await settleWithin(sink.write(alertBatch(i, 5000)), 30_000, `batch ${i}`);
              break;
            } catch (err) {
              if (/neither stored nor failed/.test(String(err))) throw err;
              if (Date.now() > until) throw new Error(`batch ${i} kept failing: ${err}`);
              failed++;
              await new Promise((r) => setTimeout(r, 200));
            }
          }
        }
      };
      const writers = Promise.all([writer(0), writer(40_000)]);
      writers.catch(() => {});
      await waitFor("the first alerts in Postgres", async () => {
        const [n] = await rowsAndIds(pg).catch(() => [0]);
        return (n as number) >= 10_000;
      }, 60_000);
      await pg.restart();
      await writers;
      assert.deepEqual(await rowsAndIds(pg), [80_000, 80_000]);
      console.log(`  ${failed} batch failures across the restart, each settled within 30 s`);
    } finally {
      await sink.close();
      await pg.stop();
    }
  },
});

Deno.test({
  name:
    "postgresSink stores a batch of several tables at once, directly and (replayed) through staging",
  ...opts,
  async fn() {
    const pg = await startPostgres();
    const sink = siemPostgresSink({ url: pg.url });
    try {
      const stats = await openSink(sink);
      const beat = (t: string) =>
        createEvent(JSON.stringify({ timestamp: t }), {
          id: `hb:${t}`,
          host: "vm-9",
          fields: { category: "heartbeat", json: { timestamp: t, interval_s: 60 } },
        });
      // Two tables pipelined in one transaction: the first COPY stream's end must not abort the
      // second (npm:postgres's stream sends a CopyFail when it is destroyed after finishing).
      const batch = [...alertBatch(0, 3000), beat("2026-01-01T00:00:00.000Z")];
      await sink.write(batch);
      await sink.write([...batch, ...alertBatch(3000, 1000), beat("2026-01-01T00:01:00.000Z")]);
      assert.deepEqual(await rowsAndIds(pg), [4000, 4000]);
      assert.equal((await pg.sql("SELECT heartbeats FROM vms WHERE host = 'vm-9'")).trim(), "2");
      assert.equal(stats.counters.inserted, 4002);
      assert.equal(stats.counters.duplicates, 3001);
      assert.equal(stats.counters.direct_refused, 1);
    } finally {
      await sink.close();
      await pg.stop();
    }
  },
});

Deno.test("PgLostWatch fails a batch still waiting a grace period after the server was lost", async () => {
  const watch = new PgLostWatch(20);
  let dropped = 0;
  const never = new Promise<number>(() => {});
  const waiting = watch.run(never, () => dropped++);
  const done = watch.run(Promise.resolve(7), () => dropped++);
  assert.equal(await done, 7);
  watch.lost();
  await assert.rejects(waiting, /no answer within 20 ms after a connection to the server was lost/);
  assert.equal(dropped, 1);
  // A batch that starts after the loss is not cut short by it.
  const later = watch.run(new Promise<number>((r) => setTimeout(() => r(1), 60)), () => dropped++);
  assert.equal(await later, 1);
  assert.equal(dropped, 1);
});
