import { describe, expect, it } from "vitest";
import { runDocument, type HostOutcome } from "../../../src/orchestrator/run-document.js";
import { renderHost, renderHosts, renderRecap } from "../../../src/report/human.js";

const changed: HostOutcome = {
  host: "mta01",
  status: "changed",
  durationMs: 800,
  results: [
    { instance: "postfix-out", command: "postfix start", exitCode: 0, stdout: "", stderr: "", durationMs: 400, changed: true },
    { instance: "postfix-in", command: "", exitCode: 0, stdout: "", stderr: "", durationMs: 0, changed: false, skipped: "already running" },
    { instance: "-", command: "", exitCode: 0, stdout: "", stderr: "", durationMs: 0, changed: false },
  ],
};
const failed: HostOutcome = {
  host: "mta02",
  status: "failed",
  error: "postmulti exited with status 1",
  durationMs: 10,
  results: [{ instance: "postfix-out", command: "postfix start", exitCode: 1, stdout: "", stderr: "postfix: fatal: bad config\n", durationMs: 5, changed: false }],
};
const unreachable: HostOutcome = { host: "mta03", status: "unreachable", error: "connect ECONNREFUSED", durationMs: 3, results: [] };

describe("human output", () => {
  it("shows a host's status, the instances that did something, why one was skipped, and leaves out silent ones", () => {
    const text = renderHost(changed, { color: false });
    expect(text.split("\n")[0]).toBe("mta01 | CHANGED");
    expect(text).toContain("  postfix-out changed postfix start");
    expect(text).toContain("  postfix-in ok (already running)");
    expect(text).not.toMatch(/^ {2}- /m);
  });

  it("puts a failed host's reason on its first line and its instances' stderr under them", () => {
    const text = renderHost(failed, { color: false });
    expect(text.split("\n")[0]).toBe("mta02 | FAILED: postmulti exited with status 1");
    expect(text).toContain("  postfix-out exit 1 postfix start\n    postfix: fatal: bad config");
  });

  it("ends with one recap line per host and the totals; no escape codes without colour", () => {
    const doc = runDocument("postmulti -p start", [changed, failed, unreachable], false);
    const recap = renderRecap(doc, { color: false });
    expect(recap).toContain("RECAP postmulti -p start");
    expect(recap).toMatch(/mta01 : ok=3 {2}changed=1 {2}failed=0 {2}unreachable=0 {2}skipped=0/);
    expect(recap).toMatch(/mta02 : ok=0 {2}changed=0 {2}failed=1 {2}unreachable=0/);
    expect(recap).toMatch(/mta03 : ok=0 {2}changed=0 {2}failed=0 {2}unreachable=1/);
    expect(recap).toContain("3 hosts: 0 ok, 1 changed, 1 failed, 1 unreachable");
    expect(recap).not.toContain("\x1b[");
  });

  it("says when the run was aborted, and colours on request", () => {
    const doc = runDocument("ping", [{ host: "a", status: "skipped", error: "run aborted before this host was reached", results: [], durationMs: 0 }], true);
    expect(renderRecap(doc, { color: false })).toContain("1 skipped (aborted)");
    expect(renderRecap(doc, { color: true })).toContain("\x1b[");
  });

  it("folds hosts with the same outcome (timings apart) into one block; failed and unreachable hosts stay in full; -v shows each", () => {
    const started = (host: string, ms: number): HostOutcome => ({ ...changed, host, durationMs: ms, results: changed.results.map((r) => ({ ...r, durationMs: ms })) });
    const hosts = [started("mta01", 10), started("mta02", 20), failed, started("mta04", 30), unreachable, started("mta05", 5)];
    const text = renderHosts(hosts, { color: false });
    expect(text.split("\n").filter((l) => !l.startsWith(" "))).toEqual([
      "mta01, mta02, mta04, mta05 (4 hosts) | CHANGED",
      "mta02 | FAILED: postmulti exited with status 1",
      "mta03 | UNREACHABLE: connect ECONNREFUSED",
      "",
    ]);
    expect(text).toContain("  postfix-out changed postfix start\n");
    const verbose = renderHosts(hosts, { color: false, verbose: true });
    expect(verbose.split("\n").filter((l) => /^\S/.test(l))).toHaveLength(6);
  });

  it("keeps hosts apart whose output differs, and folds output that differs only by the host's name", () => {
    const listing = (host: string, stdout: string): HostOutcome => ({ host, status: "ok", stdout, durationMs: 1, results: [] });
    const text = renderHosts([listing("mx1", "mx1: 2 instances\n"), listing("mx2", "mx2: 2 instances\n"), listing("mx3", "mx3: 3 instances\n")], { color: false });
    expect(text).toBe("mx1, mx2 (2 hosts) | OK\n  <host>: 2 instances\nmx3 | OK\n  mx3: 3 instances\n");
  });

  it("folds the recap: one line per failed or unreachable host, one per identical line for the rest", () => {
    const hosts = [...Array.from({ length: 40 }, (_, i) => ({ ...changed, host: `mta${String(i + 1).padStart(2, "0")}`, durationMs: i })), { ...unreachable, host: "mta41" }];
    hosts[1] = failed; // mta02
    const recap = renderRecap(runDocument("postmulti -p start", hosts, false), { color: false });
    expect(recap.split("\n").slice(2, -2)).toEqual([
      "mta01, mta[03:40] (39 hosts) : ok=3  changed=1  failed=0  unreachable=0  skipped=0",
      "mta02                        : ok=0  changed=0  failed=1  unreachable=0  skipped=0",
      "mta41                        : ok=0  changed=0  failed=0  unreachable=1  skipped=0",
    ]);
    expect(renderRecap(runDocument("ping", hosts.slice(0, 3), false), { color: false, verbose: true })).toMatch(/^mta01 : .*\nmta02 : .*\nmta03 : /m);
  });
});
