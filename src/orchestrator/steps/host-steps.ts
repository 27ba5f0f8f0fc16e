// One host's part of a play: its steps in order, each on the instances it
// selects, then the `then:` reloads/restarts of the instances whose settings
// changed (once, ordered and gated, after the last step). The first failed
// step ends the host's work: later steps are reported skipped, so the report
// says exactly how far each host got.
import type { InstanceFacts } from "../../protocol/index.js";
import { convergeInstances } from "./converge.js";
import { predictFacts } from "./predicted-facts.js";
import { drainStep } from "./drain.js";
import { DEFAULT_HEALTHY_TIMEOUT_MS, type ExecStep } from "./step-model.js";
import { stepStatusOf, type InstanceStepResult, type StepResult } from "./step-results.js";
import { settingsStep } from "./settings.js";
import { isAgentRefusal, PartialStepError, selectInstances, StepError, type StepContext } from "./step-context.js";
import { postmultiStep, runStep } from "./commands.js";
import { waitStep } from "./wait.js";
import { gatedServiceStep } from "./probe-gate.js";
import { discardSnapshots, gateAgain, runRevert, takeSnapshots, triggersRevert, type ConfigSnapshot } from "./revert.js";
import { serviceStep } from "./service.js";
import { REVERT_STEP_NAME } from "../journal/revert-resume.js";

export interface HostStepsOptions {
  /** Checked between steps: a reason stops this host's remaining steps (budget spent, interrupted). */
  stopReason(): string | undefined;
  onStepStarted?(step: ExecStep): void;
  onStepFinished?(result: StepResult): void;
}

export interface HostStepsResult {
  steps: StepResult[];
  /** Set when the host stopped before its last step for a reason other than its own failure. */
  incomplete?: string;
  /** The error that lost the host mid-step (connection, agent): its status comes from it; the steps say how far it got. */
  lost?: unknown;
  /** on_gate_failure: revert ran: true when the files are back and the gate held again. */
  reverted?: boolean;
}

export async function runHostSteps(ctx: StepContext, steps: readonly ExecStep[], o: HostStepsOptions): Promise<HostStepsResult> {
  const results: StepResult[] = [];
  const pending = { reload: new Set<string>(), restart: new Set<string>() };
  let failedAt: StepResult | undefined;
  let incomplete: string | undefined;
  let lost: unknown;
  /** on_gate_failure: revert: each instance's files before the first step that could change them. */
  const kept = new Map<string, ConfigSnapshot>();
  let reverted: boolean | undefined;
  /** A later gate failed: put the kept files back, apply, gate again (once per host). */
  const revertAfter = async (failed: StepResult, gateStep: ExecStep | undefined) => {
    if (ctx.check || lost !== undefined || reverted !== undefined || !triggersRevert(failed, kept)) return;
    // After the play's steps and the two then: handlers (steps.length, +1): its own index on every host.
    const index = steps.length + 2;
    const rs: ExecStep = { index, name: REVERT_STEP_NAME, selector: { kind: "all" }, enabled: true, action: { type: "reload", healthyTimeoutMs: DEFAULT_HEALTHY_TIMEOUT_MS } };
    o.onStepStarted?.(rs);
    let r: StepResult;
    try {
      r = await runRevert(ctx, index, failed, [...kept.values()], {
        apply: (action, instances) => serviceStep(ctx, action, instances, gateStep && "healthyTimeoutMs" in gateStep.action ? gateStep.action.healthyTimeoutMs : DEFAULT_HEALTHY_TIMEOUT_MS),
        regate: async (applied) => (gateStep ? gateAgain(ctx, gateStep, applied, (s) => runStep1(ctx, s)) : { ...failed, status: "ok", instances: [] }),
      });
    } catch (err) {
      lost = err instanceof PartialStepError ? err.reason : err;
      r = { index, name: rs.name, type: "revert", status: "failed", error: `revert incomplete: the host was lost: ${err instanceof Error ? err.message : String(err)}`, instances: [], durationMs: 0 };
    }
    reverted = r.status !== "failed";
    results.push(r);
    o.onStepFinished?.(r);
  };
  /** A step, or the host lost during it: then the step is failed with what it had done, and the host's work ends. */
  const attempt = async (step: ExecStep): Promise<StepResult> => {
    try {
      return await runStep1(ctx, step);
    } catch (err) {
      lost = err instanceof PartialStepError ? err.reason : err;
      const done = err instanceof PartialStepError ? err.done : [];
      const message = err instanceof Error ? err.message : String(err);
      return { index: step.index, name: step.name, type: step.action.type, status: "failed", error: `the host was lost: ${message}`, instances: done, durationMs: 0 };
    }
  };
  for (const step of steps) {
    const stop = failedAt ? undefined : o.stopReason();
    if (failedAt || stop) {
      if (stop && !incomplete) incomplete = stop;
      results.push(skippedStep(step, lost !== undefined ? `the host was lost during step ${failedAt!.index + 1}` : failedAt ? `an earlier step failed (${failedAt.name})` : stop!));
      continue;
    }
    if (!step.enabled) {
      results.push(skippedStep(step, "`when` is false on this host"));
      continue;
    }
    o.onStepStarted?.(step);
    if (step.onGateFailure === "revert" && !ctx.check) {
      let refused: string | undefined;
      try {
        refused = await takeSnapshots(ctx, step, kept);
      } catch (err) {
        if (!isAgentRefusal(err)) throw err;
        refused = `cannot keep the files for on_gate_failure: revert (nothing was changed): ${(err as Error).message}`;
      }
      if (refused) {
        const r: StepResult = { index: step.index, name: step.name, type: step.action.type, status: "failed", error: refused, instances: [], durationMs: 0 };
        results.push(r);
        o.onStepFinished?.(r);
        failedAt = r;
        continue;
      }
    }
    const r = await attempt(step);
    if (step.then && r.status === "changed") {
      for (const i of r.instances) if (i.status === "changed" && i.changes?.length) pending[step.then].add(i.instance);
    }
    // An instance started or restarted after its change already runs the new settings: no handler for it.
    // (A reload covers a pending reload, not a pending restart.)
    const a = step.action.type;
    if (a === "start" || a === "restart" || a === "reload") {
      for (const i of r.instances) {
        if (i.status !== "changed") continue;
        pending.reload.delete(i.instance);
        if (a !== "reload") pending.restart.delete(i.instance);
      }
    }
    results.push(r);
    o.onStepFinished?.(r);
    if (r.status === "failed") {
      failedAt = r;
      await revertAfter(r, step);
    }
  }
  // Handlers: restart wins over reload for the same instance; nothing when the host failed or was stopped.
  if (!failedAt && !incomplete && (pending.reload.size || pending.restart.size)) {
    for (const action of ["restart", "reload"] as const) {
      const names = [...pending[action]].filter((n) => action === "restart" || !pending.restart.has(n));
      if (!names.length) continue;
      const step: ExecStep = {
        index: steps.length + (action === "restart" ? 0 : 1),
        name: `then: ${action} ${names.join(", ")}`,
        selector: { kind: "names", names },
        enabled: true,
        action: { type: action, healthyTimeoutMs: DEFAULT_HEALTHY_TIMEOUT_MS },
      };
      o.onStepStarted?.(step);
      const r = { ...(await attempt(step)), type: "then" as const };
      results.push(r);
      o.onStepFinished?.(r);
      if (r.status === "failed") {
        await revertAfter(r, step);
        break;
      }
    }
  }
  if (kept.size && lost === undefined) await discardSnapshots(ctx, kept);
  return { steps: results, ...(incomplete ? { incomplete } : {}), ...(lost !== undefined ? { lost } : {}), ...(reverted !== undefined ? { reverted } : {}) };
}

