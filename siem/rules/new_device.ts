/**
 * Detection rule: a MAC address never seen before on the network.
 *
 * @module
 */

import { fieldGetter } from "../../core/event.ts";
import { correlate, type Correlation } from "../correlate.ts";

/** Options for {@linkcode newDevice}. */
export interface NewDeviceOptions {
  /** The MAC address field. @default {"arp.mac"} */
  mac?: string;
  /** The IP address field, reported as evidence. @default {"arp.ip"} */
  ip?: string;
  /** The alert's severity. @default {"medium"} */
  severity?: string;
  /** Most devices remembered; beyond that the least recently seen is forgotten (and would alert again). @default {100000} */
  maxDevices?: number;
  /** The rule's name in alerts and state. @default {"new_device"} */
  rule?: string;
}

/**
 * Fires the first time a MAC address appears in addrwatch output (parsed
 * with `csvParser({ prefix: "arp", … })`), and never again for it: the
 * set of known addresses is the rule's state, so keep it with
 * `correlateStore()` or every device is new after a restart. The alert
 * carries `mac`, `ip` and `interface`.
 *
 * Expect one alert per device when the rule first runs on a network.
 *
 * @param options Field names, severity, capacity.
 * @returns The step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newDevice } from "./new_device.ts";
 * const rule = newDevice({ mac: "arp.MAC", ip: "arp.IP" });
 * assert.ok(rule.rule === "new_device");
 * ```
 */
export function newDevice(options: NewDeviceOptions = {}): Correlation {
  const macField = options.mac ?? "arp.mac";
  const mac = fieldGetter(macField);
  const ip = fieldGetter(options.ip ?? "arp.ip");
  const dot = macField.lastIndexOf(".");
  const iface = fieldGetter(dot > 0 ? `${macField.slice(0, dot)}.interface` : "interface");
  return correlate({
    rule: options.rule ?? "new_device",
    // Normalised so that 52:54:00:AB:… and 52:54:00:ab:… are one device.
    key: (e) => {
      const v = mac(e);
      return typeof v === "string" ? v.trim().toLowerCase() : "";
    },
    window: Infinity,
    threshold: 1,
    suppress: Infinity,
    severity: options.severity ?? "medium",
    maxKeys: options.maxDevices ?? 100_000,
    maxEntries: 1,
    emit: (g, e) => {
      const address = ip(e);
      const via = iface(e);
      return {
        mac: g.key,
        ip: typeof address === "string" ? address : "",
        ...(typeof via === "string" ? { interface: via } : {}),
        summary: `new device ${g.key}${typeof address === "string" ? ` at ${address}` : ""}`,
      };
    },
  });
}
