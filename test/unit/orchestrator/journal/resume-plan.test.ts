// What `postfleet resume` takes from a journal: finished hosts kept, a host in
// flight with the steps it ended and the step to look at again (each
// instance's transitions, over every part of the run), the budget carried
// over or reset, a play stopped by its budget reopened only on reset; the
// resume lock (one at a time, a dead owner's lock taken over); a resumed
// run's status from its last part.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRun, rebuildDocument } from "../../../../src/orchestrator/journal/rebuild.js";
import type { RecordBody, RecordOf, RunRecord } from "../../../../src/orchestrator/journal/records.js";
import { acquireResumeLock, RESUME_LOCK } from "../../../../src/orchestrator/journal/resume-lock.js";
import { resumePlan } from "../../../../src/orchestrator/journal/resume-plan.js";
import { JournalError } from "../../../../src/orchestrator/journal/store.js";
import type { PlaybookDocument, PlayHostOutcome } from "../../../../src/orchestrator/steps/step-results.js";

const controller = { hostname: "ctl", pid: 999_999_999, user: "root" };

function journal(bodies: RecordBody[]): RunRecord[] {
  return bodies.map((b, i) => ({ seq: i + 1, ts: new Date(Date.UTC(2026, 11, 6, 12, 0, i)).toISOString(), ...b }) as RunRecord);
}

const runStart: RecordBody = {
  type: "run_start",
  runId: "20261206T120000000Z-abcdef",
  command: "run pb.yml",
  kind: "playbook",
  argv: ["run", "pb.yml"],
  cwd: "/x",
  controller,
  version: "0.1.0",
  playbook: { path: "pb.yml", sha256: "0".repeat(64) },
  check: false,
  inventory: [],
  hosts: ["a", "b", "c", "d"],
  plan: { plays: [{ name: "roll", pattern: "all", batches: [["a", "b"], ["c", "d"]], maxFail: 2 }] },
};

const ended = (host: string, status: PlayHostOutcome["status"], batch = 0): RecordBody => ({
  type: "host_end",
  host,
  status,
  play: 0,
  batch,
  outcome: { host, status, results: [], durationMs: 1, steps: [{ index: 0, name: "restart", type: "restart", status: status === "failed" ? "failed" : "changed", instances: [], durationMs: 1 }] } as never,
});

const inst = (host: string, instance: string, state: string): RecordBody => ({ type: "instance", host, step: 0, instance, state });
/** c's batch (the second) started again, c at its restart step. */
const cAtRestart = (): RecordBody[] => [
  { type: "batch_start", play: 0, batch: 1, hosts: ["c", "d"] },
  { type: "host_start", host: "c", play: 0, batch: 1 },
  { type: "step_start", host: "c", step: 0, name: "restart", kind: "restart" },
];

/** a restarted, b failed (budget 1 of 2), then the controller killed while c had stopped postfix-out and was stopping its primary. */
const killedInBatch2: RecordBody[] = [
  runStart,
  { type: "play_start", play: 0, name: "roll", hosts: ["a", "b", "c", "d"], batches: 2 },
  { type: "batch_start", play: 0, batch: 0, hosts: ["a", "b"] },
  { type: "host_start", host: "a", play: 0, batch: 0 },
  { type: "host_start", host: "b", play: 0, batch: 0 },
  ended("a", "changed"),
  { type: "budget", play: 0, failures: 1, maxFail: 2 },
  ended("b", "failed"),
  { type: "batch_end", play: 0, batch: 0, statuses: { a: "changed", b: "failed" } },
  ...cAtRestart(),
  inst("c", "postfix-out", "stopping"),
  inst("c", "postfix-out", "stopped"),
  inst("c", "-", "stopping"),
];

function planOf(bodies: RecordBody[], resetBudget = false) {
  const records = journal(bodies);
  const start = records[0] as RecordOf<"run_start">;
  return resumePlan(start, records, rebuildDocument(start, records) as PlaybookDocument, { resetBudget });
}