/** A step as the engine runs it (for a revert finished by `postfleet resume`: its gate again). */
export const runOneStep = (ctx: StepContext, step: ExecStep): Promise<StepResult> => runStep1(ctx, step);

function skippedStep(step: ExecStep, why: string): StepResult {
  return { index: step.index, name: step.name, type: step.action.type, status: "skipped", skipped: why, instances: [], durationMs: 0 };
}

async function runStep1(ctx: StepContext, step: ExecStep): Promise<StepResult> {
  const started = performance.now();
  const base = { index: step.index, name: step.name, type: step.action.type };
  try {
    const instances = await execute(ctx, step);
    const status = stepStatusOf(instances);
    const failed = instances.find((i) => i.status === "failed");
    return {
      ...base,
      status,
      ...(failed ? { error: `${failed.instance}: ${failed.error ?? failed.action}` } : {}),
      instances,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    // A step that cannot even start (no such instance, agent refused) fails the host; a lost host goes up.
    if (err instanceof PartialStepError && !err.hostLost)
      return { ...base, status: "failed", error: err.message, instances: err.done, durationMs: Math.round(performance.now() - started) };
    if (!(err instanceof StepError) && !isAgentRefusal(err)) throw err;
    return { ...base, status: "failed", error: (err as Error).message, instances: [], durationMs: Math.round(performance.now() - started) };
  }
}

async function selected(ctx: StepContext, step: ExecStep): Promise<InstanceFacts[]> {
  const facts = await ctx.facts();
  return selectInstances(facts.instances, step.selector, ctx.host);
}

async function execute(ctx: StepContext, step: ExecStep): Promise<InstanceStepResult[]> {
  const a = step.action;
  switch (a.type) {
    case "instances": {
      const r = await convergeInstances(ctx, a.desired);
      if (ctx.check) {
        const p = predictFacts(await ctx.facts(), a.desired);
        ctx.predict(p.facts, p.predicted);
      }
      return r.results;
    }
    case "postconf":
      return settingsStep(ctx, await selected(ctx, step), a.settings);
    case "start":
    case "stop":
    case "restart":
    case "reload": {
      return gatedServiceStep(ctx, a.type, await selected(ctx, step), a.healthyTimeoutMs, a.gate);
    }
    case "wait":
      return waitStep(ctx, await selected(ctx, step), a.checks, a.timeoutMs, a.intervalMs, a.probe, a.gate);
    case "drain":
      return drainStep(ctx, await selected(ctx, step), a.timeoutMs, true);
    case "undrain":
      return drainStep(ctx, await selected(ctx, step), 60_000, false);
    case "postmulti": {
      const r = await postmultiStep(ctx, a.args);
      return r.results;
    }
    case "run":
      return runStep(ctx, await selected(ctx, step), a.argv, a.shell);
    case "pause":
      if (a.prompt !== undefined) await ctx.prompt(a.prompt);
      else if (!ctx.check) await sleep(a.ms, ctx.hardStop);
      return [];
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}


