/**
 * syslog-ng's `netmask()` and `netmask6()` in one filter: IPv4 and IPv6
 * networks, matched on the words of the address without building strings.
 * Re-exported by parsers/filters.ts.
 *
 * @module
 */

import { fieldGetter } from "../core/event.ts";
import type { Filter } from "../core/types.ts";
import { filterOf as _filter, showValue as _show } from "./_filter_base.ts";

/** Options for {@linkcode netmask}. */
export interface NetmaskOptions {
  /** The field or macro holding the address (`"kv.SRC"`). @default {"SOURCEIP"} */
  value?: string;
  /** A name for stats. */
  name?: string;
}

/**
 * Keeps events whose address is in one of the given networks, like
 * syslog-ng's `netmask()` and `netmask6()` in one: IPv4 and IPv6 CIDRs
 * (`"10.0.0.0/8"`, `"2001:db8::/32"`), a dotted mask (`"10.0.0.0/255.0.0.0"`)
 * or a bare address (one host). An IPv4-mapped IPv6 address
 * (`::ffff:10.1.2.3`) matches IPv4 networks. A missing or invalid address
 * is dropped.
 *
 * @param networks One network or a list.
 * @param options The field holding the address.
 * @returns The filter.
 * @throws {RangeError} When a network is not a valid address or prefix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { netmask } from "./netmask.ts";
 * import { createEvent } from "../core/event.ts";
 * const lan = netmask(["192.168.0.0/16", "fd00::/8"]);
 * assert.ok(lan.test(createEvent("x", { sourceIp: "192.168.1.23" })));
 * assert.ok(!lan.test(createEvent("x", { sourceIp: "203.0.113.9" })));
 * ```
 */
export function netmask(
  networks: string | readonly string[],
  options: NetmaskOptions = {},
): Filter {
  const list = typeof networks === "string" ? [networks] : networks;
  if (!Array.isArray(list) || list.length === 0 || list.some((n) => typeof n !== "string")) {
    throw new TypeError(
      `netmask: "networks" must be a CIDR string or a non-empty array of them, got ${
        _show(networks)
      }`,
    );
  }
  const v4: number[] = []; // pairs: network, mask
  const v6: number[] = []; // groups of 8: four network words, four mask words
  for (const network of list) _network(network as string, v4, v6);
  const read = fieldGetter(options.value ?? "SOURCEIP");
  const words = new Uint32Array(4);
  return _filter("netmask", options.name, (e) => {
    const value = read(e);
    if (typeof value !== "string") return false;
    const family = _ip(value, words);
    if (family === 4) {
      const a = words[0] as number;
      for (let i = 0; i < v4.length; i += 2) {
        if (((a & (v4[i + 1] as number)) >>> 0) === v4[i]) return true;
      }
      return false;
    }
    if (family !== 6) return false;
    for (let i = 0; i < v6.length; i += 8) {
      if (
        ((words[0]! & v6[i + 4]!) >>> 0) === v6[i] &&
        ((words[1]! & v6[i + 5]!) >>> 0) === v6[i + 1] &&
        ((words[2]! & v6[i + 6]!) >>> 0) === v6[i + 2] &&
        ((words[3]! & v6[i + 7]!) >>> 0) === v6[i + 3]
      ) return true;
    }
    // An IPv4-mapped address (::ffff:a.b.c.d) also matches IPv4 networks.
    if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
      const a = words[3] as number;
      for (let i = 0; i < v4.length; i += 2) {
        if (((a & (v4[i + 1] as number)) >>> 0) === v4[i]) return true;
      }
    }
    return false;
  });
}

