import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createLogger, definePipeline, Engine } from "../../mod.ts";
import { seedSiem } from "../../bench/seed_siem.ts";
import { archiveService } from "../../archive/service.ts";
import { archiveFor } from "../../examples/_archive.ts";
import { manualSource } from "../fixtures/components.ts";
import { collectSink } from "../fixtures/components.ts";
import { waitFor } from "../_peers.ts";

Deno.test("archiveService moves old rows on its schedule inside a running pipeline and counts them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-archive-svc-" });
  try {
    const db = `${dir}/siem.db`;
    await seedSiem(db, { alerts: 2000, auth: 500, hosts: 4, days: 33, now: Date.now() });
    const archive = archiveService({
      database: db,
      dir: `${dir}/archives`,
      retainDbMs: 30 * 86_400_000,
      firstMs: 10,
      everyMs: 60_000,
    });
    const src = manualSource("in");
    const engine = new Engine(
      definePipeline({
        sources: { in: src },
        paths: [{ from: ["in"], to: [collectSink()] }],
        services: { archive },
      }),
      { logger: createLogger("error") },
    );
    await engine.start();
    try {
      await waitFor(
        "the first archive pass",
        () => {
          const c = new DatabaseSync(db, { readOnly: true });
          try {
            return (c.prepare("SELECT count(*) AS n FROM archive_log").get() as { n: number }).n >
              0;
          } catch {
            return false;
          } finally {
            c.close();
          }
        },
        60_000,
        100,
      );
    } finally {
      await engine.stop();
    }
    const c = new DatabaseSync(db, { readOnly: true });
    const old = (c.prepare("SELECT count(*) AS n FROM alerts WHERE timestamp < ?").get(
      new Date(Date.now() - 30 * 86_400_000).toISOString(),
    ) as { n: number }).n;
    c.close();
    assert.equal(old, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the central's retention flags: off by default, checked when given", () => {
  assert.equal(archiveFor([], {}, "./data"), undefined);
  assert.equal(archiveFor(["--max-disk", "20GB"], {}, "./data")?.kind, "archive");
  assert.throws(
    () => archiveFor(["--retain-db", "soon"], {}, "./data"),
    /--retain-db: expected a duration like 30d, got "soon"/,
  );
  assert.throws(
    () => archiveFor(["--max-disk", "lots"], {}, "./data"),
    /--max-disk: expected a size like 20GB, got "lots"/,
  );
});
