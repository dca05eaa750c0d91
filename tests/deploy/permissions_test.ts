// The example pipelines run end to end under exactly the permissions deploy/permissions.ts
// gives their role (not -A), and a pipeline that reaches outside them is refused with a
// message that names what it tried to read.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { syntheticAlert } from "../../mod.ts";
import { type Role, rolePermissions, type RoleScope } from "../../deploy/permissions.ts";
import { killTree, runWithDeadline, spawnGroup, waitFor } from "../_peers.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const MAIN = `${ROOT}/runner/main.ts`;

interface Child {
  child: Deno.ChildProcess;
  stderr(): string;
  stop(): Promise<number>;
}

/** `deno run` with a role's permissions and nothing else. */
function startRole(role: Role, scope: RoleScope, args: string[]): Child {
  const child = spawnGroup(Deno.execPath(), {
    args: ["run", ...rolePermissions(role, { code: ROOT, ...scope }), MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  });
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  return {
    child,
    stderr: () => text,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => killTree(child), 30_000);
      const status = await child.status.finally(() => clearTimeout(timer));
      await pumps;
      return status.code;
    },
  };
}

function count(db: string, sql: string): number {
  try {
    const conn = new DatabaseSync(db, { readOnly: true });
    try {
      return Number((conn.prepare(sql).get() as { n: number }).n);
    } finally {
      conn.close();
    }
  } catch {
    return -1;
  }
}

Deno.test("deploy: the central and a VM run with exactly their role's permissions; alerts over RELP and TCP are stored", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-perm-" });
  const central = startRole("central", {
    data: `${dir}/central`,
    config: `${dir}/etc`,
    listen: ["127.0.0.1"],
  }, [
    "--state-dir",
    `${dir}/central/state`,
    "--log-format",
    "json",
    "central",
    "--data",
    `${dir}/central`,
    "--json-port",
    "0",
    "--relp-port",
    "0",
    "--syslog-port",
    "0",
    "--ui",
    "off",
  ]);
  let vm: Child | undefined;
  try {
    const relp = await waitFor(
      "the central's RELP port",
      () => central.stderr().match(/RELP\s+127\.0\.0\.1:(\d+)/)?.[1],
      60_000,
    );
    const json = await waitFor(
      "the central's JSON port",
      () => central.stderr().match(/JSON lines over TCP\s+127\.0\.0\.1:(\d+)/)?.[1],
    );
    // An alert straight over TCP.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(json) });
    await conn.write(new TextEncoder().encode(syntheticAlert(0) + "\n"));
    conn.close();
    // Ten through a VM that tails its file and forwards over RELP, allowed that one peer only.
    const alerts = `${dir}/vm/alerts.jsonl`;
    await Deno.mkdir(`${dir}/vm`, { recursive: true });
    await Deno.writeTextFile(
      alerts,
      Array.from({ length: 10 }, (_, i) => syntheticAlert(1 + i) + "\n").join(""),
    );
    vm = startRole("vm", {
      data: `${dir}/vm`,
      config: `${dir}/etc`,
      tails: [alerts],
      peers: [`127.0.0.1:${relp}`],
    }, [
      "--state-dir",
      `${dir}/vm/state`,
      "vm",
      "--central",
      "127.0.0.1",
      "--relp-port",
      relp,
      "--alerts",
      alerts,
      "--yara",
      `${dir}/vm/yara.jsonl`,
      "--data",
      `${dir}/vm`,
      "--host",
      "permvm",
    ]);
    const db = `${dir}/central/siem.db`;
    await waitFor(
      "11 alerts in the central's siem.db",
      () => count(db, "SELECT count(*) AS n FROM alerts") >= 11,
      60_000,
    )
      .catch((err) => {
        throw new Error(
          `${err.message}\ncentral:\n${central.stderr().slice(-3000)}\nvm:\n${
            vm?.stderr().slice(-3000)
          }`,
        );
      });
    assert.equal(count(db, "SELECT count(*) AS n FROM alerts"), 11);
    assert.doesNotMatch(central.stderr() + vm.stderr(), /Requires \w+ access/);
    assert.equal(await vm.stop(), 0, vm.stderr().slice(-2000));
    vm = undefined;
    assert.equal(await central.stop(), 0, central.stderr().slice(-2000));
  } finally {
    if (vm) killTree(vm.child);
    killTree(central.child);
    await central.child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy: a pipeline that reads outside its role's permissions is refused with a message naming the path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-perm-" });
  try {
    await Deno.mkdir(`${dir}/etc`);
    await Deno.writeTextFile(`${dir}/outside.txt`, "not yours\n");
    const file = `${dir}/etc/pipeline.reader.ts`;
    await Deno.writeTextFile(
      file,
      [
        `import { definePipeline } from "${ROOT}/mod.ts";`,
        `export default () => {`,
        `  Deno.readTextFileSync(${JSON.stringify(`${dir}/outside.txt`)});`,
        `  return definePipeline({ sources: {}, sinks: {}, paths: [] });`,
        `};`,
      ].join("\n"),
    );
    const result = await runWithDeadline(Deno.execPath(), [
      "run",
      ...rolePermissions("vm", { code: ROOT, data: `${dir}/data`, config: `${dir}/etc` }),
      MAIN,
      "--state-dir",
      `${dir}/data/state`,
      file,
    ], { timeoutMs: 60_000, what: "sluice run of a pipeline that reads outside its permissions" });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`Requires read access to "${dir}/outside.txt"`));
    assert.doesNotMatch(result.stderr, /not yours/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy: under the central's permissions, archive query (DuckDB, a native addon) says it needs --allow-ffi", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-perm-" });
  try {
    const result = await runWithDeadline(Deno.execPath(), [
      "run",
      ...rolePermissions("central", { code: ROOT, data: dir, config: dir }),
      MAIN,
      "archive",
      "query",
      "SELECT 1",
      "--dir",
      `${dir}/archive`,
    ], { timeoutMs: 60_000, what: "sluice archive query without --allow-ffi" });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /DuckDB is a native addon that needs --allow-ffi/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
