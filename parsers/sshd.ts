/**
 * A parser for OpenSSH server (and pam_unix) authentication messages.
 *
 * @module
 */

import { prefixTarget, resolvePrefix } from "../core/prefix.ts";
import { fieldGetter, type Fields, type LogEvent } from "../core/event.ts";
import type { Parser } from "../core/types.ts";

/** Options for {@linkcode sshdParser}. */
export interface SshdParserOptions {
  /**
   * Where the fields go; `""` is the top of the field tree. Leading and
   * trailing dots are ignored.
   * @default {"sshd"}
   */
  prefix?: string;
  /** The field (or macro) holding the sshd message. @default {"MSG"} */
  field?: string;
  /** A name for stats. */
  name?: string;
}

/**
 * What an sshd authentication message says happened, in the `outcome` field
 * that {@linkcode sshdParser} sets.
 */
export type SshdOutcome =
  | "success"
  | "failure"
  | "invalid_user"
  | "closed"
  | "disconnected"
  | "max_attempts";

// An optional header, for text that still carries it: an RFC 3164 or ISO
// time stamp with a host, and the `sshd[pid]: ` tag. It is deliberately
// narrow, so that a user name cannot contain a header plus a forged message.
const _HEAD =
  /^(?:(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)?) \S+ )?(?:sshd(?:-session)?\[\d+\]: )?(?:error: |fatal: )?/;
// User names come before the last " from <ip> port <n>", so a name holding
// " from 1.2.3.4 port 1" cannot move the address: the greedy `(.*)` backtracks
// from the end.
const _AUTH =
  /^(Accepted|Failed) (\S+) for (invalid user )?(.*) from (\S+) port (\d+)(?: ssh\d)?(?:: (\S+) (\S+))?(?: \[preauth\])?\s*$/;
const _INVALID = /^Invalid user (.*) from (\S+)(?: port (\d+))?(?: \[preauth\])?\s*$/;
const _CLOSED =
  /^Connection closed by (?:(authenticating|invalid) user (.*) )?(\S+) port (\d+)(?: \[preauth\])?\s*$/;
const _DISCONNECTED =
  /^Disconnected from (?:(authenticating user|invalid user|user) (.*) )?(\S+) port (\d+)(?: \[preauth\])?\s*$/;
const _MAX =
  /^maximum authentication attempts exceeded for (invalid user )?(.*) from (\S+) port (\d+)(?: ssh\d)?(?: \[preauth\])?\s*$/;
const _TOO_MANY =
  /^Disconnecting (?:(authenticating|invalid) user (.*) )?(\S+) port (\d+): Too many authentication failures(?: \[preauth\])?\s*$/;
const _RECEIVED = /^Received disconnect from (\S+) port (\d+):(\d+): (.*?)(?: \[preauth\])?\s*$/;
const _PAM_USER = /(?:^|\s)user=(\S*)/;
const _PAM_RHOST = /(?:^|\s)rhost=(\S*)/;
const _PAM_PREFIX = "pam_unix(sshd:auth): authentication failure;";
// CSI and OSC sequences, other two-byte escapes, and rsyslog's `#033[…m`
// rendering of the same.
const _ANSI =
  // deno-lint-ignore no-control-regex
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|#033\[[0-?]*[ -/]*[@-~]/g;

/**
 * Parses the common OpenSSH and pam_unix authentication messages into
 * `user`, `src_ip`, `port` (a number), `method` and `outcome`
 * ({@linkcode SshdOutcome}), plus `invalid: true` when sshd called the user
 * invalid, `key_type`/`fingerprint` for public keys, and `reason`/`code`
 * for a received disconnect. Recognised (with `[preauth]` or not):
 *
 * - `Accepted|Failed <method> for [invalid user ]<user> from <ip> port <n> ssh2[: <type> <fp>]`
 * - `Invalid user <user> from <ip> port <n>`
 * - `Connection closed by [authenticating|invalid user <user> ]<ip> port <n>`
 * - `Disconnected from [authenticating user|invalid user|user <user> ]<ip> port <n>`
 * - `error: maximum authentication attempts exceeded for [invalid user ]<user> from <ip> port <n> ssh2`
 * - `Disconnecting [authenticating|invalid user <user> ]<ip> port <n>: Too many authentication failures`
 * - `Received disconnect from <ip> port <n>:<code>: <reason>`
 * - `pam_unix(sshd:auth): authentication failure; … rhost=<ip> user=<user>` (method `pam_unix`)
 *
 * ANSI escape sequences (raw or as rsyslog's `#033[`) are removed before
 * matching, so they never reach the fields; the message itself is left as
 * received. A leading `sshd[pid]: ` tag and time stamp are skipped. Any
 * other text makes `parse()` return `false`.
 *
 * @param options Prefix and source field.
 * @returns The parser.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When the prefix names a macro or has empty segments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sshdParser } from "./sshd.ts";
 * import { createEvent, getField } from "../core/event.ts";
 * const parser = sshdParser();
 * const event = createEvent("Failed password for invalid user admin from 203.0.113.9 port 41822 ssh2");
 * assert.ok(parser.parse(event));
 * assert.ok(getField(event, "sshd.outcome") === "failure");
 * assert.ok(getField(event, "sshd.user") === "admin" && getField(event, "sshd.port") === 41822);
 * ```
 */
