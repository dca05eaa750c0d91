/**
 * Sessions end when their user's password or role changes or the user is
 * deleted, from the dashboard or from `sluice user`: tested from the side
 * of an attacker holding a copy of the session cookie.
 */

import assert from "node:assert/strict";
import { Command } from "commander";
import { registerUserCommand, type UserIo } from "../../runner/user.ts";
import { verifyPassword } from "../../ui/password.ts";
import {
  ADMIN,
  csrfOf,
  type Fixture,
  fixture,
  Jar,
  login,
  removeSeed,
  req,
  VIEWER,
} from "./_fixture.ts";

globalThis.addEventListener("unload", () => void removeSeed());

/** A second browser holding a copy of `jar`'s session cookie. */
function steal(jar: Jar): Jar {
  const stolen = new Jar();
  stolen.cookies.set("sluice_session", jar.cookies.get("sluice_session") as string);
  return stolen;
}

/** Whether a jar's session still opens pages and may POST (an admin's triage). */
async function canUse(f: Fixture, jar: Jar): Promise<{ page: number; post: number }> {
  const page = await req(f, jar, "/alerts/1");
  const html = await page.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "x".repeat(43);
  const post = await req(f, jar, "/alerts/1/triage", {
    form: { status: "acknowledged", _csrf: csrf },
  });
  await post.body?.cancel();
  return { page: page.status, post: post.status };
}

async function sluiceUser(database: string, passwords: string[], ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  let code = -1;
  const io: UserIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    password: () => Promise.resolve(passwords.shift() ?? ""),
  };
  const program = registerUserCommand(new Command("sluice").exitOverride(), (c) => (code = c), io);
  await program.parseAsync(["user", ...args, "--db", database], { from: "user" });
  return { code, out, err };
}

