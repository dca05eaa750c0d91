/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * Hosts: status from the last sighting and heartbeat interval (and, for
 * hosts the agentless collector dials, whether it reached them and why
 * not), last seen, services, alerts; and a page per host with its activity
 * chart, timeline, recent alerts, auth events and objects, each object
 * linked to the host's alerts that name its SHA-256.
 *
 * @module
 */

import type { Hono } from "../../core/_deps/hono.ts";
import { Card, Empty, seg, Severity, Status, Time } from "../components/bits.tsx";
import { AlertTable } from "../components/alert_table.tsx";
import { Layout } from "../components/layout.tsx";
import { type UiDeps, type UiEnv, viewerOf } from "../context.ts";
import { eventText } from "../event_text.ts";
import { chartData } from "./overview.tsx";
import type { Child } from "../../core/_deps/hono_jsx.ts";
import type { HostRow } from "../../store/types.ts";

/** What the agentless collector found when it last dialled the host; nothing for agents. */
function Reach(props: { host: HostRow }): Child {
  const h = props.host;
  if (h.reach === null) return null;
  const title = h.reach_at ? `recorded ${h.reach_at}` : undefined;
  return h.reach === "ok"
    ? <span class="badge st-ok" title={title}>reachable</span>
    : (
      <span class="reach" title={title}>
        <span class="badge st-failure">{h.reach}</span>{" "}
        {h.reach_reason ? <small class="muted">{h.reach_reason}</small> : null}
      </span>
    );
}

