// Issue 27 ("Upgrades"): a central and a VM as main wrote them before state files carried a
// version (tests/fixtures/upgrade/today/, made by make.ts) open in this code with every row, line
// and checkpoint kept, take new writes, and gain versions; whatever a newer sluice wrote (a state
// file, siem.db, the side tables, an sftp-object manifest, the JSONL marks) stops the component
// with a message naming the file and both versions, and is left byte for byte as it was.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createLogger, fileState, jsonLine, jsonlSink } from "../../mod.ts";
import { ComponentStats } from "../../core/stats.ts";
import { STATE_FILE_VERSION } from "../../core/state.ts";
import { DowngradeError, VERSION_KEY } from "../../core/_state_version.ts";
import { MANIFEST_VERSION, ManifestStore } from "../../sinks/_sftp_manifest.ts";
import type { SftpSession } from "../../ssh/sftp.ts";
import { openHostRegistry } from "../../sources/_ssh_journal_registry.ts";
import { DecisionTable } from "../../respond/decisions.ts";
import { openSqliteStore } from "../../store/sqlite.ts";
import { _uiDdl } from "../../store/_sqlite_ui.ts";
import { localSftp } from "../fixtures/upgrade/_local_sftp.ts";
import { CENTRAL, rows, run, withCopy } from "./_upgrade_helpers.ts";

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
