// The compiled binary end to end: `deno compile` with the central's permissions (data in a
// temp dir, listeners on 127.0.0.1), then the binary alone runs the embedded central, stores
// an alert sent over TCP, answers `query critical`, `check vm` and `--version`, and refuses a
// read outside its permissions. It prints the binary's size and its private memory idle and
// after 5,000 alerts.
//
// Opt-in: a compile takes a minute and needs denort (the Deno release download, or
// DENORT_BIN), so it runs only with SLUICE_TEST_COMPILE=1, which .ci/run does not set.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { syntheticAlert } from "../../mod.ts";
import { compileArgs } from "../../deploy/compile.ts";
import { killTree, runWithDeadline, skipLine, spawnGroup, waitFor } from "../_peers.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const enabled = Deno.env.get("SLUICE_TEST_COMPILE") === "1";
if (!enabled) skipLine("the compiled-binary test", "set SLUICE_TEST_COMPILE=1 to run it");

function privateMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (key: string) => Number(status.match(new RegExp(`${key}:\\s+(\\d+)`))?.[1] ?? 0);
  return (kb("RssAnon") + kb("RssShmem")) / 1024;
}

Deno.test({
  name: "deploy: the compiled binary runs the embedded central with its baked-in permissions",
  ignore: !enabled,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-compile-" });
    const binary = `${dir}/sluice`;
    const data = `${dir}/data`;
    let child: Deno.ChildProcess | undefined;
    try {
      const built = await runWithDeadline(
        Deno.execPath(),
        compileArgs({ output: binary, data, config: `${dir}/etc`, listen: ["127.0.0.1"] }),
        { timeoutMs: 600_000, what: "deno compile", cwd: ROOT },
      );
      assert.equal(built.code, 0, built.stderr);
      console.log(`binary size: ${(Deno.statSync(binary).size / 1e6).toFixed(1)} MB`);
      const version = await runWithDeadline(binary, ["--version"], {
        timeoutMs: 30_000,
        what: "sluice --version",
      });
      assert.equal(version.code, 0, version.stderr);
      const check = await runWithDeadline(binary, ["check", "vm"], {
        timeoutMs: 30_000,
        what: "sluice check vm",
      });
      assert.equal(check.code, 0, check.stderr);
      child = spawnGroup(binary, {
        args: [
          "--state-dir",
          `${data}/state`,
          "central",
          "--data",
          data,
          "--json-port",
          "0",
          "--relp-port",
          "0",
          "--syslog-port",
          "0",
          "--ui",
          "off",
        ],
        stdout: "piped",
        stderr: "piped",
      });
      let text = "";
      const decoder = new TextDecoder();
      const pump = async (s: ReadableStream<Uint8Array>) => {
        for await (const c of s) text += decoder.decode(c, { stream: true });
      };
      const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
      const port = await waitFor(
        "the compiled central's JSON port",
        () => text.match(/JSON lines over TCP\s+127\.0\.0\.1:(\d+)/)?.[1],
        60_000,
      );
      await new Promise((r) => setTimeout(r, 3000));
      console.log(`private memory idle: ${privateMb(child.pid).toFixed(1)} MB`);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
      const lines = Array.from({ length: 5000 }, (_, i) => syntheticAlert(i) + "\n").join("");
      await conn.write(new TextEncoder().encode(lines));
      conn.close();
      const count = () => {
        try {
          const db = new DatabaseSync(`${data}/siem.db`, { readOnly: true });
          try {
            return Number(
              (db.prepare("SELECT count(*) AS n FROM alerts").get() as { n: number }).n,
            );
          } finally {
            db.close();
          }
        } catch {
          return -1;
        }
      };
      await waitFor("5,000 alerts stored by the binary", () => count() >= 5000, 120_000);
      console.log(`private memory after 5,000 alerts: ${privateMb(child.pid).toFixed(1)} MB`);
      const query = await runWithDeadline(
        binary,
        ["query", "critical", "--db", `${data}/siem.db`],
        {
          timeoutMs: 30_000,
          what: "sluice query critical",
        },
      );
      assert.equal(query.code, 0, query.stderr);
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0, text.slice(-2000));
      await pumps;
      assert.doesNotMatch(text, /Requires \w+ access/);
      const outside = await runWithDeadline(binary, ["query", "critical", "--db", "/etc/passwd"], {
        timeoutMs: 30_000,
        what: "sluice query outside its permissions",
      });
      assert.notEqual(outside.code, 0);
      assert.match(outside.stderr, /Requires read access to "\/etc\/passwd"/);
    } finally {
      if (child) killTree(child);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
