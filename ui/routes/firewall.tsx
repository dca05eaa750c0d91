/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * Firewall (iptables) events: by source address and by destination port.
 *
 * @module
 */

import type { Hono } from "../../core/_deps/hono.ts";
import { Card, Empty, Time } from "../components/bits.tsx";
import { Layout } from "../components/layout.tsx";
import { type UiDeps, type UiEnv, viewerOf } from "../context.ts";
import { RangeForm, rangeOf } from "./auth.tsx";

/**
 * Adds `GET /firewall`.
 *
 * @param app The dashboard app.
 * @param deps Store and clock.
 *
 * @example
 * ```ts ignore
 * firewallRoutes(app, deps);
 * ```
 */
export function firewallRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  app.get("/firewall", async (c) => {
    const { range, filter } = rangeOf(c.req.query("range"), deps.now());
    const [sources, ports] = await Promise.all([
      deps.store.firewallSources({ ...filter, limit: 30 }),
      deps.store.firewallPorts({ ...filter, limit: 30 }),
    ]);
    return c.html(
      <Layout title="Firewall" active="/firewall" viewer={viewerOf(c)}>
        <div class="head">
          <h1>Firewall</h1>
          <span class="spacer"></span>
          <RangeForm action="/firewall" range={range} />
        </div>
        <div class="grid2">
          <Card title="By source address" class="flush">
            {sources.length
              ? (
                <table>
                  <thead>
                    <tr>
                      <th>Source</th>
                      <th class="num">Events</th>
                      <th class="num">Ports</th>
                      <th class="num">Hosts</th>
                      <th>First</th>
                      <th>Last</th>
                    </tr>
                  </thead>
                  <tbody>
                    {sources.map((s) => (
                      <tr>
                        <td>{s.src}</td>
                        <td class="num">{s.events}</td>
                        <td class="num">{s.ports}</td>
                        <td class="num">{s.hosts}</td>
                        <td class="nowrap">
                          <Time iso={s.first} />
                        </td>
                        <td class="nowrap">
                          <Time iso={s.last} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )
              : <Empty>No firewall events in this range.</Empty>}
          </Card>
          <Card title="By destination port" class="flush">
            {ports.length
              ? (
                <table>
                  <thead>
                    <tr>
                      <th class="num">Port</th>
                      <th>Protocol</th>
                      <th class="num">Events</th>
                      <th class="num">Sources</th>
                    </tr>
                  </thead>
                  <tbody>
                    {ports.map((p) => (
                      <tr>
                        <td class="num">{p.dpt ?? "—"}</td>
                        <td>{p.proto ?? ""}</td>
                        <td class="num">{p.events}</td>
                        <td class="num">{p.sources}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )
              : <Empty>No ports.</Empty>}
          </Card>
        </div>
      </Layout>,
    );
  });
}