describe("resume plan", () => {
  it("keeps finished hosts, takes up the host in flight at its step with each instance's transitions, leaves the rest, carries the budget", () => {
    const p = planOf(killedInBatch2);
    expect(p.done).toEqual(["a", "b"]);
    expect(p.reexamine).toEqual(["c"]);
    expect(p.left).toEqual(["d"]);
    const play = p.plays[0]!;
    expect(play.ended).toBeUndefined();
    expect([...play.done.keys()]).toEqual(["a", "b"]);
    expect(play.done.get("b")!.status).toBe("failed");
    expect(play.failures).toBe(1);
    expect(play.progress.get("c")).toEqual({ done: [], reexamine: { index: 0, name: "restart", kind: "restart", transitions: { "postfix-out": ["stopping", "stopped"], "-": ["stopping"] } } });
    expect(play.progress.has("d")).toBe(false);
    expect(play.batchEnded.get(0)).toBe(Date.parse("2026-12-06T12:00:08.000Z"));
    expect(planOf(killedInBatch2, true).plays[0]!.failures).toBe(0);
  });

  it("a resumed run killed again: transitions add up over both parts, steps ended in either part count as done", () => {
    const p = planOf([
      ...killedInBatch2,
      { type: "resume", controller, argv: ["resume"], version: "0.1.0", done: ["a", "b"], reexamine: ["c"], left: ["d"] },
      { type: "play_start", play: 0, name: "roll", hosts: ["a", "b", "c", "d"], batches: 2 },
      ...cAtRestart(),
      inst("c", "-", "found_running"),
      inst("c", "-", "stopped"),
      inst("c", "-", "starting"),
      inst("c", "-", "started"),
      { type: "instance", host: "c", step: 0, instance: "-", state: "done", status: "changed", action: "restarted" },
      { type: "step_end", host: "c", step: 0, name: "restart", status: "changed" },
      { type: "step_start", host: "c", step: 1, name: "settle", kind: "pause" },
    ]);
    const c = p.plays[0]!.progress.get("c")!;
    expect(c.done.map((s) => [s.index, s.status, s.instances.map((i) => i.status)])).toEqual([[0, "changed", ["changed"]]]);
    expect(c.reexamine).toEqual({ index: 1, name: "settle", kind: "pause", transitions: {} });
  });

  it("a host a Ctrl-C stopped after a service step: that step is looked at again (instances it left out)", () => {
    const p = planOf([
      ...killedInBatch2.slice(0, 12),
      inst("c", "-", "stopping"),
      inst("c", "-", "stopped"),
      inst("c", "-", "started"),
      { type: "step_end", host: "c", step: 0, name: "restart", status: "changed" },
      { type: "interrupt", reason: "interrupted" },
      { type: "host_end", host: "c", status: "changed", play: 0, batch: 1, outcome: { host: "c", status: "changed", results: [], durationMs: 1, incomplete: "interrupted", steps: [] } as never },
    ]);
    expect(p.plays[0]!.progress.get("c")!.reexamine).toMatchObject({ index: 0, kind: "restart", transitions: { "-": ["stopping", "stopped", "started"] } });
    expect(p.reexamine).toEqual(["c"]);
  });

  it("a play stopped by its failure budget stays as it ended, unless the budget is reset", () => {
    const bodies: RecordBody[] = [
      ...killedInBatch2.slice(0, 9),
      { type: "budget", play: 0, failures: 2, maxFail: 2 },
      { type: "play_end", play: 0, name: "roll", stopped: "failure budget spent: 2 hosts failed or unreachable, budget 2" },
    ];
    const kept = planOf(bodies);
    expect(kept.plays[0]!.ended).toBeDefined();
    expect(kept.budgetStopped).toEqual([0]);
    expect(kept.left).toEqual([]);
    const reset = planOf(bodies, true);
    expect(reset.plays[0]!.ended).toBeUndefined();
    expect(reset.plays[0]!.failures).toBe(0);
    expect(reset.left).toEqual(["c", "d"]);
  });
});