function _network(spec: string, v4: number[], v6: number[]): void {
  const bad = (why: string): never => {
    throw new RangeError(`netmask: "${spec}" is not a network (${why})`);
  };
  const slash = spec.indexOf("/");
  const address = slash < 0 ? spec.trim() : spec.slice(0, slash).trim();
  const words = new Uint32Array(4);
  const family = _ip(address, words);
  if (family === 0) bad("invalid address");
  const max = family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const suffix = spec.slice(slash + 1).trim();
    if (/^\d{1,3}$/.test(suffix)) bits = Number(suffix);
    else if (family === 4) {
      const mask = new Uint32Array(4);
      if (_ip(suffix, mask) !== 4) bad("invalid mask");
      const m = mask[0] as number;
      // A dotted mask must be contiguous ones then zeros.
      const inverted = ~m >>> 0;
      if ((inverted & (inverted + 1)) !== 0) bad("mask is not contiguous");
      bits = 32 - Math.log2(inverted + 1);
    } else bad("invalid prefix length");
    if (bits > max) bad(`prefix length above ${max}`);
  }
  if (family === 4) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    v4.push((words[0]! & mask) >>> 0, mask);
    return;
  }
  const masks: number[] = [];
  for (let w = 0; w < 4; w++) {
    const b = Math.max(0, Math.min(32, bits - w * 32));
    masks.push(b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0);
  }
  for (let w = 0; w < 4; w++) v6.push((words[w]! & masks[w]!) >>> 0);
  v6.push(...masks);
}

/**
 * Parses an IPv4 or IPv6 address into `out` (IPv4 in `out[0]`; IPv6 as
 * four 32-bit words). Returns 4, 6, or 0 when the text is no address.
 */
function _ip(text: string, out: Uint32Array): 0 | 4 | 6 {
  if (text.indexOf(":") < 0) {
    const v = _ipv4(text, 0, text.length);
    if (v < 0) return 0;
    out[0] = v;
    return 4;
  }
  let s = text;
  if (s.charCodeAt(0) === 91 && s.charCodeAt(s.length - 1) === 93) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  return _ipv6(s, out) ? 6 : 0;
}

/** An IPv4 address in `s[from, to)` as an unsigned 32-bit number, or -1. */
function _ipv4(s: string, from: number, to: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = from; i <= to; i++) {
    const c = i === to ? 46 : s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      const d = c - 48;
      if (d < 0 || d > 9 || digits === 3) return -1;
      part = part * 10 + d;
      digits++;
    }
  }
  return parts === 4 ? value : -1;
}

// Scratch groups of the address being parsed (the filters run synchronously).
const _GROUPS = new Uint16Array(8);

function _ipv6(s: string, out: Uint32Array): boolean {
  const groups = _GROUPS;
  groups.fill(0);
  const n = s.length;
  let gap = -1;
  let count = 0;
  let i = 0;
  if (s.startsWith("::")) {
    gap = 0;
    i = 2;
    if (n === 2) {
      out.fill(0);
      return true;
    }
  } else if (s.charCodeAt(0) === 58) return false;
  while (i < n) {
    let j = i;
    let value = 0;
    while (j < n && j - i < 5) {
      const c = s.charCodeAt(j);
      const d = c >= 48 && c <= 57
        ? c - 48
        : c >= 97 && c <= 102
        ? c - 87
        : c >= 65 && c <= 70
        ? c - 55
        : -1;
      if (d < 0) break;
      value = value * 16 + d;
      j++;
    }
    if (j < n && s.charCodeAt(j) === 46) {
      // Embedded IPv4 in the last 32 bits.
      const v4 = _ipv4(s, i, n);
      if (v4 < 0 || count > 6) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = n;
      break;
    }
    if (j === i || j - i > 4 || count >= 8) return false;
    groups[count++] = value;
    if (j === n) {
      i = n;
      break;
    }
    if (s.charCodeAt(j) !== 58) return false;
    if (s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i = j + 2;
      if (i === n) break;
    } else {
      i = j + 1;
      if (i === n) return false;
    }
  }
  if (gap >= 0) {
    if (count > 7) return false;
    const tail = count - gap;
    groups.copyWithin(8 - tail, gap, count);
    groups.fill(0, gap, 8 - tail);
  } else if (count !== 8) return false;
  for (let w = 0; w < 4; w++) {
    out[w] = ((groups[w * 2] as number) * 65536 + (groups[w * 2 + 1] as number)) >>> 0;
  }
  return true;
}
