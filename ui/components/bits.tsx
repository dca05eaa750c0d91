/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * Small pieces the pages share: badges, times, cards, top lists, empty states.
 *
 * @module
 */

import type { Child } from "../../core/_deps/hono_jsx.ts";
import type { TopRow } from "../../store/types.ts";
import { severityClass } from "../../store/severity.ts";

/**
 * A number as `toLocaleString("en")` writes it (`1,234,567`, at most three
 * decimals), without ICU: the first locale-aware call loads V8's ICU number
 * formatter, which added about 4 MB of the binary's pages and 2 MB of native
 * memory to the central's RSS (measured in a process like the central's).
 *
 * @param n The number.
 * @returns Its digits in groups of three, comma-separated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grouped } from "./bits.tsx";
 * assert.equal(grouped(1234567), "1,234,567");
 * assert.equal(grouped(-1234.5), "-1,234.5");
 * ```
 */
export function grouped(n: number): string {
  const abs = Math.abs(n);
  if (!Number.isFinite(n) || abs >= 1e21) return n.toLocaleString("en");
  // Rounded half up on the shortest decimal text, as ICU does (not on the binary value).
  const text = abs < 1e-6 ? "0" : String(abs);
  const [int = "0", frac = ""] = text.split(".");
  const scaled = BigInt(int + frac.slice(0, 3).padEnd(3, "0")) +
    ((frac[3] ?? "0") >= "5" ? 1n : 0n);
  const digits = String(scaled / 1000n).replace(/\B(?=(\d{3})+$)/g, ",");
  const rest = String(scaled % 1000n).padStart(3, "0").replace(/0+$/, "");
  return `${n < 0 || Object.is(n, -0) ? "-" : ""}${digits}${rest ? `.${rest}` : ""}`;
}

/**
 * A time as `2026-11-23 08:48:00` (UTC), with the full ISO text on hover.
 *
 * @param props The ISO time.
 * @returns A `<time>` element.
 *
 * @example
 * ```tsx
 * import { Time } from "./bits.tsx";
 * const t = <Time iso="2026-11-23T08:48:00.000Z" />;
 * ```
 */
export function Time(props: { iso: string | null | undefined }): Child {
  if (!props.iso) return <span class="muted">—</span>;
  const short = props.iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "");
  return <time datetime={props.iso} title={`${props.iso} (UTC)`}>{short}</time>;
}

/**
 * A severity badge coloured by class.
 *
 * @param props The severity as stored.
 * @returns A badge.
 *
 * @example
 * ```tsx
 * import { Severity } from "./bits.tsx";
 * const b = <Severity value="crit" />;
 * ```
 */
export function Severity(props: { value: string | number | null | undefined }): Child {
  if (props.value === null || props.value === undefined || props.value === "") {
    return <span class="muted">—</span>;
  }
  const cls = severityClass(props.value) ?? "other";
  return <span class={`badge sev-${cls}`}>{String(props.value)}</span>;
}

/**
 * A status badge (triage or host status).
 *
 * @param props The status.
 * @returns A badge.
 *
 * @example
 * ```tsx
 * import { Status } from "./bits.tsx";
 * const b = <Status value="acknowledged" />;
 * ```
 */
export function Status(props: { value: string }): Child {
  return <span class={`badge st-${props.value.replace(/[^a-z]/g, "")}`}>{props.value}</span>;
}

/**
 * A titled card.
 *
 * @param props Title, optional class, content.
 * @returns A section.
 *
 * @example
 * ```tsx
 * import { Card } from "./bits.tsx";
 * const c = <Card title="Top rules"><p>none</p></Card>;
 * ```
 */
export function Card(props: { title: string; class?: string; children?: Child }): Child {
  return (
    <section class={`card ${props.class ?? ""}`}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

/**
 * A ranked list with proportional bars; each key links somewhere.
 *
 * @param props Rows and how a key links.
 * @returns A list.
 *
 * @example
 * ```tsx
 * import { TopList } from "./bits.tsx";
 * const l = <TopList rows={[{ key: "vm-1", count: 3 }]} href={(k) => `/hosts/${k}`} />;
 * ```
 */
export function TopList(
  props: { rows: readonly TopRow[]; href?: (key: string) => string },
): Child {
  if (props.rows.length === 0) return <Empty>Nothing yet.</Empty>;
  const max = Math.max(...props.rows.map((r) => r.count), 1);
  return (
    <ol class="toplist">
      {props.rows.map((r) => (
        <li>
          <span class="bar">
            <meter min={0} max={max} value={r.count}></meter>
          </span>
          {props.href ? <a href={props.href(r.key)}>{r.key}</a> : <span>{r.key}</span>}
          <span class="num">{grouped(r.count)}</span>
        </li>
      ))}
    </ol>
  );
}

/**
 * An empty state.
 *
 * @param props The text.
 * @returns A paragraph.
 *
 * @example
 * ```tsx
 * import { Empty } from "./bits.tsx";
 * const e = <Empty>No alerts.</Empty>;
 * ```
 */
export function Empty(props: { children?: Child }): Child {
  return <p class="empty">{props.children}</p>;
}

/**
 * A big number with a label.
 *
 * @param props Label, value, colour class, link.
 * @returns A stat tile.
 *
 * @example
 * ```tsx
 * import { Stat } from "./bits.tsx";
 * const s = <Stat label="Alerts" value={12} />;
 * ```
 */
export function Stat(
  props: { label: string; value: number | string; tone?: string; href?: string; sub?: Child },
): Child {
  const body = (
    <>
      <span class="label">{props.label}</span>
      <span class="value">
        {typeof props.value === "number" ? grouped(props.value) : props.value}
      </span>
      {props.sub ? <span class="sub">{props.sub}</span> : null}
    </>
  );
  return props.href
    ? <a class={`stat ${props.tone ?? ""}`} href={props.href}>{body}</a>
    : <div class={`stat ${props.tone ?? ""}`}>{body}</div>;
}

/**
 * A path segment escaped for a link (`/hosts/<name>`).
 *
 * @param value The raw value.
 * @returns The encoded segment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seg } from "./bits.tsx";
 * assert.equal(seg("a/b"), "a%2Fb");
 * ```
 */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
