/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * Monitored hosts: the agentless collector's registry (`monitored_hosts`,
 * what `sluice hosts add|list|remove|accept-key` manages) beside what the
 * collector last found (`vms` status, reason, last seen). Admins add,
 * remove and pin host keys here; the running source picks changes up at its
 * next poll, without a restart. Every value goes through the registry's own
 * checks, plus stricter ones for what a form can send.
 *
 * @module
 */

import type { Hono } from "../../core/_deps/hono.ts";
import type { Child } from "../../core/_deps/hono_jsx.ts";
import type { DatabaseSync } from "node:sqlite";
import { Card, Empty, Status, Time } from "../components/bits.tsx";
import { Layout, type Viewer } from "../components/layout.tsx";
import { type UiDeps, type UiEnv, viewerOf } from "../context.ts";
import {
  acceptHostKey,
  addMonitoredHost,
  listMonitoredHosts,
  type MonitoredHost,
  openHostRegistry,
  removeMonitoredHost,
  type SshJournalHost,
} from "../../sources/_ssh_journal_registry.ts";
import { openSqliteReadOnly } from "../../store/sqlite.ts";
import type { HostRow } from "../../store/types.ts";

// Stricter than the registry: what a browser form may put into an SSH login.
const _ADDRESS = /^(?:[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[?[0-9A-Fa-f:.]{2,45}\]?)$/;
const _USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const _UNIT = /^[A-Za-z0-9@_.:\\-]{1,255}$/;

/** Reads the registry without creating its table (a GET changes nothing). */
function _list(database: string): MonitoredHost[] {
  const db = openSqliteReadOnly(database);
  try {
    const table = db.prepare(
      `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'monitored_hosts'`,
    ).get();
    return table ? listMonitoredHosts(db) : [];
  } finally {
    db.close();
  }
}

function _write<T>(database: string, fn: (db: DatabaseSync) => T): T {
  const db = openHostRegistry(database);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The form's fields as a host, or a refusal in words. */
function _host(form: Record<string, unknown>): { host: SshJournalHost } | { refused: string } {
  const text = (k: string) => (typeof form[k] === "string" ? (form[k] as string).trim() : "");
  const name = text("name");
  const address = text("address");
  const user = text("user");
  const keyFile = text("key_file");
  const units = text("units").split(/[\s,]+/).filter((u) => u !== "");
  // Left out, it is the name, which the registry checks.
  if (address && !_ADDRESS.test(address)) {
    return { refused: `"address" must be a host name or IP address` };
  }
  if (!_USER.test(user)) return { refused: `"user" must be a user name (letters, digits, _.-)` };
  if (!keyFile.startsWith("/") || /\p{Cc}/u.test(keyFile) || keyFile.length > 1024) {
    return { refused: `"key file" must be an absolute path on the central` };
  }
  const badUnit = units.find((u) => !_UNIT.test(u) || u.startsWith("-"));
  if (badUnit !== undefined) return { refused: `"units" must be systemd unit names` };
  const port = text("port") === "" ? 22 : Number(text("port"));
  const fingerprint = text("fingerprint");
  return {
    host: {
      name,
      address: address || name,
      port,
      user,
      privateKeyFile: keyFile,
      units,
      ...(fingerprint ? { hostKeyFingerprint: fingerprint } : {}),
    },
  };
}

function _back(msg: string): string {
  return `/monitored?msg=${encodeURIComponent(msg.slice(0, 300))}`;
}

function _reach(v: HostRow | undefined): Child {
  if (!v || v.reach === null) return <span class="muted">not tried yet</span>;
  if (v.reach === "ok") return <span class="badge st-ok">reachable</span>;
  return (
    <>
      <span class="badge st-failure">{v.reach}</span>{" "}
      {v.reach_reason ? <small>{v.reach_reason}</small> : null}
    </>
  );
}

function MonitoredRow(props: { h: MonitoredHost; v: HostRow | undefined; viewer: Viewer }): Child {
  const { h, v, viewer } = props;
  const pinned = typeof h.hostKeyFingerprint === "string" ? h.hostKeyFingerprint : undefined;
  return (
    <tr>
      <td>
        <b>{h.name}</b>
      </td>
      <td>
        <code>{`${h.user}@${h.address}:${h.port}`}</code>
      </td>
      <td class="msg">
        <code>{h.privateKeyFile}</code>
      </td>
      <td>{(h.units ?? []).join(", ") || "every unit"}</td>
      <td>
        {pinned ? <code>{pinned}</code> : <span class="muted">none pinned</span>}
        {h.offeredKey
          ? (
            <div>
              offered <code>{h.offeredKey}</code>
            </div>
          )
          : null}
      </td>
      <td>{_reach(v)}</td>
      <td>{v ? <Status value={v.status} /> : <Status value="unknown" />}</td>
      <td class="nowrap">
        <Time iso={v?.last_seen} />
      </td>
      <td>
        {viewer.role === "admin"
          ? (
            <>
              <form method="post" action="/monitored/accept" class="inline">
                <input type="hidden" name="_csrf" value={viewer.csrf} />
                <input type="hidden" name="name" value={h.name} />
                <input
                  name="fingerprint"
                  value={h.offeredKey ?? ""}
                  placeholder="SHA256:…"
                  size={20}
                  maxlength={50}
                />
                <button type="submit" class="ghost">Pin key</button>
              </form>
              <form method="post" action="/monitored/remove" class="inline">
                <input type="hidden" name="_csrf" value={viewer.csrf} />
                <input type="hidden" name="name" value={h.name} />
                <button type="submit" class="ghost">Remove</button>
              </form>
            </>
          )
          : null}
      </td>
    </tr>
  );
}

function AddForm(props: { viewer: Viewer }): Child {
  return (
    <Card title="Add a host">
      <form method="post" action="/monitored/add" class="inline">
        <input type="hidden" name="_csrf" value={props.viewer.csrf} />
        <label>
          Name <input name="name" required maxlength={253} placeholder="vm-7" />
        </label>
        <label>
          Address <input name="address" maxlength={253} placeholder="the name" />
        </label>
        <label>
          Port <input name="port" value="22" size={5} maxlength={5} />
        </label>
        <label>
          User <input name="user" required maxlength={32} placeholder="sluice" />
        </label>
        <label>
          Key file{" "}
          <input name="key_file" required maxlength={1024} placeholder="/etc/sluice/id_ed25519" />
        </label>
        <label>
          Fingerprint <input name="fingerprint" maxlength={50} placeholder="SHA256:…" />
        </label>
        <label>
          Units <input name="units" maxlength={1000} placeholder="ssh.service" />
        </label>
        <button type="submit">Add</button>
      </form>
    </Card>
  );
}

/**
 * Adds `GET /monitored` and, for admins, `POST /monitored/add`,
 * `POST /monitored/remove` and `POST /monitored/accept` (pin a host key).
 * Without `deps.database` the page says so and the posts answer 409.
 *
 * @param app The dashboard app.
 * @param deps Store, clock and the SIEM database's path.
 *
 * @example
 * ```ts ignore
 * monitoredRoutes(app, deps);
 * ```
 */
export function monitoredRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  app.get("/monitored", async (c) => {
    const viewer = viewerOf(c);
    const database = deps.database;
    const hosts = database ? _list(database) : [];
    const now = deps.now();
    const vms = new Map(
      hosts.length
        ? (await deps.store.hosts({
          now,
          intervalMs: deps.hostIntervalMs,
          since: now - 86_400_000,
        }))
          .map((v) => [v.host, v])
        : [],
    );
    const message = c.req.query("msg");
    return c.html(
      <Layout title="Monitored hosts" active="/monitored" viewer={viewer}>
        <div class="head">
          <h1>Monitored hosts</h1>
          <span class="muted">
            {hosts.length} pulled over SSH · changes apply at the collector's next poll
          </span>
        </div>
        {message ? <p class="notice">{message.slice(0, 300)}</p> : null}
        {!database
          ? (
            <Empty>
              This dashboard was started without the SIEM database's path; `sluice hosts list` reads
              the registry.
            </Empty>
          )
          : null}
        {database && viewer.role === "admin" ? <AddForm viewer={viewer} /> : null}
        {database
          ? (
            <Card title="Hosts" class="flush">
              {hosts.length
                ? (
                  <div class="table-wrap">
                    <table>
                      <thead>
                        <tr>
                          <th>Name</th>
                          <th>Login</th>
                          <th>Key file</th>
                          <th>Units</th>
                          <th>Host key</th>
                          <th>Reach</th>
                          <th>Status</th>
                          <th>Last seen</th>
                          <th></th>
                        </tr>
                      </thead>
                      <tbody>
                        {hosts.map((h) => (
                          <MonitoredRow h={h} v={vms.get(h.name)} viewer={viewer} />
                        ))}
                      </tbody>
                    </table>
                  </div>
                )
                : <Empty>No host is pulled over SSH yet.</Empty>}
            </Card>
          )
          : null}
      </Layout>,
    );
  });

  const guard = (role: string, what: string): Response | string => {
    if (role !== "admin") return new Response(`Forbidden: viewers cannot ${what}`, { status: 403 });
    if (!deps.database) {
      return new Response("Conflict: this dashboard was started without the SIEM database", {
        status: 409,
      });
    }
    return deps.database;
  };
  const refused = (err: unknown) =>
    `Refused: ${err instanceof Error ? err.message : String(err)}`.replace(
      /^Refused: hosts \w+: /,
      "Refused: ",
    );

  app.post("/monitored/add", async (c) => {
    const database = guard(c.get("role"), "add hosts");
    if (database instanceof Response) return database;
    const parsed = _host(await c.req.parseBody());
    if ("refused" in parsed) return c.redirect(_back(`Refused: ${parsed.refused}`), 303);
    try {
      _write(database, (db) => addMonitoredHost(db, parsed.host));
    } catch (err) {
      if (!(err instanceof TypeError || err instanceof RangeError)) throw err;
      return c.redirect(_back(refused(err)), 303);
    }
    const pinned = parsed.host.hostKeyFingerprint !== undefined;
    return c.redirect(
      _back(
        `Added ${parsed.host.name}${
          pinned ? "" : " (no key pinned: its first connection is refused; pin the offered key)"
        }`,
      ),
      303,
    );
  });

  app.post("/monitored/remove", async (c) => {
    const database = guard(c.get("role"), "remove hosts");
    if (database instanceof Response) return database;
    const form = await c.req.parseBody();
    const name = typeof form.name === "string" ? form.name.slice(0, 253) : "";
    const done = _write(database, (db) => removeMonitoredHost(db, name));
    return c.redirect(_back(done ? `Removed ${name}` : `No monitored host "${name}"`), 303);
  });

  app.post("/monitored/accept", async (c) => {
    const database = guard(c.get("role"), "pin host keys");
    if (database instanceof Response) return database;
    const form = await c.req.parseBody();
    const name = typeof form.name === "string" ? form.name.slice(0, 253) : "";
    const fp = typeof form.fingerprint === "string" ? form.fingerprint.trim() : "";
    // The fingerprint the admin saw is the one pinned, never an offer made since.
    if (!fp) return c.redirect(_back("Refused: give the fingerprint to pin"), 303);
    try {
      const pinned = _write(database, (db) => acceptHostKey(db, name, fp));
      return c.redirect(_back(`${name}: pinned ${pinned}`), 303);
    } catch (err) {
      return c.redirect(_back(refused(err)), 303);
    }
  });
}
