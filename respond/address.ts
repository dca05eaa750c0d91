/**
 * Addresses and networks that active response may block: parsed strictly
 * from text (log lines are hostile), printed back in one canonical form, and
 * checked against an allowlist. Nothing that fails to parse ever reaches a
 * firewall command: the command gets the re-printed value, never the input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTarget } from "./address.ts";
 * assert.equal(parseTarget("203.0.113.7")?.text, "203.0.113.7");
 * assert.equal(parseTarget("1.2.3.4; rm -rf /"), undefined);
 * ```
 *
 * @module
 */

/** An IPv4 or IPv6 address or network, canonical. */
export interface Target {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The network address as a number (host bits zero). */
  readonly value: bigint;
  /** The prefix length (32 or 128 for one address). */
  readonly prefix: number;
  /** The canonical text: `1.2.3.4`, `10.0.0.0/8`, `2001:db8::1`, `2001:db8::/32`. */
  readonly text: string;
}

const _V4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const _HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function _parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!_V4_OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function _parseV6(text: string): bigint | undefined {
  if (text.length > 45 || text.length < 2) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tailV4 = _parseV4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === "") return [];
    const groups = s.split(":");
    const out: number[] = [];
    for (const g of groups) {
      if (!_HEX_GROUP.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(halves[0] as string);
  const right = halves.length === 2 ? parse(halves[1] as string) : [];
  if (!left || !right) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    groups = left;
  }
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return v;
}

function _v4Text(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join(".");
}

/** RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as `::`. */
function _v6Text(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return hex.slice(0, bestStart).join(":") + "::" + hex.slice(bestStart + bestLen).join(":");
}

function _mask(family: 4 | 6, prefix: number): bigint {
  const bits = family === 4 ? 32n : 128n;
  const all = (1n << bits) - 1n;
  return prefix === 0 ? 0n : (all >> (bits - BigInt(prefix))) << (bits - BigInt(prefix));
}

/**
 * Parses an address or network (`1.2.3.4`, `10.0.0.0/8`, `2001:db8::1`,
 * `::ffff:1.2.3.4`, `2001:db8::/32`). IPv4-mapped IPv6 addresses become IPv4;
 * host bits of a network are cleared. Anything else (spaces, shell or nft
 * syntax, zone ids, leading zeros, out-of-range parts) gives `undefined`.
 *
 * @param text The candidate, typically a field from a log line.
 * @returns The canonical target, or `undefined` when it is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTarget } from "./address.ts";
 * assert.equal(parseTarget("::FFFF:198.51.100.4")?.text, "198.51.100.4");
 * assert.equal(parseTarget("2001:DB8:0:0:0:0:0:1")?.text, "2001:db8::1");
 * assert.equal(parseTarget("10.1.2.3/8")?.text, "10.0.0.0/8");
 * assert.equal(parseTarget("$(reboot)"), undefined);
 * ```
 */
export function parseTarget(text: unknown): Target | undefined {
  if (typeof text !== "string" || text.length === 0 || text.length > 49) return undefined;
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  if (prefixText !== undefined && !/^(?:0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  let family: 4 | 6;
  let value: bigint | undefined;
  if (addr.includes(":")) {
    family = 6;
    value = _parseV6(addr);
  } else {
    family = 4;
    value = _parseV4(addr);
  }
  if (value === undefined) return undefined;
  let prefix = prefixText === undefined ? (family === 4 ? 32 : 128) : Number(prefixText);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  // ::ffff:a.b.c.d is how dual-stack sockets (and so sshd) print IPv4 peers.
  if (family === 6 && value >> 32n === 0xffffn && prefix >= 96) {
    family = 4;
    value &= 0xffffffffn;
    prefix -= 96;
  }
  value &= _mask(family, prefix);
  const full = family === 4 ? 32 : 128;
  const base = family === 4 ? _v4Text(value) : _v6Text(value);
  return { family, value, prefix, text: prefix === full ? base : `${base}/${prefix}` };
}

/**
 * Whether two targets share any address (one contains the other).
 *
 * @param a A target.
 * @param b Another.
 * @returns `true` when they overlap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { overlaps, parseTarget } from "./address.ts";
 * assert.ok(overlaps(parseTarget("10.0.0.0/8")!, parseTarget("10.1.2.3")!));
 * assert.ok(!overlaps(parseTarget("10.0.0.0/8")!, parseTarget("11.0.0.1")!));
 * ```
 */
export function overlaps(a: Target, b: Target): boolean {
  if (a.family !== b.family) return false;
  const m = _mask(a.family, Math.min(a.prefix, b.prefix));
  return (a.value & m) === (b.value & m);
}

/** Options for {@linkcode targetPolicy}. */
export interface TargetPolicyOptions {
  /** Networks never blocked, in addition to loopback and unspecified. @default {[]} */
  allow?: readonly string[];
  /** The widest IPv4 network that may be blocked. @default {16} */
  minPrefix4?: number;
  /** The widest IPv6 network that may be blocked. @default {48} */
  minPrefix6?: number;
}

/** Why a target was refused, or `undefined` when it may be blocked. */
export type TargetCheck = (target: Target) => string | undefined;

/** What is never blocked whatever the configuration. */
export const ALWAYS_ALLOWED: readonly string[] = ["127.0.0.0/8", "::1", "0.0.0.0", "::"];

/**
 * Builds the check every decision passes: the allowlist (plus loopback and
 * the unspecified addresses), and the widest network that may be blocked
 * (`0.0.0.0/0` is always refused).
 *
 * @param options Allowlist and widest prefixes.
 * @returns A function giving the reason a target is refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTarget, targetPolicy } from "./address.ts";
 * const check = targetPolicy({ allow: ["192.168.0.0/16"] });
 * assert.equal(check(parseTarget("203.0.113.9")!), undefined);
 * assert.match(check(parseTarget("192.168.1.20")!)!, /allowlist/);
 * assert.match(check(parseTarget("0.0.0.0/0")!)!, /too wide/);
 * ```
 */
export function targetPolicy(options: TargetPolicyOptions = {}): TargetCheck {
  const allow: Target[] = [];
  for (const text of [...ALWAYS_ALLOWED, ...(options.allow ?? [])]) {
    const t = parseTarget(text);
    if (!t) {
      throw new TypeError(
        `targetPolicy: "allow" holds ${JSON.stringify(text)}, not an address or network`,
      );
    }
    allow.push(t);
  }
  const min4 = options.minPrefix4 ?? 16;
  const min6 = options.minPrefix6 ?? 48;
  if (!Number.isInteger(min4) || min4 < 1 || min4 > 32) {
    throw new RangeError(`targetPolicy: "minPrefix4" must be 1-32, got ${min4}`);
  }
  if (!Number.isInteger(min6) || min6 < 1 || min6 > 128) {
    throw new RangeError(`targetPolicy: "minPrefix6" must be 1-128, got ${min6}`);
  }
  return (t) => {
    const min = t.family === 4 ? min4 : min6;
    if (t.prefix < min) return `${t.text} is too wide (at most /${min} may be blocked)`;
    const hit = allow.find((a) => overlaps(a, t));
    if (hit) return `${t.text} is on the allowlist (${hit.text})`;
    return undefined;
  };
}
