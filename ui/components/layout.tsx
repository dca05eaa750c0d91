/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * The page frame: head (stylesheet and script served by sluice, nothing
 * inline), the navigation bar and the signed-in user with a log-out form.
 *
 * @module
 */

import type { Child } from "../../core/_deps/hono_jsx.ts";
import { raw } from "../../core/_deps/hono_html.ts";
import type { UserRole } from "../../store/types.ts";

/** Who is looking at a page, for the frame and for forms. */
export interface Viewer {
  /** The user's name. */
  user: string;
  /** The user's role. */
  role: UserRole;
  /** The session's CSRF token, put in every form that changes something. */
  csrf: string;
}

/** One entry of the navigation bar. */
export interface NavItem {
  /** The link. */
  href: string;
  /** The label. */
  label: string;
  /** Not built yet: shown greyed out, naming the issue. */
  soon?: string;
  /** Shown to admins only (the page answers others 403). */
  admin?: boolean;
}

/**
 * The navigation bar. Other pages add their entry here; `soon` greys out
 * one not built yet.
 */
export const NAV: NavItem[] = [
  { href: "/", label: "Overview" },
  { href: "/alerts", label: "Alerts" },
  { href: "/hosts", label: "Hosts" },
  { href: "/auth", label: "Auth" },
  { href: "/firewall", label: "Firewall" },
  { href: "/tail", label: "Live tail" },
  { href: "/monitored", label: "Monitored hosts" },
  { href: "/responses", label: "Responses" },
  { href: "/users", label: "Users", admin: true },
];

/** Properties of {@linkcode Layout}. */
export interface LayoutProps {
  /** The page title. */
  title: string;
  /** The nav entry to highlight (its href). */
  active?: string;
  /** Who is signed in; the login page has nobody. */
  viewer?: Viewer;
  /** Reload the page every this many seconds (the overview). */
  refreshS?: number;
  /** The page. */
  children?: Child;
}

/**
 * The page frame.
 *
 * @param props Title, active entry, viewer, page.
 * @returns The whole document.
 *
 * @example
 * ```tsx
 * import { Layout } from "./layout.tsx";
 * const page = <Layout title="Hello"><p>hi</p></Layout>;
 * ```
 */
export function Layout(props: LayoutProps): Child {
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          {props.refreshS ? <meta http-equiv="refresh" content={String(props.refreshS)} /> : null}
          <title>{props.title} · sluice</title>
          <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
          <link rel="stylesheet" href="/assets/uplot.css" />
          <link rel="stylesheet" href="/assets/app.css" />
          <script src="/assets/uplot.js" defer></script>
          <script src="/assets/app.js" defer></script>
        </head>
        <body>
          {props.viewer
            ? (
              <header class="top">
                <a class="brand" href="/">
                  <span class="logo">◆</span> sluice
                </a>
                <nav>
                  {NAV.filter((item) => !item.admin || props.viewer?.role === "admin").map((
                    item,
                  ) =>
                    item.soon
                      ? <span class="soon" title={`coming with ${item.soon}`}>{item.label}</span>
                      : (
                        <a href={item.href} class={props.active === item.href ? "active" : ""}>
                          {item.label}
                        </a>
                      )
                  )}
                </nav>
                <form method="post" action="/logout" class="who">
                  <a href="/account" title="your account: change your password">
                    {props.viewer.user} <small>{props.viewer.role}</small>
                  </a>
                  <input type="hidden" name="_csrf" value={props.viewer.csrf} />
                  <button type="submit" class="link">Log out</button>
                </form>
              </header>
            )
            : null}
          <main>{props.children}</main>
        </body>
      </html>
    </>
  );
}
