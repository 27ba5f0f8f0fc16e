// on_gate_failure: revert, its planning (which instances to keep, which
// failure calls for a revert, reload or restart, what is still different)
// and runRevert's order of work against a scripted agent (fakes for unit tests
// only; test/integration/playbook/revert.test.ts runs it on lab hosts). Also
// the copies: the controller's beside the journal, the host's as the agent's
// restore falls back on it.
import { mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { restoreSource } from "../../../../src/agent/requests/revert.js";
import { keepSnapshotFiles, readSnapshotFiles, snapshotPath, syncSnapshotFiles } from "../../../../src/orchestrator/journal/snapshots.js";
import type { RunHostSession } from "../../../../src/orchestrator/host-session.js";
import { differs, gateStepOf, revertAction, runRevert, snapshotTargets, toSnapshot, triggersRevert, type ConfigSnapshot } from "../../../../src/orchestrator/steps/revert.js";
import { pendingRevert } from "../../../../src/orchestrator/journal/revert-resume.js";
import type { RunRecord } from "../../../../src/orchestrator/journal/records.js";
import type { StepContext } from "../../../../src/orchestrator/steps/step-context.js";
import type { ExecStep } from "../../../../src/orchestrator/steps/step-model.js";
import type { InstanceStepResult, StepResult } from "../../../../src/orchestrator/steps/step-results.js";
import type { FactsResponse, InstanceFacts, RevertRequest, RevertResponse } from "../../../../src/protocol/index.js";

const inst = (name: string, o: Partial<InstanceFacts> = {}): InstanceFacts => ({
  name,
  group: "mta",
  enabled: true,
  configDirectory: name === "-" ? "/etc/postfix" : `/etc/${name}`,
  primary: name === "-",
  queueDirectory: "/q",
  dataDirectory: "/d",
  running: true,
  ...o,
});
const facts = (instances: InstanceFacts[]): FactsResponse => ({
  id: 1,
  op: "facts",
  postfixVersion: "3.7.11",
  nodeVersion: "v18",
  agentVersion: "test",
  hostname: "mta01",
  instances,
  multiInstanceWrapper: "/usr/sbin/postmulti -p --",
  multiInstanceEnable: true,
});
const FACTS = facts([inst("-"), inst("postfix-in"), inst("postfix-out")]);

const postconf = (index: number, names: string[], then?: "reload" | "restart"): ExecStep => ({
  index,
  name: "settings",
  selector: { kind: "names", names },
  enabled: true,
  onGateFailure: "revert",
  ...(then ? { then } : {}),
  action: { type: "postconf", settings: { main: { relayhost: "[hub]" } } },
});
const snap = (instance: string, step = 0, apply: "reload" | "restart" = "reload"): ConfigSnapshot => ({
  instance,
  arg: instance,
  step,
  files: { "main.cf": Buffer.from(`main of ${instance}\n`).toString("base64"), "master.cf": Buffer.from("master\n").toString("base64") },
  sha256: { "main.cf": `m-${instance}`, "master.cf": "M" },
  apply,
});
const failed = (index: number, type: StepResult["type"], o: Partial<StepResult> = {}): StepResult => ({ index, name: `step ${index + 1}`, type, status: "failed", error: "probe failed", instances: [], durationMs: 0, ...o });

describe("revert planning", () => {
  it("keeps the selected instances of a postconf step, the existing non-absent ones of an instances step, each once (the earliest copy)", () => {
    expect(snapshotTargets(postconf(0, ["postfix-out"]), FACTS, "mta01").map((i) => i.name)).toEqual(["postfix-out"]);
    const conv: ExecStep = {
      ...postconf(0, []),
      selector: { kind: "all" },
      action: {
        type: "instances",
        desired: [
          { name: "postfix-in", state: "enabled", settings: {} },
          { name: "postfix-new", state: "enabled", settings: {} },
          { name: "postfix-out", state: "absent", settings: {} },
        ],
      },
    };
    // A new instance has nothing to go back to; an absent one is not "changed" by settings.
    expect(snapshotTargets(conv, FACTS, "mta01").map((i) => i.name)).toEqual(["postfix-in"]);
    const kept = new Map([["postfix-out", snap("postfix-out")]]);
    expect(toSnapshot([inst("postfix-in"), inst("postfix-out")], kept).map((i) => i.name)).toEqual(["postfix-in"]);
  });

  it("a later gate's failure calls for a revert; the changing step's own failure, a run step, or nothing kept does not", () => {
    const kept = new Map([["postfix-out", snap("postfix-out", 0)]]);
    for (const t of ["reload", "restart", "start", "wait", "then"] as const) expect(triggersRevert(failed(1, t), kept), t).toBe(true);
    expect(triggersRevert(failed(0, "postconf"), kept)).toBe(false);
    expect(triggersRevert(failed(1, "run"), kept)).toBe(false);
    expect(triggersRevert(failed(1, "reload"), new Map())).toBe(false);
    expect(triggersRevert({ ...failed(1, "reload"), status: "ok" }, kept)).toBe(false);
    // A gate before the step that kept the files is not this change's gate.
    expect(triggersRevert(failed(0, "reload"), new Map([["postfix-out", snap("postfix-out", 1)]]))).toBe(false);
  });

  it("reloads unless a kept change took effect by a restart (its then:) or the failed gate was a restart", () => {
    expect(revertAction([snap("a"), snap("b")], "reload")).toBe("reload");
    expect(revertAction([snap("a"), snap("b", 0, "restart")], "wait")).toBe("restart");
    expect(revertAction([snap("a")], "restart")).toBe("restart");
  });

  it("names the files whose sha256 still differs", () => {
    expect(differs(snap("x"), { "main.cf": "m-x", "master.cf": "M" })).toEqual([]);
    expect(differs(snap("x"), { "main.cf": "other", "master.cf": "M" })).toEqual(["main.cf"]);
    expect(differs(snap("x"), {})).toEqual(["main.cf", "master.cf"]);
  });
});

/** A context whose agent answers revert restores from `answer`, recording every request. */
function scripted(answer: (req: RevertRequest) => Partial<RevertResponse>): { ctx: StepContext; log: string[] } {
  const log: string[] = [];
  const session = {
    request: async (req: RevertRequest) => {
      log.push(`${req.op} ${req.action} ${req.instance}${req.files ? " (controller copy)" : ""}`);
      return { id: 1, op: "revert", instance: inst(req.instance), action: req.action, files: {}, sha256: {}, replaced: [], ...answer(req) };
    },
  } as unknown as RunHostSession;
  const ctx: StepContext = {
    host: "mta01",
    session,
    check: false,
    opTimeoutMs: 1000,
    hardStop: new AbortController().signal,
    interrupted: () => undefined,
    facts: async () => FACTS,
    invalidateFacts: () => undefined,
    predict: () => undefined,
    predicted: () => false,
    doing: () => undefined,
    prompt: async () => undefined,
    transition: (i, s) => log.push(`${i}: ${s}`),
  };
  return { ctx, log };
}

const row = (instance: string, status: InstanceStepResult["status"], action: string): InstanceStepResult => ({ instance, status, action, durationMs: 0 });

describe("runRevert", () => {
  it("restores with the controller's copy, reloads only the instances whose files changed, runs the gate again: ok", async () => {
    const sums = { out: { "main.cf": "m-postfix-out", "master.cf": "M" }, in: { "main.cf": "m-postfix-in", "master.cf": "M" } };
    const { ctx, log } = scripted((req) =>
      req.instance === "postfix-out" ? { replaced: ["main.cf"], sha256: sums.out } : { replaced: [], sha256: sums.in },
    );
    const r = await runRevert(ctx, 2, failed(1, "reload"), [snap("postfix-out"), snap("postfix-in")], {
      apply: async (action, instances) => {
        log.push(`${action} ${instances.map((i) => i.name).join(",")}`);
        return instances.map((i) => row(i.name, "changed", "reloaded"));
      },
      regate: async () => {
        log.push("gate");
        return { ...failed(1, "reload"), status: "ok", error: undefined, instances: [row("(gate)", "ok", "held")] } as StepResult;
      },
    });
    expect(log).toEqual([
      "postfix-out: reverting",
      "revert restore postfix-out (controller copy)",
      "postfix-out: restored",
      "postfix-in: reverting",
      "revert restore postfix-in (controller copy)",
      "postfix-in: restored",
      "reload postfix-out",
      "gate",
      "postfix-out: reverted",
      "postfix-in: reverted",
    ]);
    expect(r).toMatchObject({ index: 2, type: "revert", status: "changed" });
    expect(r.error).toBeUndefined();
    expect(r.instances.map((i) => i.action)).toEqual([
      expect.stringMatching(/^restored main\.cf as before step 1 \(main\.cf m-postfix-ou, master\.cf M\)$/),
      "main.cf and master.cf already as before step 1",
      "reloaded",
      "gate again: held",
    ]);
  });

  it("a restore the agent refuses, or one that leaves a file different, stops before any reload: failed, revert_failed", async () => {
    let applied = false;
    const deps = { apply: async () => ((applied = true), []), regate: async () => failed(1, "reload") };
    const refused = scripted(() => ({ error: { message: "conflict", code: "conflict" } }));
    const a = await runRevert(refused.ctx, 2, failed(1, "reload"), [snap("postfix-out")], deps);
    expect(a.status).toBe("failed");
    expect(a.error).toMatch(/^revert incomplete: postfix-out: conflict/);
    expect(refused.log).toContain("postfix-out: revert_failed");
    const off = scripted(() => ({ replaced: ["main.cf"], sha256: { "main.cf": "not it", "master.cf": "M" } }));
    const b = await runRevert(off.ctx, 2, failed(1, "reload"), [snap("postfix-out")], deps);
    expect(b.error).toMatch(/main\.cf not byte-identical after the restore/);
    expect(applied).toBe(false);
  });

  it("a gate that fails again after the restore: failed, saying so", async () => {
    const { ctx } = scripted(() => ({ replaced: ["main.cf"], sha256: { "main.cf": "m-postfix-out", "master.cf": "M" } }));
    const r = await runRevert(ctx, 2, failed(1, "wait"), [snap("postfix-out", 0, "restart")], {
      apply: async (action, instances) => instances.map((i) => row(i.name, "changed", `${action}ed`)),
      regate: async () => failed(1, "wait", { error: "still down" }),
    });
    expect(r.status).toBe("failed");
    expect(r.error).toBe("revert incomplete: the gate failed again after the revert: still down");
    expect(r.instances.map((i) => i.action)).toContain("restarted");
  });
});

describe("the copies", () => {
  it("the controller's: RUN_DIR/revert/HOST/INSTANCE, 0700/0600, the first copy kept, read back byte for byte", () => {
    const run = mkdtempSync(join(tmpdir(), "postfleet-run-"));
    const bytes = Buffer.from([0, 1, 2, 255, 10]);
    const dir = keepSnapshotFiles(run, "mta01", "postfix-out", { "main.cf": bytes.toString("base64"), "master.cf": "", "../evil": "eA==" });
    expect(dir).toBe(snapshotPath(run, "mta01", "postfix-out"));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(run, "revert")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "main.cf")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "main.cf")).equals(bytes)).toBe(true);
    keepSnapshotFiles(run, "mta01", "postfix-out", { "main.cf": Buffer.from("later").toString("base64") });
    expect(readSnapshotFiles(run, "mta01", "postfix-out")).toEqual({ "main.cf": bytes.toString("base64"), "master.cf": "" });
    expect(snapshotPath(run, "../x", "a/b")).toBe(join(run, "revert", ".._x", "a_b"));
    expect(readSnapshotFiles(run, "mta02", "postfix-out")).toBeUndefined();
  });

  it("the controller's copies name what must reach the disk: each file, and every directory an entry was made in", async () => {
    const run = mkdtempSync(join(tmpdir(), "postfleet-run-"));
    const unsynced = new Set<string>();
    const dir = keepSnapshotFiles(run, "mta01", "postfix-out", { "main.cf": "eA==", "master.cf": "eQ==" }, unsynced);
    expect([...unsynced].sort()).toEqual(
      [join(dir, "main.cf"), join(dir, "master.cf"), dir, join(run, "revert", "mta01"), join(run, "revert"), run].sort(),
    );
    // The first copy is kept: nothing new is written, nothing to sync.
    const again = new Set<string>();
    keepSnapshotFiles(run, "mta01", "postfix-out", { "main.cf": "eg==" }, again);
    expect(again.size).toBe(0);
    // A path gone meanwhile does not fail the run (the host keeps its own copy).
    await expect(syncSnapshotFiles([...unsynced, join(run, "gone")])).resolves.toBeUndefined();
  });

  it("the agent's restore: the request's bytes per file, else the host's copy; none at all is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "postfleet-revert-"));
    mkdirSync(join(dir, "k"));
    writeFileSync(join(dir, "k", "master.cf"), "host master\n");
    const src = restoreSource({ "main.cf": Buffer.from("sent main\n").toString("base64") }, join(dir, "k"));
    expect([...src.entries()].map(([f, b]) => [f, b.toString()])).toEqual([
      ["main.cf", "sent main\n"],
      ["master.cf", "host master\n"],
    ]);
    expect(() => restoreSource(undefined, join(dir, "none"))).toThrow(/nothing to restore/);
  });
});

