/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * The alerts page: filters (time range, host, rule, severity, source,
 * text, triage status) in a plain GET form, newest first, keyset paging
 * with the store's cursor, and export of the filtered set as CSV or JSONL.
 *
 * @module
 */

import type { Hono } from "../../core/_deps/hono.ts";
import type { AlertRow } from "../../store/types.ts";
import { AlertTable } from "../components/alert_table.tsx";
import { Layout } from "../components/layout.tsx";
import { type UiDeps, type UiEnv, viewerOf } from "../context.ts";
import {
  alertsSpanning,
  type ArchiveState,
  exportSpanning,
  type SpanPage,
} from "../alerts_span.ts";
import {
  type AlertForm,
  parseAlertFilter,
  queryString,
  RANGES,
  SEVERITIES,
  STATUSES,
} from "../filters.ts";

const _COLUMNS = [
  "seq",
  "timestamp",
  "host",
  "severity",
  "rule",
  "message",
  "file",
  "hash",
  "source",
  "status",
  "id",
] as const;

/**
 * One CSV cell: quoted when needed, and a leading `=`, `+`, `-`, `@`, tab or
 * CR prefixed with `'` so a spreadsheet never runs it as a formula.
 *
 * @param value The value.
 * @returns The cell text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csvCell } from "./alerts.tsx";
 * assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
 * assert.equal(csvCell(3), "3");
 * ```
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n']/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function _csvLine(row: AlertRow): string {
  return _COLUMNS.map((k) => csvCell(row[k])).join(",") + "\r\n";
}

function _Filters(props: { form: AlertForm; sources?: string[] }) {
  const f = props.form;
  return (
    <form method="get" action="/alerts" class="filters card">
      <label>
        Range
        <select name="range">
          {Object.keys(RANGES).map((r) => (
            <option value={r} selected={f.range === r}>
              {r === "all" ? "all time" : `last ${r}`}
            </option>
          ))}
        </select>
      </label>
      <label>
        From (UTC)
        <input type="datetime-local" name="from" value={f.from} />
      </label>
      <label>
        To (UTC)
        <input type="datetime-local" name="to" value={f.to} />
      </label>
      <label>
        Severity
        <select name="severity">
          <option value="">any</option>
          {SEVERITIES.map((s) => <option value={s} selected={f.severity === s}>{s}</option>)}
        </select>
      </label>
      <label>
        Host <input name="host" value={f.host} placeholder="exact" />
      </label>
      <label>
        Rule <input name="rule" value={f.rule} placeholder="exact" />
      </label>
      <label>
        Source <input name="source" value={f.source} placeholder="yara, sauron …" />
      </label>
      <label>
        Status
        <select name="status">
          <option value="">any</option>
          {STATUSES.map((s) => <option value={s} selected={f.status === s}>{s}</option>)}
        </select>
      </label>
      <label class="grow">
        Text <input name="text" value={f.text} placeholder="in rule, message, file, hash, host" />
      </label>
      <div class="actions">
        <button type="submit">Filter</button>
        <a href="/alerts" class="button ghost">Reset</a>
      </div>
    </form>
  );
}

/** What the page says of the archive's part in it. */
function _ArchiveNote(props: { state: ArchiveState }) {
  const s = props.state;
  if (s.kind === "included") {
    return (
      <p class="notice" role="status">
        This range reaches past what the database holds: archived alerts (Parquet, moved by
        --retain-db) are included, newest first with the database's ({s.count} on this page, marked
        {" "}
        <em>archived</em>; they have no detail page or triage).
      </p>
    );
  }
  if (s.kind === "unfiltered") {
    return (
      <p class="notice" role="status">
        Archived alerts are left out: the archive keeps no triage status. Filter without a status to
        include them.
      </p>
    );
  }
  if (s.kind === "failed") {
    return (
      <p class="notice" role="alert">
        The archive could not be read, so only the database's alerts are shown:{" "}
        {s.error.slice(0, 300)}
      </p>
    );
  }
  return null;
}

/**
 * What a page whose text scan stopped at its time budget says: how far it
 * searched, and the link that searches on (in place of the empty table).
 */
function _PartialNote(props: { searchedTo: string; older: string | null; empty: boolean }) {
  const when = `${props.searchedTo.replace("T", " ").replace(/\.\d+Z$|Z$/, "")} UTC`;
  const older = props.older ? <a href={props.older}>Older »</a> : null;
  return (
    <p class="notice partial" role="status">
      {props.empty
        ? <>No match among alerts newer than {when} yet</>
        : <>Searched alerts newer than {when}; older ones not yet</>}
      {older ? <>{" — "}{older}</> : null}
    </p>
  );
}

