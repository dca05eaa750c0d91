import assert from "node:assert/strict";
import { Command } from "commander";
import { registerUserCommand, type UserIo } from "../../runner/user.ts";
import { serveUi } from "../../runner/ui.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { openSqliteStore } from "../../store/sqlite.ts";
import { verifyPassword } from "../../ui/password.ts";
import { ensureAdmin } from "../../ui/users.ts";
import { createLogger } from "../../core/log.ts";
import { memoryState } from "../../core/state.ts";
import { StatsRegistry } from "../../core/stats.ts";
import { makeTestPki, OPENSSL } from "../fixtures/tls/pki.ts";

/** An empty SIEM database, as the central creates it. */
async function emptyDb(dir: string): Promise<string> {
  const database = `${dir}/siem.db`;
  const sink = siemSqliteSink({ database });
  await sink.open({
    name: "db",
    log: createLogger("silent"),
    signal: new AbortController().signal,
    state: memoryState(),
    stats: new StatsRegistry().register("sink", "db", "sqlite"),
  });
  await sink.close();
  return database;
}

function cli(passwords: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  let code = -1;
  const io: UserIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    password: () => Promise.resolve(passwords.shift() ?? ""),
  };
  const run = async (...args: string[]) => {
    const program = registerUserCommand(
      new Command("sluice").exitOverride(),
      (c) => (code = c),
      io,
    );
    await program.parseAsync(["user", ...args], { from: "user" });
    return code;
  };
  return { run, out, err };
}

Deno.test("sluice user: add, list, passwd, del; the last admin stays", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-ui-cli-" });
  try {
    const db = await emptyDb(dir);
    const c = cli(["first-password", "viewer-password", "second-password", "short"]);
    assert.equal(await c.run("add", "root", "--role", "admin", "--password-stdin", "--db", db), 0);
    assert.equal(await c.run("add", "eve", "--password-stdin", "--db", db), 0);
    assert.equal(await c.run("list", "--db", db), 0);
    assert.deepEqual(
      c.out.slice(2).map((l) => l.split("\t").slice(0, 2).join(" ")).sort(),
      ["eve viewer", "root admin"],
    );
    assert.equal(await c.run("passwd", "root", "--password-stdin", "--db", db), 0);
    assert.equal(await c.run("passwd", "root", "--password-stdin", "--db", db), 2, "too short");
    assert.match(c.err.at(-1) ?? "", /at least 8 characters/);
    assert.equal(await c.run("del", "root", "--db", db), 2);
    assert.match(c.err.at(-1) ?? "", /last admin/);
    assert.equal(await c.run("add", "bad name", "--password-stdin", "--db", db), 2);
    assert.equal(await c.run("del", "eve", "--db", db), 0);
    const store = await openSqliteStore({ database: db });
    try {
      const root = await store.ui.getUser("root");
      assert.ok(root?.password_hash.startsWith("$argon2id$"));
      assert.ok(root && await verifyPassword("second-password", root.password_hash));
      assert.equal(await store.ui.getUser("eve"), undefined);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ensureAdmin() takes ADMIN_USER/ADMIN_PASSWORD, else writes a random password to a 0600 file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-ui-admin-" });
  try {
    const db = await emptyDb(dir);
    const store = await openSqliteStore({ database: db });
    try {
      const generated = await ensureAdmin(store.ui, {}, `${dir}/data`);
      assert.equal(generated.how, "generated");
      const file = generated.passwordFile as string;
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
      const password = /password: (\S+)/.exec(await Deno.readTextFile(file))?.[1] as string;
      assert.ok(password.length >= 20);
      const admin = await store.ui.getUser("admin");
      assert.ok(admin && await verifyPassword(password, admin.password_hash));
      assert.equal(
        (await ensureAdmin(store.ui, { ADMIN_USER: "x", ADMIN_PASSWORD: "y" }, dir)).how,
        "existing",
      );
    } finally {
      await store.close();
    }
    const db2 = await emptyDb(`${dir}/data`);
    const store2 = await openSqliteStore({ database: db2 });
    try {
      const env = { SLUICE_ADMIN_USER: "ops", SLUICE_ADMIN_PASSWORD: "ops-password-1" };
      assert.deepEqual(await ensureAdmin(store2.ui, env, dir), { how: "env", user: "ops" });
      const ops = await store2.ui.getUser("ops");
      assert.ok(
        ops && ops.role === "admin" && await verifyPassword("ops-password-1", ops.password_hash),
      );
    } finally {
      await store2.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sluice ui serves the dashboard over a database until stopped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-ui-serve-" });
  const stop = new AbortController();
  try {
    const db = await emptyDb(dir);
    const url = Promise.withResolvers<string>();
    const done = serveUi({ db, listen: "127.0.0.1:0" }, stop.signal, url.resolve);
    const base = await Promise.race([
      url.promise,
      done.then(() => Promise.reject(new Error("sluice ui ended before listening"))),
    ]);
    const login = await fetch(`${base}login`);
    assert.equal(login.status, 200);
    assert.match(login.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    await login.body?.cancel();
    const home = await fetch(base, { redirect: "manual" });
    assert.equal(home.status, 303);
    await home.body?.cancel();
    stop.abort();
    assert.equal(await done, 0);
  } finally {
    stop.abort();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "sluice ui --cert/--key serves HTTPS and marks its cookies Secure",
  ignore: !OPENSSL,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-ui-tls-" });
    const stop = new AbortController();
    const client = { close() {} } as Deno.HttpClient;
    let http: Deno.HttpClient = client;
    try {
      const pki = await makeTestPki(dir);
      const db = await emptyDb(dir);
      const url = Promise.withResolvers<string>();
      const done = serveUi(
        { db, listen: "127.0.0.1:0", cert: pki.server.certFile, key: pki.server.keyFile },
        stop.signal,
        url.resolve,
      );
      const base = await Promise.race([
        url.promise,
        done.then(() => Promise.reject(new Error("sluice ui ended before listening"))),
      ]);
      assert.match(base, /^https:\/\/127\.0\.0\.1:\d+\/$/);
      http = Deno.createHttpClient({ caCerts: [pki.ca] });
      const res = await fetch(base.replace("127.0.0.1", "localhost") + "login", { client: http });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.match(res.headers.get("set-cookie") ?? "", /Secure/);
      assert.match(res.headers.get("strict-transport-security") ?? "", /max-age/);
      stop.abort();
      assert.equal(await done, 0);
    } finally {
      stop.abort();
      http.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
