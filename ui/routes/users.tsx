/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * Accounts in the dashboard: `/account`, where anyone signed in changes
 * their own password, and `/users`, where admins add users, change a role,
 * set a password or delete a user (`sluice user` does the same on the CLI).
 *
 * Every change to a user's password or role, and a deletion, ends that
 * user's sessions, so a stolen session cookie stops working:
 *
 * - changing your own password ends **all** your sessions, the one in this
 *   browser too, and starts a fresh one here (a new token in the cookie).
 *   Keeping the current session would keep a thief who copied this very
 *   cookie signed in; the new token keeps the owner signed in.
 * - an admin's change to a user (a password, a role, a deletion) ends all
 *   of that user's sessions; when the admin changes themself that way, they
 *   sign in again.
 *
 * @module
 */

import type { Context, Hono } from "../../core/_deps/hono.ts";
import { deleteCookie, setCookie } from "../../core/_deps/hono_cookie.ts";
import type { UserRole } from "../../store/types.ts";
import { Card, Empty, Time } from "../components/bits.tsx";
import { Layout } from "../components/layout.tsx";
import { type UiDeps, type UiEnv, viewerOf } from "../context.ts";
import { hashPassword, verifyPassword } from "../password.ts";
import type { LoginLimiter } from "../rate_limit.ts";
import { createSession, SESSION_COOKIE, sessionCookieOptions } from "../session.ts";
import { checkPassword, checkRole, checkUserName } from "../users.ts";

/** Options of {@linkcode usersRoutes}. */
export interface UsersRouteOptions {
  /** Cookies get `Secure` (the dashboard is served over TLS). */
  secure: boolean;
  /** Wrong current passwords count as failed logins of the address. */
  limiter: LoginLimiter;
}

const _NAME = "[A-Za-z0-9._@\\-]{1,64}";

function _text(form: Record<string, unknown>, key: string, max = 1000): string {
  const v = form[key];
  return typeof v === "string" ? v.slice(0, max) : "";
}

function _back(path: string, msg: string): string {
  return `${path}?msg=${encodeURIComponent(msg)}`;
}

function _message(c: Context<UiEnv>) {
  const msg = c.req.query("msg");
  return msg ? <p class="notice" role="status">{msg.slice(0, 300)}</p> : null;
}

/**
 * Adds `GET /account`, `POST /account/password`, and for admins `GET
 * /users`, `POST /users`, `POST /users/:name/role`, `POST
 * /users/:name/password` and `POST /users/:name/delete`. Goes after the
 * session and CSRF middleware.
 *
 * @param app The dashboard app.
 * @param deps Store and clock.
 * @param options Cookie security and the limiter of wrong passwords.
 *
 * @example
 * ```ts ignore
 * usersRoutes(app, deps, { secure: false, limiter: loginLimiter() });
 * ```
 */
