import { describe, expect, it } from "vitest";
import { RunEvents } from "../../../src/orchestrator/events.js";
import { runDocument } from "../../../src/orchestrator/run-document.js";
import type { PlaybookDocument, PlayHostOutcome, StepResult } from "../../../src/orchestrator/steps/step-results.js";
import { attachPlaybookOutput, renderPlaybookRecap, renderPlayHosts } from "../../../src/report/playbook-human.js";

const o = { color: false, diff: false, check: false, verbose: false };
const v = { ...o, verbose: true };

const restarted = (ms: number): StepResult => ({
  index: 0, name: "restart", type: "restart", status: "changed", durationMs: ms,
  instances: [{ instance: "postfix-in", status: "changed", action: `stopped, started, healthy after ${(ms / 1000).toFixed(1)} s`, via: "postfix", durationMs: ms }],
});
const whenSkipped: StepResult = { index: 1, name: "drain relay", type: "wait", status: "skipped", skipped: "`when` is false on this host", instances: [], durationMs: 0 };
const waited = (ms: number): StepResult => ({ index: 2, name: "wait", type: "wait", status: "ok", durationMs: ms, instances: [{ instance: "postfix-in", status: "ok", action: "healthy", durationMs: ms }] });

/** A host that restarted fine; timings differ per host. */
const good = (host: string, ms = 100): PlayHostOutcome => ({ host, status: "changed", results: [], durationMs: ms, startedAt: `2026-01-01T00:00:0${ms % 10}Z`, steps: [restarted(ms), whenSkipped, waited(ms + 1)] });
const failed = (host: string): PlayHostOutcome => ({
  host, status: "failed", error: "step 1 (restart): postfix-in: not healthy", results: [], durationMs: 5,
  steps: [{ index: 0, name: "restart", type: "restart", status: "failed", durationMs: 5, instances: [{ instance: "postfix-in", status: "failed", action: "start failed", error: "not healthy", stderr: "postfix: fatal: boom\n", durationMs: 5 }] }],
});
const unreachable = (host: string): PlayHostOutcome => ({ host, status: "unreachable", error: `connect to ${host}: ECONNREFUSED`, results: [], durationMs: 1, steps: [] });

