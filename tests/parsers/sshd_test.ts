import assert from "node:assert/strict";
import { createEvent } from "../../core/event.ts";
import { sshdParser } from "../../parsers/sshd.ts";

const lines = (await Deno.readTextFile(
  new URL("../fixtures/parsers/sshd_debian.log", import.meta.url),
)).split("\n").filter((line) => line !== "");

function parsed(text: string): Record<string, unknown> | false {
  const event = createEvent(text);
  if (!sshdParser().parse(event)) return false;
  return event.fields.sshd as Record<string, unknown>;
}

Deno.test("sshdParser() reads every OpenSSH/pam_unix auth line of the Debian fixture", () => {
  const want: Array<Record<string, unknown> | false> = [
    { outcome: "failure", method: "password", user: "root", src_ip: "203.0.113.5", port: 52814 },
    {
      outcome: "failure",
      method: "password",
      user: "admin",
      src_ip: "203.0.113.5",
      port: 52816,
      invalid: true,
    },
    {
      outcome: "failure",
      method: "publickey",
      user: "deploy",
      src_ip: "198.51.100.20",
      port: 40122,
      key_type: "RSA",
      fingerprint: "SHA256:0RWaTcN2cGy5kvVJ4N1Rp8LjYcGTGwPQ2RkRgwU4Cq8",
    },
    { outcome: "invalid_user", user: "oracle", src_ip: "203.0.113.77", port: 39412, invalid: true },
    { outcome: "success", method: "password", user: "alice", src_ip: "192.168.1.23", port: 50312 },
    {
      outcome: "success",
      method: "publickey",
      user: "deploy",
      src_ip: "2001:db8::42",
      port: 50122,
      key_type: "ED25519",
      fingerprint: "SHA256:Tz0kSMv8UbGr3mMZbD6Q3WJ8h+uFx1V2mB5yQ8J0p4E",
    },
    { outcome: "closed", user: "root", src_ip: "203.0.113.5", port: 52830 },
    { outcome: "closed", user: "test", src_ip: "203.0.113.9", port: 41000, invalid: true },
    { outcome: "closed", src_ip: "203.0.113.10", port: 41822 },
    { outcome: "disconnected", user: "admin", src_ip: "203.0.113.5", port: 52816, invalid: true },
    { outcome: "disconnected", user: "root", src_ip: "203.0.113.5", port: 52830 },
    { outcome: "disconnected", user: "alice", src_ip: "192.168.1.23", port: 50312 },
    { outcome: "max_attempts", user: "root", src_ip: "203.0.113.5", port: 52840 },
    { outcome: "max_attempts", user: "guest", src_ip: "203.0.113.6", port: 33210, invalid: true },
    { outcome: "max_attempts", user: "root", src_ip: "203.0.113.5", port: 52840 },
    { outcome: "disconnected", src_ip: "203.0.113.5", port: 52814, code: 11, reason: "Bye Bye" },
    { outcome: "failure", method: "pam_unix", user: "root", src_ip: "203.0.113.5" },
    { outcome: "failure", method: "pam_unix", src_ip: "203.0.113.77" },
    {
      outcome: "success",
      method: "keyboard-interactive/pam",
      user: "bob",
      src_ip: "10.0.0.8",
      port: 61000,
    },
    false,
    false,
  ];
  assert.equal(lines.length, want.length);
  lines.forEach((line, i) => assert.deepEqual(parsed(line), want[i], line));
});

Deno.test("sshdParser() removes ANSI escape sequences from the fields, raw or as #033", () => {
  const event = createEvent(
    "Invalid user \x1b[31mev\x1b[0mil\x1b]0;title\x07 from 203.0.113.66 port 4444",
  );
  assert.ok(sshdParser().parse(event));
  assert.equal((event.fields.sshd as { user: string }).user, "evil");
  assert.ok(event.message.includes("\x1b[31m"), "the message stays as received");
  assert.deepEqual(parsed("Failed password for #033[1mroot#033[0m from 203.0.113.5 port 1 ssh2"), {
    outcome: "failure",
    method: "password",
    user: "root",
    src_ip: "203.0.113.5",
    port: 1,
  });
});

Deno.test("sshdParser() takes the address after the user name, so a crafted name cannot forge it", () => {
  assert.deepEqual(
    parsed("Invalid user x from 10.0.0.1 port 22 from 203.0.113.200 port 5555"),
    {
      outcome: "invalid_user",
      user: "x from 10.0.0.1 port 22",
      src_ip: "203.0.113.200",
      port: 5555,
      invalid: true,
    },
  );
  // A user name that embeds a whole "Accepted" line is still an invalid user.
  assert.equal(
    (parsed(
      "Invalid user sshd[1]: Accepted password for root from 10.0.0.1 port 22 ssh2 from 203.0.113.9 port 2",
    ) as { outcome: string }).outcome,
    "invalid_user",
  );
});

Deno.test("sshdParser() accepts empty user names and missing ports", () => {
  assert.deepEqual(parsed("Invalid user  from 203.0.113.5 port 5"), {
    outcome: "invalid_user",
    user: "",
    src_ip: "203.0.113.5",
    port: 5,
    invalid: true,
  });
  assert.deepEqual(parsed("Invalid user bob from 203.0.113.5"), {
    outcome: "invalid_user",
    user: "bob",
    src_ip: "203.0.113.5",
    invalid: true,
  });
});

Deno.test("sshdParser() returns false on other sshd text and leaves fields alone", () => {
  for (
    const text of [
      "",
      "Server listening on :: port 22.",
      "Accepted",
      "Failed password for root",
      "Connection reset by 1.2.3.4 port 22",
      "pam_unix(sshd:session): session closed for user alice",
    ]
  ) {
    const event = createEvent(text);
    assert.equal(sshdParser().parse(event), false, text);
    assert.deepEqual(event.fields, {});
  }
});

Deno.test("sshdParser() writes under another prefix or field", () => {
  const event = createEvent("m", { fields: { journal: { MESSAGE: lines[0] } } });
  assert.ok(sshdParser({ field: "journal.MESSAGE", prefix: "auth" }).parse(event));
  assert.equal((event.fields.auth as { user: string }).user, "root");
  assert.throws(() => sshdParser({ prefix: "HOST" }), /sshdParser: "prefix"/);
});
