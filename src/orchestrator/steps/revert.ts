// on_gate_failure: revert. Before an `instances` or `postconf`
// step with it changes a host's instances, each instance's main.cf and
// master.cf are kept byte for byte: the agent keeps a copy on the host
// (CONFIG_DIR/.postfleet-revert/) and answers the bytes, which the controller
// keeps in memory and hands to the run's journal directory. When a later gate
// of that host fails (the then: reload/restart, a start/restart/reload step,
// a wait), the files are put back through the agent's locked staged edit,
// the instances whose files changed are reloaded or restarted as the step
// did, the failed gate runs again, and the host is reported reverted (still a
// failure for the play's budget: the change did not go through).
//
// The planning here is pure (unit-tested); the requests are made by
// host-steps.ts through runRevert().
import type { FactsResponse, InstanceFacts, RevertFile } from "../../protocol/index.js";
import { REVERT_FILES } from "../../protocol/index.js";
import { matchesName, selectInstances, type StepContext } from "./step-context.js";
import { gateAfter } from "./probe-gate.js";
import { queueBaseline } from "./queue-gate.js";
import { DEFAULT_HEALTHY_TIMEOUT_MS, type ExecStep } from "./step-model.js";
import type { PendingRevert } from "../journal/revert-resume.js";
import { stepStatusOf, type InstanceStepResult, type StepResult } from "./step-results.js";

/** One instance's files as they were before the first step that could change them. */
export interface ConfigSnapshot {
  instance: string;
  /** The agent's instance argument ("-" for the primary). */
  arg: string;
  /** The step that took it (0-based index). */
  step: number;
  /** base64 of each file's bytes. */
  files: Partial<Record<RevertFile, string>>;
  sha256: Partial<Record<RevertFile, string>>;
  /** How the step's change takes effect: its then:, else a reload. */
  apply: "reload" | "restart";
}

/** The step types whose failure is a gate failure that a revert answers. */
const GATES = new Set<StepResult["type"]>(["start", "restart", "reload", "wait", "then"]);

/** The existing instances a revert step may change (new instances have nothing to go back to). */
export function snapshotTargets(step: ExecStep, facts: FactsResponse, host: string): InstanceFacts[] {
  const a = step.action;
  if (a.type === "postconf") return selectInstances(facts.instances, step.selector, host);
  if (a.type === "instances") return facts.instances.filter((i) => a.desired.some((d) => d.state !== "absent" && matchesName(i, d.name)));
  return [];
}

/** Instances still to snapshot: an instance already kept by an earlier step keeps its earliest copy. */
export function toSnapshot(targets: readonly InstanceFacts[], kept: ReadonlyMap<string, ConfigSnapshot>): InstanceFacts[] {
  return targets.filter((i) => !kept.has(i.name));
}

/** A failed step that a revert answers: a gate after the snapshot (not the changing step itself). */
export function triggersRevert(failed: StepResult, kept: ReadonlyMap<string, ConfigSnapshot>): boolean {
  if (failed.status !== "failed" || kept.size === 0) return false;
  if (!GATES.has(failed.type)) return false;
  return [...kept.values()].some((s) => s.step < failed.index || failed.type === "then");
}

/** restart wins when any kept instance's change took effect by a restart (or the failed gate was a restart). */
export function revertAction(kept: readonly ConfigSnapshot[], failedType: StepResult["type"]): "reload" | "restart" {
  return kept.some((s) => s.apply === "restart") || failedType === "restart" ? "restart" : "reload";
}

/** The files whose bytes now differ from the kept ones (sha256 by file as the restore answered it). */
export function differs(kept: ConfigSnapshot, now: Partial<Record<RevertFile, string>>): RevertFile[] {
  return REVERT_FILES.filter((f) => kept.sha256[f] !== undefined && now[f] !== kept.sha256[f]);
}

export interface RevertDeps {
  /** Reload/restart the instances (health-gated): the service step. */
  apply(action: "reload" | "restart", instances: readonly InstanceFacts[]): Promise<InstanceStepResult[]>;
  /** The failed gate, run again (after `applied`, the revert's own reload/restart: see gateAgain). */
  regate(applied: readonly InstanceStepResult[]): Promise<StepResult>;
}

const short = (h: string | undefined) => (h ? h.slice(0, 12) : "?");

/**
 * Put every kept instance's files back, apply them as the step did, run the
 * gate again. A step result of type "revert": ok when every file is back and
 * the gate held again, failed otherwise.
 */
