/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * Live tail: new events as they are stored, pushed over Server-Sent Events,
 * with the filter language of `sluice tail` (categories, severity, host).
 * Each message carries the store's cursor as its event id, so a paused or
 * dropped stream resumes where it stopped (the page's script keeps the last
 * id; EventSource sends it back as `Last-Event-ID` when it reconnects).
 *
 * @module
 */

import type { Hono } from "../../core/_deps/hono.ts";
import { SIEM_CATEGORIES } from "../../siem/categorize.ts";
import type { TailFilter } from "../../store/types.ts";
import { Layout } from "../components/layout.tsx";
import { type UiDeps, type UiEnv, viewerOf } from "../context.ts";
import { tailLine } from "../event_text.ts";
import { parseTailFilter, SEVERITIES } from "../filters.ts";

/** Live tails open at once, at most; more get 503. */
const _MAX_STREAMS = 16;

function _sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Adds `GET /tail` (the page) and `GET /tail/stream` (the event stream).
 *
 * @param app The dashboard app.
 * @param deps Store, poll interval, stop signal.
 *
 * @example
 * ```ts ignore
 * tailRoutes(app, deps);
 * ```
 */
export function tailRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  let open = 0;

  app.get("/tail", (c) => {
    const { form } = parseTailFilter(new URL(c.req.url).searchParams);
    const q = new URLSearchParams();
    for (const cat of form.categories) q.append("category", cat);
    if (form.severity) q.set("severity", form.severity);
    if (form.host) q.set("host", form.host);
    return c.html(
      <Layout title="Live tail" active="/tail" viewer={viewerOf(c)}>
        <div class="head">
          <h1>Live tail</h1>
          <span class="live" id="tail-state">connecting…</span>
          <span class="spacer"></span>
          <button type="button" id="tail-pause" class="ghost js-only">Pause</button>
          <button type="button" id="tail-clear" class="ghost js-only">Clear</button>
        </div>
        <form method="get" action="/tail" class="filters card">
          <fieldset class="cats">
            <legend>Categories (none: all but heartbeats)</legend>
            {SIEM_CATEGORIES.map((cat) => (
              <label class="check">
                <input
                  type="checkbox"
                  name="category"
                  value={cat}
                  checked={form.categories.includes(cat)}
                />
                {cat}
              </label>
            ))}
          </fieldset>
          <label>
            Severity
            <select name="severity">
              <option value="">any</option>
              {SEVERITIES.map((s) => <option value={s} selected={form.severity === s}>{s}</option>)}
            </select>
          </label>
          <label>
            Host <input name="host" value={form.host} placeholder="exact" />
          </label>
          <div class="actions">
            <button type="submit">Apply</button>
          </div>
        </form>
        <section class="card flush">
          <noscript>
            <p class="empty">The live tail needs JavaScript; `sluice tail` works in a terminal.</p>
          </noscript>
          <ol id="tail" class="tail" data-stream={`/tail/stream?${q.toString()}`}></ol>
        </section>
      </Layout>,
    );
  });

  app.get("/tail/stream", async (c) => {
    if (open >= _MAX_STREAMS) return c.text("Too many live tails open", 503);
    const { filter } = parseTailFilter(new URL(c.req.url).searchParams);
    // An automatic reconnect sends the last id it saw; it wins over the URL's older cursor.
    const given = c.req.header("last-event-id") || c.req.query("cursor");
    let cursor: string;
    try {
      cursor = given
        ? (await deps.store.tailRead(given, filter, 1), given)
        : await deps.store.tailStart(filter);
    } catch {
      cursor = await deps.store.tailStart(filter);
    }
    const stop = AbortSignal.any([c.req.raw.signal, deps.signal]);
    const encoder = new TextEncoder();
    open++;
    let released = false;
    const release = () => {
      if (!released) open--;
      released = true;
    };
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (text: string) => controller.enqueue(encoder.encode(text));
        // The id lets a reconnect resume here even before any row arrived.
        send(`retry: 2000\nid: ${cursor}\nevent: ready\ndata: {}\n\n`);
        let idle = 0;
        try {
          while (!stop.aborted) {
            const batch = await _read(deps, cursor, filter);
            cursor = batch.cursor;
            if (batch.rows.length) {
              idle = 0;
              const lines = batch.rows.map(tailLine);
              send(`id: ${cursor}\nevent: rows\ndata: ${JSON.stringify(lines)}\n\n`);
              continue;
            }
            if ((idle += deps.tailPollMs) >= 15_000) {
              idle = 0;
              send(": ping\n\n");
            }
            await _sleep(deps.tailPollMs, stop);
          }
        } catch {
          // The client went away (enqueue on a closed stream) or the store closed.
        } finally {
          release();
          try {
            controller.close();
          } catch {
            // Already closed by a cancel.
          }
        }
      },
      cancel() {
        release();
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  });
}

async function _read(deps: UiDeps, cursor: string, filter: TailFilter) {
  try {
    return await deps.store.tailRead(cursor, filter, 200);
  } catch (err) {
    if (err instanceof RangeError) {
      return { rows: [], cursor: await deps.store.tailStart(filter) };
    }
    throw err;
  }
}
