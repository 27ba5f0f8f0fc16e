// What is left of a stopped run, from its journal: per play, the hosts that
// finished (kept as they ended, never touched again), the hosts that had
// started and not finished (the steps they ended, and the step to look at
// again with each instance's recorded transitions), the failure budget spent
// and when each batch ended. Plays that had ended stay as they are, except a
// play stopped by its failure budget when the budget is reset.
import type { PlayResume, HostProgress, StepProgress } from "../resume-host.js";
import { BUDGET_SPENT, INTERRUPTED } from "../playbook-run.js";
import type { InstanceStepResult, PlayHostOutcome, PlaybookDocument, StepResult } from "../steps/step-results.js";
import type { RecordOf, RunRecord } from "./records.js";
import { pendingRevert } from "./revert-resume.js";

const SERVICE = new Set(["start", "stop", "restart", "reload"]);

export interface ResumePlan {
  plays: PlayResume[];
  /** Hosts whose every play had finished with them: not touched again. */
  done: string[];
  /** Hosts taken up again where they were (their instances looked at first). */
  reexamine: string[];
  /** Hosts never reached. */
  left: string[];
  /** Plays stopped by their failure budget (what --reset-budget reopens). */
  budgetStopped: number[];
}

/** Has a host finished its part of a play (as opposed to never attempted, in flight, or stopped before its last step)? */
export function finished(h: PlayHostOutcome): boolean {
  return h.status !== "skipped" && !h.incomplete;
}

export function resumePlan(start: RecordOf<"run_start">, records: readonly RunRecord[], doc: PlaybookDocument, o: { resetBudget: boolean }): ResumePlan {
  const plays: PlayResume[] = [];
  const budgetStopped: number[] = [];
  const states = new Map<string, Set<"done" | "reexamine" | "left">>();
  const mark = (h: string, s: "done" | "reexamine" | "left") => states.set(h, (states.get(h) ?? new Set()).add(s));
  for (const [pi, planned] of (start.plan?.plays ?? []).entries()) {
    const result = doc.plays[pi];
    const playEnd = [...records].reverse().find((r): r is RecordOf<"play_end"> => r.type === "play_end" && r.play === pi);
    const stoppedByBudget = !!playEnd?.stopped?.startsWith(BUDGET_SPENT);
    if (stoppedByBudget) budgetStopped.push(pi);
    const reopened = !playEnd || playEnd.stopped === INTERRUPTED || (stoppedByBudget && o.resetBudget);
    const outcomes = new Map((result?.batches ?? []).flatMap((b) => b.hosts.map((h) => [h.host, h] as const)));
    const done = new Map<string, PlayHostOutcome>();
    const progress = new Map<string, HostProgress>();
    for (const h of planned.batches.flat()) {
      const out = outcomes.get(h);
      if (out && (finished(out) || !reopened)) {
        done.set(h, out);
        mark(h, "done");
        continue;
      }
      const p = hostProgress(records, h, pi, !!out?.incomplete);
      if (p) progress.set(h, p);
      mark(h, p ? "reexamine" : "left");
    }
    const batchEnded = new Map(
      records.filter((r): r is RecordOf<"batch_end"> => r.type === "batch_end" && r.play === pi).map((r) => [r.batch, Date.parse(r.ts)] as const),
    );
    plays.push({
      ...(!reopened && result ? { ended: result } : {}),
      done,
      progress,
      failures: o.resetBudget ? 0 : (result?.failures ?? 0),
      batchEnded,
    });
  }
  // A host is done when every play is done with it; taken up again when any play had started it.
  const hosts = [...states];
  const done = hosts.filter(([, s]) => s.size === 1 && s.has("done")).map(([h]) => h);
  const reexamine = hosts.filter(([, s]) => s.has("reexamine")).map(([h]) => h);
  const left = hosts.filter(([, s]) => !s.has("reexamine") && s.has("left")).map(([h]) => h);
  return { plays, done, reexamine, left, budgetStopped };
}

/**
 * How far a host got in play `pi`, over every part of the run (a resumed run
 * may have stopped again): the steps that ended, and the step started and not
 * ended (or, for a host a Ctrl-C stopped before its last step, a service step
 * it ended last, whose instances may have been left out). Undefined: the
 * host never started in this play.
 */
export function hostProgress(records: readonly RunRecord[], host: string, pi: number, stoppedEarly: boolean): HostProgress | undefined {
  let play: number | undefined;
  let began = false;
  const ended = new Map<number, StepResult>();
  const kinds = new Map<number, { name: string; kind: string }>();
  const results = new Map<number, InstanceStepResult[]>();
  const transitions = new Map<number, Record<string, string[]>>();
  let open: number | undefined;
  for (const r of records) {
    if (!("host" in r) || r.host !== host) continue;
    if (r.type === "host_start") play = r.play;
    if (play !== pi) continue;
    if (r.type === "host_start") began = true;
    else if (r.type === "step_start") {
      kinds.set(r.step, { name: r.name, kind: r.kind ?? "run" });
      results.set(r.step, []);
      open = r.step;
    } else if (r.type === "instance" && r.step !== undefined) {
      if (r.state === "done" && r.status) {
        results.get(r.step)?.push({ instance: r.instance, status: r.status, action: r.action ?? "", ...(r.changes ? { changes: r.changes as InstanceStepResult["changes"] } : {}), ...(r.detail ? { error: r.detail } : {}), durationMs: 0 });
      } else {
        const t = transitions.get(r.step) ?? {};
        (t[r.instance] ??= []).push(r.state);
        transitions.set(r.step, t);
      }
    } else if (r.type === "step_end") {
      const k = kinds.get(r.step);
      const status = r.status === "unreachable" ? "failed" : r.status;
      ended.set(r.step, { index: r.step, name: r.name, type: (k?.kind ?? "run") as StepResult["type"], status, ...(r.detail ? { error: r.detail } : {}), instances: results.get(r.step) ?? [], durationMs: 0 });
      if (open === r.step) open = undefined;
    }
  }
  if (!began) return undefined;
  let again = open;
  if (again === undefined && stoppedEarly && ended.size) {
    const last = Math.max(...ended.keys());
    if (SERVICE.has(kinds.get(last)?.kind ?? "")) again = last;
  }
  const reexamine: StepProgress | undefined =
    again !== undefined ? { index: again, name: kinds.get(again)?.name ?? "", kind: kinds.get(again)?.kind ?? "run", transitions: transitions.get(again) ?? {} } : undefined;
  const done = [...ended.values()].filter((s) => s.index !== again).sort((a, b) => a.index - b.index);
  const revert = pendingRevert(records, host, pi);
  return { done, ...(reexamine ? { reexamine } : {}), ...(revert ? { revert } : {}) };
}
