/**
 * The dashboard's static files: its own script and stylesheet, uPlot's
 * (from the npm package, embedded by `ui/assets/vendor_gen.ts`) and an
 * icon. All are modules, so `deno compile` carries them; none is fetched
 * from elsewhere.
 *
 * @module
 */

import type { Hono } from "../core/_deps/hono.ts";
import { APP_CSS } from "./assets/app_css.ts";
import { APP_JS } from "./assets/app_js.ts";
import { UPLOT_CSS, UPLOT_JS } from "./assets/_vendor.ts";
import type { UiEnv } from "./context.ts";

const _FAVICON =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 1l7 7-7 7-7-7z" fill="#38bdf8"/></svg>`;

/** The files by name: content type and text. */
export const ASSETS: Readonly<Record<string, { type: string; body: string }>> = {
  "app.js": { type: "text/javascript; charset=utf-8", body: APP_JS },
  "app.css": { type: "text/css; charset=utf-8", body: APP_CSS },
  "uplot.js": { type: "text/javascript; charset=utf-8", body: UPLOT_JS },
  "uplot.css": { type: "text/css; charset=utf-8", body: UPLOT_CSS },
  "favicon.svg": { type: "image/svg+xml", body: _FAVICON },
};

/**
 * Adds `GET /assets/:file`, open without a session.
 *
 * @param app The dashboard app.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { assetRoutes } from "./assets.ts";
 * const app = new Hono();
 * assetRoutes(app as never);
 * ```
 */
export function assetRoutes(app: Hono<UiEnv>): void {
  app.get("/assets/:file", (c) => {
    const asset = ASSETS[c.req.param("file")];
    if (!asset) return c.text("Not found", 404);
    c.header("Content-Type", asset.type);
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(asset.body);
  });
}