Deno.test("dashboard: a stolen session stops working when its owner changes their password, and the owner stays signed in", async () => {
  const f = await fixture();
  try {
    const { jar } = await login(f, ADMIN);
    const stolen = steal(jar);
    const elsewhere = (await login(f, ADMIN, "10.9.0.1")).jar;
    assert.deepEqual(await canUse(f, stolen), { page: 200, post: 303 }, "the copy works at first");

    const page = await req(f, jar, "/account");
    assert.equal(page.status, 200);
    const csrf = csrfOf(await page.text());
    const changed = await req(f, jar, "/account/password", {
      form: {
        _csrf: csrf,
        current: ADMIN.password,
        password: "a-new-password",
        again: "a-new-password",
      },
    });
    assert.equal(changed.status, 303);
    assert.match(changed.headers.get("location") ?? "", /^\/account\?msg=Password%20changed/);
    const before = stolen.cookies.get("sluice_session");
    assert.notEqual(jar.cookies.get("sluice_session"), before, "the owner got a new token");

    // The attacker's copy of the cookie: sent back to the login page, and a POST is refused.
    const look = await req(f, stolen, "/alerts");
    assert.equal(look.status, 303);
    assert.match(look.headers.get("location") ?? "", /^\/login/);
    assert.deepEqual(await canUse(f, stolen), { page: 303, post: 401 });
    // So is any other browser that was signed in as the owner.
    assert.deepEqual(await canUse(f, elsewhere), { page: 303, post: 401 });
    // The owner's browser carries on with its new token, and the new password works.
    assert.deepEqual(await canUse(f, jar), { page: 200, post: 303 });
    const user = await f.store.ui.getUser(ADMIN.user);
    assert.ok(user && await verifyPassword("a-new-password", user.password_hash));
    assert.equal((await login(f, { ...ADMIN, password: "a-new-password" })).res.status, 303);
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: a password change needs the current password and the session's CSRF token", async () => {
  const f = await fixture();
  try {
    const { jar } = await login(f, VIEWER);
    const stolen = steal(jar);
    const csrf = csrfOf(await (await req(f, jar, "/account")).text());
    const wrong = await req(f, stolen, "/account/password", {
      form: { _csrf: csrf, current: "a-guess-1", password: "attacker-pw", again: "attacker-pw" },
    });
    assert.equal(wrong.status, 303);
    assert.match(wrong.headers.get("location") ?? "", /current%20password%20is%20wrong/);
    const forged = await req(f, stolen, "/account/password", {
      form: { current: VIEWER.password, password: "attacker-pw", again: "attacker-pw" },
    });
    assert.equal(forged.status, 403, "no CSRF token");
    const differ = await req(f, jar, "/account/password", {
      form: {
        _csrf: csrf,
        current: VIEWER.password,
        password: "one-password",
        again: "two-password",
      },
    });
    assert.match(differ.headers.get("location") ?? "", /differ/);
    const user = await f.store.ui.getUser(VIEWER.user);
    assert.ok(user && await verifyPassword(VIEWER.password, user.password_hash), "unchanged");
    assert.deepEqual(await canUse(f, jar), { page: 200, post: 403 }, "still a viewer's session");
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: after an admin demotes, resets or deletes a user, that user's old sessions cannot act", async () => {
  const f = await fixture();
  try {
    await f.store.ui.addUser({
      name: "mallory",
      role: "admin",
      passwordHash: (await f.store.ui.getUser(ADMIN.user))!.password_hash,
    });
    const mallory = { user: "mallory", password: ADMIN.password };
    const admin = (await login(f, ADMIN)).jar;
    const stolen = steal((await login(f, mallory)).jar);
    assert.deepEqual(await canUse(f, stolen), { page: 200, post: 303 });

    const page = await req(f, admin, "/users");
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.ok(html.includes('action="/users/mallory/role"'));
    const csrf = csrfOf(html);
    const demote = await req(f, admin, "/users/mallory/role", {
      form: { _csrf: csrf, role: "viewer" },
    });
    assert.equal(demote.status, 303);
    assert.equal((await f.store.ui.getUser("mallory"))?.role, "viewer");
    // The old admin session: no page, no admin action.
    assert.deepEqual(await canUse(f, stolen), { page: 303, post: 401 });
    const users = await req(f, stolen, "/users/victor/delete", { form: { _csrf: csrf } });
    assert.equal(users.status, 401);
    assert.ok(await f.store.ui.getUser(VIEWER.user), "nothing deleted");
    // Signing in again gives a viewer's session: it may look, not act.
    const again = (await login(f, mallory)).jar;
    assert.deepEqual(await canUse(f, again), { page: 200, post: 403 });

    // A password set by an admin ends that user's sessions too.
    const reset = await req(f, admin, "/users/mallory/password", {
      form: { _csrf: csrf, password: "reset-password-1" },
    });
    assert.equal(reset.status, 303);
    assert.deepEqual(await canUse(f, again), { page: 303, post: 401 });

    // And so does deleting the user.
    const v = (await login(f, VIEWER)).jar;
    const del = await req(f, admin, `/users/${VIEWER.user}/delete`, { form: { _csrf: csrf } });
    assert.equal(del.status, 303);
    assert.equal(await f.store.ui.getUser(VIEWER.user), undefined);
    assert.deepEqual(await canUse(f, v), { page: 303, post: 401 });
    // The admin who did all this is still signed in.
    assert.equal((await req(f, admin, "/users")).status, 200);
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: viewers cannot manage users, and the last admin stays", async () => {
  const f = await fixture();
  try {
    const viewer = (await login(f, VIEWER)).jar;
    const page = await req(f, viewer, "/");
    const html = await page.text();
    assert.ok(!html.includes('href="/users"'), "no Users entry for a viewer");
    assert.ok(html.includes('href="/account"'));
    const csrf = csrfOf(html);
    assert.equal((await req(f, viewer, "/users")).status, 403);
    for (
      const [path, form] of [
        ["/users", { name: "eve", role: "admin", password: "eve-password-1" }],
        [`/users/${VIEWER.user}/role`, { role: "admin" }],
        [`/users/${ADMIN.user}/password`, { password: "taken-over-1" }],
        [`/users/${ADMIN.user}/delete`, {}],
      ] as const
    ) {
      const res = await req(f, viewer, path, { form: { _csrf: csrf, ...form } });
      assert.equal(res.status, 403, path);
    }
    assert.equal((await f.store.ui.getUser(VIEWER.user))?.role, "viewer");
    assert.equal(await f.store.ui.getUser("eve"), undefined);

    const admin = (await login(f, ADMIN)).jar;
    const token = csrfOf(await (await req(f, admin, "/users")).text());
    const add = await req(f, admin, "/users", {
      form: { _csrf: token, name: "eve", role: "viewer", password: "eve-password-1" },
    });
    assert.equal(add.status, 303);
    assert.equal((await f.store.ui.getUser("eve"))?.role, "viewer");
    const bad = await req(f, admin, "/users", {
      form: { _csrf: token, name: "a b", role: "viewer", password: "eve-password-1" },
    });
    assert.match(bad.headers.get("location") ?? "", /msg=user%3A/);
    for (const path of [`/users/${ADMIN.user}/role`, `/users/${ADMIN.user}/delete`]) {
      const res = await req(f, admin, path, { form: { _csrf: token, role: "viewer" } });
      assert.match(res.headers.get("location") ?? "", /last%20admin/, path);
    }
    assert.equal((await f.store.ui.getUser(ADMIN.user))?.role, "admin");
    // An admin who resets their own password here signs in again.
    const self = await req(f, admin, `/users/${ADMIN.user}/password`, {
      form: { _csrf: token, password: "my-new-password" },
    });
    assert.equal(self.headers.get("location"), "/login");
    assert.equal(admin.cookies.has("sluice_session"), false);
  } finally {
    await f.close();
  }
});

Deno.test("sluice user passwd and set end the user's dashboard sessions", async () => {
  const f = await fixture();
  try {
    const stolen = steal((await login(f, ADMIN)).jar);
    const other = steal((await login(f, VIEWER)).jar);
    const passwd = await sluiceUser(
      f.database,
      ["cli-password-1"],
      "passwd",
      ADMIN.user,
      "--password-stdin",
    );
    assert.equal(passwd.code, 0, passwd.err.join("\n"));
    assert.match(passwd.out[0] ?? "", /1 dashboard session ended/);
    assert.deepEqual(await canUse(f, stolen), { page: 303, post: 401 });
    assert.equal((await req(f, other, "/")).status, 200, "another user's session stays");

    const admin = steal((await login(f, { ...ADMIN, password: "cli-password-1" })).jar);
    const second = steal((await login(f, { ...ADMIN, password: "cli-password-1" })).jar);
    await f.store.ui.addUser({ name: "root", role: "admin", passwordHash: "$argon2id$x" });
    const set = await sluiceUser(f.database, [], "set", ADMIN.user, "--role", "viewer");
    assert.equal(set.code, 0, set.err.join("\n"));
    assert.match(set.out[0] ?? "", /is viewer; 2 dashboard sessions ended/);
    assert.deepEqual(await canUse(f, admin), { page: 303, post: 401 });
    assert.deepEqual(await canUse(f, second), { page: 303, post: 401 });
    const user = await f.store.ui.getUser(ADMIN.user);
    assert.ok(user && await verifyPassword("cli-password-1", user.password_hash), "password kept");
    assert.equal(
      (await sluiceUser(f.database, [], "set", "root", "--role", "viewer")).code,
      2,
      "the last admin stays",
    );
    assert.equal((await sluiceUser(f.database, [], "set", "nobody", "--role", "viewer")).code, 2);
  } finally {
    await f.close();
  }
});