export async function runRevert(
  ctx: StepContext,
  index: number,
  failed: StepResult,
  kept: readonly ConfigSnapshot[],
  deps: RevertDeps,
  /** Resume: apply to every kept instance (the stopped run may have restored without applying). */
  applyAll = false,
): Promise<StepResult> {
  const started = performance.now();
  const rows: InstanceStepResult[] = [];
  const back: InstanceFacts[] = [];
  const facts = await ctx.facts();
  let broken: string | undefined;
  for (const s of kept) {
    const t0 = performance.now();
    ctx.doing(`reverting ${s.instance}`);
    ctx.transition?.(s.instance, "reverting", `after ${failed.name} failed`);
    const r = await ctx.session.request({ op: "revert", instance: s.arg, action: "restore", files: s.files }, { signal: ctx.hardStop, timeoutMs: ctx.opTimeoutMs });
    if (r.error) {
      broken ??= `${s.instance}: ${r.error.message}`;
      ctx.transition?.(s.instance, "revert_failed", r.error.message);
      rows.push({ instance: s.instance, status: "failed", action: "files not restored", error: `restoring ${s.instance}'s main.cf/master.cf: ${r.error.message}`, durationMs: Math.round(performance.now() - t0) });
      continue;
    }
    const still = differs(s, r.sha256);
    if (still.length) {
      broken ??= `${s.instance}: ${still.join(", ")} not byte-identical after the restore`;
      ctx.transition?.(s.instance, "revert_failed", broken);
      rows.push({ instance: s.instance, status: "failed", action: "files not restored", error: broken, durationMs: Math.round(performance.now() - t0) });
      continue;
    }
    const sums = REVERT_FILES.map((f) => `${f} ${short(s.sha256[f])}`).join(", ");
    ctx.transition?.(s.instance, "restored", `${r.replaced.length ? r.replaced.join(" and ") : "nothing"} put back (${sums})`);
    rows.push({
      instance: s.instance,
      status: r.replaced.length ? "changed" : "ok",
      action: r.replaced.length ? `restored ${r.replaced.join(" and ")} as before step ${s.step + 1} (${sums})` : `main.cf and master.cf already as before step ${s.step + 1}`,
      durationMs: Math.round(performance.now() - t0),
    });
    const inst = facts.instances.find((i) => i.name === s.instance);
    if ((r.replaced.length || applyAll) && inst) back.push(inst);
  }
  const action = revertAction(kept, failed.type);
  let regate: StepResult | undefined;
  let applied: InstanceStepResult[] = [];
  if (!broken) {
    if (back.length) {
      applied = await deps.apply(action, back);
      rows.push(...applied);
      const bad = applied.find((x) => x.status === "failed");
      if (bad) broken = `${action} after the restore failed: ${bad.instance}: ${bad.error ?? bad.action}`;
    }
    if (!broken) {
      ctx.doing(`re-running the gate of ${failed.name} after the revert`);
      regate = await deps.regate(applied);
      rows.push(...regate.instances.map((x) => ({ ...x, action: `gate again: ${x.action}` })));
      if (regate.status === "failed") broken = `the gate failed again after the revert: ${regate.error ?? "failed"}`;
    }
  }
  for (const s of kept) ctx.transition?.(s.instance, broken ? "revert_failed" : "reverted", broken ?? `as before step ${s.step + 1}, ${action}ed, gate held again`);
  const status = broken ? "failed" : stepStatusOf(rows) === "failed" ? "failed" : "changed";
  return {
    index,
    name: `revert: ${kept.map((s) => s.instance).join(", ")} (${failed.name} failed)`,
    type: "revert",
    status,
    ...(broken ? { error: `revert incomplete: ${broken}` } : {}),
    instances: rows,
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * Before a revert step: keep the files of each instance it may change (not
 * already kept). Returns why the step must not run (a snapshot failed), or
 * undefined. The controller's copy goes to ctx.keepSnapshot (the journal).
 */
export async function takeSnapshots(ctx: StepContext, step: ExecStep, kept: Map<string, ConfigSnapshot>): Promise<string | undefined> {
  const targets = toSnapshot(snapshotTargets(step, await ctx.facts(), ctx.host), kept);
  for (const inst of targets) {
    ctx.doing(`keeping ${inst.name}'s main.cf and master.cf (on_gate_failure: revert)`);
    const r = await ctx.session.request({ op: "revert", instance: inst.primary ? "-" : inst.name, action: "snapshot" }, { signal: ctx.hardStop, timeoutMs: ctx.opTimeoutMs });
    if (r.error) return `cannot keep ${inst.name}'s main.cf and master.cf for on_gate_failure: revert (nothing was changed): ${r.error.message}`;
    const s: ConfigSnapshot = { instance: inst.name, arg: inst.primary ? "-" : inst.name, step: step.index, files: r.files, sha256: r.sha256, apply: step.then ?? "reload" };
    kept.set(inst.name, s);
    ctx.keepSnapshot?.(inst.name, step.index, r.files, r.sha256);
    ctx.transition?.(inst.name, "revert_snapshot", `${REVERT_FILES.map((f) => `${f} sha256 ${r.sha256[f]}`).join(", ")}; host copy ${r.hostCopy ?? "?"}`);
  }
  return undefined;
}

/** After the host's work: remove the host's copies (the controller's stay with the run's journal). */
export async function discardSnapshots(ctx: StepContext, kept: ReadonlyMap<string, ConfigSnapshot>): Promise<void> {
  for (const s of kept.values()) await ctx.session.request({ op: "revert", instance: s.arg, action: "discard" }, { signal: ctx.hardStop, timeoutMs: ctx.opTimeoutMs }).catch(() => undefined);
}

/**
 * The failed gate run again after the revert: a reload or restart step (or
 * then: handler) whose instances the revert has just reloaded or restarted
 * runs only its gate's checks, so that each instance is reloaded once after
 * the restore, not once by the revert and again by the step; a start step
 * (whose instance a reload leaves stopped), a wait, or a revert that applied
 * nothing runs the step as it is. (A queue gate's growth is measured against
 * a reading taken then, after the restore and its reload.)
 */
export async function gateAgain(ctx: StepContext, gateStep: ExecStep, applied: readonly InstanceStepResult[], run: (s: ExecStep) => Promise<StepResult>): Promise<StepResult> {
  const a = gateStep.action;
  if (!applied.length || (a.type !== "reload" && a.type !== "restart")) return run(gateStep);
  const started = performance.now();
  const selected = selectInstances((await ctx.facts()).instances, gateStep.selector, ctx.host);
  const rows = a.gate ? await gateAfter(ctx, applied, selected, a.gate, await queueBaseline(ctx, selected, a.gate.queue)) : [];
  const bad = rows.find((r) => r.status === "failed");
  return {
    index: gateStep.index,
    name: gateStep.name,
    type: a.type,
    status: bad ? "failed" : "ok",
    ...(bad ? { error: `${bad.instance}: ${bad.error ?? bad.action}` } : {}),
    instances: rows,
    durationMs: Math.round(performance.now() - started),
  };
}

/** The failed gate as a step to run again: a play step, or a then: handler rebuilt from its journaled name ("then: reload a, b"). */
export function gateStepOf(steps: readonly ExecStep[], gate: PendingRevert["gate"]): ExecStep | undefined {
  const own = steps.find((s) => s.index === gate.index);
  if (own) return own;
  const m = /^then: (reload|restart) (.+)$/.exec(gate.name);
  if (!m) return undefined;
  return { index: gate.index, name: gate.name, selector: { kind: "names", names: m[2]!.split(", ") }, enabled: true, action: { type: m[1] as "reload" | "restart", healthyTimeoutMs: DEFAULT_HEALTHY_TIMEOUT_MS } };
}

/**
 * `postfleet resume` of a host whose revert the stopped run had begun: the
 * files put back from the host's copy, every instance of the revert reloaded
 * or restarted, the gate run again (`regate` runs a step as the engine does).
 */
export async function finishRevert(
  ctx: StepContext,
  steps: readonly ExecStep[],
  p: PendingRevert,
  regate: (step: ExecStep) => Promise<StepResult>,
  apply: RevertDeps["apply"],
): Promise<StepResult> {
  const all = (await ctx.facts()).instances;
  const kept: ConfigSnapshot[] = p.instances.map((i) => {
    const inst = all.find((x) => x.name === i.name);
    return { instance: i.name, arg: inst?.primary ? "-" : i.name, step: i.keptAt, files: {}, sha256: {}, apply: steps.find((s) => s.index === i.keptAt)?.then ?? "reload" };
  });
  const gateStep = gateStepOf(steps, p.gate);
  const own = steps.find((s) => s.index === p.gate.index);
  const type = (own ? own.action.type : p.gate.name.startsWith("then: ") ? "then" : p.gate.kind) as StepResult["type"];
  const failed: StepResult = { index: p.gate.index, name: p.gate.name, type, status: "failed", instances: [], durationMs: 0 };
  return runRevert(ctx, p.step, failed, kept, { apply, regate: async (applied) => (gateStep ? gateAgain(ctx, gateStep, applied, regate) : { ...failed, status: "ok", instances: [] }) }, true);
}
