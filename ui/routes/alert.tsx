/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * One alert: every field, the raw event as received, the stored samples
 * with the same SHA-256, and triage (open / acknowledged / closed with a
 * note and who did it). Only admins may triage; the alert row itself is
 * never changed.
 *
 * @module
 */

import type { Hono } from "../../core/_deps/hono.ts";
import { Card, Empty, seg, Severity, Status, Time } from "../components/bits.tsx";
import { Layout } from "../components/layout.tsx";
import { type UiDeps, type UiEnv, viewerOf } from "../context.ts";
import { STATUSES } from "../filters.ts";
import type { TriageStatus } from "../../store/types.ts";

/**
 * Flattens a parsed JSON value into `a.b.c = value` pairs, for display.
 *
 * @param value A parsed JSON value.
 * @param prefix The key so far.
 * @param out Where pairs go.
 * @returns The pairs (at most 200).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flatten } from "./alert.tsx";
 * assert.deepEqual(flatten({ a: { b: 1 }, c: [2] }), [["a.b", "1"], ["c[0]", "2"]]);
 * ```
 */
export function flatten(
  value: unknown,
  prefix = "",
  out: [string, string][] = [],
): [string, string][] {
  if (out.length >= 200) return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (out.length < 200) {
    out.push([prefix, value === null ? "null" : String(value)]);
  }
  return out;
}

function _parse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/**
 * Adds `GET /alerts/:seq` and `POST /alerts/:seq/triage` (admins only).
 *
 * @param app The dashboard app.
 * @param deps Store and clock.
 *
 * @example
 * ```ts ignore
 * alertRoutes(app, deps);
 * ```
 */
export function alertRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  app.get("/alerts/:seq{[0-9]{1,15}}", async (c) => {
    const seq = Number(c.req.param("seq"));
    const detail = await deps.store.alert(seq);
    if (!detail) return c.notFound();
    const a = detail.alert;
    const viewer = viewerOf(c);
    const parsed = _parse(detail.raw);
    const pretty = parsed === undefined ? detail.raw : JSON.stringify(parsed, null, 2);
    const fields: [string, unknown][] = [
      ["time", <Time iso={a.timestamp} />],
      ["severity", <Severity value={a.severity} />],
      ["host", a.host ? <a href={`/hosts/${seg(a.host)}`}>{a.host}</a> : "—"],
      ["rule", a.rule ? <a href={`/alerts?range=all&rule=${seg(a.rule)}`}>{a.rule}</a> : "—"],
      ["message", a.message ?? "—"],
      ["file", a.file ?? "—"],
      ["hash", a.hash ? <code>{a.hash}</code> : "—"],
      ["source", a.source ?? "—"],
      ["event id", a.id ? <code>{a.id}</code> : "—"],
      ["row", String(a.seq)],
      ["status", <Status value={a.status} />],
    ];
    return c.html(
      <Layout title={`Alert ${a.rule ?? a.seq}`} active="/alerts" viewer={viewer}>
        <div class="head">
          <a href="/alerts" class="muted">← Alerts</a>
          <h1>{a.rule ?? "Alert"}</h1>
          <Severity value={a.severity} />
          <Status value={a.status} />
        </div>
        <div class="grid2">
          <Card title="Fields">
            <dl class="fields">
              {fields.map(([k, v]) => (
                <>
                  <dt>{k}</dt>
                  <dd>{v as string}</dd>
                </>
              ))}
              {parsed !== undefined ? <dt class="sep">as received</dt> : null}
              {parsed !== undefined ? <dd class="sep"></dd> : null}
              {parsed !== undefined
                ? flatten(parsed).map(([k, v]) => (
                  <>
                    <dt class="raw-key">{k}</dt>
                    <dd>{v}</dd>
                  </>
                ))
                : null}
            </dl>
          </Card>
          <div class="stack">
            <Card title="Triage">
              {detail.triage.length
                ? (
                  <ol class="history">
                    {detail.triage.map((t) => (
                      <li>
                        <Status value={t.status} /> by <b>{t.by}</b> <Time iso={t.at} />
                        {t.note ? <p class="note">{t.note}</p> : null}
                      </li>
                    ))}
                  </ol>
                )
                : <Empty>Not triaged yet.</Empty>}
              {viewer.role === "admin"
                ? (
                  <form method="post" action={`/alerts/${a.seq}/triage`} class="triage">
                    <input type="hidden" name="_csrf" value={viewer.csrf} />
                    <label>
                      Note <textarea name="note" rows={2} maxlength={2000}></textarea>
                    </label>
                    <div class="actions">
                      {STATUSES.filter((s) => s !== a.status).map((s) => (
                        <button type="submit" name="status" value={s} class={`st-${s}`}>
                          {s === "open" ? "Reopen" : s === "acknowledged" ? "Acknowledge" : "Close"}
                        </button>
                      ))}
                    </div>
                  </form>
                )
                : <p class="muted">Viewers cannot triage.</p>}
            </Card>
            <Card title="Stored samples (same SHA-256)">
              {detail.objects.length
                ? (
                  <table>
                    <tbody>
                      {detail.objects.map((o) => (
                        <tr>
                          <td>
                            <Time iso={o.synced_at} />
                          </td>
                          <td>{o.host ?? ""}</td>
                          <td class="msg">
                            <code>{o.remote ?? o.path ?? ""}</code>
                          </td>
                          <td class="num">{o.size ?? ""}</td>
                          <td>{o.encrypted ? "encrypted" : ""}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )
                : (
                  <Empty>
                    {a.hash ? "No stored object has this hash." : "The alert has no hash."}
                  </Empty>
                )}
            </Card>
          </div>
        </div>
        <Card title="Raw event">
          <pre class="raw">{pretty}</pre>
        </Card>
      </Layout>,
    );
  });

  app.post("/alerts/:seq{[0-9]{1,15}}/triage", async (c) => {
    if (c.get("role") !== "admin") return c.text("Forbidden: viewers cannot triage", 403);
    const seq = Number(c.req.param("seq"));
    const form = await c.req.parseBody();
    const status = form.status;
    if (typeof status !== "string" || !(STATUSES as readonly string[]).includes(status)) {
      return c.text(`Bad request: "status" must be one of ${STATUSES.join(", ")}`, 400);
    }
    if (!(await deps.store.alert(seq))) return c.notFound();
    const note = typeof form.note === "string" ? form.note.trim().slice(0, 2000) : "";
    await deps.store.ui.triage({
      alert: seq,
      status: status as TriageStatus,
      note,
      by: c.get("session").user,
      now: deps.now(),
    });
    return c.redirect(`/alerts/${seq}`, 303);
  });
}
