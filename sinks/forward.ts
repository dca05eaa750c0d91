/**
 * Forwards events to another collector over TCP or TLS, newline framed or
 * RFC 6587 octet counted, like syslog-ng's `network()` destination.
 *
 * @module
 */

import { backoff, type BackoffOptions, sleep } from "../core/backoff.ts";
import type { LogEvent } from "../core/event.ts";
import { compileTemplate, type Template } from "../core/template.ts";
import { checkTlsClientOptions, loadTlsClient, type TlsClientOptions } from "../core/tls.ts";
import type { Sink, SinkContext } from "../core/types.ts";
import { errorMessage } from "../core/options.ts";

/** Options for {@linkcode forwardSink}. */
export interface ForwardSinkOptions {
  /** The collector's host name or address. */
  host: string;
  /** The collector's port. */
  port: number;
  /** TLS: the CA that signed the collector's certificate, and this client's certificate for mutual TLS. Plain TCP when left out. */
  tls?: TlsClientOptions;
  /**
   * `"newline"` sends each rendered event followed by `\n` (added when the
   * template does not end with one); `"octet-counting"` sends
   * `LEN SP MSG` (RFC 6587). @default {"newline"}
   */
  framing?: "newline" | "octet-counting";
  /** What is sent per event. @default {"${MSG}\n"} with newline framing, {"${MSG}"} with octet counting */
  template?: Template;
  /** How long a connection attempt (with its TLS handshake) may take, in ms. @default {10000} */
  connectTimeoutMs?: number;
  /**
   * After a TLS handshake, how long to wait for the collector to refuse the
   * client certificate before the connection is used, in ms. TLS 1.3 servers
   * check it after the client considers the handshake done, so without this
   * wait the first batch would be written into a connection about to be
   * closed. @default {250}
   */
  tlsSettleMs?: number;
  /** Delays between reconnection attempts (exponential with jitter). @default {{ initialMs: 500, maxMs: 30000 }} */
  reconnect?: BackoffOptions;
  /** Most events per write (one buffer, one socket write). @default {1000} */
  maxBatch?: number;
  /** Events held in the engine's queue while the collector is away; then sources are held back. @default {DEFAULT_QUEUE_SIZE} (4000) */
  queueSize?: number;
  /** A name for stats. */
  name?: string;
}

/** A {@linkcode Sink} that forwards over the network. */
export interface ForwardSink extends Sink {
  /** Whether a connection is open right now. */
  readonly connected: boolean;
}

const _encoder = new TextEncoder();

