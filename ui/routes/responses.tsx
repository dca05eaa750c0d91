/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * Active response in the dashboard: the decisions (who was blocked where,
 * why, until when, in what state) and, for admins while active response
 * runs in this process, a form to block an address and a button to lift
 * each live block. The address typed into the form is parsed like one from
 * a log line (respond/address.ts); nothing the page sends reaches a shell.
 *
 * @module
 */

import type { Hono } from "../../core/_deps/hono.ts";
import { Card, Empty, Time } from "../components/bits.tsx";
import { Layout } from "../components/layout.tsx";
import { type UiDeps, type UiEnv, viewerOf } from "../context.ts";
import { parseDuration } from "../../core/duration.ts";
import { OPEN_STATES } from "../../respond/decisions.ts";

const _OPEN = new Set<string>(OPEN_STATES);

/**
 * Adds `GET /responses`, `POST /responses/block` and
 * `POST /responses/:id/unblock` (admins only).
 *
 * @param app The dashboard app.
 * @param deps Store, clock and the responder, when active response runs here.
 *
 * @example
 * ```ts ignore
 * responsesRoutes(app, deps);
 * ```
 */
export function responsesRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  app.get("/responses", (c) => {
    const viewer = viewerOf(c);
    const responder = deps.respond?.();
    const rows = responder ? responder.table.recent(200) : [];
    const hosts = responder ? responder.hosts() : [];
    const message = c.req.query("msg");
    return c.html(
      <Layout title="Responses" active="/responses" viewer={viewer}>
        <div class="head">
          <h1>Responses</h1>
          <span class="spacer"></span>
          {responder
            ? <span class={`pill mode-${responder.mode}`}>active response: {responder.mode}</span>
            : null}
        </div>
        {message ? <p class="notice">{message.slice(0, 300)}</p> : null}
        {!responder
          ? (
            <Empty>
              Active response does not run in this process (the central's --respond is off, or this
              is `sluice ui`). `sluice respond list` reads the decisions.
            </Empty>
          )
          : null}
        {responder && viewer.role === "admin"
          ? (
            <Card title="Block an address">
              <form method="post" action="/responses/block" class="inline">
                <input type="hidden" name="_csrf" value={viewer.csrf} />
                <label>
                  Address or network{" "}
                  <input name="target" required maxlength={49} placeholder="203.0.113.7" />
                </label>
                <label>
                  Where{" "}
                  <select name="host">
                    {hosts.map((h) => <option value={h}>{h}</option>)}
                  </select>
                </label>
                <label>
                  For <input name="for" value="1h" size={5} maxlength={12} />
                </label>
                <label>
                  Reason <input name="reason" maxlength={200} />
                </label>
                <button type="submit">Block</button>
              </form>
            </Card>
          )
          : null}
        {responder
          ? (
            <Card title="Decisions" class="flush">
              {rows.length
                ? (
                  <table>
                    <thead>
                      <tr>
                        <th>#</th>
                        <th>Target</th>
                        <th>Where</th>
                        <th>State</th>
                        <th>Made</th>
                        <th>Until</th>
                        <th>Rule</th>
                        <th>By</th>
                        <th>Reason</th>
                        <th></th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((d) => (
                        <tr>
                          <td class="num">{d.id}</td>
                          <td>
                            <code>{d.target}</code>
                          </td>
                          <td>{d.host}</td>
                          <td>
                            <span class={`st-${d.state}`} title={d.result}>{d.state}</span>
                          </td>
                          <td class="nowrap">
                            <Time iso={d.createdAt} />
                          </td>
                          <td class="nowrap">
                            <Time iso={d.until} />
                          </td>
                          <td>{d.rule}</td>
                          <td>{d.by}</td>
                          <td class="msg">{d.reason}</td>
                          <td>
                            {viewer.role === "admin" && _OPEN.has(d.state)
                              ? (
                                <form method="post" action={`/responses/${d.id}/unblock`}>
                                  <input type="hidden" name="_csrf" value={viewer.csrf} />
                                  <button type="submit" class="ghost">Unblock</button>
                                </form>
                              )
                              : null}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )
                : <Empty>No decisions yet.</Empty>}
            </Card>
          )
          : null}
      </Layout>,
    );
  });

  app.post("/responses/block", async (c) => {
    if (c.get("role") !== "admin") return c.text("Forbidden: viewers cannot block", 403);
    const responder = deps.respond?.();
    if (!responder) return c.text("Conflict: active response does not run in this process", 409);
    const form = await c.req.parseBody();
    const text = (k: string) => (typeof form[k] === "string" ? (form[k] as string).trim() : "");
    const host = text("host") || "local";
    if (!responder.hosts().includes(host)) {
      return c.text(`Bad request: no firewall for "${host.slice(0, 50)}"`, 400);
    }
    const ms = parseDuration(text("for") || "1h");
    if (ms === undefined || ms < 1000) {
      return c.text('Bad request: "for" must be a duration like 30m or 1h', 400);
    }
    const r = await responder.decide({
      target: text("target"),
      host,
      reason: text("reason").slice(0, 200) || "blocked from the dashboard",
      rule: "operator",
      by: c.get("session").user,
      durationSec: ms / 1000,
    });
    const msg = r.outcome === "refused"
      ? `Refused: ${r.reason}`
      : r.outcome === "new" || r.outcome === "existing"
      ? `${
        r.outcome === "existing" ? "Already " : ""
      }${r.decision.state}: ${r.decision.target} on ${r.decision.host}`
      : r.outcome;
    return c.redirect(`/responses?msg=${encodeURIComponent(msg)}`, 303);
  });

  app.post("/responses/:id{[0-9]{1,12}}/unblock", async (c) => {
    if (c.get("role") !== "admin") return c.text("Forbidden: viewers cannot unblock", 403);
    const responder = deps.respond?.();
    if (!responder) return c.text("Conflict: active response does not run in this process", 409);
    const done = await responder.revoke(Number(c.req.param("id")), c.get("session").user);
    const msg = done.length
      ? `Unblocked ${done[0]?.target} on ${done[0]?.host}`
      : "Nothing live to unblock";
    return c.redirect(`/responses?msg=${encodeURIComponent(msg)}`, 303);
  });
}
