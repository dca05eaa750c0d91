/**
 * The Responses page from the attacker's side and the admin's: viewers and
 * forged posts change nothing, an admin blocks and unblocks through the
 * running responder, and hostile text typed into the form never reaches a
 * firewall command (the commands are recorded, not run).
 */

import assert from "node:assert/strict";
import { recorder } from "../respond/_recorder.ts";
import { ADMIN, csrfOf, fixture, login, req, VIEWER } from "./_fixture.ts";
import { DecisionTable } from "../../respond/decisions.ts";
import { Responder } from "../../respond/responder.ts";
import { nftBackend } from "../../respond/nft.ts";

Deno.test("dashboard Responses: admins block and unblock, viewers and forged posts get 403, hostile input is refused", async () => {
  const exec = recorder();
  const holder: { responder?: Responder } = {};
  const f = await fixture({ respond: () => holder.responder });
  const responder = holder.responder = new Responder({
    table: new DecisionTable(f.database),
    backends: { local: nftBackend(exec) },
    mode: "on",
  });
  try {
    const viewer = await login(f, VIEWER);
    const viewerPage = await (await req(f, viewer.jar, "/responses")).text();
    assert.doesNotMatch(viewerPage, /action="\/responses\/block"/, "viewers see no block form");
    const viewerCsrf = csrfOf(viewerPage);
    const denied = await req(f, viewer.jar, "/responses/block", {
      form: { _csrf: viewerCsrf, target: "203.0.113.7", host: "local" },
    });
    assert.equal(denied.status, 403);
    const admin = await login(f, ADMIN);
    const forged = await req(f, admin.jar, "/responses/block", {
      form: { target: "203.0.113.7", host: "local" },
    });
    assert.equal(forged.status, 403, "no CSRF token, no block");
    assert.equal(exec.calls.length, 0);
    const page = await (await req(f, admin.jar, "/responses")).text();
    assert.match(page, /active response: on/);
    const csrf = csrfOf(page);
    const hostile = await req(f, admin.jar, "/responses/block", {
      form: { _csrf: csrf, target: "1.2.3.4; nft flush ruleset", host: "local", for: "1h" },
    });
    assert.equal(hostile.status, 303);
    assert.match(
      decodeURIComponent(hostile.headers.get("location") ?? ""),
      /Refused: not an IP address/,
    );
    assert.equal(exec.calls.length, 0, "nothing ran for a refused target");
    const wide = await req(f, admin.jar, "/responses/block", {
      form: { _csrf: csrf, target: "0.0.0.0/0", host: "local" },
    });
    assert.match(decodeURIComponent(wide.headers.get("location") ?? ""), /too wide/);
    const ok = await req(f, admin.jar, "/responses/block", {
      form: {
        _csrf: csrf,
        target: "203.0.113.7",
        host: "local",
        for: "30m",
        reason: "<script>alert(1)</script>",
      },
    });
    assert.match(
      decodeURIComponent(ok.headers.get("location") ?? ""),
      /applied: 203\.0\.113\.7 on local/,
    );
    assert.ok(exec.calls.some((a) => a.includes("203.0.113.7") && a.includes("add")));
    const listed = await (await req(f, admin.jar, "/responses")).text();
    assert.match(listed, /<code>203\.0\.113\.7<\/code>/);
    assert.match(listed, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, "the reason is escaped");
    assert.doesNotMatch(listed, /<script>alert/);
    const id = responder.table.recent(1)[0]!.id;
    const lifted = await req(f, admin.jar, `/responses/${id}/unblock`, { form: { _csrf: csrf } });
    assert.match(
      decodeURIComponent(lifted.headers.get("location") ?? ""),
      /Unblocked 203\.0\.113\.7/,
    );
    assert.equal(responder.table.get(id)?.state, "revoked");
    assert.ok(exec.calls.some((a) => a.includes("delete") && a.includes("203.0.113.7")));
  } finally {
    responder.close();
    await f.close();
  }
});

Deno.test("dashboard Responses without active response in the process says so and accepts no action", async () => {
  const f = await fixture();
  try {
    const admin = await login(f, ADMIN);
    const page = await (await req(f, admin.jar, "/responses")).text();
    assert.match(page, /does not run in this process/);
    const r = await req(f, admin.jar, "/responses/block", {
      form: { _csrf: csrfOf(page), target: "203.0.113.7" },
    });
    assert.equal(r.status, 409);
  } finally {
    await f.close();
  }
});