describe("resume lock and a resumed run's status", () => {
  it("a second resume is refused while the first holds the lock; a dead owner's lock is taken over", () => {
    const dir = mkdtempSync(join(tmpdir(), "pf-resume-lock-"));
    const lock = acquireResumeLock(dir);
    expect(() => acquireResumeLock(dir)).toThrow(JournalError);
    expect(() => acquireResumeLock(dir)).toThrow(/being resumed by another postfleet \(pid \d+/);
    lock.release();
    writeFileSync(join(dir, RESUME_LOCK), JSON.stringify({ hostname: "ctl", pid: 999_999_999, since: "2026-12-06T00:00:00Z" }));
    const taken = acquireResumeLock(dir, "ctl");
    expect(() => acquireResumeLock(dir, "ctl")).toThrow(/being resumed/);
    taken.release();
  });

  it("a resumed run that ended is finished by its last part; one whose resume died is interrupted", () => {
    const dir = mkdtempSync(join(tmpdir(), "pf-resume-status-"));
    const id = "20261206T120000000Z-abcdef";
    const write = (bodies: RecordBody[]) => {
      mkdirSync(join(dir, id), { recursive: true });
      writeFileSync(join(dir, id, "journal.jsonl"), journal(bodies).map((r) => `${JSON.stringify(r)}\n`).join(""));
    };
    const resumeRec: RecordBody = { type: "resume", controller, argv: ["resume"], version: "0.1.0", done: ["a", "b"], reexamine: ["c"], left: ["d"] };
    const doc = { command: "run pb.yml", summary: { ok: 0, changed: 4, failed: 0, unreachable: 0, skipped: 0 }, aborted: false, hosts: [] };
    // The first part ended aborted (Ctrl-C); its resume died: the run is interrupted, not aborted.
    const aborted: RecordBody = { type: "run_end", exitCode: 4, aborted: true, summary: doc.summary, document: { ...doc, aborted: true } };
    write([...killedInBatch2, aborted, resumeRec]);
    expect(loadRun(dir, id, "ctl").run).toMatchObject({ status: "interrupted", exitCode: null, finished: null });
    write([...killedInBatch2, aborted, resumeRec, { type: "run_end", exitCode: 0, aborted: false, summary: doc.summary, document: doc }]);
    expect(loadRun(dir, id, "ctl").run).toMatchObject({ status: "finished", exitCode: 0 });
  });
});

describe("the rebuilt document of a killed run with a canary stage", () => {
  const canaryStart: RecordBody = {
    ...(runStart as RecordOf<"run_start">),
    plan: { plays: [{ name: "roll", pattern: "all", batches: [["a"], ["b"], ["c", "d"]], maxFail: 2, canary: { hosts: ["a"], promote: "auto", soakMs: 30_000 } }] },
  } as RecordBody;
  const head: RecordBody[] = [
    canaryStart,
    { type: "play_start", play: 0, name: "roll", hosts: ["a", "b", "c", "d"], batches: 3 },
    { type: "batch_start", play: 0, batch: 0, hosts: ["a"], stage: "canary" },
    { type: "host_start", host: "a", play: 0, batch: 0 },
    ended("a", "changed"),
    { type: "batch_end", play: 0, batch: 0, statuses: { a: "changed" } },
  ];
  const stagesOf = (bodies: RecordBody[]) => {
    const records = journal(bodies);
    return (rebuildDocument(records[0] as RecordOf<"run_start">, records) as PlaybookDocument).plays[0]!.stages;
  };

  it("shows the canary and rollout stages as the run did: the canary's outcome once recorded, none while it was deciding", () => {
    expect(stagesOf(head)).toEqual([
      { stage: "canary", batches: [0], hosts: ["a"], promote: "auto", soakMs: 30_000 },
      { stage: "rollout", batches: [1, 2], hosts: ["b", "c", "d"] },
    ]);
    const promoted: RecordBody = { type: "stage", play: 0, stage: "canary", outcome: "promoted", detail: "promoted after a 30 s soak" };
    expect(stagesOf([...head, promoted, { type: "batch_start", play: 0, batch: 1, hosts: ["b"], stage: "rollout" }])![0]).toMatchObject({
      outcome: "promoted",
      detail: "promoted after a 30 s soak",
    });
    // A play without a canary has no stages.
    const records = journal(killedInBatch2);
    expect((rebuildDocument(records[0] as RecordOf<"run_start">, records) as PlaybookDocument).plays[0]!.stages).toBeUndefined();
  });
});
