import assert from "node:assert/strict";
import { formatChaosReport, runChaos } from "./harness.ts";
import { startChaosProxy } from "./proxy.ts";

Deno.test("chaos proxy forwards bytes, cuts every connection, and stalls without closing", async () => {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const echo = (async () => {
    for await (const conn of server) {
      (async () => {
        const buf = new Uint8Array(1024);
        try {
          for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
            await conn.write(buf.subarray(0, n));
          }
        } catch {
          // cut
        }
        conn.close();
      })();
    }
  })();
  const proxy = startChaosProxy((server.addr as Deno.NetAddr).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  const buf = new Uint8Array(16);
  try {
    await conn.write(new TextEncoder().encode("ping"));
    assert.equal(new TextDecoder().decode(buf.subarray(0, (await conn.read(buf)) ?? 0)), "ping");
    // While stalled, nothing comes back; afterwards the held bytes arrive.
    const stalled = proxy.stall(400);
    await conn.write(new TextEncoder().encode("held"));
    const early = await Promise.race([
      conn.read(buf),
      new Promise<"none">((r) => setTimeout(() => r("none"), 200)),
    ]);
    assert.equal(early, "none");
    await stalled;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(proxy.cut(), 1);
    // A cut closes the client's side: its reads end.
    const rest = await conn.read(buf).catch(() => null);
    assert.ok(rest === null || rest === 4, `read after cut gave ${rest}`);
  } finally {
    conn.close();
    await proxy.close();
    server.close();
    await echo.catch(() => {});
  }
});

Deno.test({
  name:
    "VM → RELP → central stores every alert exactly once through central kill -9, VM kill -9, cuts and a stall",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const report = await runChaos({
      alerts: 20_000,
      rate: 2500,
      centralKills: 2,
      cuts: 2,
      stalls: 1,
      vmKills: 1,
      seed: 20261123,
      log: () => {},
    });
    const text = formatChaosReport(report);
    assert.equal(report.lost, 0, text);
    assert.equal(report.duplicates, 0, text);
    assert.equal(report.stored, 20_000, text);
    assert.ok(report.idsMatch, text);
    assert.equal(report.checkpoint, report.fileSize, text);
    assert.equal(report.centralKills, 2, text);
    assert.equal(report.vmKills, 1, text);
    assert.equal(report.cuts, 2, text);
    // Every kill and cut forced the VM to connect again.
    assert.ok(report.connections >= 4, text);
  },
});
