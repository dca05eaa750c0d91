/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * Placeholders for pages other issues build: "Monitored hosts" (agentless
 * hosts) and "Responses" (active response). Their engineers replace the
 * route and drop `soon` from the nav entry in components/layout.tsx.
 *
 * @module
 */

import type { Hono } from "../../core/_deps/hono.ts";
import { Empty } from "../components/bits.tsx";
import { Layout } from "../components/layout.tsx";
import { type UiEnv, viewerOf } from "../context.ts";

/**
 * Adds `GET /monitored` as a "not built yet" page.
 *
 * @param app The dashboard app.
 *
 * @example
 * ```ts ignore
 * soonRoutes(app);
 * ```
 */
export function soonRoutes(app: Hono<UiEnv>): void {
  for (const [href, title] of [["/monitored", "Monitored hosts"]]) {
    app.get(href as string, (c) =>
      c.html(
        <Layout title={title as string} viewer={viewerOf(c)}>
          <h1>{title}</h1>
          <Empty>Not built yet.</Empty>
        </Layout>,
      ));
  }
}
