// JUnit XML of a run document: well-formed (parsed by a real XML parser),
// a testsuite per play, a testcase per host, failure / skipped as CI expects.
import { describe, expect, it } from "vitest";
import { summarize, type HostOutcome } from "../../../src/orchestrator/run-document.js";
import type { PlaybookDocument, PlayHostOutcome } from "../../../src/orchestrator/steps/step-results.js";
import { renderJunit } from "../../../src/report/junit.js";
import { parseJunit } from "../../support/junit-xml.js";

const h = (host: string, status: HostOutcome["status"], error?: string): PlayHostOutcome => ({ host, status, ...(error ? { error } : {}), results: [], durationMs: 1500, steps: [] });

describe("JUnit XML", () => {
  it("a playbook: one testsuite per play, one testcase per host, failure for failed/unreachable, skipped for not attempted", () => {
    const p1 = [h("a", "changed"), h("b", "failed", 'step 1 (restart): <"bad"> & worse\u0001'), h("c", "unreachable", "connection refused")];
    const p2 = [h("a", "ok"), h("c", "skipped", "failure budget spent")];
    const hosts = [h("a", "changed"), h("b", "failed"), h("c", "unreachable")];
    const doc: PlaybookDocument = {
      command: "run pb.yml",
      summary: summarize(hosts),
      aborted: false,
      hosts,
      playbook: "pb.yml",
      check: false,
      plays: [
        { name: "roll & <go>", pattern: "all", hosts: ["a", "b", "c"], batches: [{ batch: 0, hosts: p1, durationMs: 0 }], failures: 2 },
        { name: "second", pattern: "all", hosts: ["a", "c"], batches: [{ batch: 0, hosts: [p2[0]!] , durationMs: 0 }, { batch: 1, hosts: [p2[1]!], durationMs: 0 }], failures: 0 },
      ],
      retryHosts: ["b", "c"],
    };
    const x = parseJunit(renderJunit(doc));
    expect(x.root).toBe("testsuites");
    expect(x.attrs).toMatchObject({ tests: "5", failures: "2", skipped: "1" });
    expect(x.suites.map((s) => [s.name, s.attrs.tests, s.attrs.failures, s.attrs.skipped])).toEqual([
      ["roll & <go>", "3", "2", "0"],
      ["second", "2", "0", "1"],
    ]);
    const [a, b, c] = x.suites[0]!.cases;
    expect(a).toEqual({ name: "a", classname: "roll & <go>" });
    expect(b!.failure).toMatchObject({ type: "failed", message: 'step 1 (restart): <"bad"> & worse' });
    expect(c!.failure).toMatchObject({ type: "unreachable", message: "connection refused" });
    expect(x.suites[1]!.cases[1]).toMatchObject({ name: "c", skipped: { message: "failure budget spent" } });
    expect(x.suites[0]!.attrs.time).toBe("4.500");
  });

  it("a one-command run: one testsuite named by the command", () => {
    const hosts = [h("a", "changed"), h("b", "skipped", "run aborted before this host was reached")];
    const x = parseJunit(renderJunit({ command: "postmulti -p reload", summary: summarize(hosts), aborted: true, hosts }));
    expect(x.suites).toHaveLength(1);
    expect(x.suites[0]!.name).toBe("postmulti -p reload");
    expect(x.suites[0]!.cases.map((c) => [c.name, !!c.skipped])).toEqual([["a", false], ["b", true]]);
  });
});
