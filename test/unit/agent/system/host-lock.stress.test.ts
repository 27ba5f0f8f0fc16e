// The host lock never has two holders, with holders that die
// (SIGKILL) while holding it or while waiting for it. Four contending
// processes (replaced as they die) take the lock until the total count is
// reached; each checks that no one else entered while it held the lock.
// CI runs 1,000 acquisitions; POSTFLEET_LOCK_STRESS=100000 for the full run
// (see docs/postmulti-compat.md for its figures).
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const TOTAL = Number(process.env.POSTFLEET_LOCK_STRESS ?? 1000);
const CONTENDERS = 4;
/** Long runs: a progress line every 10,000 acquisitions in this file. */
const PROGRESS = process.env.POSTFLEET_LOCK_STRESS_LOG;

let root: string;
let worker: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "pfA-lock-stress-"));
  worker = join(root, "worker.cjs");
  await build({
    entryPoints: [join(import.meta.dirname, "host-lock.stress-worker.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    outfile: worker,
    logLevel: "warning",
  });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Tally {
  acquisitions: number;
  overlaps: number;
  deaths: number;
}

/** Run contenders until `total` acquisitions; crashEvery: about one death in N acquisitions (and waits). */
function contend(name: string, total: number, crashEvery: number, mode: "lock" | "nolock"): Promise<Tally> {
  const dir = join(root, name);
  const marker = join(root, `${name}.mark`);
  const tally: Tally = { acquisitions: 0, overlaps: 0, deaths: 0 };
  const live = new Set<ChildProcess>();
  return new Promise((resolve) => {
    let done = false;
    const start = () => {
      const c = spawn(process.execPath, [worker, dir, marker, String(crashEvery), mode], { stdio: ["ignore", "pipe", "inherit"] });
      live.add(c);
      let rest = "";
      c.stdout!.on("data", (d: Buffer) => {
        const text = rest + d.toString();
        const lines = text.split("\n");
        rest = lines.pop()!;
        for (const l of lines) {
          if (l === "o") tally.overlaps++;
          if (l !== "a") continue;
          tally.acquisitions++;
          if (PROGRESS && tally.acquisitions % 10_000 === 0) appendFileSync(PROGRESS, `${new Date().toISOString()} ${JSON.stringify(tally)}\n`);
        }
        if (!done && tally.acquisitions >= total) {
          done = true;
          for (const p of live) p.kill("SIGKILL");
        }
      });
      c.on("close", () => {
        live.delete(c);
        if (!done) {
          tally.deaths++;
          start();
        } else if (live.size === 0) resolve(tally);
      });
    };
    for (let i = 0; i < CONTENDERS; i++) start();
  });
}

describe("host lock under contention with dying holders", () => {
  it("the overlap check sees overlaps when there is no lock (the check can fail)", async () => {
    const t = await contend("nolock", 2000, 0, "nolock");
    expect(t.overlaps).toBeGreaterThan(0);
  }, 120_000);

  it(`${TOTAL} acquisitions by ${CONTENDERS} processes, holders killed while holding and while waiting: 0 overlaps`, async () => {
    const t = await contend("lock", TOTAL, 40, "lock");
    console.log(`lock stress: ${t.acquisitions} acquisitions, ${t.deaths} contenders killed, ${t.overlaps} overlaps`);
    expect(t.acquisitions).toBeGreaterThanOrEqual(TOTAL);
    expect(t.deaths).toBeGreaterThan(TOTAL / 200); // holders did die, and the lock was taken after them
    expect(t.overlaps).toBe(0);
  }, Math.max(300_000, TOTAL * 20));
});
