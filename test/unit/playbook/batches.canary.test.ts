// The canary stage of a play, as planned before anything connects: which
// hosts (N, a percentage, host names, a pattern), the batches that follow it
// (serial cuts the other hosts), what is rejected at FILE:LINE:COLUMN (a host
// not in the play, a pattern matching none, promote: pause without a
// terminal, a soak with no gate to hold), --list-hosts, and the gate a canary
// host runs (held for the canary's soak).
import { describe, expect, it } from "vitest";
import { canaryBatches, chooseCanary, renderListHosts } from "../../../src/playbook/index.js";
import { canaryGate, canaryStep, CANARY_GATE_SLACK_MS } from "../../../src/orchestrator/steps/gate.js";
import type { ExecStep } from "../../../src/orchestrator/steps/step-model.js";
import { load, problems } from "../../support/playbook-files.js";

const ten = Array.from({ length: 10 }, (_, i) => `mta${String(i + 1).padStart(2, "0")}`);
const noPattern = () => {
  throw new Error("no pattern expected");
};

describe("chooseCanary and canaryBatches (pure)", () => {
  it("N hosts, or a percentage of the play's hosts (rounded down, at least 1), in the play's order", () => {
    expect(chooseCanary(ten, 2, noPattern)).toEqual({ hosts: ["mta01", "mta02"] });
    expect(chooseCanary(ten, "25%", noPattern)).toEqual({ hosts: ["mta01", "mta02"] });
    expect(chooseCanary(ten, "5%", noPattern)).toEqual({ hosts: ["mta01"] });
    expect(chooseCanary(["b", "a"], 1, noPattern)).toEqual({ hosts: ["b"] });
  });

  it("host names in the order written (each once); one not in the play is refused, naming the entry", () => {
    expect(chooseCanary(ten, ["mta07", "mta03", "mta07"], noPattern)).toEqual({ hosts: ["mta07", "mta03"] });
    expect(chooseCanary(ten, ["mta03", "mta99"], noPattern)).toEqual({ error: expect.stringMatching(/^canary host 'mta99' is not one of the play's hosts \(mta01, /), item: 1 });
  });

  it("a pattern: the play's hosts it matches, in the play's order; none, or a bad pattern, is refused", () => {
    expect(chooseCanary(ten, "fra", () => ["mta05", "mta03", "other"])).toEqual({ hosts: ["mta03", "mta05"] });
    expect(chooseCanary(ten, "lon", () => ["other"])).toEqual({ error: expect.stringMatching(/^canary hosts: 'lon' matches none of the play's hosts/) });
    expect(chooseCanary(ten, "[", () => { throw new Error("unbalanced"); })).toEqual({ error: "canary hosts: bad host pattern '[': unbalanced" });
  });

  it("the canary is batch 1; serial cuts the other hosts (a percentage is of all the play's hosts, as without a canary)", () => {
    expect(canaryBatches(ten, ["mta04"], [2, "30%"])).toEqual([["mta04"], ["mta01", "mta02"], ["mta03", "mta05", "mta06"], ["mta07", "mta08", "mta09"], ["mta10"]]);
    expect(canaryBatches(ten, ["mta01", "mta02"], undefined)).toEqual([["mta01", "mta02"], ten.slice(2)]);
    expect(canaryBatches(["a"], ["a"], 3)).toEqual([["a"]]);
  });
});

const restart = (extra = "") => `  steps:\n    - restart:\n${extra}`;

describe("canary: in a playbook", () => {
  it("loads the stage as batch 1, with promote (auto by default) and soak; serial after it", async () => {
    const pb = await load(`- hosts: mta\n  serial: 3\n  canary:\n    hosts: [mta05]\n    soak: 90s\n${restart("        gate: {soak: 10s, interval: 1s, healthy_deadline: 30s}\n")}`);
    const p = pb.plays[0]!;
    expect(p.canary).toEqual({ hosts: ["mta05"], promote: "auto", soakMs: 90_000 });
    expect(p.batches).toEqual([["mta05"], ["mta01", "mta02", "mta03"], ["mta04", "mta06", "mta07"], ["mta08", "mta09", "mta10"]]);
    const pattern = await load(`- hosts: mta\n  canary: {hosts: "fra:&~mta0[1-4]", promote: pause}\n${restart()}`, { interactive: true });
    expect(pattern.plays[0]!.canary).toEqual({ hosts: ["mta01", "mta03"], promote: "pause" });
  });

  it("a canary soak may use the play's vars and -e variables", async () => {
    const pb = await load(`- hosts: mta\n  vars: {canary_soak: 20s}\n  canary: {hosts: 1, soak: "{{ canary_soak }}"}\n${restart("        gate: {soak: 1s, interval: 1s, healthy_deadline: 9s}\n")}`, { extraVars: { canary_soak: "45s" } });
    expect(pb.plays[0]!.canary?.soakMs).toBe(45_000);
  });

  it("refuses at FILE:LINE:COLUMN: a host not in the play, a pattern matching none, a bad hosts value, promote: pause without a terminal, a soak with no gate", async () => {
    expect(await problems(`- hosts: fra\n  canary:\n    hosts: [mta01, mta02]\n${restart()}`)).toEqual(["pb.yml:3:20: canary host 'mta02' is not one of the play's hosts (mta01, mta03, mta05, mta07, mta09)"]);
    expect(await problems(`- hosts: fra\n  canary: {hosts: "mta02"}\n${restart()}`)).toEqual(["pb.yml:2:19: canary hosts: 'mta02' matches none of the play's hosts (mta01, mta03, mta05, mta07, mta09)"]);
    expect(await problems(`- hosts: mta\n  canary: {hosts: 0}\n${restart()}`)).toEqual(["pb.yml:2:19: hosts must be at least 1, not 0"]);
    expect(await problems(`- hosts: mta\n  canary: {hosts: 1, promote: pause}\n${restart()}`)).toEqual([
      "pb.yml:2:31: canary promote: pause asks the operator at a terminal, and this run has none: use promote: auto (with a soak), or run from a terminal",
    ]);
    expect(await problems(`- hosts: mta\n  canary: {hosts: 1, promote: later}\n${restart()}`)).toEqual([expect.stringMatching(/^pb\.yml:2:31: /)]);
    expect(await problems(`- hosts: mta\n  canary: {hosts: 1, soak: 60s}\n${restart()}`)).toEqual(["pb.yml:2:28: canary soak: no step of this play has a gate to hold (gate: on a start, restart, reload or wait step)"]);
  });

  it("--list-hosts: the canary line first, then the batches", async () => {
    const pb = await load(`- hosts: mta[0:3]\n  serial: 2\n  max_fail: 1\n  canary: {hosts: 1, soak: 1m}\n${restart("        gate: {soak: 5s, interval: 1s, healthy_deadline: 30s}\n")}`);
    expect(renderListHosts(pb).split("\n").slice(2, 8)).toEqual([
      "  play #1 (mta[0:3]): mta[0:3]",
      "    order inventory, failure budget 1 host (the play stops when it is reached), a failure in the canary stage stops the play",
      "    hosts (4):",
      "      canary, batch 1 (1 host; promoted automatically when every canary host ended well, gates held for 1m): mta01",
      "      batch 2 (2 hosts): mta02, mta03",
      "      batch 3 (1 host): mta04",
    ]);
  });
});

describe("a canary host's gates hold for the canary's soak", () => {
  it("a shorter soak is raised (its deadline grows by as much); a gate without a soak gets one, with a deadline", () => {
    expect(canaryGate({ soakMs: 10_000, healthyDeadlineMs: 40_000, intervalMs: 5000 }, 60_000)).toEqual({ soakMs: 60_000, healthyDeadlineMs: 90_000, intervalMs: 5000 });
    expect(canaryGate({ soakMs: 90_000, healthyDeadlineMs: 120_000 }, 60_000)).toEqual({ soakMs: 90_000, healthyDeadlineMs: 120_000 });
    const probe = { outcome: "delivered" as const, maxLatencyMs: 20_000 };
    expect(canaryGate({ probe }, 30_000)).toEqual({ probe, soakMs: 30_000, healthyDeadlineMs: 30_000 + CANARY_GATE_SLACK_MS });
  });

  it("only the gate of a start/restart/reload/wait step changes", () => {
    const base = { index: 0, name: "s", selector: { kind: "all" as const }, enabled: true };
    const reload: ExecStep = { ...base, action: { type: "reload", healthyTimeoutMs: 1000, gate: { soakMs: 1000, healthyDeadlineMs: 5000 } } };
    expect(canaryStep(reload, 4000).action).toEqual({ type: "reload", healthyTimeoutMs: 1000, gate: { soakMs: 4000, healthyDeadlineMs: 8000 } });
    const bare: ExecStep = { ...base, action: { type: "restart", healthyTimeoutMs: 1000 } };
    expect(canaryStep(bare, 4000)).toBe(bare);
  });
});
