/**
 * Server-side render times of the dashboard pages (p50/p95 of 20 loads after
 * one warm-up, through the app, without the network) and their HTML size,
 * over a SIEM database such as bench/seed_siem.ts makes. Not a test; run by
 * hand:
 *
 * ```sh
 * deno run -A bench/seed_siem.ts --out /tmp/big.db --alerts 1000000 --auth 1000000 --hosts 50
 * deno run -A tests/ui/page_timings.ts /tmp/big.db
 * ```
 */

import { openSqliteStore } from "../../store/sqlite.ts";
import { createUiApp } from "../../ui/app.ts";
import { createSession } from "../../ui/session.ts";
import { hashPassword } from "../../ui/password.ts";
const database = Deno.args[0]!;
const store = await openSqliteStore({ database });
if (!(await store.ui.getUser("bench"))) {
  await store.ui.addUser({
    name: "bench",
    role: "admin",
    passwordHash: await hashPassword("bench-password"),
  });
}
const { token } = await createSession(store.ui, "bench");
const app = createUiApp({ store, onError: console.error });
const headers = { cookie: `sluice_session=${token}` };
const pages = [
  "/",
  "/?range=7d",
  "/alerts",
  "/alerts?severity=critical",
  "/alerts?host=vm-07",
  "/alerts?rule=sshd_brute_force",
  "/alerts?text=mimikatz",
  "/alerts?status=acknowledged",
  "/hosts",
  "/auth",
  "/firewall",
];
for (const p of pages) {
  const t: number[] = [];
  let size = 0;
  for (let i = 0; i < 21; i++) {
    const s = performance.now();
    const r = await app.request(p, { headers });
    const body = await r.text();
    if (r.status !== 200) throw new Error(`${p} ${r.status}`);
    size = body.length;
    if (i > 0) t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  console.log(
    `${p.padEnd(34)} p50 ${t[10]!.toFixed(1).padStart(7)} ms  p95 ${
      t[18]!.toFixed(1).padStart(7)
    } ms  ${(size / 1024).toFixed(1)} KB`,
  );
}
await store.close();
