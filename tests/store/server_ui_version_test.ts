// issue 27 (Upgrades) on the servers: the dashboard's tables in PostgreSQL and MariaDB carry
// schema.ui in sluice_meta as on SQLite: made or upgraded once with every row kept, and refused
// before anything is written when a newer sluice recorded a higher version.
import assert from "node:assert/strict";
import { DowngradeError } from "../../core/_state_version.ts";
import { openStore } from "../../store/open.ts";
import { type SqlServer, testOnServers } from "../fixtures/sql_servers.ts";

async function meta(server: SqlServer): Promise<string> {
  return (await server.sql(
    `SELECT value FROM sluice_meta WHERE ${
      server.url.startsWith("postgres") ? "key" : "`key`"
    } = 'schema.ui'`,
  )).trim();
}

async function cycle(server: SqlServer): Promise<void> {
  // First use: the tables and their version, once.
  let store = await openStore(server.url);
  await store.ui.addUser({ name: "ada", role: "admin", passwordHash: "$argon2id$x" });
  await store.close();
  assert.equal(await meta(server), "1");

  // Tables as a sluice before the version made them: the row is kept, the version recorded.
  await server.sql(
    `DELETE FROM sluice_meta WHERE ${
      server.url.startsWith("postgres") ? "key" : "`key`"
    } = 'schema.ui'`,
  );
  store = await openStore(server.url);
  assert.equal((await store.ui.getUser("ada"))?.password_hash, "$argon2id$x");
  await store.close();
  assert.equal(await meta(server), "1");

  // Recorded by a newer sluice: refused with the downgrade named, nothing written.
  await server.sql(
    `UPDATE sluice_meta SET value = '6' WHERE ${
      server.url.startsWith("postgres") ? "key" : "`key`"
    } = 'schema.ui'`,
  );
  const users = (await server.sql("SELECT count(*) FROM users")).trim();
  store = await openStore(server.url);
  try {
    await assert.rejects(
      () => store.ui.addUser({ name: "eve", role: "admin", passwordHash: "$argon2id$y" }),
      (err: unknown) => {
        assert.ok(err instanceof DowngradeError, String(err));
        assert.match(err.message, /written by a newer sluice/);
        assert.match(err.message, /schema "ui"/);
        assert.match(err.message, /version 6, this sluice knows up to 1/);
        assert.match(err.message, /downgrade/);
        return true;
      },
    );
  } finally {
    await store.close();
  }
  assert.equal((await server.sql("SELECT count(*) FROM users")).trim(), users);
  assert.equal(await meta(server), "6");
}

testOnServers(
  (db) =>
    `dashboard tables on ${db}: schema.ui made once, an old set upgraded, a newer one refused`,
  cycle,
);