describe("a revert left half done, from the journal (postfleet resume finishes it)", () => {
  let seq = 0;
  const rec = (r: Record<string, unknown>) => ({ seq: ++seq, ts: "2026-12-06T12:00:00.000Z", ...r }) as unknown as RunRecord;
  const base = (host: string) => [
    rec({ type: "host_start", host, play: 0, batch: 0 }),
    rec({ type: "step_start", host, step: 0, name: "Apply", kind: "postconf" }),
    rec({ type: "instance", host, step: 0, instance: "postfix-out", state: "revert_snapshot" }),
    rec({ type: "step_end", host, step: 0, name: "Apply", status: "changed" }),
    rec({ type: "step_start", host, step: 1, name: "Reload, gated", kind: "reload" }),
    rec({ type: "step_end", host, step: 1, name: "Reload, gated", status: "failed" }),
    rec({ type: "step_start", host, step: 4, name: "revert", kind: "reload" }),
    rec({ type: "instance", host, step: 4, instance: "postfix-out", state: "reverting" }),
  ];

  it("killed after the restore and before the reload: the revert step, the failed gate and each instance with the step that kept it", () => {
    const records = [...base("mta01"), rec({ type: "instance", host: "mta01", step: 4, instance: "postfix-out", state: "restored" }), ...base("mta02")];
    expect(pendingRevert(records, "mta01", 0)).toEqual({ step: 4, gate: { index: 1, name: "Reload, gated", kind: "reload" }, instances: [{ name: "postfix-out", keptAt: 0 }] });
    expect(pendingRevert(records, "mta01", 1)).toBeUndefined();
  });

  it("nothing pending when the revert step ended, or none began", () => {
    const ended = [...base("mta01"), rec({ type: "step_end", host: "mta01", step: 4, name: "revert: postfix-out", status: "changed" })];
    expect(pendingRevert(ended, "mta01", 0)).toBeUndefined();
    expect(pendingRevert(base("mta01").slice(0, 6), "mta01", 0)).toBeUndefined();
  });

  it("the gate to run again: the play's step, or a then: handler rebuilt from its name", () => {
    const steps = [postconf(0, ["postfix-out"], "reload")];
    expect(gateStepOf(steps, { index: 0, name: "settings", kind: "postconf" })).toBe(steps[0]);
    expect(gateStepOf(steps, { index: 2, name: "then: reload postfix-out, postfix-in", kind: "reload" })).toMatchObject({
      index: 2,
      selector: { kind: "names", names: ["postfix-out", "postfix-in"] },
      action: { type: "reload" },
    });
    expect(gateStepOf(steps, { index: 7, name: "other", kind: "wait" })).toBeUndefined();
  });
});
