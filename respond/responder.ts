/**
 * Active response's decisions: who may be blocked, where, for how long, and
 * keeping the firewalls in line with the `responses` table. Takes the best
 * of fail2ban (bans that grow with repeated offences, `ignoreip`), CrowdSec
 * (decisions with a duration, applied by a bouncer) and Wazuh (a command with
 * a timeout that undoes itself).
 *
 * Safety: dry-run is the default; loopback, the unspecified addresses and
 * the allowlist are never blocked, nor networks wider than /16 (IPv4) or /48
 * (IPv6); rule decisions are rate-limited; every decision ends.
 *
 * @example
 * ```ts
 * import { Responder } from "./responder.ts";
 * import { DecisionTable } from "./decisions.ts";
 * const r = new Responder({ table: new DecisionTable(":memory:"), backends: {} });
 * const d = await r.decide({ target: "203.0.113.9", host: "local", reason: "test", rule: "operator", by: "me" });
 * r.close();
 * ```
 *
 * @module
 */

import { parseTarget, type Target, type TargetCheck } from "./address.ts";
import { type ResponderSettings, responderSettings } from "./_responder_settings.ts";
import type { FirewallBackend } from "./backend.ts";
import { type Decision, type DecisionTable, LIVE_STATES, OPEN_STATES } from "./decisions.ts";
import {
  type DecideResult,
  type DecisionRequest,
  type ResponderCounters,
  type ResponderOptions,
  type ResponseMode,
  showCommand,
} from "./_responder_types.ts";

export * from "./_responder_types.ts";

/** Decides, applies, expires and reconciles blocks. */
export class Responder {
  #o: ResponderSettings;
  #check: TargetCheck;
  #recent: number[] = [];
  #ensured = new Set<string>();
  #retryAt = new Map<number, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #ticking: Promise<void> | undefined;
  #lock: Promise<unknown> = Promise.resolve();
  /** Counters for stats. */
  readonly counters: ResponderCounters = {
    decided: 0,
    applied: 0,
    failed: 0,
    refused: 0,
    rateLimited: 0,
    expired: 0,
    revoked: 0,
    existing: 0,
  };

  /**
   * @param options Table, backends, mode and policy.
   */
  constructor(options: ResponderOptions) {
    const { settings, check } = responderSettings(options);
    this.#o = settings;
    this.#check = check;
  }

  /** Runs one change at a time: a timer pass never meets a decision half made. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** The mode it runs in. */
  get mode(): ResponseMode {
    return this.#o.mode;
  }

