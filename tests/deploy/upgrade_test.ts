// Issue 27 ("Upgrades"): a central and a VM as main wrote them before state files carried a
// version (tests/fixtures/upgrade/today/, made by make.ts) open in this code with every row, line
// and checkpoint kept, take new writes, and gain versions; whatever a newer sluice wrote (a state
// file, siem.db, the side tables, an sftp-object manifest, the JSONL marks) stops the component
// with a message naming the file and both versions, and is left byte for byte as it was.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createLogger, fileState, jsonLine, jsonlSink, syntheticAlert } from "../../mod.ts";
import { ComponentStats } from "../../core/stats.ts";
import { STATE_FILE_VERSION } from "../../core/state.ts";
import { DowngradeError, VERSION_KEY } from "../../core/_state_version.ts";
import { MANIFEST_VERSION, ManifestStore } from "../../sinks/_sftp_manifest.ts";
import type { SftpSession } from "../../ssh/sftp.ts";
import {
  addMonitoredHost,
  listMonitoredHosts,
  openHostRegistry,
} from "../../sources/_ssh_journal_registry.ts";
import { DecisionTable } from "../../respond/decisions.ts";
import { openSqliteStore } from "../../store/sqlite.ts";
import { _uiDdl } from "../../store/_sqlite_ui.ts";
import { localSftp } from "../fixtures/upgrade/_local_sftp.ts";
import { killTree, spawnGroup, waitFor } from "../_peers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const FIXTURE = new URL("../fixtures/upgrade/today", import.meta.url).pathname;
const MAIN = `${ROOT}runner/main.ts`;

/** A copy of the fixture in a temp dir, removed after `body`. */
async function withCopy(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-upgrade-" });
  const copy = async (from: string, to: string): Promise<void> => {
    await Deno.mkdir(to, { recursive: true });
    for await (const e of Deno.readDir(from)) {
      if (e.isDirectory) await copy(`${from}/${e.name}`, `${to}/${e.name}`);
      else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  };
  await copy(FIXTURE, dir);
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interface Child {
  child: Deno.ChildProcess;
  text(): string;
  stop(): Promise<number>;
  /** The exit code once it exits by itself, or `undefined` (and it is stopped) after `ms`. */
  exited(ms: number): Promise<number | undefined>;
}

/** `sluice run` of an embedded example in `cwd` (the fixture's paths are relative). */
function run(cwd: string, args: string[]): Child {
  const child = spawnGroup(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  });
  let text = "";
  const decoder = new TextDecoder();
  const pumps = Promise.all([child.stdout, child.stderr].map(async (s) => {
    for await (const c of s) text += decoder.decode(c, { stream: true });
  }));
  return {
    child,
    text: () => text,
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
    async exited(ms) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const code = await Promise.race([
        child.status.then((s) => s.code),
        new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms))),
      ]);
      clearTimeout(timer);
      if (code === undefined) killTree(child);
      await child.status;
      await pumps;
      return code;
    },
  };
}

const CENTRAL = [
  "--state-dir",
  "central/state",
  "central",
  "--data",
  "central",
  "--listen",
  "127.0.0.1",
  "--json-port",
  "0",
  "--relp-port",
  "0",
  "--syslog-port",
  "0",
  "--ui",
  "off",
  "--samples",
  "samples",
  "--samples-interval",
  "1s",
];

/** Every row of every table (and `sluice_meta`), by table, in rowid order. */
function rows(path: string): Record<string, Array<Record<string, unknown>>> {
  const d = new DatabaseSync(path, { readOnly: true });
  try {
    const out: Record<string, Array<Record<string, unknown>>> = {};
    const names = d.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    ).all().map((r) => String(r.name));
    for (const t of names) {
      out[t] = d.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all().map((r) => ({ ...r }));
    }
    return out;
  } finally {
    d.close();
  }
}

