/**
 * The RELP source's reading of one chunk ({@linkcode readRelpFrames}): its
 * `syslog` commands become events, the others are answered at once; the
 * messages' answers wait in order for the pipeline's acknowledgement.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import { formatRelpOffers, parseRelpOffers } from "../core/relp_encode.ts";
import { unwrapRelpEnvelope } from "../core/relp_envelope.ts";
import { nextTxnr, RELP_VERSION, type RelpFrame } from "../core/relp_frame.ts";
import { MAX_DECODED_BYTES } from "../core/_decode_limit.ts";
import type { RelpAnswer, RelpServerSession } from "./_relp_server_session.ts";

/** What {@linkcode readRelpFrames} needs besides the chunk: the source's settings and its counters. */
export interface RelpReadContext {
  /** The source's name, set on every event. */
  source: string;
  /** Unwrap the envelope of a sluice RELP sink. */
  unwrap: boolean;
  /** Take `event.host` from the verified client certificate. */
  hostFromCertificate: boolean;
  /** Marks the session closing and counts the error. */
  protocolError(message: string, code?: string): void;
  /** Counts a command this server does not know. */
  unsupported(): void;
}

/** What one chunk turned into. */
export interface RelpRead {
  /** The messages, in order. */
  events: LogEvent[];
  /** Their answers, to mark done once the pipeline acknowledged the events. */
  pending: RelpAnswer[];
  /** Messages unwrapped from a sluice envelope. */
  unwrapped: number;
  /** Messages that were not valid UTF-8. */
  invalid: number;
}

/** What one read turned into: its events and how many were unwrapped or invalid. */
interface _Read extends RelpRead {
  /** Bytes `from`–`to` of the chunk as text when plain ASCII (then byte and string offsets agree), `null` when not, `undefined` before the first message. */
  ascii: string | null | undefined;
  from: number;
  to: number;
  /** The source's name, set on every event. */
  source: string;
}

const _utf8 = new TextDecoder("utf-8");
const _utf8Fatal = new TextDecoder("utf-8", { fatal: true });
const _OPEN_OK = `200 OK\n${
  formatRelpOffers([
    ["relp_version", [RELP_VERSION]],
    ["relp_software", ["sluice"]],
    ["commands", ["syslog"]],
  ])
}`;

function _makeEvent(
  c: RelpReadContext,
  s: RelpServerSession,
  read: _Read,
  chunk: Uint8Array,
  data: Uint8Array,
  now: number,
): void {
  let message: string | undefined;
  let invalid = false;
  if (data.buffer === chunk.buffer) {
    // Decoding the read MAX_DECODED_BYTES at a time and slicing beats one decoder call per
    // message, and makes no large object for V8 (see _decode_limit.ts). Messages come in
    // order, so the window only moves forward.
    const at = data.byteOffset - chunk.byteOffset;
    const end = at + data.length;
    if (read.ascii === undefined || at < read.from || end > read.to) {
      read.from = at;
      read.to = Math.min(chunk.length, Math.max(end, at + MAX_DECODED_BYTES));
      const text = _utf8.decode(chunk.subarray(read.from, read.to));
      read.ascii = text.length === read.to - read.from && text.indexOf("\uFFFD") < 0 ? text : null;
    }
    if (read.ascii !== null) message = read.ascii.slice(at - read.from, end - read.from);
  }
  if (message === undefined) {
    try {
      message = _utf8Fatal.decode(data);
    } catch {
      message = _utf8.decode(data);
      invalid = true;
    }
  }
  const peer = s.stream.peer;
  const event: LogEvent = {
    message,
    fields: peer ? { tls: { ...peer } } : {},
    receivedAt: now,
    sourceIp: s.stream.remoteIp,
    // Set here so the engine does not add the property to every event (one object shape).
    source: read.source,
  };
  if (invalid) {
    event.fields["sluice_invalid_utf8"] = true;
    read.invalid++;
  } else if (c.unwrap && unwrapRelpEnvelope(event)) {
    read.unwrapped++;
  }
  if (peer && c.hostFromCertificate) event.host = peer.peer_cn;
  read.events.push(event);
}

function _open(c: RelpReadContext, s: RelpServerSession, frame: RelpFrame): void {
  if (s.opened) {
    s.answer(frame.txnr, "200 connection already open - ignored");
    return;
  }
  const offers = parseRelpOffers(_utf8.decode(frame.data));
  const version = offers.get("relp_version")?.[0];
  if (version === undefined || !/^\d+$/.test(version)) {
    s.answer(frame.txnr, "500 relp_version offer missing");
    c.protocolError("the open command has no relp_version offer");
    return;
  }
  if (!(offers.get("commands") ?? []).includes("syslog")) {
    s.answer(frame.txnr, "500 required command not supported by client");
    c.protocolError("the client does not offer the syslog command");
    return;
  }
  s.answer(frame.txnr, _OPEN_OK);
  s.opened = true;
}

/**
 * Reads the frames of one chunk: checks their transaction numbers, answers
 * `open`, `close` and unknown commands at once, turns `syslog` commands into
 * events and queues their answers (not done yet) on the session. Stops at a
 * protocol error (the session is then closing).
 *
 * @param c The source's settings and counters.
 * @param s The session.
 * @param chunk The bytes read (the frames' data may be views into it).
 * @param frames The frames the parser found in it.
 * @param now The time of the read.
 * @returns The events and the answers that wait for them.
 *
 * @example
 * ```ts ignore
 * import { readRelpFrames } from "./_relp_frames.ts";
 * const read = readRelpFrames(context, session, chunk, session.parser.push(chunk), Date.now());
 * ```
 */
export function readRelpFrames(
  c: RelpReadContext,
  s: RelpServerSession,
  chunk: Uint8Array,
  frames: readonly RelpFrame[],
  now: number,
): RelpRead {
  const read: _Read = {
    events: [],
    pending: [],
    ascii: undefined,
    from: 0,
    to: 0,
    unwrapped: 0,
    invalid: 0,
    source: c.source,
  };
  let current: RelpAnswer | undefined;
  for (const frame of frames) {
    if (s.closing) break;
    if (frame.txnr === 0) continue; // hints need no answer
    if (frame.txnr !== s.expect) {
      c.protocolError(`expected transaction number ${s.expect}, got ${frame.txnr}`);
      break;
    }
    s.expect = nextTxnr(s.expect);
    if (frame.command === "syslog") {
      if (!s.opened) {
        c.protocolError("syslog command before open");
        break;
      }
      _makeEvent(c, s, read, chunk, frame.data, now);
      if (!current) {
        current = { text: "", first: frame.txnr, count: 0, done: false };
        s.answers.push(current);
        read.pending.push(current);
      }
      current.count++;
      continue;
    }
    current = undefined;
    if (frame.command === "open") _open(c, s, frame);
    else if (frame.command === "close") {
      s.answer(frame.txnr, "");
      s.closing = true;
    } else {
      s.answer(frame.txnr, "500 command not supported");
      c.unsupported();
    }
  }
  return read;
}
