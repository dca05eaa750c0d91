/**
 * The types of {@linkcode correlate}'s step: its options, the alert it
 * writes, its saved windows (re-exported by `correlate.ts`).
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { Template } from "../core/template.ts";
import type { Filter, Rewrite } from "../core/types.ts";

/** A predicate, or a {@linkcode Filter}, choosing events. */
export type EventTest = Filter | ((event: LogEvent) => boolean);

/** One group (one key) as the `emit` callback sees it when a rule fires. */
export interface CorrelateGroup {
  /** The rendered key (`"203.0.113.9"`). */
  readonly key: string;
  /** Events counted in the window, including the one that fired (capped at `maxEntries`). */
  readonly count: number;
  /** Distinct values of `distinct` in the window (equal to `count` without it). */
  readonly distinct: number;
  /** Distinct `collect` (else `distinct`) values in the window, oldest first, at most `maxEvidence`. */
  readonly values: readonly string[];
  /** Time of the oldest event in the window, ms. */
  readonly firstSeen: number;
  /** Time of the newest event in the window, ms. */
  readonly lastSeen: number;
}

/** What {@linkcode correlate} writes into `fields.alert` of the event that fires. */
export interface CorrelateAlert {
  /** The rule's name. */
  rule: string;
  /** The rule's severity (`"low"`, `"medium"`, `"high"`, `"critical"`). */
  severity: string;
  /** The group's key. */
  key: string;
  /** Events counted in the window. */
  count: number;
  /** Distinct values counted (the `distinct` template's), or the count. */
  distinct: number;
  /** Collected evidence values. */
  values: string[];
  /** First event of the window, ISO 8601 UTC. */
  first_seen: string;
  /** Last event of the window, ISO 8601 UTC. */
  last_seen: string;
  /** The window, in seconds. */
  window_s: number;
  /**
   * One attack's name across centrals: the rule, the key and the suppression period the
   * triggering event's time falls in (`<rule>:<period>:<key>`), present when `suppress` > 0.
   * Two centrals that see the same events (VMs sending to both) name the alert alike,
   * whichever event tipped each one over, and a shared store keeps one (see `asAlert`).
   */
  incident?: string;
  /** Anything the rule's `emit` added. */
  [extra: string]: unknown;
}

/** Options for {@linkcode correlate}. */
export interface CorrelateOptions {
  /** The rule's name, written into every alert and used as its state key. */
  rule: string;
  /** The group key (`"${sshd.src_ip}"`); an event whose key renders empty is ignored. */
  key: Template;
  /** The sliding window, in ms; `Infinity` keeps events forever. */
  window: number;
  /** How many events (or distinct values) in the window fire the rule. */
  threshold: number;
  /** Count distinct values of this template instead of events (empty values are not counted). */
  distinct?: Template;
  /** Values kept as evidence (`"${sshd.user}"`: the users tried). @default the `distinct` template */
  collect?: Template;
  /** After firing, the group stays quiet this long, in ms (`Infinity`: fire once per key, ever). @default the window */
  suppress?: number;
  /** Which events count. @default every event */
  filter?: EventTest;
  /**
   * Which events fire. Without it, the event that reaches the threshold
   * fires; with it, counted events never fire, and an event this accepts
   * fires when its group already holds `threshold` events (a login that
   * succeeds after many failures).
   */
  trigger?: EventTest;
  /** The alert's severity. @default {"high"} */
  severity?: string;
  /** Adds rule-specific evidence to the alert (`{ ip, users }`). */
  emit?: (group: CorrelateGroup, event: LogEvent) => Record<string, unknown>;
  /**
   * Where the alert is also written in the event when no other rule wrote
   * one there first (every alert is always in `fields.alerts[<rule>]`).
   * @default {"alert"}
   */
  field?: string;
  /**
   * Most groups kept. When full, groups whose window is empty and whose
   * quiet period is over go first, then the least recently used tenth.
   * @default {100000}
   */
  maxKeys?: number;
  /** Most events kept per group. @default {max(4 × threshold, 256)} */
  maxEntries?: number;
  /** Most evidence values in an alert. @default {20} */
  maxEvidence?: number;
  /** A name for stats. @default {"correlate <rule>"} */
  name?: string;
  /**
   * The table of a shared SQL store the counted events are stored in, keyed
   * by the group key: `auth_events` (key: `src_ip`, the `sshd.*` fields).
   * With it, several centrals sharing one store count each other's events
   * (`sharedRules` in siem/correlate_shared.ts). Left out, the windows are this process's own.
   */
  sharedTable?: "auth_events";
}

/** The JSON form of a correlation's windows, as {@linkcode Correlation.snapshot} returns it. */
export interface CorrelateSnapshot {
  /** Format version. */
  v: 1;
  /** The rule. */
  rule: string;
  /** `[key, firedAt | null, times, distinct values | null, collected values | null]` per group. */
  groups: Array<[string, number | null, number[], string[] | null, string[] | null]>;
}

/** The step {@linkcode correlate} returns: a rewrite with state that can be saved and restored. */
export interface Correlation extends Rewrite {
  /** The rule's name. */
  readonly rule: string;
  /** Groups held now. */
  readonly size: number;
  /** The window, in ms. */
  readonly window: number;
  /** The quiet period after an alert, in ms. */
  readonly suppress: number;
  /** How many events (or distinct values) in the window fire the rule. */
  readonly threshold: number;
  /** The shared table the counted events are in, when the rule can count a shared store's. */
  readonly sharedTable?: "auth_events";
  /**
   * The group key of an event this rule counts or that may fire it, when
   * that group is not quiet now: the groups a shared store may tip over.
   */
  pending(event: LogEvent): string | undefined;
  /**
   * Runs events read back from a shared store (every central's, oldest
   * first) through a scratch window of group `key`, as {@linkcode Correlation.apply}
   * would, and returns the first that fires, marked with the alert as `apply`
   * marks it. The group's own window then goes quiet as after a firing here.
   * Nothing fires while the group is quiet.
   *
   * @returns The event that fires, or `undefined`.
   */
  judge(key: string, events: readonly LogEvent[]): LogEvent | undefined;
  /** The windows as plain JSON. */
  snapshot(): CorrelateSnapshot;
  /**
   * Replaces the windows with a snapshot. Anything that is not a snapshot
   * of this rule is ignored (a missing or foreign state starts empty).
   *
   * @returns Whether the snapshot was taken.
   */
  restore(snapshot: unknown): boolean;
}
