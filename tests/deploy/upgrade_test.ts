// Issue 27 ("Upgrades"): a central and a VM as main wrote them before state files carried a
// version (tests/fixtures/upgrade/today/, made by make.ts) open in this code with every row, line
// and checkpoint kept, take new writes, and gain versions; whatever a newer sluice wrote (a state
// file, siem.db, the side tables, an sftp-object manifest, the JSONL marks) stops the component
// with a message naming the file and both versions, and is left byte for byte as it was.
import assert from "node:assert/strict";
import { syntheticAlert } from "../../mod.ts";
import { STATE_FILE_VERSION } from "../../core/state.ts";
import { VERSION_KEY } from "../../core/_state_version.ts";
import { MANIFEST_VERSION, ManifestStore } from "../../sinks/_sftp_manifest.ts";
import type { SftpSession } from "../../ssh/sftp.ts";
import {
  addMonitoredHost,
  listMonitoredHosts,
  openHostRegistry,
} from "../../sources/_ssh_journal_registry.ts";
import { DecisionTable } from "../../respond/decisions.ts";
import type { _uiDdl } from "../../store/_sqlite_ui.ts";
import { localSftp } from "../fixtures/upgrade/_local_sftp.ts";
import { killTree, waitFor } from "../_peers.ts";
import { CENTRAL, type Child, count, files, ids, rows, run, withCopy } from "./_upgrade_helpers.ts";

Deno.test("upgrade: the central and VM of today's main run on with every row, JSONL line and checkpoint kept, and their state files gain a version", async () => {
  await withCopy(async (dir) => {
    const db = `${dir}/central/siem.db`;
    const before = rows(db);
    assert.equal(before.alerts?.length, 15);
    assert.equal(before.firewall_events?.length, 3);
    assert.equal(before.objects?.length, 1);
    const jsonlBefore = await files(`${dir}/central/logs`, ".jsonl");
    const stateBefore = new Map([
      ...[...await files(`${dir}/central/state`, ".json")].map(([k, v]) => [`central/${k}`, v]),
      ...[...await files(`${dir}/vm/state`, ".json")].map(([k, v]) => [`vm/${k}`, v]),
    ] as Array<[string, string]>);
    for (const text of stateBefore.values()) assert.ok(!text.includes(VERSION_KEY));
    const tailed = JSON.parse(stateBefore.get("vm/source.alerts.json") as string);
    const origin = tailed.files[0] as string;
    // An upgrade happens on the same machine: the tailed file keeps its device and inode. The copy
    // has others, so the checkpoint is moved to them, as it was (no version, same origin and offset).
    const st = await Deno.stat(`${dir}/vm/alerts.jsonl`);
    const key = `${st.dev}:${st.ino}`;
    const checkpoint = { ...tailed[origin], path: await Deno.realPath(`${dir}/vm/alerts.jsonl`) };
    await Deno.writeTextFile(
      `${dir}/vm/state/source.alerts.json`,
      JSON.stringify({ [key]: checkpoint, files: [key] }),
    );
    stateBefore.set("vm/source.alerts.json", JSON.stringify({ [key]: checkpoint, files: [key] }));

    const central = run(dir, CENTRAL);
    let vm: Child | undefined;
    try {
      const port = (re: RegExp) =>
        waitFor(re.source, () => central.text().match(re)?.[1], 60_000).then(Number);
      const json = await port(/JSON lines over TCP\s+127\.0\.0\.1:(\d+)/);
      const relp = await port(/RELP\s+127\.0\.0\.1:(\d+)/);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: json });
      await conn.write(new TextEncoder().encode(
        [0, 1].map((i) => syntheticAlert(500 + i, 27) + "\n").join(""),
      ));
      conn.close();
      await Deno.writeTextFile(
        `${dir}/vm/alerts.jsonl`,
        Array.from({ length: 5 }, (_, i) => syntheticAlert(200 + i, 27, ["vm1"]) + "\n").join(""),
        { append: true },
      );
      vm = run(dir, [
        "--state-dir",
        "vm/state",
        "vm",
        "--central",
        "127.0.0.1",
        "--relp-port",
        String(relp),
        "--alerts",
        "vm/alerts.jsonl",
        "--yara",
        "vm/yara.jsonl",
        "--data",
        "vm",
        "--host",
        "vm1",
      ]);
      await waitFor(
        "22 alerts in siem.db",
        () => count(db, "alerts WHERE rule <> 'host_silent'") >= 22,
        60_000,
      )
        .catch((err) => {
          throw new Error(
            `${err.message}\ncentral:\n${central.text().slice(-3000)}\nvm:\n${
              vm?.text().slice(-3000)
            }`,
          );
        });
      // The checkpoints and marks reach the state files about once a second.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(await vm.stop(), 0, vm.text().slice(-2000));
      vm = undefined;
      assert.equal(await central.stop(), 0, central.text().slice(-2000));
    } finally {
      if (vm) killTree(vm.child);
      killTree(central.child);
      await central.child.status;
    }

    // siem.db: every row kept as it was (vms rows move on with each heartbeat), new rows added.
    const after = rows(db);
    for (const [table, old] of Object.entries(before)) {
      const now = after[table] ?? [];
      assert.ok(now.length >= old.length, `${table}: ${now.length} rows, had ${old.length}`);
      if (table === "vms" || table === "sluice_meta") continue;
      assert.deepEqual(now.slice(0, old.length), old, `${table} keeps its rows`);
    }
    assert.deepEqual(
      after.vms?.map((r) => r.host).sort(),
      before.vms?.map((r) => r.host).sort(),
    );
    // 2 over TCP, 5 more from the VM, resumed at its checkpoint; the host watch may add
    // host_silent alerts for the fixture's hosts, quiet since it was made.
    const added = after.alerts?.slice(15).filter((r) => r.rule !== "host_silent") ?? [];
    assert.equal(added.length, 7, JSON.stringify(added.map((r) => r.id)));
    assert.equal(after.objects?.length, 1, "the manifest's object is not recorded twice");

    // JSONL: every line kept in place, the new ones appended once.
    const jsonlAfter = await files(`${dir}/central/logs`, ".jsonl");
    for (const [path, text] of jsonlBefore) {
      assert.ok(jsonlAfter.get(path)?.startsWith(text), `${path} keeps its lines`);
    }
    const all = ids(jsonlAfter.get("all_events.jsonl") as string);
    assert.equal(new Set(all).size, all.length, "no line written twice");
    assert.equal(all.filter((id) => id.startsWith(`vm1:${origin}:`)).length, 15);

    // State: the file-tail checkpoint carried on (same origin, at the end of the file), and the
    // files written since carry the version; keys are kept.
    const tail = JSON.parse(await Deno.readTextFile(`${dir}/vm/state/source.alerts.json`));
    assert.equal(tail[VERSION_KEY], STATE_FILE_VERSION);
    assert.deepEqual(tail.files, [key]);
    assert.equal(tail[key].origin, origin);
    assert.equal(tail[key].offset, (await Deno.stat(`${dir}/vm/alerts.jsonl`)).size);
    for (const [name, text] of stateBefore) {
      const now = JSON.parse(await Deno.readTextFile(`${dir}/${name.replace("/", "/state/")}`));
      const old = JSON.parse(text);
      for (const key of Object.keys(old)) assert.ok(key in now, `${name} keeps "${key}"`);
      if (JSON.stringify(now) !== text) {
        assert.equal(now[VERSION_KEY], STATE_FILE_VERSION, `${name} is upgraded when written`);
      }
    }
    const marks = JSON.parse(await Deno.readTextFile(`${dir}/central/state/sink.all.json`));
    assert.equal(marks[VERSION_KEY], STATE_FILE_VERSION);
  });
});

