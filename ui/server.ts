/**
 * The dashboard as a pipeline {@linkcode Service}: opens the SIEM store,
 * makes sure there is an admin, and serves the app on `Deno.serve` (TLS
 * with a certificate and key through core/tls). The central example starts
 * it with `--ui 127.0.0.1:8080`; `sluice ui --db PATH|URL` starts it alone.
 * The store is a SQLite file or a PostgreSQL / MariaDB server (store/open.ts):
 * users, sessions and triage live where the SIEM tables are.
 *
 * @module
 */

import { loadTlsServer, type TlsMaterialOptions } from "../core/tls.ts";
import type { Service, ServiceContext } from "../core/types.ts";
import { openStore } from "../store/open.ts";
import { sqliteFile } from "../store/target.ts";
import type { SiemStore } from "../store/types.ts";
import { createUiApp } from "./app.ts";
import type { Responder } from "../respond/responder.ts";
import { ensureAdmin } from "./users.ts";
import { dummyHash } from "./password.ts";
import { parseListen } from "./listen.ts";
import { collectGarbage, idleCollector, trimMalloc } from "./_gc.ts";
import { type IdleStore, idleStore } from "./_idle_store.ts";

/**
 * Quiet time after which the dashboard closes its SQLite store, ms: the
 * store's caches of complete hours live as long (`hourCacheMs`, store/sqlite.ts).
 *
 * @example
 * ```ts
 * import { STORE_IDLE_MS } from "./server.ts";
 * console.assert(STORE_IDLE_MS >= 3000);
 * ```
 */
export const STORE_IDLE_MS = 60_000;

/** Options for {@linkcode uiService}. */
export interface UiServiceOptions {
  /**
   * The SIEM database: a SQLite path (or `sqlite:PATH`), or a server URL
   * (`postgres://…`, `mysql://…`, `mariadb://…`; the password from the URL
   * or the environment, see store/open.ts).
   */
  database: string;
  /** `host:port` to listen on. @default {"127.0.0.1:8080"} */
  listen?: string;
  /** Certificate and key (PEM text or files): serve HTTPS, cookies `Secure`. */
  tls?: Pick<TlsMaterialOptions, "cert" | "certFile" | "key" | "keyFile">;
  /** Where a generated admin password's file goes. @default {the SQLite file's directory; `./data` for a server} */
  dataDir?: string;
  /**
   * The SQLite file holding `monitored_hosts` (the Monitored hosts page).
   * @default {`database` when it is SQLite; none for a server}
   */
  hostRegistry?: string;
  /** The environment the first admin is read from. @default {Deno.env.toObject()} */
  env?: Readonly<Record<string, string | undefined>>;
  /** How often a live tail reads the store, ms. @default {500} */
  tailPollMs?: number;
  /** Heartbeat interval of hosts that report none, ms. @default {60000} */
  hostIntervalMs?: number;
  /** Opens the store (tests, or a password from elsewhere). @default {openStore, store/open.ts} */
  openStore?: (database: string) => Promise<SiemStore>;
  /** Active response running in this process, for the Responses page. @default {none} */
  respond?: () => Responder | undefined;
}

/** The dashboard service; `url` is known once it started. */
export interface UiService extends Service {
  /** `http://127.0.0.1:8080/` once listening. */
  readonly url: string | undefined;
  /** The address it listens on. */
  readonly addr: Deno.NetAddr | undefined;
}

/**
 * Creates the dashboard service.
 *
 * @param options Database, address, TLS.
 * @returns The service, for a pipeline's `services`.
 * @throws {RangeError} When `listen` is malformed.
 *
 * @example
 * ```ts
 * import { uiService } from "./server.ts";
 * const ui = uiService({ database: "data/siem.db", listen: "127.0.0.1:8080" });
 * ```
 */
