/**
 * Unwraps a syslog header around a message that arrived on a JSON or RELP
 * port, as syslog-ng's `flags(syslog-protocol)` does: rsyslog's `omrelp` and
 * `omfwd` send `<133>2026-12-06T04:00:00+00:00 vm1 alerts: {"host":…}` with
 * their default templates, and the JSON parser after this step sees the body.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { Rewrite } from "../core/types.ts";
import { syslogParser } from "./syslog.ts";

/** Options for {@linkcode syslogFramed}. */
export interface SyslogFramedOptions {
  /** Where the parsed header goes (`format`, `version`, `msgid`, `sd`, and `host` as below). @default {"syslog"} */
  prefix?: string;
  /**
   * What the header's HOSTNAME does: `"set"` sets the event's host; `"field"`
   * only stores it as `${prefix}.host`, so a later step can prefer a host named
   * in the body (the central takes the JSON's `host` first, then this).
   * An event whose host is already set keeps it either way. @default {"set"}
   */
  host?: "set" | "field";
}

/**
 * A step that, when the message is RFC 5424 or RFC 3164 syslog (it starts
 * with `<PRI>`), takes the header's facility, severity, time, program and
 * pid, and leaves the MSG part as the message. Any other message passes
 * unchanged (a plain JSON line, a sluice RELP envelope already unwrapped by
 * the source). It never drops an event and never throws.
 *
 * @param options Prefix and what the header's host does.
 * @returns The step (a rewrite).
 *
 * @example rsyslog's forward format in front of a JSON alert
 * ```ts
 * import assert from "node:assert/strict";
 * import { syslogFramed } from "./syslog_framed.ts";
 * import { createEvent } from "../core/event.ts";
 * const e = createEvent('<133>2026-12-06T04:00:00Z vm1 alerts: {"rule":"R"}');
 * syslogFramed({ host: "field" }).apply(e);
 * assert.equal(e.message, '{"rule":"R"}');
 * assert.equal((e.fields.syslog as { host: string }).host, "vm1");
 * assert.equal(e.host, undefined);
 * ```
 */
export function syslogFramed(options: SyslogFramedOptions = {}): Rewrite {
  const prefix = options.prefix ?? "syslog";
  const mode = options.host ?? "set";
  if (mode !== "set" && mode !== "field") {
    throw new TypeError(`syslogFramed: "host" must be "set" or "field", got "${String(mode)}"`);
  }
  const parser = syslogParser({ prefix });
  return {
    kind: "syslog-framed",
    apply(e: LogEvent): void {
      const m = e.message;
      // `<` and a digit: the PRI. Anything else is not syslog-framed.
      if (m.charCodeAt(0) !== 60) return;
      const d = m.charCodeAt(1);
      if (d < 48 || d > 57) return;
      const host = e.host;
      try {
        if (!parser.parse(e)) return;
      } catch {
        return;
      }
      const header = e.host;
      if (host !== undefined) e.host = host;
      else if (mode === "field") delete e.host;
      if (header !== undefined) {
        const fields = e.fields[prefix];
        if (fields && typeof fields === "object") (fields as Record<string, unknown>).host = header;
      }
    },
  };
}
