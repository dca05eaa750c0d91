import assert from "node:assert/strict";
import { createLogger, redactSecrets } from "../../core/log.ts";

Deno.test("createLogger() in JSON writes one parseable object a line with level, component and fields", () => {
  const lines: string[] = [];
  const log = createLogger("debug", (l) => lines.push(l), undefined, "json").child("sink db");
  log.warn("write failed, retrying", { attempt: 2, error: "disk full" });
  log.debug('a "quoted"\nmessage');
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!);
  assert.equal(first.level, "warn");
  assert.equal(first.component, "sink db");
  assert.equal(first.attempt, 2);
  assert.equal(first.error, "disk full");
  assert.ok(!Number.isNaN(Date.parse(first.ts)));
  assert.equal(JSON.parse(lines[1]!).msg, 'a "quoted"\nmessage');
  assert.ok(!lines[1]!.includes("\n"));
});

Deno.test("createLogger() masks URL passwords and secret-named fields in both formats", () => {
  for (const format of ["plain", "json"] as const) {
    const lines: string[] = [];
    const log = createLogger("info", (l) => lines.push(l), "store", format);
    log.error("cannot open postgres://sluice:hunter2@db.lan/siem", {
      url: "mysql://root:toor@127.0.0.1:3306/x",
      password: "p4ss",
      passphrase: "words",
      api_token: "t0k",
      user: "sluice",
    });
    const text = lines.join("\n");
    for (const secret of ["hunter2", "toor", "p4ss", "words", "t0k"]) {
      assert.ok(!text.includes(secret), `${format}: ${secret} in ${text}`);
    }
    assert.match(text, /postgres:\/\/sluice:\*\*\*@db\.lan\/siem/);
    assert.match(text, /sluice/);
  }
});

Deno.test("redactSecrets() leaves URLs without a password and plain text alone", () => {
  for (
    const text of [
      "http://127.0.0.1:8080/",
      "sftp://sluice@central.lan/samples",
      "user@host:22 refused",
      "a: b @ c",
    ]
  ) {
    assert.equal(redactSecrets(text), text);
  }
  assert.equal(
    redactSecrets("x https://a:b@h/ y ftp://c:d@e"),
    "x https://a:***@h/ y ftp://c:***@e",
  );
});