function _interval(s: number | null): string {
  if (s === null) return "—";
  return s >= 120 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`;
}

/**
 * Adds `GET /hosts` and `GET /hosts/:name`.
 *
 * @param app The dashboard app.
 * @param deps Store and clock.
 *
 * @example
 * ```ts ignore
 * hostsRoutes(app, deps);
 * ```
 */
export function hostsRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  app.get("/hosts", async (c) => {
    const now = deps.now();
    const hosts = await deps.store.hosts({
      now,
      intervalMs: deps.hostIntervalMs,
      since: now - 86_400_000,
    });
    return c.html(
      <Layout title="Hosts" active="/hosts" viewer={viewerOf(c)}>
        <div class="head">
          <h1>Hosts</h1>
          <span class="muted">{hosts.length} known · alerts in the last 24 h</span>
        </div>
        <section class="card flush">
          {hosts.length === 0 ? <Empty>No host has reported yet.</Empty> : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Host</th>
                    <th>Status</th>
                    <th>Last seen</th>
                    <th>Heartbeat</th>
                    <th>Address</th>
                    <th>Version</th>
                    <th>Services</th>
                    <th class="num">Alerts</th>
                  </tr>
                </thead>
                <tbody>
                  {hosts.map((h) => (
                    <tr>
                      <td>
                        <a href={`/hosts/${seg(h.host)}`}>
                          <b>{h.host}</b>
                        </a>
                      </td>
                      <td>
                        <Status value={h.status} /> <Reach host={h} />
                      </td>
                      <td class="nowrap">
                        <Time iso={h.last_seen} />
                      </td>
                      <td>{_interval(h.interval_s)}</td>
                      <td>{h.source_ip ?? "—"}</td>
                      <td>{h.version ?? "—"}</td>
                      <td class="tags">{h.services.map((s) => <span class="tag">{s}</span>)}</td>
                      <td class="num">
                        {h.alerts
                          ? <a href={`/alerts?range=24h&host=${seg(h.host)}`}>{h.alerts}</a>
                          : 0}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </Layout>,
    );
  });

  app.get("/hosts/:name", async (c) => {
    const name = c.req.param("name").slice(0, 200);
    const now = deps.now();
    const [detail, series] = await Promise.all([
      deps.store.host(name, { now, intervalMs: deps.hostIntervalMs, limit: 20 }),
      deps.store.series({ since: now - 86_400_000, until: now, bucketMs: 3600_000, host: name }),
    ]);
    if (!detail) return c.notFound();
    const h = detail.host;
    // The other way of the alert detail's samples: this host's alerts that name each object's
    // hash (alerts.hash has no index; the host's own alerts are a short read).
    const hashes = detail.objects.map((o) => o.sha256?.toLowerCase() ?? "").filter((x) =>
      /^[0-9a-f]{64}$/.test(x)
    );
    const named = new Map(
      (await deps.store.alertsForHashes(hashes, { host: h.host })).map((r) => [r.sha256, r.alerts]),
    );
    const data = chartData(series);
    return c.html(
      <Layout title={h.host} active="/hosts" viewer={viewerOf(c)}>
        <div class="head">
          <a href="/hosts" class="muted">← Hosts</a>
          <h1>{h.host}</h1>
          <Status value={h.status} /> <Reach host={h} />
          <span class="muted">
            last seen <Time iso={h.last_seen} /> · heartbeat {_interval(h.interval_s)}
            {h.source_ip ? ` · ${h.source_ip}` : ""}
            {h.version ? ` · sluice ${h.version}` : ""}
          </span>
        </div>
        <div class="tags">{h.services.map((s) => <span class="tag">{s}</span>)}</div>
        <section class="card charts">
          <div class="chart-grid">
            <figure>
              <figcaption>Alerts per hour, 24 h</figcaption>
              <div
                class="chart small"
                data-chart="alerts"
                data-series={JSON.stringify({ t: data.t, s: data.alerts })}
              >
              </div>
            </figure>
            <figure>
              <figcaption>Events per hour, 24 h</figcaption>
              <div
                class="chart small"
                data-chart="events"
                data-series={JSON.stringify({ t: data.t, s: data.events })}
              >
              </div>
            </figure>
          </div>
        </section>
        <Card title="Recent alerts">
          <AlertTable rows={detail.alerts.slice(0, 12)} compact />
        </Card>
        <div class="grid2">
          <Card title="Timeline">
            {detail.timeline.length
              ? (
                <ol class="timeline">
                  {detail.timeline.map((e) => (
                    <li>
                      <Time iso={e.time} />{" "}
                      <span class={`cat cat-${e.category}`}>{e.category}</span>
                      {e.values.severity !== undefined && e.values.severity !== null
                        ? <Severity value={e.values.severity} />
                        : null} <span class="msg">{eventText(e)}</span>
                    </li>
                  ))}
                </ol>
              )
              : <Empty>No events.</Empty>}
          </Card>
          <div class="stack">
            <Card title="Auth events">
              {detail.auth.length
                ? (
                  <table>
                    <tbody>
                      {detail.auth.map((a) => (
                        <tr>
                          <td class="nowrap">
                            <Time iso={a.timestamp} />
                          </td>
                          <td>
                            <Status value={a.outcome ?? "?"} />
                          </td>
                          <td>{a.user ?? ""}</td>
                          <td>
                            {a.src_ip ? <a href={`/auth?src=${seg(a.src_ip)}`}>{a.src_ip}</a> : ""}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )
                : <Empty>No auth events.</Empty>}
            </Card>
            <Card title="Objects">
              {detail.objects.length
                ? (
                  <table>
                    <tbody>
                      {detail.objects.map((o) => (
                        <tr>
                          <td class="nowrap">
                            <Time iso={o.synced_at} />
                          </td>
                          <td>{o.kind ?? ""}</td>
                          <td class="msg">
                            <code>{o.path ?? ""}</code>
                          </td>
                          <td class="num">{o.size ?? ""}</td>
                          <td class="num">
                            {o.sha256 && named.get(o.sha256.toLowerCase())
                              ? (
                                <a
                                  href={`/alerts?range=all&host=${seg(h.host)}&text=${
                                    seg(o.sha256.toLowerCase())
                                  }`}
                                  title="this host's alerts that name this SHA-256"
                                >
                                  {named.get(o.sha256.toLowerCase())} alerts
                                </a>
                              )
                              : <span class="muted">no alerts</span>}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )
                : <Empty>No objects.</Empty>}
            </Card>
          </div>
        </div>
      </Layout>,
    );
  });
}
