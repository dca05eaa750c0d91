import assert from "node:assert/strict";
import { archiveOnce } from "../../archive/mover.ts";
import { type CpuSample, procThreadsReader, restSignal } from "../../archive/_rest.ts";
import { seedSiem } from "../../bench/seed_siem.ts";

/** A reader over a script of (wall ms, busiest thread's ms on a CPU) samples. */
function scripted(samples: Array<[number, number] | undefined>): () => CpuSample | undefined {
  let i = 0;
  return () => {
    const s = samples[Math.min(i++, samples.length - 1)];
    return s ? { wallMs: s[0], threads: new Map([["7", s[1]], ["8", s[1] / 10]]) } : undefined;
  };
}

Deno.test("restSignal: busy while a thread of the central is at or over the share, and one window after", () => {
  // Windows of 100 ms: the busiest thread 90, 80, 10, 10, 70, 5, 5 ms on a CPU (busy from 70 %).
  const s = restSignal({
    read: scripted([
      [0, 0],
      [100, 90],
      [200, 170],
      [300, 180],
      [400, 190],
      [500, 260],
      [600, 265],
      [700, 270],
    ]),
  })!;
  const answers = Array.from({ length: 7 }, () => s.busy());
  assert.deepEqual(answers, [true, true, true, false, true, true, false]);
  assert.deepEqual(s.shares.map((x) => Math.round(x * 100)), [90, 80, 10, 10, 70, 5, 5]);
});

Deno.test("restSignal: idle throughout never says busy; the threshold is an option", () => {
  const idle = restSignal({ read: scripted([[0, 0], [100, 20], [200, 40], [300, 60]]) })!;
  assert.deepEqual([idle.busy(), idle.busy(), idle.busy()], [false, false, false]);
  const strict = restSignal({
    busyShare: 0.15,
    read: scripted([[0, 0], [100, 20], [200, 40], [300, 60]]),
  })!;
  assert.deepEqual([strict.busy(), strict.busy(), strict.busy()], [true, true, true]);
});

Deno.test("restSignal: a sample that cannot be taken counts as busy; no reader, no signal", () => {
  const s = restSignal({ read: scripted([[0, 0], undefined, [200, 1], [300, 2]]) })!;
  assert.equal(s.busy(), true); // no sample now
  assert.equal(s.busy(), true); // no sample before
  assert.equal(s.busy(), false);
  assert.equal(restSignal({ read: () => undefined })?.busy(), true);
  assert.throws(() => restSignal({ busyShare: 2 }), /"busyShare" must be within 0-1, got 2/);
});

Deno.test("procThreadsReader leaves the calling thread out (Linux)", () => {
  const read = procThreadsReader();
  if (Deno.build.os !== "linux") return void assert.equal(read, undefined);
  const s = read!();
  const own = Deno.readLinkSync("/proc/thread-self").split("/").pop() as string;
  assert.ok(s && s.threads.size > 0);
  assert.equal(s.threads.has(own), false);
});

async function moved(busy: () => boolean): Promise<{ parts: number; rested: number }> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-archive-rest-" });
  try {
    const db = `${dir}/siem.db`;
    await seedSiem(db, { alerts: 600, auth: 0, hosts: 2, days: 36, now: Date.now() });
    let asked = 0;
    const s = await archiveOnce({
      database: db,
      dir: `${dir}/archives`,
      retainDbMs: 30 * 86_400_000,
      tables: ["alerts"],
      restRatio: 1,
      busy: () => (asked++, busy()),
    });
    assert.ok(s.rows > 0 && s.parts > 1);
    assert.equal(asked, s.rest?.parts);
    return { parts: s.rest?.parts ?? 0, rested: s.rest?.rested ?? 0 };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("archiveOnce rests after a part only when the signal says the central is busy", async () => {
  const idle = await moved(() => false);
  assert.ok(idle.parts > 1);
  assert.equal(idle.rested, 0);
  const busy = await moved(() => true);
  assert.equal(busy.rested, busy.parts);
  let n = 0;
  const half = await moved(() => n++ % 2 === 0);
  assert.equal(half.rested, Math.ceil(half.parts / 2));
});

Deno.test("restSignal: an ignored thread (the pass's commit thread) does not make the central busy", () => {
  let t = 0;
  let cpu = 0;
  const s = restSignal({
    read: () => ({ wallMs: t, threads: new Map([["7", cpu], ["8", cpu / 10]]) }),
  })!;
  s.ignore("7");
  t += 100, cpu += 90; // thread 7 at 90 %, thread 8 at 9 %
  assert.equal(s.busy(), false);
  assert.deepEqual(s.shares.map((x) => Math.round(x * 100)), [9]);
});

Deno.test("archiveOnce names its commit thread, another thread of this process (Linux)", async () => {
  if (Deno.build.os !== "linux") return;
  const dir = await Deno.makeTempDir({ prefix: "sluice-archive-rest-" });
  try {
    const db = `${dir}/siem.db`;
    await seedSiem(db, { alerts: 200, auth: 0, hosts: 2, days: 34, now: Date.now() });
    const tids: string[] = [];
    const s = await archiveOnce({
      database: db,
      dir: `${dir}/archives`,
      retainDbMs: 30 * 86_400_000,
      tables: ["alerts"],
      commitNice: 19,
      onCommitThread: (tid) => tids.push(tid),
    });
    assert.ok(s.rows > 0);
    const own = Deno.readLinkSync("/proc/thread-self").split("/").pop();
    assert.equal(tids.length, 1);
    assert.match(tids[0]!, /^\d+$/);
    assert.notEqual(tids[0], own);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
