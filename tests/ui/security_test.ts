import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { loginLimiter } from "../../ui/rate_limit.ts";
import { SESSION_TTL_MS, tokenHash } from "../../ui/session.ts";
import { ADMIN, csrfOf, fixture, Jar, login, removeSeed, req, VIEWER } from "./_fixture.ts";

globalThis.addEventListener("unload", () => void removeSeed());

Deno.test("dashboard: every page but login and assets needs a session", async () => {
  const f = await fixture();
  try {
    const jar = new Jar();
    for (
      const path of [
        "/",
        "/alerts",
        "/alerts/1",
        "/hosts",
        "/auth",
        "/firewall",
        "/tail",
        "/tail/stream",
        "/alerts/export",
        "/account",
        "/users",
      ]
    ) {
      const res = await req(f, jar, path);
      assert.equal(res.status, 303, path);
      assert.match(res.headers.get("location") ?? "", /^\/login/, path);
    }
    const post = await req(f, jar, "/alerts/1/triage", { form: { status: "closed" } });
    assert.equal(post.status, 401);
    const css = await req(f, jar, "/assets/app.css");
    assert.equal(css.status, 200);
    assert.match(css.headers.get("content-type") ?? "", /text\/css/);
    assert.equal((await req(f, jar, "/login")).status, 200);
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: a session is a random 256-bit token in an HttpOnly SameSite=Strict cookie, stored only as its SHA-256", async () => {
  const f = await fixture();
  try {
    const { jar, res } = await login(f, ADMIN);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/");
    const line = jar.raw.find((l) => l.startsWith("sluice_session="));
    assert.ok(line);
    assert.match(line, /HttpOnly/);
    assert.match(line, /SameSite=Strict/);
    assert.match(line, /Path=\//);
    assert.doesNotMatch(line, /Secure/);
    const token = jar.cookies.get("sluice_session") as string;
    assert.match(token, /^[A-Za-z0-9_-]{43}$/); // 32 bytes, base64url
    const db = new DatabaseSync(f.database, { readOnly: true });
    try {
      const rows = db.prepare("SELECT * FROM ui_sessions").all();
      assert.equal(rows.length, 1);
      const dump = JSON.stringify(rows);
      assert.ok(!dump.includes(token), "the token itself is not stored");
      assert.ok(dump.includes(tokenHash(token)));
    } finally {
      db.close();
    }
    assert.equal((await req(f, jar, "/")).status, 200);
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: cookies are Secure when served over TLS", async () => {
  const f = await fixture({ secure: true });
  try {
    const { jar } = await login(f, ADMIN);
    assert.match(jar.raw.find((l) => l.startsWith("sluice_session=")) ?? "", /Secure/);
    assert.match(jar.raw.find((l) => l.startsWith("sluice_login=")) ?? "", /Secure/);
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: sessions expire, and logging out ends one", async () => {
  const f = await fixture();
  try {
    const { jar } = await login(f, ADMIN);
    const stolen = new Jar();
    stolen.cookies.set("sluice_session", jar.cookies.get("sluice_session") as string);
    f.now.ms += SESSION_TTL_MS + 1000;
    assert.equal((await req(f, stolen, "/")).status, 303, "expired");
    f.now.ms -= SESSION_TTL_MS + 1000;
    const page = await req(f, jar, "/");
    assert.equal(page.status, 200);
    const out = await req(f, jar, "/logout", { form: { _csrf: csrfOf(await page.text()) } });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get("location"), "/login");
    assert.equal((await req(f, stolen, "/")).status, 303, "the old token no longer works");
    // An expired session is deleted at the next login, not kept forever.
    f.now.ms += SESSION_TTL_MS + 1000;
    await login(f, ADMIN);
    const db = new DatabaseSync(f.database, { readOnly: true });
    try {
      const left = db.prepare("SELECT COUNT(*) AS n FROM ui_sessions").get() as { n: number };
      assert.equal(left.n, 1, "only the new session");
    } finally {
      db.close();
    }
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: a login without the form's CSRF token gets 403", async () => {
  const f = await fixture();
  try {
    const jar = new Jar();
    await (await req(f, jar, "/login")).body?.cancel();
    const res = await req(f, jar, "/login", {
      form: { user: ADMIN.user, password: ADMIN.password },
    });
    assert.equal(res.status, 403);
    // A token from another browser's cookie does not do either.
    const other = new Jar();
    const theirs = csrfOf(await (await req(f, other, "/login")).text());
    const cross = await req(f, jar, "/login", {
      form: { _csrf: theirs, user: ADMIN.user, password: ADMIN.password },
    });
    assert.equal(cross.status, 403);
    assert.equal(jar.cookies.has("sluice_session"), false);
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: a wrong password and an unknown user get the same answer", async () => {
  const f = await fixture();
  try {
    const wrong = await login(f, { user: ADMIN.user, password: "not-the-password" }, "10.1.0.1");
    const nobody = await login(f, { user: "mallory", password: "not-the-password" }, "10.1.0.2");
    assert.equal(wrong.res.status, 401);
    assert.equal(nobody.res.status, 401);
    // Same page apart from the user name echoed back and the per-browser CSRF token.
    const norm = (html: string, name: string) =>
      html.replaceAll(name, "USER").replace(
        /value="[A-Za-z0-9_-]{32}"/,
        "TOKEN",
      );
    assert.equal(norm(wrong.html, ADMIN.user), norm(nobody.html, "mallory"));
    assert.deepEqual(
      [...wrong.res.headers.keys()].filter((k) => k !== "set-cookie"),
      [...nobody.res.headers.keys()].filter((k) => k !== "set-cookie"),
    );
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: failed logins are limited per source address", async () => {
  const f = await fixture({ limiter: loginLimiter({ attempts: 3 }) });
  try {
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await login(f, { ...ADMIN, password: "wrong-wrong" }, "203.0.113.5")).res.status,
        401,
      );
    }
    const blocked = await login(f, ADMIN, "203.0.113.5");
    assert.equal(blocked.res.status, 429, "even the right password waits");
    assert.equal(blocked.jar.cookies.has("sluice_session"), false);
    assert.equal(
      (await login(f, ADMIN, "203.0.113.6")).res.status,
      303,
      "another address is not held back",
    );
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: a POST without the session's CSRF token gets 403 and changes nothing", async () => {
  const f = await fixture();
  try {
    const { jar } = await login(f, ADMIN);
    const none = await req(f, jar, "/alerts/1/triage", { form: { status: "closed" } });
    assert.equal(none.status, 403);
    const wrong = await req(f, jar, "/alerts/1/triage", {
      form: { status: "closed", _csrf: "x".repeat(43) },
    });
    assert.equal(wrong.status, 403);
    const out = await req(f, jar, "/logout", { method: "POST" });
    assert.equal(out.status, 403, "not even log-out");
    assert.deepEqual(await f.store.ui.triageHistory(1), []);
    const page = await req(f, jar, "/alerts/1");
    const ok = await req(f, jar, "/alerts/1/triage", {
      form: { status: "acknowledged", note: "looking", _csrf: csrfOf(await page.text()) },
    });
    assert.equal(ok.status, 303);
    const history = await f.store.ui.triageHistory(1);
    assert.equal(history.length, 1);
    assert.equal(history[0]?.status, "acknowledged");
    assert.equal(history[0]?.by, ADMIN.user);
    assert.equal(history[0]?.note, "looking");
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: a viewer may look but gets 403 on triage", async () => {
  const f = await fixture();
  try {
    const { jar } = await login(f, VIEWER);
    const page = await req(f, jar, "/alerts/1");
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.ok(!html.includes("/alerts/1/triage"), "no triage form for a viewer");
    const res = await req(f, jar, "/alerts/1/triage", {
      form: { status: "closed", _csrf: csrfOf(html) },
    });
    assert.equal(res.status, 403);
    assert.deepEqual(await f.store.ui.triageHistory(1), []);
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: every answer carries the CSP and no inline script or style", async () => {
  const f = await fixture();
  try {
    const { jar } = await login(f, ADMIN);
    for (
      const path of [
        "/login",
        "/",
        "/alerts",
        "/alerts/1",
        "/hosts",
        "/hosts/web-1",
        "/auth",
        "/firewall",
        "/tail",
        "/account",
        "/users",
        "/nope",
      ]
    ) {
      const res = await req(f, jar, path);
      assert.match(res.headers.get("content-security-policy") ?? "", /^default-src 'self'/, path);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      const html = await res.text();
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, `${path}: inline script`);
      assert.doesNotMatch(html, /<style|\sstyle=/, `${path}: inline style`);
      assert.doesNotMatch(html, /https?:\/\/(?!127\.0\.0\.1)/, `${path}: external URL`);
    }
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: alert fields with markup are escaped in every page that shows them", async () => {
  const f = await fixture();
  try {
    const { jar } = await login(f, ADMIN);
    const list = await (await req(f, jar, "/alerts?range=all&host=vm-x")).text();
    const seq = /href="\/alerts\/(\d+)"/.exec(list)?.[1];
    assert.ok(seq, "the XSS alert is listed");
    for (
      const html of [
        list,
        await (await req(f, jar, `/alerts/${seq}`)).text(),
        await (await req(f, jar, "/hosts/vm-x")).text(),
      ]
    ) {
      assert.ok(!html.includes("<script>window.__xss"), "script tag escaped");
      assert.ok(!html.includes("<img src=x"), "img tag escaped");
      assert.ok(!html.includes("<svg onload"), "svg escaped");
      assert.ok(!/href="javascript:/i.test(html), "no javascript: link");
      assert.ok(html.includes("&lt;script&gt;window.__xss=1&lt;/script&gt;"));
    }
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: filters reach the store as values, and a bad cursor is a 400", async () => {
  const f = await fixture();
  try {
    const { jar } = await login(f, ADMIN);
    const inject = await req(f, jar, `/alerts?range=all&text=${encodeURIComponent("' OR 1=1 --")}`);
    assert.equal(inject.status, 200);
    assert.match(await inject.text(), /No alerts\./);
    const host = await (await req(f, jar, "/alerts?range=all&host=web-1")).text();
    const hosts = [...host.matchAll(/href="\/hosts\/([^"]+)"/g)].map((m) => m[1]);
    assert.ok(hosts.length > 0 && hosts.every((h) => h === "web-1"));
    // A from/to window (UTC) narrows the list to it.
    const to = new Date(f.now.ms - 24 * 3600_000).toISOString().slice(0, 16);
    const from = new Date(f.now.ms - 48 * 3600_000).toISOString().slice(0, 16);
    const window = await (await req(f, jar, `/alerts?from=${from}&to=${to}`)).text();
    const times = [...window.matchAll(/<time datetime="([^"]+)"/g)].map((m) => Date.parse(m[1]!));
    assert.ok(times.length > 0);
    assert.ok(times.every((t) => t >= Date.parse(`${from}Z`) && t < Date.parse(`${to}Z`)));
    const bad = await req(f, jar, "/alerts?cursor=%27%3BDROP%20TABLE%20alerts");
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  } finally {
    await f.close();
  }
});

Deno.test("dashboard: alerts page through with the store's cursor and export the filtered set", async () => {
  const f = await fixture();
  try {
    const { jar } = await login(f, ADMIN);
    const first = await (await req(f, jar, "/alerts?range=all")).text();
    const next = /href="(\/alerts\?[^"]*cursor=[^"]+)"/.exec(first)?.[1]?.replaceAll("&amp;", "&");
    assert.ok(next, "an Older link");
    const second = await (await req(f, jar, next)).text();
    const seqs = (html: string) =>
      [...html.matchAll(/href="\/alerts\/(\d+)"><time/g)].map((m) => Number(m[1]));
    const a = seqs(first), b = seqs(second);
    assert.equal(a.length, 50);
    assert.ok(b.length > 0 && Math.max(...b) < Math.min(...a), "the second page is older");
    const csv = await (await req(f, jar, "/alerts/export?range=all&severity=critical&format=csv"))
      .text();
    const lines = csv.trim().split("\r\n");
    assert.equal(lines[0], "seq,timestamp,host,severity,rule,message,file,hash,source,status,id");
    assert.ok(lines.length > 1 && lines.slice(1).every((l) => l.split(",")[3] === "critical"));
    const jsonl = await (await req(f, jar, "/alerts/export?range=all&host=vm-x&format=jsonl"))
      .text();
    const rows = jsonl.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(rows.length, 1);
    assert.equal(rows[0].rule, "<script>window.__xss=1</script>");
    const formula = await (await req(f, jar, "/alerts/export?range=all&host=vm-x&format=csv"))
      .text();
    assert.ok(formula.includes(`"""><img src=x onerror=""window.__xss=2"">"`), "quotes doubled");
  } finally {
    await f.close();
  }
});
