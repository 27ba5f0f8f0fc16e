import { describe, expect, it } from "vitest";
import { runDocument, type HostOutcome } from "../../../src/orchestrator/run-document.js";
import { renderHost, renderRecap } from "../../../src/report/human.js";

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
});