function count(path: string, table: string): number {
  try {
    const d = new DatabaseSync(path, { readOnly: true });
    try {
      return Number((d.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
    } finally {
      d.close();
    }
  } catch {
    return -1;
  }
}

async function files(dir: string, suffix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for await (const e of Deno.readDir(`${dir}/${rel}`)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(suffix)) out.set(p, await Deno.readTextFile(`${dir}/${p}`));
    }
  };
  await walk("");
  return out;
}

/** The ids of a JSONL file's lines (events from TCP and syslog have none). */
function ids(text: string): string[] {
  return text.split("\n").filter((l) => l).map((l) => JSON.parse(l).ID).filter((id) =>
    typeof id === "string"
  );
}

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

/** The bytes of a file, to show it was not touched. */
function bytes(path: string): Uint8Array {
  return Deno.readFileSync(path);
}

function assertDowngrade(text: string, file: string, found: number, known: number): void {
  assert.match(text, /written by a newer sluice/);
  assert.ok(text.includes(file), `names "${file}": ${text.slice(-2000)}`);
  assert.ok(text.includes(`version ${found}, this sluice knows up to ${known}`), text.slice(-2000));
  assert.match(text, /downgrade/);
}

Deno.test("upgrade: a state file or siem.db written by a newer sluice stops the central with a clear message and is left byte for byte", async () => {
  await withCopy(async (dir) => {
    // A state file.
    const state = `${dir}/central/state/sink.all.json`;
    const saved = JSON.parse(await Deno.readTextFile(state));
    await Deno.writeTextFile(state, JSON.stringify({ [VERSION_KEY]: 99, ...saved }));
    const stateBytes = bytes(state);
    let central = run(dir, CENTRAL);
    let code = await central.exited(60_000);
    assert.ok(code !== undefined && code !== 0, `exit ${code}: ${central.text().slice(-2000)}`);
    assertDowngrade(central.text(), "central/state/sink.all.json", 99, STATE_FILE_VERSION);
    assert.deepEqual(bytes(state), stateBytes);
    await Deno.writeTextFile(state, JSON.stringify(saved));

    // siem.db (in WAL mode, as a running central leaves it), its schema from a newer sluice.
    const db = `${dir}/central/siem.db`;
    const d = new DatabaseSync(db);
    d.exec("PRAGMA journal_mode = WAL");
    d.exec("UPDATE sluice_meta SET value = '99' WHERE key = 'schema.siem'");
    d.close();
    const dbBytes = bytes(db);
    const before = rows(db);
    central = run(dir, CENTRAL);
    code = await central.exited(60_000);
    assert.ok(code !== undefined && code !== 0, `exit ${code}: ${central.text().slice(-2000)}`);
    assertDowngrade(central.text(), "central/siem.db", 99, 1);
    assert.match(central.text(), /schema "siem" version 99/);
    assert.deepEqual(rows(db), before);
    assert.deepEqual(bytes(db), dbBytes);
  });
});

