/**
 * A smaller SSH receive window for one channel. ssh2 gives every channel a
 * 2 MiB window and tops it up again as soon as data arrives, even while the
 * channel is paused, until its own buffer holds 2 MiB: up to ~4 MiB of a
 * command's output can wait in this process per channel. A reader of many
 * hosts at once (the agentless journal) wants that bounded, so the window
 * is set at the channel's opening, every top-up is capped here at ssh2's
 * protocol calls, and the channel's buffer gets the same bound (past it,
 * ssh2 tops up only as the buffer is read), without patching ssh2.
 *
 * @module
 */

import type { Ssh2Channel, Ssh2Client } from "./_ssh2_types.ts";

/** ssh2's internals used here (ssh2 1.x: lib/client.js, lib/Channel.js). */
interface _Protocol {
  session(localChan: number, window: number, packetSize: number): void;
  channelWindowAdjust(chan: number, amount: number): void;
  /** Installed once per connection by {@linkcode limitedWindows}. */
  _sluiceWindows?: Map<number, _Limited>;
}
interface _Limited {
  channel: _ChannelWindow;
  limit: number;
}
interface _ChannelWindow {
  incoming: { window: number };
  _readableState?: { highWaterMark?: number };
  outgoing: { id?: number };
  once(event: "close", listener: () => void): unknown;
}

/** The smallest window accepted: a few of ssh2's 32 KiB packets. */
export const MIN_WINDOW = 64 * 1024;
/** ssh2's own window (lib/Channel.js MAX_WINDOW): larger asks change nothing. */
export const SSH2_WINDOW = 2 * 1024 * 1024;

function _protocol(client: Ssh2Client): _Protocol | undefined {
  const p = (client as unknown as { _protocol?: _Protocol })._protocol;
  return p && typeof p.session === "function" && typeof p.channelWindowAdjust === "function"
    ? p
    : undefined;
}

/** The per-connection table of capped channels, with the top-up wrapper installed once. */
function _table(p: _Protocol): Map<number, _Limited> {
  if (p._sluiceWindows) return p._sluiceWindows;
  const table = new Map<number, _Limited>();
  const adjust = p.channelWindowAdjust;
  // ssh2 has already added `amount` to its count of the window when it calls this.
  p.channelWindowAdjust = function (chan: number, amount: number) {
    const limited = table.get(chan);
    if (!limited) return adjust.call(this, chan, amount);
    const { channel, limit } = limited;
    const before = channel.incoming.window - amount;
    // Top up only once half is used: one small packet per half window, not per packet.
    if (before > limit / 2) {
      channel.incoming.window = before;
      return;
    }
    channel.incoming.window = limit;
    adjust.call(this, chan, limit - before);
  };
  p._sluiceWindows = table;
  return table;
}

/**
 * Runs `open` (which must start opening exactly one session channel
 * synchronously, as ssh2's `client.exec` does) with `window` as the
 * channel's initial window; returns the function that the channel's
 * callback calls first thing, to set ssh2's count to match and cap later
 * top-ups. Without ssh2's internals (another ssh2), nothing is changed.
 *
 * @param client ssh2's client.
 * @param window The window in bytes (clamped to 64 KiB … 2 MiB).
 * @param open Starts opening the channel.
 * @returns Call it with the opened channel, before any data can arrive.
 *
 * @example
 * ```ts ignore
 * const limit = openWithWindow(client, 256 * 1024, () =>
 *   client.exec(cmd, {}, (err, ch) => { if (!err) limit(ch); /* … *\/ }));
 * ```
 */
export function openWithWindow(
  client: Ssh2Client,
  window: number,
  open: () => void,
): (channel: Ssh2Channel) => void {
  const p = _protocol(client);
  const limit = Math.max(MIN_WINDOW, Math.min(SSH2_WINDOW, Math.floor(window)));
  if (!p || limit >= SSH2_WINDOW) {
    open();
    return () => {};
  }
  const session = p.session;
  // An own property shadows the prototype's method for this one synchronous call.
  p.session = function (localChan: number, _window: number, packetSize: number) {
    return session.call(this, localChan, limit, packetSize);
  };
  try {
    open();
  } finally {
    delete (p as { session?: unknown }).session;
    if (p.session !== session) p.session = session;
  }
  return (opened) => {
    const channel = opened as unknown as _ChannelWindow;
    const id = channel.outgoing?.id;
    if (typeof id !== "number" || typeof channel.incoming?.window !== "number") return;
    // ssh2 counted from its own 2 MiB at the opening; the server from `limit`.
    channel.incoming.window = Math.max(0, channel.incoming.window - (SSH2_WINDOW - limit));
    // ssh2 tops the window up as data arrives, until its own buffer (2 MiB) is full: while
    // the reader waits, that buffer is what holds the output, so it gets the same bound.
    const state = channel._readableState;
    if (state && typeof state.highWaterMark === "number") state.highWaterMark = limit;
    const table = _table(p);
    table.set(id, { channel, limit });
    channel.once("close", () => table.delete(id));
  };
}
