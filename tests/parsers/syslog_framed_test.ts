import assert from "node:assert/strict";
import { createEvent } from "../../core/event.ts";
import { syslogFramed } from "../../parsers/syslog_framed.ts";

Deno.test("syslogFramed() leaves the JSON body of rsyslog's RFC 3164 and RFC 5424 forward formats", () => {
  for (
    const line of [
      '<133>2026-12-06T04:00:00.123456+00:00 vm1 alerts: {"rule":"R"}',
      '<133>Dec  6 04:00:00 vm1 alerts: {"rule":"R"}',
      '<133>1 2026-12-06T04:00:00.123+00:00 vm1 alerts - - - \ufeff{"rule":"R"}',
    ]
  ) {
    const e = createEvent(line);
    syslogFramed().apply(e);
    assert.equal(e.message, '{"rule":"R"}', line);
    assert.equal(e.host, "vm1");
    assert.equal(e.program, "alerts");
    assert.equal(e.severity, 5);
    assert.equal(e.facility, 16);
    assert.ok(e.timestamp !== undefined);
  }
});

Deno.test("syslogFramed() passes other messages unchanged and keeps a host already set", () => {
  for (const text of ['{"a":1}', "", "<", "<x>y", "plain text", "<13"]) {
    const e = createEvent(text);
    syslogFramed().apply(e);
    assert.equal(e.message, text);
    assert.deepEqual(e.fields, {});
  }
  const vouched = createEvent("<13>Dec  6 04:00:00 liar prog: hi", { host: "vm-cert" });
  syslogFramed().apply(vouched);
  assert.equal(vouched.host, "vm-cert");
  assert.equal(vouched.message, "hi");
  assert.equal((vouched.fields.syslog as { host: string }).host, "liar");
});

Deno.test("syslogFramed({ host: 'field' }) keeps the header's host as a field only", () => {
  const e = createEvent("<13>Dec  6 04:00:00 vm2 prog: {}");
  syslogFramed({ host: "field", prefix: "hdr" }).apply(e);
  assert.equal(e.host, undefined);
  assert.equal((e.fields.hdr as { host: string }).host, "vm2");
  assert.throws(() => syslogFramed({ host: "x" as "set" }), /"host" must be "set" or "field"/);
});
