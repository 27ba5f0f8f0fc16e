import { describe, expect, it } from "vitest";
import { runOnHosts } from "../../../src/orchestrator/fleet.js";
import type { HostOutcome } from "../../../src/report/document.js";

const ok = (host: string): HostOutcome => ({ host, status: "ok", results: [], durationMs: 1 });
const tick = () => new Promise((r) => setTimeout(r, 5));

describe("runOnHosts", () => {
  it("keeps inventory order in its outcomes and never runs more than `forks` hosts at once", async () => {
    let running = 0;
    let peak = 0;
    const hosts = Array.from({ length: 12 }, (_, i) => `h${i}`);
    const out = await runOnHosts(
      hosts,
      async (h) => {
        running++;
        peak = Math.max(peak, running);
        await tick();
        running--;
        return ok(h);
      },
      { forks: 3 },
    );
    expect(out.map((o) => o.host)).toEqual(hosts);
    expect(peak).toBe(3);
  });

  it("turns a throwing host into a failed outcome without touching the others", async () => {
    const out = await runOnHosts(
      ["a", "b", "c"],
      async (h) => {
        if (h === "b") throw new Error("boom");
        return ok(h);
      },
      { forks: 2 },
    );
    expect(out.map((o) => o.status)).toEqual(["ok", "failed", "ok"]);
    expect(out[1]!.error).toBe("boom");
  });

  it("after an abort, lets running hosts finish and skips the rest", async () => {
    const ac = new AbortController();
    const started: string[] = [];
    const out = await runOnHosts(
      ["a", "b", "c", "d"],
      async (h) => {
        started.push(h);
        await tick();
        if (h === "a") ac.abort();
        else await tick();
        return ok(h);
      },
      { forks: 2, signal: ac.signal },
    );
    expect(started).toEqual(["a", "b"]);
    expect(out.map((o) => o.status)).toEqual(["ok", "ok", "skipped", "skipped"]);
    expect(out[2]!.error).toMatch(/aborted/);
  });
});