describe("playbook output folded by outcome", () => {
  it("folds hosts with the same steps and instance results, timings apart, into one block with a compact host list and the range of durations", () => {
    const hosts = [good("mta01", 1100), good("mta02", 2300), good("mta03", 1700), good("mta04", 900)];
    expect(renderPlayHosts(hosts, o)).toBe(
      ["mta[01:04] (4 hosts) | CHANGED", "  [changed] restart", "    postfix-in stopped, started, healthy after 0.9–2.3 s via postfix", "  [ok] wait", "    postfix-in healthy", ""].join("\n"),
    );
    expect(renderPlayHosts([good("mta01", 1100), good("mta02", 1100)], o)).toContain("healthy after 1.1 s via postfix");
  });

  it("shows failed and unreachable hosts in full, one by one, and folds the rest around them", () => {
    const text = renderPlayHosts([good("mta01"), failed("mta02"), good("mta03"), unreachable("mta04"), good("mta05"), failed("mta06")], o);
    expect(text.split("\n").filter((l) => !l.startsWith(" "))).toEqual([
      "mta01, mta03, mta05 (3 hosts) | CHANGED",
      "mta02 | FAILED: step 1 (restart): postfix-in: not healthy",
      "mta04 | UNREACHABLE: connect to mta04: ECONNREFUSED",
      "mta06 | FAILED: step 1 (restart): postfix-in: not healthy",
      "",
    ]);
    expect(text).toContain("    postfix-in start failed: not healthy\n      postfix: fatal: boom\n");
  });

  it("keeps hosts apart whose instance results differ, and folds texts that differ only by the host's own name", () => {
    const other = good("mta03");
    other.steps[0]!.instances[0]!.action = "stopped, started";
    const msg = (h: PlayHostOutcome) => ({ ...h, message: `stopped before its last step: ${h.host} lost its lock` });
    const text = renderPlayHosts([msg(good("mta01")), msg(good("mta02")), other], o);
    expect(text.split("\n").filter((l) => !l.startsWith(" "))).toEqual(["mta01, mta02 (2 hosts) | CHANGED | stopped before its last step: <host> lost its lock", "mta03 | CHANGED", ""]);
  });

  it("hides steps skipped by `when` by default; -v shows every host and those steps as before", () => {
    const hosts = [good("mta01"), good("mta02")];
    expect(renderPlayHosts(hosts, o)).not.toContain("drain relay");
    const verbose = renderPlayHosts(hosts, v);
    expect(verbose.split("\n").filter((l) => !l.startsWith(" "))).toEqual(["mta01 | CHANGED", "mta02 | CHANGED", ""]);
    expect(verbose).toContain("  [skipped] drain relay (`when` is false on this host)\n");
  });

  it("live: prints a failed host as it finishes and the batch's other hosts folded when the batch ends", () => {
    const events = new RunEvents();
    const out: string[] = [];
    const detach = attachPlaybookOutput(events, o, (s) => out.push(s));
    events.emit({ type: "play-started", play: 0, name: "restart", hosts: ["mta01", "mta02", "mta03"], batches: 1 });
    events.emit({ type: "batch-started", play: 0, batch: 0, hosts: ["mta01", "mta02", "mta03"] });
    expect(out.join("")).toBe("\nPLAY [restart] 3 hosts in 1 batch\n\nBATCH 1/1 (3 hosts): mta[01:03]\n");
    out.length = 0;
    const outcomes = [good("mta01"), failed("mta02"), good("mta03")];
    events.emit({ type: "host-finished", outcome: outcomes[0]! });
    events.emit({ type: "host-finished", outcome: outcomes[1]! });
    expect(out.join("")).toMatch(/mta02 \| FAILED/);
    expect(out.join("")).not.toMatch(/mta01/);
    events.emit({ type: "host-finished", outcome: outcomes[2]! });
    events.emit({ type: "batch-finished", play: 0, batch: 0, outcomes });
    expect(out.at(-1)).toMatch(/^mta01, mta03 \(2 hosts\) \| CHANGED\n/);
    detach();
    expect(out.join("").match(/mta01/g)).toHaveLength(1); // the folded block only: nothing twice
  });

  it("live: hosts of a batch that never finished are printed when the output is detached", () => {
    const events = new RunEvents();
    const out: string[] = [];
    const detach = attachPlaybookOutput(events, o, (s) => out.push(s));
    events.emit({ type: "host-finished", outcome: good("mta01") });
    expect(out.join("")).toBe("");
    detach();
    expect(out.join("")).toMatch(/^mta01 \| CHANGED\n/);
  });

  it("live with -v: every host as it finishes", () => {
    const events = new RunEvents();
    const out: string[] = [];
    attachPlaybookOutput(events, v, (s) => out.push(s));
    events.emit({ type: "host-finished", outcome: good("mta01") });
    expect(out.join("")).toMatch(/^mta01 \| CHANGED\n/);
  });
});

describe("playbook recap folded", () => {
  const docOf = (hosts: PlayHostOutcome[]): PlaybookDocument => ({
    ...runDocument("run rolling.yml", hosts, false),
    playbook: "rolling.yml",
    check: false,
    retryHosts: [],
    plays: [{ name: "restart", pattern: "all", hosts: hosts.map((h) => h.host), batches: [{ batch: 0, hosts, durationMs: 1 }], failures: 1 }],
  });

  it("keeps one line per failed or unreachable host and folds the rest by identical line", () => {
    const hosts = [...Array.from({ length: 480 }, (_, i) => good(`mta${String(i + 1).padStart(3, "0")}`, i)), failed("mta481"), unreachable("mx1")];
    const recap = renderPlaybookRecap(docOf(hosts), o);
    expect(recap.split("\n")).toEqual([
      "",
      "RECAP run rolling.yml",
      "mta[001:480] (480 hosts) : ok=1  changed=1  failed=0  unreachable=0  skipped=1",
      "mta481                   : ok=0  changed=0  failed=1  unreachable=0  skipped=0",
      "mx1                      : ok=0  changed=0  failed=0  unreachable=1  skipped=0",
      "play restart: 482 hosts in 1 batch: 0 ok, 480 changed, 1 failed, 1 unreachable, 0 skipped",
      "",
    ]);
  });

  it("with -v one line per host", () => {
    const recap = renderPlaybookRecap(docOf([good("mta01"), good("mta02")]), v);
    expect(recap).toMatch(/^mta01 : ok=1 {2}changed=1 .*\nmta02 : ok=1 {2}changed=1 /m);
  });

  it("folds hosts not attempted for the same reason into one line with the reason", () => {
    const skipped = (host: string): PlayHostOutcome => ({ host, status: "skipped", error: "failure budget spent", results: [], durationMs: 0, steps: [] });
    const recap = renderPlaybookRecap(docOf([skipped("mta05"), skipped("mta06"), skipped("mta07")]), o);
    expect(recap).toContain("\nmta[05:07] (3 hosts) : ok=0  changed=0  failed=0  unreachable=0  skipped=0  (not attempted: failure budget spent)\n");
  });
});
