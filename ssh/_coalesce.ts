/**
 * One socket write per burst of SSH packets. ssh2 hands every packet to the
 * socket in three or four pieces (AES-GCM: length, ciphertext, an empty
 * final, tag), each a `write()` of its own, and the socket has Nagle off:
 * a small SFTP request cost 3–4 syscalls, and the sftp-object sink sends
 * eight per small file. Corking the socket until the current turn of the
 * event loop's microtasks ends hands all the pieces written meanwhile to
 * one `writev`, without delaying any of them past that turn.
 *
 * @module
 */

/** The part of a node:net socket used here. */
export interface CorkableSocket {
  write(...args: never[]): boolean;
  cork(): void;
  uncork(): void;
}

const _installed = new WeakSet<object>();

/**
 * Makes `sock` gather the writes of one synchronous run (and its
 * microtasks) into one. Idempotent per socket.
 *
 * @param sock A node:net socket (ssh2's).
 *
 * @example
 * ```ts
 * import { coalesceWrites } from "./_coalesce.ts";
 * import { Writable } from "node:stream";
 * const sizes: number[] = [];
 * const w = new Writable({
 *   writev(chunks, cb) { sizes.push(chunks.length); cb(); },
 *   write(_c, _e, cb) { sizes.push(1); cb(); },
 * });
 * coalesceWrites(w);
 * w.write("a"); w.write("b"); w.write("c");
 * await new Promise((r) => setTimeout(r, 0));
 * console.assert(sizes.length === 1 && sizes[0] === 3);
 * ```
 */
export function coalesceWrites(sock: CorkableSocket): void {
  if (_installed.has(sock)) return;
  _installed.add(sock);
  const write = sock.write.bind(sock) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    sock.uncork();
  };
  sock.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      sock.cork();
      queueMicrotask(uncork);
    }
    return write(...args);
  }) as CorkableSocket["write"];
}
