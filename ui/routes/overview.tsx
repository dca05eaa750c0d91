/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * The overview: counters for the last 24 h, alerts and events per hour
 * stacked by severity and category (24 h or 7 d, drawn by uPlot from data
 * in the page), top rules, hosts and failed-SSH sources, and the latest
 * critical alerts. The page reloads itself every minute.
 *
 * @module
 */

import type { Hono } from "../../core/_deps/hono.ts";
import type { SeriesBucket } from "../../store/types.ts";
import { Card, seg, Stat, TopList } from "../components/bits.tsx";
import { AlertTable } from "../components/alert_table.tsx";
import { Layout } from "../components/layout.tsx";
import { type UiDeps, type UiEnv, viewerOf } from "../context.ts";

const _SEVERITY_ORDER = ["critical", "high", "medium", "low", "info", "other"] as const;

/**
 * The chart data of a series: times in seconds and one array per stack,
 * as the page's script hands it to uPlot.
 *
 * @param buckets The store's buckets.
 * @returns `{ t, alerts: { critical: […] … }, events: { auth: […] … } }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chartData } from "./overview.tsx";
 * const d = chartData([{ t: 3600000, alerts: { critical: 1, high: 0, medium: 0, low: 0, info: 0, other: 0 }, events: { auth: 2 } }]);
 * assert.deepEqual(d.t, [3600]);
 * assert.deepEqual(d.events.auth, [2]);
 * ```
 */
export function chartData(buckets: readonly SeriesBucket[]): {
  t: number[];
  alerts: Record<string, number[]>;
  events: Record<string, number[]>;
} {
  const t = buckets.map((b) => Math.floor(b.t / 1000));
  const alerts: Record<string, number[]> = {};
  for (const s of _SEVERITY_ORDER) {
    const values = buckets.map((b) => b.alerts[s] ?? 0);
    if (s !== "other" || values.some((v) => v > 0)) alerts[s] = values;
  }
  const names = new Set<string>();
  for (const b of buckets) for (const k of Object.keys(b.events)) names.add(k);
  const events: Record<string, number[]> = {};
  for (const name of [...names].sort()) {
    events[name] = buckets.map((b) => (b.events as Record<string, number>)[name] ?? 0);
  }
  return { t, alerts, events };
}

/**
 * Adds `GET /` (the overview).
 *
 * @param app The dashboard app.
 * @param deps Store and clock.
 *
 * @example
 * ```ts ignore
 * overviewRoutes(app, deps);
 * ```
 */
export function overviewRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  app.get("/", async (c) => {
    const now = deps.now();
    const range = c.req.query("range") === "7d" ? "7d" : "24h";
    const span = range === "7d" ? 7 * 86_400_000 : 86_400_000;
    const [o, series] = await Promise.all([
      deps.store.overview({
        since: now - 86_400_000,
        now,
        intervalMs: deps.hostIntervalMs,
        top: 8,
        latest: 8,
      }),
      deps.store.series({ since: now - span, until: now, bucketMs: 3600_000 }),
    ]);
    const data = chartData(series);
    const h = o.counts.hosts;
    return c.html(
      <Layout title="Overview" active="/" viewer={viewerOf(c)} refreshS={60}>
        <div class="head">
          <h1>Overview</h1>
          <span class="muted">last 24 hours · refreshes every minute</span>
        </div>
        <div class="stats">
          <Stat label="Events" value={o.counts.events} />
          <Stat label="Alerts" value={o.counts.alerts} href="/alerts?range=24h" />
          <Stat
            label="Critical"
            value={o.counts.critical}
            tone={o.counts.critical ? "critical" : ""}
            href="/alerts?range=24h&severity=critical"
          />
          <Stat
            label="Hosts"
            value={h.ok + h.stale + h.silent + h.unknown}
            href="/hosts"
            sub={
              <>
                <span class="ok">{h.ok} ok</span> · <span class="stale">{h.stale} stale</span>
                {" · "}
                <span class="silent">{h.silent} silent</span>
              </>
            }
          />
        </div>
        <section class="card charts">
          <div class="chart-head">
            <h2>Per hour</h2>
            <nav class="seg">
              <a href="/?range=24h" class={range === "24h" ? "active" : ""}>24 h</a>
              <a href="/?range=7d" class={range === "7d" ? "active" : ""}>7 d</a>
            </nav>
          </div>
          <div class="chart-grid">
            <figure>
              <figcaption>Alerts by severity</figcaption>
              <div
                class="chart"
                id="chart-alerts"
                data-chart="alerts"
                data-series={JSON.stringify({ t: data.t, s: data.alerts })}
              >
              </div>
            </figure>
            <figure>
              <figcaption>Events by category</figcaption>
              <div
                class="chart"
                id="chart-events"
                data-chart="events"
                data-series={JSON.stringify({ t: data.t, s: data.events })}
              >
              </div>
            </figure>
          </div>
          <noscript>
            <p class="muted">The charts need JavaScript; the tables below do not.</p>
          </noscript>
        </section>
        <div class="grid3">
          <Card title="Top rules">
            <TopList rows={o.topRules} href={(k) => `/alerts?range=24h&rule=${seg(k)}`} />
          </Card>
          <Card title="Top hosts">
            <TopList rows={o.topHosts} href={(k) => `/hosts/${seg(k)}`} />
          </Card>
          <Card title="Failed SSH logins by source">
            <TopList rows={o.topFailedSources} href={(k) => `/auth?src=${seg(k)}`} />
          </Card>
        </div>
        <Card title="Latest critical alerts">
          <AlertTable rows={o.latestCritical} compact />
        </Card>
      </Layout>,
    );
  });
}
