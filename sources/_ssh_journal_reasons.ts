/**
 * Why an agentless host is not being read (the words `vms.status_reason`
 * shows), from SSH's errors and journalctl's exit; and the ANSI escapes
 * removed from messages.
 *
 * @module
 */

import type * as Ssh from "../ssh/mod.ts";

/** Why a host is not being read. */
export type SshJournalReason =
  | Ssh.SshErrorReason
  | "sudo-refused"
  | "journalctl-missing"
  | "error";

/** The words `vms.status_reason` and logs use for each reason. */
export const REASON_TEXT: Readonly<Record<SshJournalReason, string>> = {
  "auth-refused": "auth refused",
  "host-key-changed": "host key changed",
  "host-key-unknown": "host key unknown",
  "unreachable": "unreachable",
  "timeout": "timeout",
  "command-failed": "journalctl failed",
  "sudo-refused": "sudo refused",
  "journalctl-missing": "journalctl missing",
  "error": "error",
};

// ANSI escapes are control characters by definition.
// deno-lint-ignore no-control-regex
const _ANSI = /\x1b(?:\[[0-9;?<=>!]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])/g;

/**
 * Removes ANSI escape sequences (colours, cursor moves, OSC titles).
 *
 * @param text A message.
 * @returns It without escapes.
 *
 * @example
 * ```ts
 * import { stripAnsi } from "./_ssh_journal_reasons.ts";
 * console.assert(stripAnsi("\x1b[31mred\x1b[0m") === "red");
 * ```
 */
export function stripAnsi(text: string): string {
  return text.includes("\x1b") ? text.replace(_ANSI, "") : text;
}

/**
 * Tells from journalctl's exit why it failed.
 *
 * @param code Its exit code.
 * @param stderr Its stderr.
 * @returns The reason.
 *
 * @example
 * ```ts
 * import { classifyExit } from "./_ssh_journal_reasons.ts";
 * console.assert(classifyExit(1, "sudo: a password is required") === "sudo-refused");
 * ```
 */
export function classifyExit(code: number | null, stderr: string): SshJournalReason {
  if (
    /password is required|not allowed to execute|not in the sudoers|may not run sudo/i.test(stderr)
  ) {
    return "sudo-refused";
  }
  if (
    code === 127 || /journalctl[^\n]*(?:command not found|not found|No such file)/i.test(stderr)
  ) {
    return "journalctl-missing";
  }
  return "command-failed";
}