Deno.test("upgrade: the side tables, a manifest and JSONL marks from a newer sluice are refused untouched", async () => {
  await withCopy(async (dir) => {
    const db = `${dir}/central/siem.db`;
    // Side tables of siem.db.
    openHostRegistry(db).close();
    new DecisionTable(db).close();
    for (const name of ["monitored_hosts", "responses"]) {
      const d = new DatabaseSync(db);
      d.exec(`UPDATE sluice_meta SET value = '7' WHERE key = 'schema.${name}'`);
      d.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      d.close();
      const before = bytes(db);
      const open = name === "responses"
        ? () => new DecisionTable(db).close()
        : () => openHostRegistry(db).close();
      assert.throws(open, (err: unknown) => {
        assert.ok(err instanceof DowngradeError);
        assertDowngrade(err.message, db, 7, 1);
        assert.match(err.message, new RegExp(`schema "${name}"`));
        return true;
      });
      assert.deepEqual(bytes(db), before);
      const reset = new DatabaseSync(db);
      reset.exec(`UPDATE sluice_meta SET value = '1' WHERE key = 'schema.${name}'`);
      reset.close();
    }

    // The dashboard's tables (users, sessions, triage) as a sluice before their version made
    // them: kept and upgraded once; then, recorded by a newer sluice, refused untouched.
    const ui = new DatabaseSync(db);
    for (const statement of _uiDdl()) ui.exec(statement);
    ui.prepare("INSERT INTO users (name, role, password_hash, created) VALUES (?, ?, ?, ?)")
      .run("ada", "admin", "$argon2id$old", "2026-12-01T00:00:00.000Z");
    ui.close();
    let store = await openSqliteStore({ database: db });
    assert.equal((await store.ui.getUser("ada"))?.password_hash, "$argon2id$old");
    await store.close();
    const meta = new DatabaseSync(db);
    assert.equal(
      (meta.prepare("SELECT value FROM sluice_meta WHERE key = 'schema.ui'").get() as
        | { value: string }
        | undefined)?.value,
      "1",
    );
    meta.exec("UPDATE sluice_meta SET value = '4' WHERE key = 'schema.ui'");
    meta.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    meta.close();
    const uiBefore = bytes(db);
    store = await openSqliteStore({ database: db });
    await assert.rejects(async () => await store.ui.getUser("ada"), (err: unknown) => {
      assert.ok(err instanceof DowngradeError, String(err));
      assertDowngrade(err.message, db, 4, 1);
      assert.match(err.message, /schema "ui"/);
      return true;
    });
    await store.close();
    assert.deepEqual(bytes(db), uiBefore);

    // An sftp-object manifest with a line from a newer version: neither read nor appended to.
    const sftp = localSftp(`${dir}/samples`) as unknown as SftpSession;
    const path = "vm1/quarantine/.manifest.jsonl";
    await Deno.writeTextFile(
      `${dir}/samples/${path}`,
      JSON.stringify({ v: 5, path: "vm1/quarantine/c.bin", size: 1, sha256: "cd".repeat(32) }) +
        "\n",
      { append: true },
    );
    const manifest = bytes(`${dir}/samples/${path}`);
    await assert.rejects(new ManifestStore().load(sftp, path), (err: unknown) => {
      assert.ok(err instanceof DowngradeError);
      assertDowngrade(err.message, path, 5, MANIFEST_VERSION);
      return true;
    });
    await assert.rejects(
      new ManifestStore().append(sftp, path, [{
        path: "vm1/quarantine/d.bin",
        size: 1,
        sha256: "ef".repeat(32),
        mtime: "2026-11-24T10:00:00.000Z",
        uploaded_at: "2026-11-24T10:00:01.000Z",
      }]),
      DowngradeError,
    );
    assert.deepEqual(bytes(`${dir}/samples/${path}`), manifest);

    // JSONL marks of a newer format inside a state file of this version.
    const stateDir = `${dir}/central/state`;
    const file = `${stateDir}/sink.all.json`;
    const saved = JSON.parse(await Deno.readTextFile(file));
    saved.jsonl_marks.v = 2;
    await Deno.writeTextFile(file, JSON.stringify({ [VERSION_KEY]: 1, ...saved }));
    const marks = bytes(file);
    const sink = jsonlSink({
      dir: `${dir}/central/logs`,
      path: "all_events.jsonl",
      line: jsonLine,
    });
    const state = await fileState(stateDir, "sink.all");
    await assert.rejects(
      sink.open({
        name: "all",
        stats: new ComponentStats("sink", "all", "jsonl"),
        state,
        log: createLogger("error", () => {}),
        signal: new AbortController().signal,
      }),
      /jsonlSink all: "jsonl_marks in its state" was written by a newer sluice \(marks format version 2, this sluice knows up to 1\)/,
    );
    await state.flush();
    assert.deepEqual(bytes(file), marks);
  });
});
