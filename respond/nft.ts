/**
 * The nftables backend: one table `inet sluice` with a set per family whose
 * elements carry their own timeout, and a chain hooked into input that drops
 * what the sets hold. The kernel removes an element when its time is up, so
 * a ban ends on time even while sluice is down.
 *
 * ```sh
 * nft add element inet sluice blocked4 { 203.0.113.7 timeout 3600s }
 * ```
 *
 * @example
 * ```ts
 * import { nftBackend } from "./nft.ts";
 * import { localExecutor } from "./executor.ts";
 * const nft = nftBackend(localExecutor());
 * ```
 *
 * @module
 */

import type { Target } from "./address.ts";
import { type BlockedEntry, type FirewallBackend, FirewallError } from "./backend.ts";
import type { Executor } from "./executor.ts";

/** Options for {@linkcode nftBackend}. */
export interface NftBackendOptions {
  /** The nft binary. @default {"nft"} */
  nft?: string;
  /** The table (family inet). @default {"sluice"} */
  table?: string;
  /** The chain's hook priority (before most distributions' filter chains). @default {-10} */
  priority?: number;
}

const _NAME = /^[A-Za-z][A-Za-z0-9_]{0,30}$/;

/**
 * Makes the nftables backend.
 *
 * @param exec Where the commands run.
 * @param options Binary, table, priority.
 * @returns The backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nftBackend } from "./nft.ts";
 * import { localExecutor } from "./executor.ts";
 * import { parseTarget } from "./address.ts";
 * const nft = nftBackend(localExecutor());
 * assert.deepEqual(nft.commands(parseTarget("1.2.3.4")!, 60)[1],
 *   ["nft", "add", "element", "inet", "sluice", "blocked4", "{", "1.2.3.4", "timeout", "60s", "}"]);
 * ```
 */
export function nftBackend(exec: Executor, options: NftBackendOptions = {}): FirewallBackend {
  const nft = options.nft ?? "nft";
  const table = options.table ?? "sluice";
  const priority = options.priority ?? -10;
  if (!_NAME.test(table)) {
    throw new TypeError(`nftBackend: "table" must be a plain name, got ${JSON.stringify(table)}`);
  }
  if (!Number.isInteger(priority)) {
    throw new TypeError(`nftBackend: "priority" must be an integer, got ${priority}`);
  }
  const setOf = (t: Target) => (t.family === 4 ? "blocked4" : "blocked6");

  async function run(argv: string[], okCodes: (stderr: string) => boolean = () => false) {
    const r = await exec.run(argv);
    if (r.code !== 0 && !okCodes(r.stderr)) throw new FirewallError(argv, r.code, r.stderr);
    return r;
  }

  const deleteArgv = (
    t: Target,
  ) => [nft, "delete", "element", "inet", table, setOf(t), "{", t.text, "}"];
  const missing = (stderr: string) => /does not exist|No such file/i.test(stderr);

  return {
    kind: "nft",
    where: exec.where,
    expiresItself: true,
    async ensure() {
      await run([nft, "add", "table", "inet", table]);
      for (const [set, type] of [["blocked4", "ipv4_addr"], ["blocked6", "ipv6_addr"]] as const) {
        await run([
          nft,
          "add",
          "set",
          "inet",
          table,
          set,
          "{",
          "type",
          type,
          ";",
          "flags",
          "interval,timeout",
          ";",
          "}",
        ]);
      }
      await run([
        nft,
        "--",
        "add",
        "chain",
        "inet",
        table,
        "input",
        "{",
        "type",
        "filter",
        "hook",
        "input",
        "priority",
        String(priority),
        ";",
        "policy",
        "accept",
        ";",
        "}",
      ]);
      const listed = await run([nft, "-j", "list", "chain", "inet", table, "input"]);
      const text = listed.stdout;
      if (!text.includes('"@blocked4"')) {
        await run([nft, "add", "rule", "inet", table, "input", "ip", "saddr", "@blocked4", "drop"]);
      }
      if (!text.includes('"@blocked6"')) {
        await run([
          nft,
          "add",
          "rule",
          "inet",
          table,
          "input",
          "ip6",
          "saddr",
          "@blocked6",
          "drop",
        ]);
      }
    },
    commands(t, ttlSec) {
      return [deleteArgv(t), [
        nft,
        "add",
        "element",
        "inet",
        table,
        setOf(t),
        "{",
        t.text,
        "timeout",
        `${Math.max(1, Math.ceil(ttlSec))}s`,
        "}",
      ]];
    },
    async block(t, ttlSec) {
      const [del, add] = this.commands(t, ttlSec) as [string[], string[]];
      // An element's timeout cannot be changed in place: take it out, put it back.
      await run(del, missing);
      await run(add);
    },
    async unblock(t) {
      await run(deleteArgv(t), missing);
    },
    async list() {
      const out: BlockedEntry[] = [];
      for (const set of ["blocked4", "blocked6"]) {
        const r = await exec.run([nft, "-j", "list", "set", "inet", table, set]);
        if (r.code !== 0) {
          if (missing(r.stderr)) continue;
          throw new FirewallError([nft, "-j", "list", "set", "inet", table, set], r.code, r.stderr);
        }
        out.push(..._elements(r.stdout));
      }
      return out;
    },
    async flush() {
      for (const set of ["blocked4", "blocked6"]) {
        await run([nft, "flush", "set", "inet", table, set], missing);
      }
    },
  };
}

/** Reads the elements of `nft -j list set` output. */
function _elements(json: string): BlockedEntry[] {
  const out: BlockedEntry[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return out;
  }
  const items = (doc as { nftables?: unknown[] }).nftables ?? [];
  for (const item of items) {
    const set = (item as { set?: { elem?: unknown[] } }).set;
    for (const e of set?.elem ?? []) {
      const inner = (e as { elem?: { val?: unknown; expires?: unknown } }).elem;
      const val = inner ? inner.val : e;
      const expires = typeof inner?.expires === "number" ? inner.expires : undefined;
      let text: string | undefined;
      if (typeof val === "string") text = val;
      else {
        const p = (val as { prefix?: { addr?: unknown; len?: unknown } } | undefined)?.prefix;
        if (p && typeof p.addr === "string" && typeof p.len === "number") {
          text = `${p.addr}/${p.len}`;
        }
      }
      if (text) out.push(expires === undefined ? { text } : { text, expiresInSec: expires });
    }
  }
  return out;
}
