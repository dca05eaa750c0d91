import assert from "node:assert/strict";
import { ComponentStats, createEvent, createLogger, memoryState } from "../../mod.ts";
import { kvParser } from "../../parsers/kv.ts";
import { categorize } from "../../siem/categorize.ts";
import { siemSqliteSink } from "../../siem/schema.ts";

Deno.test("firewall_events: the SIEM@Home prefix fills action and chain, not the kernel time stamp", async () => {
  const dir = await Deno.makeTempDir();
  const sink = siemSqliteSink({ database: `${dir}/siem.db` });
  await sink.open({
    name: "siem",
    stats: new ComponentStats("sink", "siem", "sqlite"),
    state: memoryState(),
    log: createLogger("silent"),
    signal: new AbortController().signal,
  });
  try {
    const parser = kvParser({ prefix: "fw" });
    const classify = categorize();
    const batch = [
      "[86400.123456] A=DROP C=inet IN=eth0 OUT= SRC=203.0.113.7 DST=10.0.0.2 PROTO=TCP SPT=4242 DPT=22",
      "[86401.000001] [UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.7 DST=10.0.0.2 PROTO=UDP SPT=53 DPT=5353",
      "[UFW ALLOW] IN=eth0 OUT= SRC=198.51.100.8 DST=10.0.0.2 PROTO=TCP SPT=1 DPT=443",
    ].map((line, i) => {
      const event = createEvent(line, { id: `fw:${i}` });
      assert.ok(parser.parse(event));
      classify.apply(event);
      return event;
    });
    await sink.write(batch);
    const rows = sink.db.prepare("SELECT action, chain, src FROM firewall_events ORDER BY id")
      .all().map((r) => ({ ...r }));
    assert.deepEqual(rows, [
      { action: "DROP", chain: "inet", src: "203.0.113.7" },
      { action: "UFW BLOCK", chain: null, src: "198.51.100.7" },
      { action: "UFW ALLOW", chain: null, src: "198.51.100.8" },
    ]);
  } finally {
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});