export function uiService(options: UiServiceOptions): UiService {
  const { hostname, port } = parseListen(options.listen ?? "127.0.0.1:8080");
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  let store: SiemStore | undefined;
  let url: string | undefined;
  let quiet: IdleStore | undefined;
  const stopping = new AbortController();
  // Once requests and store reads stop for 3 s: SQLite gives back its read connection's page cache
  // (PRAGMA shrink_memory; the connection and its statements stay), one full GC gives back V8's
  // young generation that pages grew, and malloc_trim what the native side freed. Measured over
  // 1M alerts, every page 20 times in one process: glibc's [heap] 13.0-13.7 MB after use, 7.9-8.0
  // with the GC and trim, 5.8-5.9 with shrink_memory first, 5.3-5.6 with the store closed. After
  // a minute of quiet the store is closed too (ui/_idle_store.ts; the next request opens it
  // again): by then the store's caches of complete hours have expired anyway, so nothing a page
  // would reuse is lost (closing at 3 s made every overview after a pause cold: 370-740 ms over 1M
  // alerts instead of about 20).
  const collect = () => {
    collectGarbage();
    trimMalloc();
  };
  const shrinkThenCollect = async () => {
    await quiet?.ifOpen((s) => s.sql("PRAGMA shrink_memory")).catch(() => undefined);
    collect();
  };
  const idle = idleCollector({ collect: shrinkThenCollect });
  const idleLong = idleCollector({
    quietMs: STORE_IDLE_MS,
    minIntervalMs: 0,
    collect: () => quiet?.release().catch(() => false).then((closed) => closed && collect()),
  });
  const touch = () => {
    idle.touch();
    idleLong.touch();
  };
  return {
    kind: "ui",
    get url() {
      return url;
    },
    get addr() {
      return server?.addr;
    },
    async start(ctx: ServiceContext) {
      const openPlain = options.openStore ?? ((database) => openStore(database));
      const open = async () => {
        const s = await openPlain(options.database);
        // The dashboard's own read connection: 512 KiB of SQLite page cache, not the default 2 MB;
        // the OS caches the file anyway (measured: about 2 MB less private memory after use).
        if (s.kind === "sqlite") await s.sql("PRAGMA cache_size = -512");
        return s;
      };
      store = await open();
      const file = sqliteFile(options.database);
      try {
        if (store.kind === "sqlite") {
          quiet = idleStore(store, open, touch);
          store = quiet.store;
        }
        const dataDir = options.dataDir ??
          (file === undefined
            ? "./data"
            : file.includes("/")
            ? file.slice(0, file.lastIndexOf("/"))
            : ".");
        const hostRegistry = options.hostRegistry ?? file;
        const admin = await ensureAdmin(store.ui, options.env ?? Deno.env.toObject(), dataDir);
        if (admin.how === "env") {
          ctx.log.info(`dashboard admin "${admin.user}" created from the environment`);
        }
        if (admin.how === "generated") {
          ctx.log.warn(
            `dashboard admin "${admin.user}" created; its password is in ${admin.passwordFile} (only you can read it)`,
          );
        }
        // Made now, so the first login of an unknown user takes no longer than any other.
        await dummyHash();
        const tls = options.tls
          ? await loadTlsServer("ui", { ...options.tls, peerVerify: "none" })
          : undefined;
        const app = createUiApp({
          store,
          secure: tls !== undefined,
          signal: stopping.signal,
          onError: (err) => {
            ctx.stats.errors++;
            ctx.log.error("request failed", { error: String(err) });
          },
          ...(options.tailPollMs ? { tailPollMs: options.tailPollMs } : {}),
          ...(options.hostIntervalMs ? { hostIntervalMs: options.hostIntervalMs } : {}),
          ...(options.respond ? { respond: options.respond } : {}),
          ...(hostRegistry !== undefined ? { database: hostRegistry } : {}),
        });
        const ready = Promise.withResolvers<void>();
        const listenOptions = {
          hostname,
          port,
          onListen: () => ready.resolve(),
          onError: (err: unknown) => {
            ctx.stats.errors++;
            ctx.log.error("request failed", { error: String(err) });
            return new Response("Internal error", { status: 500 });
          },
        };
        const handler = (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
          ctx.stats.received++;
          touch();
          return app.fetch(req, { remoteAddr: info.remoteAddr });
        };
        server = tls
          ? Deno.serve({ ...listenOptions, cert: tls.cert, key: tls.key }, handler)
          : Deno.serve(listenOptions, handler);
        await ready.promise;
        const a = server.addr;
        const host = a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname;
        url = `${tls ? "https" : "http"}://${host}:${a.port}/`;
        ctx.log.info(`dashboard at ${url}`);
      } catch (err) {
        await store.close().catch(() => {});
        store = undefined;
        throw err;
      }
    },
    async stop() {
      idle.stop();
      idleLong.stop();
      stopping.abort();
      if (server) {
        // Live tails end on the abort above; a stuck request is cut after 3 s.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          server.shutdown(),
          new Promise((r) => (timer = setTimeout(r, 3000))),
        ]);
        clearTimeout(timer);
        server = undefined;
      }
      await store?.close();
      store = undefined;
    },
  };
}
