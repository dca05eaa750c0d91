/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * SSH logins: failed and successful by source address, the user names
 * tried, and the latest events (of one source address when `?src=` is given).
 *
 * @module
 */

import type { Hono } from "../../core/_deps/hono.ts";
import { Card, Empty, seg, Status, Time } from "../components/bits.tsx";
import { Layout } from "../components/layout.tsx";
import { type UiDeps, type UiEnv, viewerOf } from "../context.ts";
import { RANGES } from "../filters.ts";

/**
 * The range selector shared by the auth and firewall pages.
 *
 * @param props The page, the chosen range and hidden values to keep.
 * @returns A GET form.
 *
 * @example
 * ```tsx
 * import { RangeForm } from "./auth.tsx";
 * const f = <RangeForm action="/auth" range="24h" />;
 * ```
 */
export function RangeForm(
  props: { action: string; range: string; keep?: Record<string, string> },
) {
  return (
    <form method="get" action={props.action} class="inline">
      {Object.entries(props.keep ?? {}).map(([k, v]) =>
        v ? <input type="hidden" name={k} value={v} /> : null
      )}
      <select name="range">
        {Object.keys(RANGES).map((r) => (
          <option value={r} selected={props.range === r}>
            {r === "all" ? "all time" : `last ${r}`}
          </option>
        ))}
      </select>
      <button type="submit" class="ghost">Show</button>
    </form>
  );
}

/**
 * Reads `?range=` into a time range.
 *
 * @param value The query value.
 * @param now "Now", ms.
 * @returns The chosen key and the `since` bound.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rangeOf } from "./auth.tsx";
 * assert.deepEqual(rangeOf("1h", 3600000), { range: "1h", filter: { since: 0 } });
 * ```
 */
export function rangeOf(
  value: string | undefined,
  now: number,
): { range: string; filter: { since?: number } } {
  const range = value && value in RANGES ? value : "24h";
  const span = RANGES[range] ?? 0;
  return { range, filter: span ? { since: now - span } : {} };
}

/**
 * Adds `GET /auth`.
 *
 * @param app The dashboard app.
 * @param deps Store and clock.
 *
 * @example
 * ```ts ignore
 * authRoutes(app, deps);
 * ```
 */
export function authRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  app.get("/auth", async (c) => {
    const { range, filter } = rangeOf(c.req.query("range"), deps.now());
    const src = (c.req.query("src") ?? "").trim().slice(0, 100);
    const [sources, users, events] = await Promise.all([
      deps.store.authSources({ ...filter, limit: 25 }),
      deps.store.authUsers({ ...filter, limit: 25 }),
      deps.store.authEvents({ ...filter, limit: 50, ...(src ? { srcIp: src } : {}) }),
    ]);
    return c.html(
      <Layout title="Auth" active="/auth" viewer={viewerOf(c)}>
        <div class="head">
          <h1>SSH logins</h1>
          <span class="spacer"></span>
          <RangeForm action="/auth" range={range} keep={{ src }} />
        </div>
        <div class="grid2">
          <Card title="By source address" class="flush">
            {sources.length
              ? (
                <table>
                  <thead>
                    <tr>
                      <th>Source</th>
                      <th class="num">Failed</th>
                      <th class="num">OK</th>
                      <th class="num">Users</th>
                      <th class="num">Hosts</th>
                      <th>Last</th>
                    </tr>
                  </thead>
                  <tbody>
                    {sources.map((s) => (
                      <tr class={s.failures > 0 && s.successes > 0 ? "warn" : ""}>
                        <td>
                          <a href={`/auth?range=${range}&src=${seg(s.src_ip)}`}>{s.src_ip}</a>
                        </td>
                        <td class="num bad">{s.failures}</td>
                        <td class="num good">{s.successes}</td>
                        <td class="num">{s.users}</td>
                        <td class="num">{s.hosts}</td>
                        <td class="nowrap">
                          <Time iso={s.last} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )
              : <Empty>No logins in this range.</Empty>}
          </Card>
          <Card title="User names tried" class="flush">
            {users.length
              ? (
                <table>
                  <thead>
                    <tr>
                      <th>User</th>
                      <th class="num">Failed</th>
                      <th class="num">OK</th>
                      <th class="num">Invalid</th>
                      <th class="num">Sources</th>
                      <th>Last</th>
                    </tr>
                  </thead>
                  <tbody>
                    {users.map((u) => (
                      <tr>
                        <td>{u.user}</td>
                        <td class="num bad">{u.failures}</td>
                        <td class="num good">{u.successes}</td>
                        <td class="num">{u.invalid}</td>
                        <td class="num">{u.sources}</td>
                        <td class="nowrap">
                          <Time iso={u.last} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )
              : <Empty>No user names.</Empty>}
          </Card>
        </div>
        <Card title={src ? `Latest events from ${src}` : "Latest events"} class="flush">
          {events.length
            ? (
              <table>
                <thead>
                  <tr>
                    <th>Time</th>
                    <th>Host</th>
                    <th>Outcome</th>
                    <th>User</th>
                    <th>Source</th>
                    <th>Method</th>
                  </tr>
                </thead>
                <tbody>
                  {events.map((e) => (
                    <tr>
                      <td class="nowrap">
                        <Time iso={e.timestamp} />
                      </td>
                      <td>{e.host ? <a href={`/hosts/${seg(e.host)}`}>{e.host}</a> : ""}</td>
                      <td>
                        <Status value={e.outcome ?? "?"} />
                      </td>
                      <td>
                        {e.user ?? ""}
                        {e.invalid_user ? <small class="muted">invalid</small> : null}
                      </td>
                      <td>{e.src_ip ?? ""}{e.port ? `:${e.port}` : ""}</td>
                      <td>{e.method ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
            : <Empty>No events.</Empty>}
        </Card>
      </Layout>,
    );
  });
}
