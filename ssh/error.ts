/**
 * The one error type of the SSH client: why a connection or a command
 * failed, as a machine-readable `reason` beside the human message.
 *
 * @module
 */

/**
 * Why an SSH operation failed.
 *
 * - `auth-refused`: the server refused the key (or the user).
 * - `host-key-changed`: the server offered a key other than the pinned one
 *   (or a key marked `@revoked`); refused before logging in.
 * - `host-key-unknown`: nothing pins this host's key; refused before logging in.
 * - `unreachable`: no TCP connection, or it closed during the handshake.
 * - `timeout`: the TCP connect, the handshake or a command's deadline passed.
 * - `command-failed`: a command could not start or exited non-zero (see {@linkcode SshError.exitCode}).
 */
export type SshErrorReason =
  | "auth-refused"
  | "host-key-changed"
  | "host-key-unknown"
  | "unreachable"
  | "timeout"
  | "command-failed";

/** The host key a server offered, for an operator to check and accept. */
export interface OfferedHostKey {
  /** Its type, `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa` … */
  type: string;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** The key blob in base64, as in a known_hosts line. */
  base64: string;
}

/** Details an {@linkcode SshError} may carry. */
export interface SshErrorDetails {
  /** The key the server offered (host-key reasons). */
  hostKey?: OfferedHostKey;
  /** The command's exit code (`command-failed`). */
  exitCode?: number | null;
  /** The signal that ended the command, if any (`command-failed`). */
  exitSignal?: string;
  /** The command's stderr, at most 64 KiB (`command-failed`). */
  stderr?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * An SSH failure with its {@linkcode SshErrorReason}.
 *
 * @example Tell a changed host key from a down host
 * ```ts
 * import { SshError } from "./error.ts";
 * const err = new SshError("host-key-changed", "ssh: the host key of vm1 changed");
 * if (err.reason === "host-key-changed") console.assert(err.message.includes("changed"));
 * ```
 */
export class SshError extends Error {
  /** Why it failed. */
  readonly reason: SshErrorReason;
  /** The key the server offered, for host-key reasons. */
  readonly hostKey: OfferedHostKey | undefined;
  /** The exit code of a failed command (`null` when a signal ended it). */
  readonly exitCode: number | null | undefined;
  /** The signal that ended a failed command. */
  readonly exitSignal: string | undefined;
  /** The stderr of a failed command. */
  readonly stderr: string | undefined;

  /**
   * Makes the error.
   *
   * @param reason Why it failed.
   * @param message What failed, naming the host.
   * @param details The offered key, exit status, stderr, cause.
   */
  constructor(reason: SshErrorReason, message: string, details: SshErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "SshError";
    this.reason = reason;
    this.hostKey = details.hostKey;
    this.exitCode = details.exitCode;
    this.exitSignal = details.exitSignal;
    this.stderr = details.stderr;
  }
}

/**
 * Whether `err` is an {@linkcode SshError}, optionally with one of `reasons`.
 *
 * @param err Anything thrown.
 * @param reasons Reasons to match; any when empty.
 * @returns Whether it matches.
 *
 * @example
 * ```ts
 * import { isSshError, SshError } from "./error.ts";
 * console.assert(isSshError(new SshError("timeout", "ssh: slow"), "timeout"));
 * ```
 */
export function isSshError(err: unknown, ...reasons: SshErrorReason[]): err is SshError {
  return err instanceof SshError && (reasons.length === 0 || reasons.includes(err.reason));
}
