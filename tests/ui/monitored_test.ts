/**
 * The Monitored hosts page from the admin's side and the attacker's: admins
 * add, pin keys and remove through the `monitored_hosts` registry of the
 * real SIEM database; viewers and forged posts change nothing; hostile field
 * values are refused by the checks or shown as text. Also the hosts pages'
 * agentless status and object ↔ alert links.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  ADMIN,
  csrfOf,
  type Fixture,
  fixture,
  login,
  removeSeed,
  req,
  VIEWER,
} from "./_fixture.ts";
import { createUiApp } from "../../ui/app.ts";
import {
  listMonitoredHosts,
  openHostRegistry,
  recordOfferedKey,
} from "../../sources/_ssh_journal_registry.ts";
import { recordVmStatus } from "../../siem/vms.ts";

const FP1 = `SHA256:${"A".repeat(43)}`;
const FP2 = `SHA256:${"b".repeat(42)}0`;

/** A fixture whose app knows the SIEM database's path, as the central's does. */
async function withDatabase(): Promise<Fixture> {
  const f = await fixture();
  const app = createUiApp({
    store: f.store,
    database: f.database,
    now: () => f.now.ms,
    onError: () => {},
  });
  return { ...f, app };
}

function registry(database: string) {
  const db = openHostRegistry(database);
  try {
    return listMonitoredHosts(db);
  } finally {
    db.close();
  }
}

function message(res: Response): string {
  assert.equal(res.status, 303);
  const to = new URL(res.headers.get("location") ?? "", "http://x");
  assert.equal(to.pathname, "/monitored");
  return to.searchParams.get("msg") ?? "";
}

const GOOD = {
  name: "vm-a",
  address: "192.0.2.10",
  port: "2222",
  user: "sluice",
  key_file: "/etc/sluice/id_ed25519",
  fingerprint: FP1,
  units: "ssh.service, cron.service",
};

