import assert from "node:assert/strict";
import {
  createLogger,
  Engine,
  type Service,
  type ServiceContext,
  validatePipeline,
} from "../../mod.ts";
import { collectSink, manualSource } from "../fixtures/components.ts";

const quiet = createLogger("silent");

function recorder(order: string[], name: string): Service & { ctx?: ServiceContext } {
  const service: Service & { ctx?: ServiceContext } = {
    kind: "recorder",
    start(ctx) {
      service.ctx = ctx;
      order.push(`start ${name}`);
      return Promise.resolve();
    },
    stop() {
      order.push(`stop ${name}`);
      return Promise.resolve();
    },
  };
  return service;
}

Deno.test("Engine starts services after sources and stops them before the sinks close", async () => {
  const order: string[] = [];
  const source = manualSource();
  const sink = collectSink();
  const origStart = source.start.bind(source);
  source.start = async (ctx) => {
    order.push("start source");
    await origStart(ctx);
  };
  const origClose = sink.close.bind(sink);
  sink.close = async () => {
    order.push("close sink");
    await origClose();
  };
  const a = recorder(order, "a");
  const b = recorder(order, "b");
  const engine = new Engine(
    { sources: { s: source }, paths: [{ to: [sink] }], services: { a, b } },
    {
      logger: quiet,
    },
  );
  await engine.start();
  assert.equal(a.ctx?.name, "a");
  assert.equal(a.ctx?.signal.aborted, false);
  assert.ok(engine.stats.get("b"));
  await engine.stop();
  assert.equal(a.ctx?.signal.aborted, true);
  assert.deepEqual(order, ["start source", "start a", "start b", "stop b", "stop a", "close sink"]);
});

Deno.test("Engine stops what started when a service fails to start", async () => {
  const order: string[] = [];
  const sink = collectSink();
  const bad: Service = {
    kind: "bad",
    start: () => Promise.reject(new Error("port in use")),
    stop: () => Promise.resolve(void order.push("stop bad")),
  };
  const engine = new Engine({
    sources: { s: manualSource() },
    paths: [{ to: [sink] }],
    services: { a: recorder(order, "a"), bad },
  }, { logger: quiet });
  await assert.rejects(engine.start(), /port in use/);
  assert.deepEqual(order, ["start a", "stop a"]);
});

Deno.test("validatePipeline() names a service that is not one", () => {
  const issues = validatePipeline({
    sources: { s: manualSource() },
    paths: [{ to: [collectSink()] }],
    services: { ui: { kind: "ui" } },
  });
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.where, "services.ui");
  assert.match(issues[0]!.message, /expected a Service/);
});
