import { describe, expect, it } from "vitest";
import { exitCodeOf, summarize, type HostOutcome, type HostStatus, type RunDocument } from "../../../src/orchestrator/run-document.js";

const doc = (statuses: HostStatus[], aborted = false): RunDocument => {
  const hosts: HostOutcome[] = statuses.map((status, i) => ({ host: `h${i}`, status, results: [], durationMs: 0 }));
  return { command: "x", summary: summarize(hosts), aborted, hosts };
};

describe("summary and exit codes", () => {
  it("counts hosts by status", () => {
    expect(doc(["ok", "changed", "changed", "failed", "unreachable"]).summary).toEqual({
      ok: 1,
      changed: 2,
      failed: 1,
      unreachable: 1,
      skipped: 0,
    });
  });
  it("maps outcomes to 0 ok, 2 failed, 3 unreachable only, 4 aborted", () => {
    expect(exitCodeOf(doc(["ok", "changed"]))).toBe(0);
    expect(exitCodeOf(doc(["ok", "failed", "unreachable"]))).toBe(2);
    expect(exitCodeOf(doc(["ok", "unreachable"]))).toBe(3);
    expect(exitCodeOf(doc(["ok", "skipped"], true))).toBe(4);
  });
});