  /** The places a block can go: `local` and host names. */
  hosts(): string[] {
    return Object.keys(this.#o.backends);
  }

  /** The decision table. */
  get table(): DecisionTable {
    return this.#o.table;
  }

  #refuse(req: DecisionRequest, text: string, reason: string): DecideResult {
    this.counters.refused++;
    this.#o.log?.warn(
      `respond: refused to block ${
        JSON.stringify(String(req.target).slice(0, 80))
      } on ${req.host}: ${reason}`,
    );
    const now = new Date(this.#o.now()).toISOString();
    const decision = this.#o.table.insert({
      target: text.slice(0, 100),
      host: req.host.slice(0, 200),
      action: "block",
      reason: req.reason.slice(0, 2000),
      rule: req.rule,
      by: req.by,
      alertId: req.alertId ?? null,
      createdAt: now,
      until: now,
      state: "refused",
      offence: 0,
      result: reason,
    });
    return { outcome: "refused", reason, decision };
  }

  /**
   * Makes a decision: parses and checks the target, keeps one live block per
   * target and host, works out the ban's length from earlier offences,
   * records it, and applies it (mode `on`) or records what would be done.
   *
   * @param req What to block, where, and why.
   * @returns What happened.
   */
  decide(req: DecisionRequest): Promise<DecideResult> {
    return this.#serial(() => this.#decide(req));
  }

  async #decide(req: DecisionRequest): Promise<DecideResult> {
    if (this.#o.mode === "off") return { outcome: "off" };
    const target = parseTarget(req.target);
    if (!target) {
      return this.#refuse(req, String(req.target), "not an IP address or network");
    }
    const why = this.#check(target);
    if (why) return this.#refuse(req, target.text, why);
    const backend = this.#o.backends[req.host];
    if (!backend) {
      return this.#refuse(req, target.text, `no firewall configured for host "${req.host}"`);
    }
    const existing = this.#o.table.live(target.text, req.host);
    if (existing) {
      this.counters.existing++;
      return { outcome: "existing", decision: existing };
    }
    const now = this.#o.now();
    if (req.rule !== "operator") {
      this.#recent = this.#recent.filter((t) => t > now - 60_000);
      if (this.#recent.length >= this.#o.maxPerMinute) {
        this.counters.rateLimited++;
        this.#o.log?.warn(
          `respond: rate limit (${this.#o.maxPerMinute}/min) reached; not blocking ${target.text}`,
        );
        return { outcome: "rate-limited" };
      }
      this.#recent.push(now);
    }
    const previous = this.#o.table.offences(
      target.text,
      new Date(now - this.#o.findtimeSec * 1000).toISOString(),
    );
    const offence = previous + 1;
    const ban = req.durationSec ?? Math.min(
      this.#o.maxBantimeSec,
      this.#o.bantimeSec * Math.pow(this.#o.bantimeFactor, previous),
    );
    const until = new Date(now + ban * 1000).toISOString();
    const dry = this.#o.mode === "dry-run";
    const decision = this.#o.table.insert({
      target: target.text,
      host: req.host,
      action: "block",
      reason: req.reason.slice(0, 2000),
      rule: req.rule,
      by: req.by,
      alertId: req.alertId ?? null,
      createdAt: new Date(now).toISOString(),
      until,
      state: dry ? "dry-run" : "pending",
      offence,
      result: dry ? "would run: " + backend.commands(target, ban).map(showCommand).join("; ") : "",
    });
    this.counters.decided++;
    this.#o.log?.info(
      `respond: ${dry ? "dry-run: would block" : "blocking"} ${target.text} on ${req.host} for ${
        Math.round(ban)
      } s (offence ${offence}, ${req.rule})`,
    );
    if (dry) return { outcome: "new", decision };
    await this.#apply(decision, target, backend);
    return { outcome: "new", decision: this.#o.table.get(decision.id) ?? decision };
  }

  async #ensure(backend: FirewallBackend): Promise<void> {
    const key = `${backend.kind}@${backend.where}`;
    if (this.#ensured.has(key)) return;
    await backend.ensure();
    this.#ensured.add(key);
  }

  async #apply(d: Decision, target: Target, backend: FirewallBackend): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil((Date.parse(d.until) - this.#o.now()) / 1000));
    try {
      await this.#ensure(backend);
      await backend.block(target, ttl);
      this.#o.table.update(
        d.id,
        "applied",
        backend.commands(target, ttl).map(showCommand).join("; "),
      );
      this.counters.applied++;
      this.#retryAt.delete(d.id);
      return true;
    } catch (err) {
      this.#ensured.delete(`${backend.kind}@${backend.where}`);
      const msg = (err as Error).message;
      this.#o.table.update(d.id, "failed", msg);
      this.counters.failed++;
      this.#retryAt.set(d.id, this.#o.now() + 30_000);
      this.#o.log?.warn(`respond: could not block ${d.target} on ${d.host}: ${msg}`);
      return false;
    }
  }

  /**
   * Ends decisions before their time: by id, or every live one of a target
   * (on one host or all).
   *
   * @param what A decision id or a target.
   * @param by Who revokes.
   * @param host Only on this host.
   * @returns The decisions revoked.
   */
  revoke(what: number | string, by: string, host?: string): Promise<Decision[]> {
    return this.#serial(() => this.#revoke(what, by, host));
  }

  async #revoke(what: number | string, by: string, host?: string): Promise<Decision[]> {
    let rows: Decision[];
    if (typeof what === "number") {
      const d = this.#o.table.get(what);
      rows = d && OPEN_STATES.includes(d.state) ? [d] : [];
    } else {
      const t = parseTarget(what);
      if (!t) {
        throw new TypeError(`respond: ${JSON.stringify(what)} is not an IP address or network`);
      }
      rows = this.#o.table.inStates(OPEN_STATES, host).filter((d) => d.target === t.text);
    }
    const done: Decision[] = [];
    for (const d of rows) {
      const result = await this.#remove(d);
      this.#o.table.update(d.id, "revoked", `revoked by ${by}${result ? `; ${result}` : ""}`);
      this.counters.revoked++;
      done.push(d);
    }
    return done;
  }

  /** Removes a decision's entry from its firewall; returns an error text, or "" when done. */
  async #remove(d: Decision): Promise<string> {
    if (d.state === "dry-run") return "";
    const backend = this.#o.backends[d.host];
    const t = parseTarget(d.target);
    if (!backend || !t) return `no firewall for ${d.host}`;
    try {
      await backend.unblock(t);
      return "";
    } catch (err) {
      return (err as Error).message;
    }
  }

  /**
   * Ends the decisions whose time is up (removing their entries where the
   * firewall does not do it itself) and retries failed ones.
   *
   * @returns How many expired.
   */
  expireDue(): Promise<number> {
    return this.#serial(() => this.#expireDue());
  }

  async #expireDue(): Promise<number> {
    const now = this.#o.now();
    let n = 0;
    for (const d of this.#o.table.inStates(OPEN_STATES)) {
      if (Date.parse(d.until) <= now) {
        const err = d.state === "dry-run" ? "" : await this.#remove(d);
        this.#o.table.update(d.id, "expired", err ? `expired; removing failed: ${err}` : "expired");
        this.counters.expired++;
        n++;
        this.#o.log?.info(`respond: ban of ${d.target} on ${d.host} ended`);
      } else if ((d.state === "failed" || d.state === "pending") && this.#o.mode === "on") {
        if ((this.#retryAt.get(d.id) ?? 0) > now) continue;
        const backend = this.#o.backends[d.host];
        const t = parseTarget(d.target);
        if (backend && t) await this.#apply(d, t, backend);
      }
    }
    return n;
  }

  /**
   * Brings each firewall in line with the table, as after a crash: live
   * decisions missing from it are applied again with their remaining time;
   * entries no live decision explains are removed; due decisions end.
   *
   * @returns What was changed.
   */
  reconcile(): Promise<{ reapplied: number; removed: number; expired: number }> {
    return this.#serial(() => this.#reconcile());
  }

  async #reconcile(): Promise<{ reapplied: number; removed: number; expired: number }> {
    const expired = await this.#expireDue();
    let reapplied = 0;
    let removed = 0;
    if (this.#o.mode !== "on") return { reapplied, removed, expired };
    for (const [host, backend] of Object.entries(this.#o.backends)) {
      try {
        await this.#ensure(backend);
        const present = new Set((await backend.list()).map((e) => e.text));
        const live = this.#o.table.inStates(LIVE_STATES, host);
        const wanted = new Set(live.map((d) => d.target));
        for (const d of live) {
          if (present.has(d.target) && d.state === "applied") continue;
          const t = parseTarget(d.target);
          if (t && (await this.#apply(d, t, backend))) reapplied++;
        }
        for (const text of present) {
          if (wanted.has(text)) continue;
          const t = parseTarget(text);
          if (!t) continue;
          await backend.unblock(t);
          removed++;
        }
      } catch (err) {
        this.#o.log?.warn(`respond: cannot reconcile ${host}: ${(err as Error).message}`);
      }
    }
    if (reapplied || removed) {
      this.#o.log?.info(
        `respond: reconciled: ${reapplied} re-applied, ${removed} stale entries removed`,
      );
    }
    return { reapplied, removed, expired };
  }

  /**
   * Removes every entry sluice made on a host (or all) and revokes the live decisions.
   *
   * @param by Who flushes.
   * @param host Only this host.
   * @returns How many decisions were revoked.
   */
  flush(by: string, host?: string): Promise<number> {
    return this.#serial(() => this.#flush(by, host));
  }

  async #flush(by: string, host?: string): Promise<number> {
    const rows = this.#o.table.inStates(OPEN_STATES, host);
    for (const d of rows) this.#o.table.update(d.id, "revoked", `flushed by ${by}`);
    this.counters.revoked += rows.length;
    for (const [name, backend] of Object.entries(this.#o.backends)) {
      if (host && name !== host) continue;
      if (this.#o.mode === "on") await backend.flush();
    }
    return rows.length;
  }

  /**
   * Reconciles, then expires and retries on a timer until {@linkcode Responder.stop}.
   *
   * @param intervalMs How often. @default {5000}
   */
  async start(intervalMs = 5000): Promise<void> {
    await this.reconcile();
    this.#timer = setInterval(() => {
      if (this.#ticking) return;
      this.#ticking = this.expireDue().then(() => {}, (err) => {
        this.#o.log?.warn(`respond: ${(err as Error).message}`);
      }).finally(() => (this.#ticking = undefined));
    }, intervalMs);
  }

  /** Stops the timer and waits for a running pass. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }

  /** Stops and closes the table. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#o.table.close();
  }
}
