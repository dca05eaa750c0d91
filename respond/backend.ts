/**
 * The firewall a decision is applied to. Backends build argument arrays from
 * canonical {@linkcode Target}s only, and run them through an
 * {@linkcode Executor}; they never see log text.
 *
 * @example
 * ```ts
 * import type { FirewallBackend } from "./backend.ts";
 * const none: FirewallBackend = {
 *   kind: "none", where: "local", expiresItself: false,
 *   async ensure() {}, async block() {}, async unblock() {}, async list() { return []; },
 *   async flush() {}, commands: () => [],
 * };
 * ```
 *
 * @module
 */

import type { Target } from "./address.ts";

/** An entry found in the firewall. */
export interface BlockedEntry {
  /** The canonical address or network (`1.2.3.4`, `10.0.0.0/24`). */
  readonly text: string;
  /** Seconds left before the kernel removes it, when the backend knows. */
  readonly expiresInSec?: number;
}

/** A firewall that can block and unblock addresses. */
export interface FirewallBackend {
  /** `nft` or `iptables`. */
  readonly kind: string;
  /** Where its commands run (`local`, a host name). */
  readonly where: string;
  /** Whether the firewall removes an entry itself when its time is up (nftables set timeouts). */
  readonly expiresItself: boolean;
  /** Creates the table/chain/sets sluice uses, once; idempotent. Throws with the command's error. */
  ensure(): Promise<void>;
  /** Blocks a target for `ttlSec` seconds (replacing an existing entry's time). Throws on failure. */
  block(target: Target, ttlSec: number): Promise<void>;
  /** Removes a target; a target that is not there is not an error. Throws on failure. */
  unblock(target: Target): Promise<void>;
  /** What is blocked now. */
  list(): Promise<BlockedEntry[]>;
  /** Removes every entry sluice made. */
  flush(): Promise<void>;
  /** The commands `block` would run, for dry-run and the audit trail. */
  commands(target: Target, ttlSec: number): string[][];
}

/** Thrown when a firewall command fails; carries what ran and what it said. */
export class FirewallError extends Error {
  /** The command that failed. */
  readonly argv: readonly string[];
  /** Its exit code. */
  readonly code: number;
  /**
   * @param argv The command.
   * @param code Its exit code.
   * @param stderr What it printed.
   */
  constructor(argv: readonly string[], code: number, stderr: string) {
    super(`${argv.join(" ")} exited ${code}: ${stderr.trim().slice(0, 500)}`);
    this.name = "FirewallError";
    this.argv = argv;
    this.code = code;
  }
}
