// The run document's hosts[] at fleet scale: each host's outcomes over the
// plays are gathered in one pass, not looked up over every outcome per host
// (n² for n hosts). Counted, not timed: reads of an outcome's `host`.
import { describe, expect, it } from "vitest";
import { overallHosts } from "../../../src/orchestrator/playbook-run.js";
import type { PlayHostOutcome, PlayResult } from "../../../src/orchestrator/steps/step-results.js";

describe("overallHosts at fleet scale", () => {
  it("reads each outcome's host a bounded number of times (2 plays over 2,000 hosts), and keeps the worst status", () => {
    const N = 2_000;
    const names = Array.from({ length: N }, (_, i) => `mta${String(i + 1).padStart(4, "0")}`);
    const index = new Map(names.map((n, i) => [n, i]));
    let reads = 0;
    const outcome = (host: string, status: PlayHostOutcome["status"]): PlayHostOutcome => {
      const o = { status, results: [], durationMs: 5, steps: [] } as unknown as PlayHostOutcome;
      Object.defineProperty(o, "host", { enumerable: true, get: () => (reads++, host) });
      return o;
    };
    const play = (name: string, statusOf: (i: number) => PlayHostOutcome["status"]): PlayResult => ({
      name,
      pattern: "all",
      hosts: names,
      failures: 0,
      // batches of 1, 10%, then the rest, as a rolling restart has them
      batches: [names.slice(0, 1), names.slice(1, 1 + N / 10), names.slice(1 + N / 10)].map((b, batch) => ({
        batch,
        durationMs: 1,
        hosts: b.map((h) => outcome(h, statusOf(index.get(h)!))),
      })),
    });
    const plays = [play("stop", () => "changed"), play("start", (i) => (i === 7 ? "failed" : "ok"))];
    reads = 0;
    const hosts = overallHosts(names, plays);
    expect(hosts.map((h) => h.host)).toEqual(names);
    expect(hosts.filter((h) => h.status === "failed").map((h) => h.host)).toEqual(["mta0008"]);
    expect(new Set(hosts.map((h) => h.status))).toEqual(new Set(["changed", "failed"]));
    expect(hosts.every((h) => h.durationMs === 10)).toBe(true);
    // One read per outcome to group them, a few per host for the result (was 2 × N per host: 8,000,000).
    expect(reads).toBeLessThanOrEqual(4 * 2 * N);
  });
});