Deno.test("upgrade: the host registry, respond's decisions and an sftp-object manifest of today's main keep their rows and lines and gain versions", async () => {
  await withCopy(async (dir) => {
    const db = `${dir}/central/siem.db`;
    const before = rows(db);
    assert.equal(before.sluice_meta?.some((r) => r.key === "schema.monitored_hosts"), false);

    const registry = openHostRegistry(db);
    try {
      assert.deepEqual(listMonitoredHosts(registry).map((h) => h.name), ["web1"]);
      addMonitoredHost(registry, { name: "web2", user: "sluice", privateKeyFile: "/k" });
    } finally {
      registry.close();
    }
    const decisions = new DecisionTable(db);
    try {
      assert.equal(decisions.get(1)?.target, "203.0.113.10");
    } finally {
      decisions.close();
    }
    // Opened again: already at its version, nothing runs twice.
    openHostRegistry(db).close();
    const after = rows(db);
    assert.deepEqual(after.monitored_hosts?.[0], before.monitored_hosts?.[0]);
    assert.equal(after.monitored_hosts?.length, 2);
    assert.deepEqual(after.responses, before.responses);
    const meta = Object.fromEntries((after.sluice_meta ?? []).map((r) => [r.key, r.value]));
    assert.equal(meta["schema.monitored_hosts"], "1");
    assert.equal(meta["schema.responses"], "1");
    assert.equal(meta["schema.siem"], "1");

    // The manifest: its old line still counts, a new line carries the version.
    const sftp = localSftp(`${dir}/samples`) as unknown as SftpSession;
    const path = "vm1/quarantine/.manifest.jsonl";
    const old = await Deno.readTextFile(`${dir}/samples/${path}`);
    const store = new ManifestStore();
    assert.deepEqual([...(await store.load(sftp, path)).keys()], ["vm1/quarantine/a.bin"]);
    await store.append(sftp, path, [{
      path: "vm1/quarantine/b.bin",
      size: 1,
      sha256: "ab".repeat(32),
      mtime: "2026-11-24T10:00:00.000Z",
      uploaded_at: "2026-11-24T10:00:01.000Z",
    }]);
    const text = await Deno.readTextFile(`${dir}/samples/${path}`);
    assert.ok(text.startsWith(old));
    assert.equal(JSON.parse(text.slice(old.length)).v, MANIFEST_VERSION);
    assert.equal((await new ManifestStore().load(sftp, path)).size, 2);
  });
});
