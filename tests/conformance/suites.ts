/**
 * Conformance suites, one per interface: every source, sink, parser, filter
 * and rewrite of the library runs through the suite of its interface
 * (see the `*_conformance_test.ts` files beside this one).
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  type Filter,
  type LogEvent,
  type Parser,
  type Rewrite,
  type Sink,
  type Source,
} from "../../mod.ts";
import { collectSink } from "../fixtures/components.ts";

const quiet = createLogger("silent");

/** Arbitrary events: odd messages, odd fields, odd well-known values. */
export const arbitraryEvent: fc.Arbitrary<LogEvent> = fc.record({
  message: fc.oneof(
    fc.string(),
    fc.string({ unit: "binary" }),
    fc.json(),
    fc.constantFrom(
      "",
      "\u0000",
      "../../etc/passwd",
      "'; DROP TABLE alerts; --",
      "\uFFFD\uFFFD",
      'a=b c="d',
    ),
  ),
  fields: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
  host: fc.option(fc.string(), { nil: undefined }),
  severity: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
}).map(({ message, fields, host, severity }) => {
  const e = createEvent(message, { fields: fields as Record<string, unknown> });
  if (host !== undefined) e.host = host;
  if (severity !== undefined) e.severity = severity;
  return e;
});

/** A parser never throws, always answers a boolean, and leaves `message` a string. */
export function parserConformance(name: string, make: () => Parser): void {
  Deno.test(`conformance: parser ${name} has a kind and never throws on arbitrary events`, () => {
    const parser = make();
    assert.equal(typeof parser.kind, "string");
    fc.assert(
      fc.property(arbitraryEvent, (e) => {
        const ok = parser.parse(e);
        assert.equal(typeof ok, "boolean");
        assert.equal(typeof e.message, "string");
      }),
      { numRuns: 300 },
    );
  });
}

/** A filter never throws and always answers a boolean. */
export function filterConformance(name: string, make: () => Filter): void {
  Deno.test(`conformance: filter ${name} never throws on arbitrary events`, () => {
    const filter = make();
    assert.equal(typeof filter.kind, "string");
    fc.assert(fc.property(arbitraryEvent, (e) => assert.equal(typeof filter.test(e), "boolean")), {
      numRuns: 300,
    });
  });
}

/** A rewrite never throws on arbitrary events. */
export function rewriteConformance(name: string, make: () => Rewrite): void {
  Deno.test(`conformance: rewrite ${name} never throws on arbitrary events`, () => {
    const rewrite = make();
    assert.equal(typeof rewrite.kind, "string");
    fc.assert(fc.property(arbitraryEvent, (e) => rewrite.apply(e)), { numRuns: 300 });
  });
}

/**
 * A sink opens, writes empty and non-empty batches, does not change the
 * events it is given, and closes; through the engine it receives every event.
 */
export function sinkConformance(
  name: string,
  make: () => Promise<{ sink: Sink; cleanup?: () => Promise<void> }>,
): void {
  Deno.test(`conformance: sink ${name} writes batches without changing the events, then closes`, async () => {
    const { sink, cleanup } = await make();
    try {
      assert.equal(typeof sink.kind, "string");
      const src = {
        kind: "list",
        start: () => Promise.resolve(),
        stop: () => Promise.resolve(),
      } as Source;
      const engine = new Engine(definePipeline({ paths: [{ from: [src], to: [sink] }] }), {
        logger: quiet,
      });
      await engine.start();
      const batch = Array.from(
        { length: 50 },
        (_, i) => createEvent(`{"n":${i}}`, { host: "vm1", id: `c:${i}` }),
      );
      const snapshot = JSON.stringify(batch);
      await sink.write([]);
      await sink.write(batch);
      assert.equal(JSON.stringify(batch), snapshot, "a sink must treat events as read-only");
      await engine.stop();
    } finally {
      await cleanup?.();
    }
  });
}

/**
 * A source starts, emits arrays of well-formed events into a running
 * engine, and stops promptly; `stop()` may be called before any input.
 */
export function sourceConformance(
  name: string,
  make: () => Promise<
    { source: Source; feed?: () => Promise<void>; expect: number; cleanup?: () => Promise<void> }
  >,
): void {
  Deno.test(`conformance: source ${name} emits well-formed events and stops`, async () => {
    const { source, feed, expect, cleanup } = await make();
    const out = collectSink();
    const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [out] }] }), {
      logger: quiet,
    });
    try {
      assert.equal(typeof source.kind, "string");
      await engine.start();
      await feed?.();
      for (let i = 0; i < 200 && out.events.length < expect; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(out.events.length >= expect, `expected ${expect} events, got ${out.events.length}`);
      for (const e of out.events) {
        assert.equal(typeof e.message, "string");
        assert.equal(typeof e.receivedAt, "number");
        assert.ok(e.fields && typeof e.fields === "object");
      }
    } finally {
      await engine.stop();
      await cleanup?.();
    }
  });
}
