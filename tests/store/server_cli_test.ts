// issue 25: `sluice user` and `sluice ui` on a PostgreSQL or MariaDB store (--db URL): users,
// sessions and triage live on the server; passwd/set/del end the user's sessions there; the
// password in a URL is never printed.
import assert from "node:assert/strict";
import { Command } from "commander";
import { registerUserCommand, type UserIo } from "../../runner/user.ts";
import { serveUi } from "../../runner/ui.ts";
import { openStore } from "../../store/open.ts";
import { freePort, type SqlServer, testOnServers } from "../fixtures/sql_servers.ts";

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

/** Cookies of one site, as a browser keeps them. */
class Jar {
  readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(";")[0] as string;
      const i = pair.indexOf("=");
      const value = pair.slice(i + 1);
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(pair.slice(0, i));
      else this.cookies.set(pair.slice(0, i), value);
    }
  }
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) {
      headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    this.take(res);
    return res;
  }
}

async function login(base: string, user: string, password: string): Promise<Jar> {
  const jar = new Jar();
  const page = await jar.fetch(`${base}login`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  assert.ok(csrf, "a CSRF token on the login page");
  const res = await jar.fetch(`${base}login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: csrf, user, password, next: "/" }).toString(),
  });
  await res.body?.cancel();
  assert.equal(res.status, 303, `login of ${user}`);
  return jar;
}

async function cycle(server: SqlServer): Promise<void> {
  const url = server.url;
  const c = cli(["root-password-1", "eve-password-1", "eve-password-2", "root-password-2"]);
  assert.equal(await c.run("add", "root", "--role", "admin", "--password-stdin", "--db", url), 0);
  assert.equal(await c.run("add", "eve", "--password-stdin", "--db", url), 0);
  assert.equal(await c.run("list", "--db", url), 0, c.err.join("\n"));
  assert.deepEqual(
    c.out.slice(2).map((l) => l.split("\t").slice(0, 2).join(" ")).sort(),
    ["eve viewer", "root admin"],
  );
  // The rows are on the server, as its own client sees them.
  assert.deepEqual((await server.sql("SELECT name FROM users ORDER BY name")).trim().split("\n"), [
    "eve",
    "root",
  ]);

  // Sessions made on the server (as the dashboard makes them) end with passwd and set.
  const store = await openStore(url);
  try {
    const later = Date.now() + 3_600_000;
    for (const t of ["e1", "e2"]) {
      await store.ui.addSession({ tokenHash: t, user: "eve", expiresAt: later, csrfSecret: "c" });
    }
    await store.ui.addSession({ tokenHash: "r1", user: "root", expiresAt: later, csrfSecret: "c" });
    assert.equal(await c.run("passwd", "eve", "--password-stdin", "--db", url), 0);
    assert.equal(c.out.at(-1), `changed "eve"; 2 dashboard sessions ended`);
    assert.equal(await store.ui.getSession("e1", Date.now()), undefined);
    assert.equal((await store.ui.getSession("r1", Date.now()))?.user, "root");
    await store.ui.addSession({ tokenHash: "e3", user: "eve", expiresAt: later, csrfSecret: "c" });
    assert.equal(await c.run("set", "eve", "--role", "admin", "--db", url), 0);
    assert.equal(c.out.at(-1), `"eve" is admin; 1 dashboard session ended`);
    assert.equal(await store.ui.getSession("e3", Date.now()), undefined);
    assert.equal(await c.run("del", "eve", "--db", url), 0);
    assert.equal(await c.run("del", "root", "--db", url), 2);
    assert.match(c.err.at(-1) ?? "", /"root" is the last admin/);
  } finally {
    await store.close();
  }

  // `sluice ui --db URL`: logging in makes a session row on the server; passwd ends it.
  const stop = new AbortController();
  const ready = Promise.withResolvers<string>();
  const done = serveUi({ db: url, listen: "127.0.0.1:0" }, stop.signal, ready.resolve);
  try {
    const base = await Promise.race([
      ready.promise,
      done.then(() => Promise.reject(new Error("sluice ui ended before listening"))),
    ]);
    const jar = await login(base, "root", "root-password-1");
    // r1 (made above) and the login's.
    assert.equal((await server.sql("SELECT count(*) FROM ui_sessions")).trim(), "2");
    const home = await jar.fetch(base);
    await home.body?.cancel();
    assert.equal(home.status, 200);
    assert.equal(await c.run("passwd", "root", "--password-stdin", "--db", url), 0);
    assert.equal(c.out.at(-1), `changed "root"; 2 dashboard sessions ended`);
    const after = await jar.fetch(base);
    await after.body?.cancel();
    assert.equal(after.status, 303, "the old session cookie no longer opens the dashboard");
    await login(base, "root", "root-password-2");
    stop.abort();
    assert.equal(await done, 0);
  } finally {
    stop.abort();
    await done.catch(() => {});
  }
}

testOnServers(
  (db) =>
    db === "PostgreSQL"
      ? "sluice user and sluice ui --db postgres://: users and sessions on the server"
      : "sluice user and sluice ui --db mysql://: users and sessions on MariaDB",
  cycle,
);

Deno.test("sluice user --db URL: the URL's password is never printed", async () => {
  const port = freePort(); // nothing listens there
  for (const scheme of ["postgres", "mysql"]) {
    const c = cli([]);
    const url = `${scheme}://sluice:hunter2-Secret@127.0.0.1:${port}/siem`;
    assert.equal(await c.run("list", "--db", url), 1);
    const text = c.err.join("\n");
    assert.match(text, /\*\*\*/, text);
    assert.doesNotMatch(text, /hunter2/);
  }
  const c = cli([]);
  assert.equal(await c.run("list", "--db", "ftp://u:hunter2-Secret@host/x"), 2);
  assert.doesNotMatch(c.err.join("\n"), /hunter2/);
});

Deno.test("sluice ui --db URL: a server it cannot reach fails with the password masked", async () => {
  const port = freePort(); // nothing listens there
  for (const scheme of ["postgres", "mariadb"]) {
    const err = await serveUi(
      { db: `${scheme}://sluice:hunter2-Secret@127.0.0.1:${port}/siem`, listen: "127.0.0.1:0" },
      AbortSignal.timeout(30_000),
    ).then(() => undefined, (e: Error) => e);
    assert.ok(err, `${scheme}: serveUi failed`);
    assert.match(err.message, /\*\*\*/);
    assert.doesNotMatch(err.message + (err.stack ?? ""), /hunter2/);
  }
});