export function usersRoutes(app: Hono<UiEnv>, deps: UiDeps, options: UsersRouteOptions): void {
  const ui = deps.store.ui;

  /** Ends every session of `name`; when that is the requester, clears their cookie too. */
  const endSessions = async (c: Context<UiEnv>, name: string): Promise<boolean> => {
    await ui.deleteSessionsOf(name);
    const self = name === c.get("session").user;
    if (self) deleteCookie(c, SESSION_COOKIE, { path: "/", secure: options.secure });
    return self;
  };

  app.get("/account", (c) => {
    const viewer = viewerOf(c);
    return c.html(
      <Layout title="Account" active="/account" viewer={viewer}>
        <div class="head">
          <h1>Account</h1>
        </div>
        {_message(c)}
        <Card title={`${viewer.user} (${viewer.role})`}>
          <form method="post" action="/account/password" class="stack narrow">
            <input type="hidden" name="_csrf" value={viewer.csrf} />
            <input
              type="text"
              name="user"
              value={viewer.user}
              autocomplete="username"
              hidden
              readonly
            />
            <label>
              Current password
              <input
                type="password"
                name="current"
                autocomplete="current-password"
                required
              />
            </label>
            <label>
              New password (at least 8 characters)
              <input
                type="password"
                name="password"
                autocomplete="new-password"
                minlength={8}
                required
              />
            </label>
            <label>
              New password again
              <input
                type="password"
                name="again"
                autocomplete="new-password"
                minlength={8}
                required
              />
            </label>
            <p class="muted">
              Changing it signs you out everywhere else: every other browser with a session of yours
              must sign in again.
            </p>
            <div>
              <button type="submit">Change password</button>
            </div>
          </form>
        </Card>
      </Layout>,
    );
  });

  app.post("/account/password", async (c) => {
    const session = c.get("session");
    const form = await c.req.parseBody();
    const address = c.env?.remoteAddr?.hostname ?? "unknown";
    if (!options.limiter.allowed(address, deps.now())) {
      c.header("Retry-After", "300");
      return c.text("Too many wrong passwords; try again later", 429);
    }
    const user = await ui.getUser(session.user);
    if (!user) return c.text("Unauthorized: sign in first", 401);
    if (!(await verifyPassword(_text(form, "current"), user.password_hash))) {
      options.limiter.failed(address, deps.now());
      return c.redirect(_back("/account", "The current password is wrong."), 303);
    }
    const password = _text(form, "password");
    if (password !== _text(form, "again")) {
      return c.redirect(_back("/account", "The new passwords differ."), 303);
    }
    try {
      checkPassword(password);
    } catch (err) {
      return c.redirect(_back("/account", (err as Error).message), 303);
    }
    await ui.updateUser(user.name, { passwordHash: await hashPassword(password) });
    // Every session goes, this one too: a copy of this cookie stops working as well.
    await ui.deleteSessionsOf(user.name);
    const { token } = await createSession(ui, user.name, deps.now());
    setCookie(c, SESSION_COOKIE, token, sessionCookieOptions(options.secure));
    return c.redirect(
      _back("/account", "Password changed; your other sessions have ended."),
      303,
    );
  });

  // Everything below is for admins.
  app.use("/users", async (c, next) => {
    if (c.get("role") !== "admin") return c.text("Forbidden: only admins manage users", 403);
    await next();
  });
  app.use("/users/*", async (c, next) => {
    if (c.get("role") !== "admin") return c.text("Forbidden: only admins manage users", 403);
    await next();
  });

  app.get("/users", async (c) => {
    const viewer = viewerOf(c);
    const users = await ui.listUsers();
    return c.html(
      <Layout title="Users" active="/users" viewer={viewer}>
        <div class="head">
          <h1>Users</h1>
        </div>
        {_message(c)}
        <Card title="Add a user">
          <form method="post" action="/users" class="inline wrap">
            <input type="hidden" name="_csrf" value={viewer.csrf} />
            <label>
              Name <input name="name" required maxlength={64} pattern={_NAME} autocomplete="off" />
            </label>
            <label>
              Role{" "}
              <select name="role">
                <option value="viewer">viewer</option>
                <option value="admin">admin</option>
              </select>
            </label>
            <label>
              Password{" "}
              <input
                type="password"
                name="password"
                required
                minlength={8}
                autocomplete="new-password"
              />
            </label>
            <button type="submit">Add</button>
          </form>
        </Card>
        <Card title="Users" class="flush">
          {users.length
            ? (
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Role</th>
                    <th>Created</th>
                    <th>Set password (ends their sessions)</th>
                    <th></th>
                  </tr>
                </thead>
                <tbody>
                  {users.map((u) => {
                    const base = `/users/${encodeURIComponent(u.name)}`;
                    return (
                      <tr>
                        <td>{u.name}</td>
                        <td>
                          <form method="post" action={`${base}/role`} class="inline">
                            <input type="hidden" name="_csrf" value={viewer.csrf} />
                            <select name="role">
                              <option value="viewer" selected={u.role === "viewer"}>viewer</option>
                              <option value="admin" selected={u.role === "admin"}>admin</option>
                            </select>
                            <button type="submit" class="ghost">Set</button>
                          </form>
                        </td>
                        <td class="nowrap">
                          <Time iso={u.created} />
                        </td>
                        <td>
                          <form method="post" action={`${base}/password`} class="inline">
                            <input type="hidden" name="_csrf" value={viewer.csrf} />
                            <input
                              type="password"
                              name="password"
                              required
                              minlength={8}
                              autocomplete="new-password"
                              aria-label={`new password of ${u.name}`}
                            />
                            <button type="submit" class="ghost">Set</button>
                          </form>
                        </td>
                        <td>
                          <form method="post" action={`${base}/delete`}>
                            <input type="hidden" name="_csrf" value={viewer.csrf} />
                            <button type="submit" class="ghost">Delete</button>
                          </form>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )
            : <Empty>No users.</Empty>}
        </Card>
      </Layout>,
    );
  });

  app.post("/users", async (c) => {
    const form = await c.req.parseBody();
    let name: string, role: UserRole, password: string;
    try {
      name = checkUserName(_text(form, "name", 100));
      role = checkRole(_text(form, "role", 20));
      password = checkPassword(_text(form, "password"));
    } catch (err) {
      return c.redirect(_back("/users", (err as Error).message), 303);
    }
    const added = await ui.addUser({
      name,
      role,
      passwordHash: await hashPassword(password),
      now: deps.now(),
    });
    return c.redirect(
      _back("/users", added ? `Added ${role} "${name}".` : `"${name}" exists.`),
      303,
    );
  });

  app.post(`/users/:name{${_NAME}}/role`, async (c) => {
    const name = c.req.param("name");
    const form = await c.req.parseBody();
    let role: UserRole;
    try {
      role = checkRole(_text(form, "role", 20));
    } catch (err) {
      return c.redirect(_back("/users", (err as Error).message), 303);
    }
    const before = await ui.getUser(name);
    if (!before) return c.notFound();
    if (before.role === role) return c.redirect(_back("/users", `"${name}" is ${role}.`), 303);
    if (before.role === "admin" && await ui.countUsers("admin") <= 1) {
      return c.redirect(_back("/users", `"${name}" is the last admin.`), 303);
    }
    await ui.updateUser(name, { role });
    if (await endSessions(c, name)) return c.redirect("/login", 303);
    return c.redirect(_back("/users", `"${name}" is ${role} now; their sessions ended.`), 303);
  });

  app.post(`/users/:name{${_NAME}}/password`, async (c) => {
    const name = c.req.param("name");
    const form = await c.req.parseBody();
    let password: string;
    try {
      password = checkPassword(_text(form, "password"));
    } catch (err) {
      return c.redirect(_back("/users", (err as Error).message), 303);
    }
    if (!(await ui.getUser(name))) return c.notFound();
    await ui.updateUser(name, { passwordHash: await hashPassword(password) });
    if (await endSessions(c, name)) return c.redirect("/login", 303);
    return c.redirect(_back("/users", `Password of "${name}" set; their sessions ended.`), 303);
  });

  app.post(`/users/:name{${_NAME}}/delete`, async (c) => {
    const name = c.req.param("name");
    const before = await ui.getUser(name);
    if (!before) return c.notFound();
    if (before.role === "admin" && await ui.countUsers("admin") <= 1) {
      return c.redirect(_back("/users", `"${name}" is the last admin.`), 303);
    }
    // The store deletes the user's sessions with the user.
    await ui.deleteUser(name);
    if (await endSessions(c, name)) return c.redirect("/login", 303);
    return c.redirect(_back("/users", `Deleted "${name}".`), 303);
  });
}