Deno.test("dashboard Monitored hosts: admins add, pin a key and remove; viewers and forged posts get 403", async () => {
  const f = await withDatabase();
  try {
    const viewer = await login(f, VIEWER);
    const viewerPage = await (await req(f, viewer.jar, "/monitored")).text();
    assert.match(viewerPage, /No host is pulled over SSH yet/);
    assert.doesNotMatch(viewerPage, /action="\/monitored\/add"/, "viewers see no add form");
    assert.doesNotMatch(viewerPage, /class="soon"/, "the nav entry is a link now");
    const vcsrf = csrfOf(viewerPage);
    for (const path of ["/monitored/add", "/monitored/remove", "/monitored/accept"]) {
      const res = await req(f, viewer.jar, path, { form: { _csrf: vcsrf, ...GOOD } });
      assert.equal(res.status, 403, path);
    }
    const admin = await login(f, ADMIN);
    const forged = await req(f, admin.jar, "/monitored/add", { form: { ...GOOD } });
    assert.equal(forged.status, 403, "no CSRF token, no host");
    assert.deepEqual(registry(f.database), []);

    const csrf = csrfOf(await (await req(f, admin.jar, "/monitored")).text());
    const added = await req(f, admin.jar, "/monitored/add", { form: { _csrf: csrf, ...GOOD } });
    assert.equal(message(added), "Added vm-a");
    const unpinned = await req(f, admin.jar, "/monitored/add", {
      form: { _csrf: csrf, name: "vm-b", user: "sluice", key_file: "/k", fingerprint: "" },
    });
    assert.match(message(unpinned), /Added vm-b \(no key pinned/);
    const [a, b] = registry(f.database);
    assert.deepEqual(
      [a?.name, a?.address, a?.port, a?.user, a?.privateKeyFile, a?.units, a?.hostKeyFingerprint],
      ["vm-a", "192.0.2.10", 2222, "sluice", "/etc/sluice/id_ed25519", [
        "ssh.service",
        "cron.service",
      ], FP1],
    );
    assert.equal(b?.address, "vm-b", "the address defaults to the name");

    // The collector was refused by vm-b's key and recorded why; the page shows both.
    const db = openHostRegistry(f.database);
    recordOfferedKey(db, "vm-b", FP2);
    db.close();
    assert.ok(recordVmStatus(f.database, "vm-b", "unreachable", "host key not pinned"));
    const page = await (await req(f, admin.jar, "/monitored")).text();
    assert.match(page, new RegExp(`offered <code>${FP2}</code>`));
    assert.match(page, /unreachable<\/span> <small>host key not pinned<\/small>/);
    assert.match(page, /<code>sluice@192\.0\.2\.10:2222<\/code>/);

    assert.match(
      message(
        await req(f, admin.jar, "/monitored/accept", { form: { _csrf: csrf, name: "vm-b" } }),
      ),
      /Refused: give the fingerprint/,
    );
    const accepted = await req(f, admin.jar, "/monitored/accept", {
      form: { _csrf: csrf, name: "vm-b", fingerprint: FP2 },
    });
    assert.equal(message(accepted), `vm-b: pinned ${FP2}`);
    const pinned = registry(f.database).find((h) => h.name === "vm-b");
    assert.equal(pinned?.hostKeyFingerprint, FP2);
    assert.equal(pinned?.offeredKey, undefined);
    assert.match(
      message(
        await req(f, admin.jar, "/monitored/accept", {
          form: { _csrf: csrf, name: "vm-b", fingerprint: "SHA256:short" },
        }),
      ),
      /Refused: .*not a SHA256 fingerprint/,
    );

    const removed = await req(f, admin.jar, "/monitored/remove", {
      form: { _csrf: csrf, name: "vm-a" },
    });
    assert.equal(message(removed), "Removed vm-a");
    assert.deepEqual(registry(f.database).map((h) => h.name), ["vm-b"]);
    assert.match(
      message(
        await req(f, admin.jar, "/monitored/remove", { form: { _csrf: csrf, name: "vm-a" } }),
      ),
      /No monitored host "vm-a"/,
    );
  } finally {
    await f.close();
  }
});

Deno.test("dashboard Monitored hosts: hostile field values are refused or shown as text", async () => {
  const f = await withDatabase();
  try {
    const admin = await login(f, ADMIN);
    const csrf = csrfOf(await (await req(f, admin.jar, "/monitored")).text());
    const hostile: Array<[Record<string, string>, RegExp]> = [
      [{ name: "<script>window.__xss=1</script>" }, /"name" must be letters/],
      [{ name: "vm-c' OR 1=1 --" }, /"name" must be letters/],
      [{ name: "<b>x</b>", address: "" }, /"name" must be letters/],
      [{ address: "x; rm -rf /" }, /"address" must be a host name/],
      [{ address: "-oProxyCommand=sh" }, /"address" must be a host name/],
      [{ user: "root;reboot" }, /"user" must be a user name/],
      [{ key_file: "relative/key" }, /"key file" must be an absolute path/],
      [{ units: "--directory=/" }, /"units" must be systemd unit names/],
      [{ port: "70000" }, /"port" must be 1-65535/],
      [{ fingerprint: `"><img src=x onerror=alert(1)>` }, /"hostKeyFingerprint" must be/],
    ];
    for (const [change, why] of hostile) {
      const res = await req(f, admin.jar, "/monitored/add", {
        form: { _csrf: csrf, ...GOOD, ...change },
      });
      const msg = message(res);
      assert.match(msg, /^Refused: /, JSON.stringify(change));
      assert.match(msg, why);
      // The refusal is shown on the page as text.
      const shown = await (await req(f, admin.jar, res.headers.get("location") ?? "")).text();
      assert.doesNotMatch(shown, /<script>window|<img src=x/);
    }
    assert.deepEqual(registry(f.database), [], "nothing hostile was stored");
    // A key file path is the admin's to choose; whatever it holds is shown as text.
    const odd = `/keys/"><img src=x onerror=alert(1)><script>window.__xss=2</script>`;
    message(
      await req(f, admin.jar, "/monitored/add", { form: { _csrf: csrf, ...GOOD, key_file: odd } }),
    );
    assert.equal(registry(f.database)[0]?.privateKeyFile, odd);
    const page = await (await req(f, admin.jar, "/monitored")).text();
    assert.doesNotMatch(page, /<img src=x|<script>window/);
    assert.match(page, /&lt;img src=x onerror=alert\(1\)&gt;&lt;script&gt;/);
    assert.equal(
      (await req(f, admin.jar, "/monitored?msg=%3Cscript%3Ex%3C%2Fscript%3E")).status,
      200,
    );
    assert.doesNotMatch(
      await (await req(f, admin.jar, "/monitored?msg=%3Cscript%3Ex%3C%2Fscript%3E")).text(),
      /<script>x/,
    );
  } finally {
    await f.close();
  }
});

Deno.test("dashboard Monitored hosts without the database path says so and changes nothing (409)", async () => {
  const f = await fixture();
  try {
    const admin = await login(f, ADMIN);
    const page = await (await req(f, admin.jar, "/monitored")).text();
    assert.match(page, /started without the SIEM database/);
    assert.doesNotMatch(page, /action="\/monitored\/add"/);
    const res = await req(f, admin.jar, "/monitored/add", {
      form: { _csrf: csrfOf(page), ...GOOD },
    });
    assert.equal(res.status, 409);
  } finally {
    await f.close();
  }
});

Deno.test("dashboard hosts pages show an unreachable host's reason and link objects to the alerts with their hash", async () => {
  const f = await fixture();
  try {
    const admin = await login(f, ADMIN);
    // The UI's seed stores one hash per rule; a sample with one of them arrived from web-1.
    const w = new DatabaseSync(f.database);
    w.exec("PRAGMA busy_timeout = 5000");
    const { hash, n } = w.prepare(
      `SELECT lower(hash) AS hash, count(*) AS n FROM alerts WHERE length(hash) = 64
       AND host = 'web-1' GROUP BY 1 ORDER BY 2 DESC LIMIT 1`,
    ).get() as { hash: string; n: number };
    const lone = "c0".repeat(32);
    const at = new Date(f.now.ms - 60_000).toISOString();
    const insert = w.prepare(
      `INSERT INTO objects (host, kind, path, size, sha256, synced_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    insert.run("web-1", "quarantine", "quarantine/s.bin", 10, hash.toUpperCase(), at);
    insert.run("web-1", "dumps", "dumps/core.1", 20, lone, at);
    w.close();
    assert.ok(recordVmStatus(f.database, "web-2", "unreachable", "sudo refused"));

    const list = await (await req(f, admin.jar, "/hosts")).text();
    assert.match(list, /unreachable<\/span> <small class="muted">sudo refused<\/small>/);
    const page = await (await req(f, admin.jar, "/hosts/web-1")).text();
    assert.ok(
      page.includes(`href="/alerts?range=all&amp;host=web-1&amp;text=${hash}"`),
      "the sample links to the host's alerts with its hash",
    );
    assert.match(page, new RegExp(`>${n} alerts</a>`));
    assert.match(page, /no alerts/, "a sample no alert names has no link");
    // The link lists them: every alert on that page names the hash.
    const alerts = await (await req(f, admin.jar, `/alerts?range=all&host=web-1&text=${hash}`))
      .text();
    assert.match(alerts, new RegExp(hash.slice(0, 12)));
    assert.match(await (await req(f, admin.jar, "/hosts/web-2")).text(), /sudo refused/);
  } finally {
    await f.close();
  }
});

// Last: a later fixture (of another file run in the same process) seeds again.
Deno.test("monitored cleanup", () => removeSeed());