export function sshdParser(options: SshdParserOptions = {}): Parser {
  const prefix = resolvePrefix("sshdParser", options.prefix ?? "sshd");
  const field = options.field ?? "MSG";
  if (typeof field !== "string" || field === "") {
    throw new TypeError(`sshdParser: "field" must be a non-empty string, got ${_show(field)}`);
  }
  const read = field === "MSG" || field === "MESSAGE" ? null : fieldGetter(field);
  const target = prefixTarget(prefix);
  return {
    kind: "sshd",
    ...(options.name ? { name: options.name } : {}),
    parse(event: LogEvent): boolean {
      const value = read === null ? event.message : read(event);
      if (typeof value !== "string") return false;
      let text = value;
      if (text.includes("\x1b") || text.includes("#033[")) text = text.replace(_ANSI, "");
      const head = _HEAD.exec(text);
      const body = head === null || head[0] === "" ? text : text.slice(head[0].length);
      const out = _match(body);
      if (out === null) return false;
      const t = target(event);
      for (const key in out) t[key] = out[key];
      return true;
    },
  };
}

function _match(body: string): Fields | null {
  let m: RegExpExecArray | null;
  switch (body.charCodeAt(0)) {
    case 65: // A
    case 70: // F
      if ((m = _AUTH.exec(body)) === null) return null;
      return _fields(m[1] === "Accepted" ? "success" : "failure", m[2], m[4], m[5], m[6], !!m[3], {
        ...(m[7] !== undefined ? { key_type: m[7], fingerprint: m[8] } : {}),
      });
    case 73: // I
      if ((m = _INVALID.exec(body)) === null) return null;
      return _fields("invalid_user", undefined, m[1], m[2], m[3], true);
    case 67: // C
      if ((m = _CLOSED.exec(body)) === null) return null;
      return _fields("closed", undefined, m[2], m[3], m[4], m[1] === "invalid");
    case 68: // D
      if ((m = _DISCONNECTED.exec(body)) !== null) {
        return _fields("disconnected", undefined, m[2], m[3], m[4], m[1] === "invalid user");
      }
      if ((m = _TOO_MANY.exec(body)) !== null) {
        return _fields("max_attempts", undefined, m[2], m[3], m[4], m[1] === "invalid");
      }
      return null;
    case 109: // m
      if ((m = _MAX.exec(body)) === null) return null;
      return _fields("max_attempts", undefined, m[2], m[3], m[4], !!m[1]);
    case 82: // R
      if ((m = _RECEIVED.exec(body)) === null) return null;
      return _fields("disconnected", undefined, undefined, m[1], m[2], false, {
        code: Number(m[3]),
        reason: m[4],
      });
    case 112: // p
      if (!body.startsWith(_PAM_PREFIX)) return null;
      return _fields(
        "failure",
        "pam_unix",
        _PAM_USER.exec(body)?.[1] || undefined,
        _PAM_RHOST.exec(body)?.[1] || undefined,
        undefined,
        false,
      );
    default:
      return null;
  }
}

function _fields(
  outcome: SshdOutcome,
  method: string | undefined,
  user: string | undefined,
  ip: string | undefined,
  port: string | undefined,
  invalid: boolean,
  extra?: Fields,
): Fields {
  const out: Fields = { outcome };
  if (method !== undefined) out.method = method;
  if (user !== undefined) out.user = user;
  if (ip !== undefined) out.src_ip = ip;
  if (port !== undefined) out.port = Number(port);
  if (invalid) out.invalid = true;
  if (extra) Object.assign(out, extra);
  return out;
}

function _show(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : String(value);
}