/** The export's header naming the archive's part: `none`, `included` or `failed: …`. */
function _archiveHeader(s: ArchiveState): string {
  const text = s.kind === "failed" ? `failed: ${s.error}` : s.kind;
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 200);
}

/**
 * Adds `GET /alerts` and `GET /alerts/export`. Both span the database and,
 * for ranges that reach archived days, the Parquet archive (`deps.archiveDir`).
 *
 * @param app The dashboard app.
 * @param deps Store and clock.
 *
 * @example
 * ```ts ignore
 * alertsRoutes(app, deps);
 * ```
 */
export function alertsRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  app.get("/alerts", async (c) => {
    const query = new URL(c.req.url).searchParams;
    const { form, filter } = parseAlertFilter(query, deps.now());
    const cursor = query.get("cursor") ?? undefined;
    let page;
    try {
      page = await alertsSpanning(deps.store, deps.archiveDir, filter, 50, cursor);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      return c.text("Bad request: that page link is not valid; start again from /alerts", 400);
    }
    const qs = queryString(form as unknown as Record<string, string>);
    const older = page.next ? `/alerts?${queryString({ ...form }, { cursor: page.next })}` : null;
    return c.html(
      <Layout title="Alerts" active="/alerts" viewer={viewerOf(c)}>
        <div class="head">
          <h1>Alerts</h1>
          <span class="spacer"></span>
          <a
            class="button ghost"
            href={`/alerts/export?${queryString({ ...form }, { format: "csv" })}`}
          >
            Export CSV
          </a>
          <a
            class="button ghost"
            href={`/alerts/export?${queryString({ ...form }, { format: "jsonl" })}`}
          >
            Export JSONL
          </a>
        </div>
        <_Filters form={form} />
        <_ArchiveNote state={page.archive} />
        {page.partial
          ? (
            <_PartialNote
              searchedTo={page.partial.searchedTo}
              older={older}
              empty={page.rows.length === 0}
            />
          )
          : null}
        <section class="card flush">
          {page.partial && page.rows.length === 0
            ? null
            : <AlertTable rows={page.rows} archived={page.archived} />}
          <div class="pager">
            {cursor ? <a href={`/alerts?${qs}`}>« Newest</a> : <span></span>}
            <span class="muted">{page.rows.length} shown</span>
            {older ? <a href={older}>Older »</a> : <span></span>}
          </div>
        </section>
      </Layout>,
    );
  });

  app.get("/alerts/export", async (c) => {
    const query = new URL(c.req.url).searchParams;
    const { filter } = parseAlertFilter(query, deps.now());
    const jsonl = query.get("format") === "jsonl";
    const encoder = new TextEncoder();
    const pages = exportSpanning(deps.store, deps.archiveDir, filter, 1000)[Symbol.asyncIterator]();
    // The first page is read now, so the header can say whether the archive took part.
    let first: IteratorResult<SpanPage> | undefined = await pages.next();
    const archive = first.done ? { kind: "none" as const } : first.value.archive;
    const rows = {
      async next(): Promise<IteratorResult<AlertRow[]>> {
        const next = first ?? await pages.next();
        first = undefined;
        return next.done
          ? { done: true, value: undefined }
          : { done: false, value: next.value.rows };
      },
      async return() {
        await pages.return?.(undefined);
      },
    };
    let header = !jsonl;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (header) {
          header = false;
          controller.enqueue(encoder.encode(_COLUMNS.join(",") + "\r\n"));
          return;
        }
        try {
          const next = await rows.next();
          if (next.done) return controller.close();
          const text = next.value.map((r) => jsonl ? JSON.stringify(r) + "\n" : _csvLine(r))
            .join("");
          controller.enqueue(encoder.encode(text));
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        await rows.return();
      },
    });
    const stamp = new Date(deps.now()).toISOString().slice(0, 19).replaceAll(":", "");
    return new Response(body, {
      headers: {
        "content-type": jsonl ? "application/x-ndjson; charset=utf-8" : "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="alerts-${stamp}.${jsonl ? "jsonl" : "csv"}"`,
        "x-sluice-archive": _archiveHeader(archive),
      },
    });
  });
}