/** Bytes of a string in UTF-8 (lone surrogates count as U+FFFD, as TextEncoder writes them). */
function _utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Renders a batch the way {@linkcode forwardSink} puts it on the wire.
 *
 * @param batch The events.
 * @param render The compiled template.
 * @param framing Newline or octet counting.
 * @returns The bytes of the whole batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderFrames } from "./forward.ts";
 * import { createEvent } from "../core/event.ts";
 * const bytes = renderFrames([createEvent("hé")], (e) => e.message, "octet-counting");
 * assert.ok(new TextDecoder().decode(bytes) === "3 hé");
 * ```
 */
export function renderFrames(
  batch: readonly LogEvent[],
  render: (event: LogEvent) => string,
  framing: "newline" | "octet-counting",
): Uint8Array {
  let text = "";
  if (framing === "newline") {
    for (const event of batch) {
      const line = render(event);
      text += line.endsWith("\n") ? line : line + "\n";
    }
  } else {
    for (const event of batch) {
      const body = render(event);
      text += `${_utf8Length(body)} ${body}`;
    }
  }
  return _encoder.encode(text);
}

/**
 * Sends each batch as one buffer to a collector (sluice's tcp source,
 * syslog-ng's `network()`/`tcp()`/`tls()`, rsyslog's imtcp) over TCP or TLS
 * (with a client certificate for mutual TLS).
 *
 * `write()` resolves once the bytes are handed to the socket. Plain TCP
 * has no application-level acknowledgement, so this is at-least-once only
 * up to the socket buffers: events written just before the collector or
 * the network fails can be lost without an error here. Use RELP where
 * every event must be acknowledged by the collector. A failed write drops
 * the connection and throws; the engine retries the same batch (so a batch
 * cut in the middle is sent again, and the collector may see part of it
 * twice) while events wait in the sink's bounded queue, and the sink
 * reconnects with exponential back-off and jitter.
 *
 * A background read on each connection notices when the collector closes
 * it, so the next batch goes to a new connection instead of a dead one.
 *
 * Counters: `connects`, `connect_failures`, `disconnects`, gauge `connected`.
 *
 * @param options Host, port, TLS, framing, template.
 * @returns The sink.
 *
 * @example Forward JSON alerts to the central over mutual TLS
 * ```ts
 * import { forwardSink } from "./forward.ts";
 * const sink = forwardSink({
 *   host: "central.example.org",
 *   port: 6514,
 *   tls: { caFile: "ca.crt", certFile: "vm-1.crt", keyFile: "vm-1.key" },
 *   template: "${MSG}\n",
 * });
 * ```
 */
export function forwardSink(options: ForwardSinkOptions): ForwardSink {
  const who = "forwardSink";
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${who}: options must be an object, got ${options}`);
  }
  const { host, port } = options;
  if (typeof host !== "string" || host === "") {
    throw new TypeError(`${who}: "host" must be a non-empty string, got ${JSON.stringify(host)}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`${who}: "port" must be an integer 1–65535, got ${port}`);
  }
  const framing = options.framing ?? "newline";
  if (framing !== "newline" && framing !== "octet-counting") {
    throw new TypeError(
      `${who}: "framing" must be "newline" or "octet-counting", got "${framing}"`,
    );
  }
  const render = compileTemplate(
    options.template ?? (framing === "newline" ? "${MSG}\n" : "${MSG}"),
  );
  const tlsSettleMs = options.tlsSettleMs ?? 250;
  if (!(tlsSettleMs >= 0)) {
    throw new RangeError(`${who}: "tlsSettleMs" must be 0 or more, got ${tlsSettleMs}`);
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  if (!(connectTimeoutMs > 0)) {
    throw new RangeError(`${who}: "connectTimeoutMs" must be positive, got ${connectTimeoutMs}`);
  }
  const reconnect: BackoffOptions = { initialMs: 500, maxMs: 30_000, ...options.reconnect };
  const tls = options.tls;
  if (tls !== undefined) checkTlsClientOptions(who, tls);
  const target = `${host}:${port}`;

  let ctx: SinkContext | undefined;
  let conn: Deno.Conn | undefined;
  const readers = new Set<Promise<void>>();
  let failures = 0;
  let nextAttempt = 0;
  const closing = new AbortController();
  let loadedTls: Awaited<ReturnType<typeof loadTlsClient>> | undefined;

  const setConnected = (value: boolean) => ctx?.stats.set("connected", value ? 1 : 0);

  const drop = (c: Deno.Conn) => {
    if (conn === c) {
      conn = undefined;
      setConnected(false);
      ctx?.stats.add("disconnects");
    }
    try {
      c.close();
    } catch {
      // already closed
    }
  };

  /** Reads (and discards) whatever the collector sends, to notice when it closes. */
  const watch = (c: Deno.Conn): Promise<void> => {
    const reader = (async () => {
      const buffer = new Uint8Array(4096);
      try {
        while ((await c.read(buffer)) !== null) {
          // collectors of this protocol send nothing back
        }
        if (conn === c) ctx?.log.info("collector closed the connection", { target });
      } catch {
        // reset, or closed by us
      }
      drop(c);
    })();
    readers.add(reader);
    reader.finally(() => readers.delete(reader));
    return reader;
  };

  const open = async (): Promise<Deno.Conn> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const abort = new AbortController();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new Error(`timed out after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
    });
    const attempt = (async (): Promise<Deno.Conn> => {
      if (!tls) {
        return await Deno.connect({ hostname: host, port, signal: abort.signal });
      }
      loadedTls ??= await loadTlsClient(who, tls);
      const t = loadedTls;
      const c = await Deno.connectTls({
        hostname: host,
        port,
        ...(t.ca !== undefined ? { caCerts: [t.ca] } : {}),
        ...(t.verifyHostname ? {} : { unsafelyDisableHostnameVerification: true }),
        ...(t.cert !== undefined && t.key !== undefined ? { cert: t.cert, key: t.key } : {}),
      });
      try {
        await c.handshake();
      } catch (err) {
        c.close();
        throw err;
      }
      if (abort.signal.aborted) {
        c.close();
        throw new Error("timed out");
      }
      return c;
    })();
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      clearTimeout(timer);
      attempt.catch(() => {});
    }
  };

  const connection = async (): Promise<Deno.Conn> => {
    if (conn) return conn;
    const wait = nextAttempt - Date.now();
    if (wait > 0) await sleep(wait, closing.signal);
    if (closing.signal.aborted) throw new Error(`${who}: closed`);
    let c: Deno.Conn;
    try {
      c = await open();
    } catch (err) {
      failures++;
      nextAttempt = Date.now() + backoff(failures, reconnect);
      ctx?.stats.add("connect_failures");
      throw new Error(
        `${who}: cannot connect to ${target}${tls ? " (TLS)" : ""}: ${errorMessage(err)}`,
      );
    }
    if (closing.signal.aborted) {
      c.close();
      throw new Error(`${who}: closed`);
    }
    try {
      (c as Deno.TcpConn).setKeepAlive?.(true);
    } catch {
      // not every connection type has it
    }
    const ended = watch(c);
    if (tls && tlsSettleMs > 0) {
      // In TLS 1.3 the server checks the client certificate after the client
      // considers the handshake done: a refusal arrives as an alert just after.
      // Writing before it would hand batches to a connection about to die.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const alive = await Promise.race([
        ended.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), tlsSettleMs))),
      ]);
      clearTimeout(timer);
      if (!alive) {
        failures++;
        nextAttempt = Date.now() + backoff(failures, reconnect);
        ctx?.stats.add("connect_failures");
        throw new Error(
          `${who}: ${target} closed the TLS connection right after the handshake (does it trust this client's certificate?)`,
        );
      }
    }
    if (failures > 0) ctx?.log.info("connected again", { target, failedAttempts: failures });
    failures = 0;
    nextAttempt = 0;
    conn = c;
    setConnected(true);
    ctx?.stats.add("connects");
    return c;
  };

  return {
    kind: "forward",
    ...(options.name ? { name: options.name } : {}),
    ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
    ...(options.queueSize !== undefined ? { queueSize: options.queueSize } : {}),
    get connected() {
      return conn !== undefined;
    },
    async open(context) {
      ctx = context;
      setConnected(false);
      context.signal.addEventListener("abort", () => closing.abort(), { once: true });
      if (tls) loadedTls = await loadTlsClient(who, tls);
      // Connect now if the collector is there; if not, the first write retries.
      try {
        await connection();
      } catch (err) {
        context.log.warn("collector not reachable yet; events wait in the queue", {
          target,
          error: errorMessage(err),
        });
      }
    },
    async write(batch) {
      if (batch.length === 0) return;
      const bytes = renderFrames(batch, render, framing);
      const c = await connection();
      try {
        let at = 0;
        while (at < bytes.length) at += await c.write(bytes.subarray(at));
      } catch (err) {
        drop(c);
        throw new Error(`${who}: writing to ${target} failed: ${errorMessage(err)}`);
      }
    },
    async close() {
      closing.abort();
      const c = conn;
      if (c) drop(c);
      await Promise.all(readers);
    },
  };
}
