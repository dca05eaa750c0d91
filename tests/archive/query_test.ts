import assert from "node:assert/strict";
import { seedSiem } from "../../bench/seed_siem.ts";
import { archiveOnce } from "../../archive/mover.ts";
import { runWithDeadline } from "../_peers.ts";

const MAIN = new URL("../../runner/main.ts", import.meta.url).pathname;
const DAY = 86_400_000;

Deno.test("query critical|alerts --since 45d --archive after archiving equals the same query before", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-archive-query-" });
  try {
    const db = `${dir}/siem.db`;
    await seedSiem(db, { alerts: 8000, auth: 500, hosts: 6, days: 60, now: Date.now() });
    const query = async (args: string[]) => {
      const r = await runWithDeadline(Deno.execPath(), [
        "run",
        "-A",
        MAIN,
        "query",
        ...args,
        "--db",
        db,
        "--format",
        "json",
        "--limit",
        "100000",
      ], {
        timeoutMs: 120_000,
        what: `sluice query ${args.join(" ")}`,
      });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const critical = ["critical", "--since", "45d"];
    const high = ["alerts", "--since", "45d", "--severity", "high", "--host", "vm-01"];
    const before = [await query(critical), await query(high)];
    assert.ok(before[0]!.split("\n").length > 10, "some critical alerts to compare");
    const moved = await archiveOnce({ database: db, dir: `${dir}/archives`, retainDbMs: 30 * DAY });
    assert.ok((moved.byTable.alerts ?? 0) > 0);
    assert.notEqual(await query(critical), before[0], "without --archive the moved rows are gone");
    assert.equal(await query([...critical, "--archive"]), before[0]);
    assert.equal(await query([...high, "--archive"]), before[1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
