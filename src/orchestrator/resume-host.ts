// A host taken up again by `postfleet resume`: the steps it had finished are
// kept as recorded, and the step it was in (start, stop, restart, reload) is
// re-examined first: the instances' facts are read again (running or not) and
// each instance's recorded transitions say what was already done. An
// instance already restarted is not restarted twice (its health is gated
// again); one the interruption left stopped is started, health-gated; one
// not yet reached is restarted as the step would have. Every instance says
// what was found. Other steps in flight run again from their start (they
// converge, wait or pause). Then the host's remaining steps, as usual.
import type { InstanceFacts } from "../protocol/index.js";
import { runHostSteps, runOneStep, type HostStepsOptions, type HostStepsResult } from "./steps/host-steps.js";
import { discardSnapshots, finishRevert } from "./steps/revert.js";
import type { PendingRevert } from "./journal/revert-resume.js";
import { gateAfter } from "./steps/probe-gate.js";
import { serviceInstances, serviceStep } from "./steps/service.js";
import { isAgentRefusal, PartialStepError, selectInstances, StepError, type StepContext } from "./steps/step-context.js";
import { DEFAULT_HEALTHY_TIMEOUT_MS, type ExecStep, type ServiceAction } from "./steps/step-model.js";
import { stepStatusOf, type InstanceStepResult, type PlayHostOutcome, type PlayResult, type StepResult } from "./steps/step-results.js";

/** A step the run was in when it stopped, with each instance's recorded transitions (stopping, stopped, starting, started...). */
export interface StepProgress {
  index: number;
  name: string;
  kind: string;
  transitions: Record<string, string[]>;
}

/** How far a host had got in a play: the steps that ended, and the one to look at again. */
export interface HostProgress {
  done: StepResult[];
  reexamine?: StepProgress;
  /** on_gate_failure: revert begun and not finished (steps/revert.ts finishes it). */
  revert?: PendingRevert;
}

/** What a play had done before the run stopped. */
export interface PlayResume {
  /** The play had ended (and is not reopened): its result as recorded. */
  ended?: PlayResult;
  /** Hosts that finished: their recorded outcomes; never touched again. */
  done: ReadonlyMap<string, PlayHostOutcome>;
  /** Hosts that had started and not finished: how far each got. */
  progress: ReadonlyMap<string, HostProgress>;
  /** Failed + unreachable hosts already counted against the budget (0 after --reset-budget). */
  failures: number;
  /** When each batch ended (ms since the epoch): the pause before the next counts from there. */
  batchEnded: ReadonlyMap<number, number>;
}

const SERVICE = new Set(["start", "stop", "restart", "reload"]);

/** Transitions that mean the action already took effect on an instance. */
const DID: Record<ServiceAction, string[]> = {
  start: ["started", "health_gate", "healthy"],
  restart: ["started", "health_gate", "healthy"],
  reload: ["reloaded", "health_gate", "healthy"],
  stop: ["stopped"],
};
const PAST: Record<ServiceAction, string> = { start: "started", stop: "stopped", restart: "restarted", reload: "reloaded" };

export async function resumeHostSteps(ctx: StepContext, steps: readonly ExecStep[], p: HostProgress, o: HostStepsOptions): Promise<HostStepsResult> {
  if (p.revert) return resumeRevert(ctx, steps, p, p.revert, o);
  return owedHandlers(ctx, steps, p, await resumeSteps(ctx, steps, p, o), o);
}

/** A revert the stopped run had begun: finished (files back, applied, gate again); the host's other steps stay as they ended. */
async function resumeRevert(ctx: StepContext, steps: readonly ExecStep[], p: HostProgress, pending: PendingRevert, o: HostStepsOptions): Promise<HostStepsResult> {
  const rs: ExecStep = { index: pending.step, name: "revert", selector: { kind: "all" }, enabled: true, action: { type: "reload", healthyTimeoutMs: 30_000 } };
  o.onStepStarted?.(rs);
  let r: StepResult;
  let lost: unknown;
  try {
    r = await finishRevert(ctx, steps, pending, (s) => runOneStep(ctx, s), (action, instances) => serviceStep(ctx, action, instances, 30_000));
  } catch (err) {
    lost = err instanceof PartialStepError ? err.reason : err;
    r = { index: pending.step, name: rs.name, type: "revert", status: "failed", error: `revert incomplete: the host was lost: ${err instanceof Error ? err.message : String(err)}`, instances: [], durationMs: 0 };
  }
  o.onStepFinished?.(r);
  if (lost === undefined) await discardSnapshots(ctx, new Map(pending.instances.map((i) => [i.name, { instance: i.name, arg: i.name, step: i.keptAt, files: {}, sha256: {}, apply: "reload" as const }])));
  const doneIdx = new Set(p.done.map((s) => s.index));
  const rest = steps.filter((s) => !doneIdx.has(s.index)).map((s): StepResult => ({ index: s.index, name: s.name, type: s.action.type, status: "skipped", skipped: `an earlier step failed (${pending.gate.name})`, instances: [], durationMs: 0 }));
  return { steps: [...p.done, ...rest, r].sort((a, b) => a.index - b.index), reverted: r.status !== "failed", ...(lost !== undefined ? { lost } : {}) };
}

async function resumeSteps(ctx: StepContext, steps: readonly ExecStep[], p: HostProgress, o: HostStepsOptions): Promise<HostStepsResult> {
  const doneIdx = new Set(p.done.map((s) => s.index));
  const re = p.reexamine ? steps.find((s) => s.index === p.reexamine!.index && SERVICE.has(s.action.type) && s.enabled) : undefined;
  const after = steps.filter((s) => !doneIdx.has(s.index) && s !== re);
  const merged = (r: HostStepsResult, first: StepResult[] = []): HostStepsResult => ({ ...r, steps: [...p.done, ...first, ...r.steps].sort((a, b) => a.index - b.index) });
  if (!re || o.stopReason()) return merged(await runHostSteps(ctx, re ? [re, ...after] : after, o));
  o.onStepStarted?.(re);
  let first: StepResult;
  let lost: unknown;
  try {
    first = await reexamineStep(ctx, re, p.reexamine!);
  } catch (err) {
    lost = err instanceof PartialStepError ? err.reason : err;
    const message = err instanceof Error ? err.message : String(err);
    first = { index: re.index, name: re.name, type: re.action.type, status: "failed", error: `the host was lost: ${message}`, instances: err instanceof PartialStepError ? err.done : [], durationMs: 0 };
  }
  o.onStepFinished?.(first);
  if (first.status !== "failed") return merged(await runHostSteps(ctx, after, o), [first]);
  const why = lost !== undefined ? `the host was lost during step ${re.index + 1}` : `an earlier step failed (${re.name})`;
  const skipped = after.map((s): StepResult => ({ index: s.index, name: s.name, type: s.action.type, status: "skipped", skipped: why, instances: [], durationMs: 0 }));
  return merged({ steps: skipped, ...(lost !== undefined ? { lost } : {}) }, [first]);
}

async function reexamineStep(ctx: StepContext, step: ExecStep, prog: StepProgress): Promise<StepResult> {
  const started = performance.now();
  const base = { index: step.index, name: step.name, type: step.action.type };
  const a = step.action as Extract<ExecStep["action"], { type: ServiceAction }>;
  try {
    ctx.invalidateFacts();
    const selected = selectInstances((await ctx.facts()).instances, step.selector, ctx.host);
    let instances = await reexamineService(ctx, a.type, selected, prog.transitions, a.healthyTimeoutMs);
    if (a.gate) instances = [...instances, ...(await gateAfter(ctx, instances, selected, a.gate))];
    const failed = instances.find((i) => i.status === "failed");
    return { ...base, status: stepStatusOf(instances), ...(failed ? { error: `${failed.instance}: ${failed.error ?? failed.action}` } : {}), instances, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    if (err instanceof PartialStepError && !err.hostLost) return { ...base, status: "failed", error: err.message, instances: err.done, durationMs: Math.round(performance.now() - started) };
    if (!(err instanceof StepError) && !isAgentRefusal(err)) throw err;
    return { ...base, status: "failed", error: (err as Error).message, instances: [], durationMs: Math.round(performance.now() - started) };
  }
}

/**
 * One service step again, from what was found: instances the step had already
 * done get their health gate (a start that finds them running); the others
 * get the step's action. Results in the instances' order.
 */
export async function reexamineService(
  ctx: StepContext,
  action: ServiceAction,
  selected: readonly InstanceFacts[],
  transitions: Record<string, string[]>,
  healthyTimeoutMs: number,
): Promise<InstanceStepResult[]> {
  const seen = (i: InstanceFacts) => transitions[i.name] ?? [];
  // A start whose answer never came but whose master runs now went through.
  const did = (i: InstanceFacts) => seen(i).some((s) => DID[action].includes(s)) || (action !== "stop" && seen(i).includes("starting") && i.running);
  const found = new Map<string, string>();
  for (const i of selected) {
    const what = did(i)
      ? `${PAST[action]} before the interruption (found ${i.running ? "running" : "stopped"})`
      : seen(i).length
        ? `found ${i.running ? "running" : "stopped"} after '${seen(i).at(-1)}'`
        : `not reached before the interruption (found ${i.running ? "running" : "stopped"})`;
    found.set(i.name, what);
    ctx.transition?.(i.name, i.running ? "found_running" : "found_stopped", what);
  }
  const already = selected.filter(did);
  const rest = selected.filter((i) => !did(i));
  const out: InstanceStepResult[] = [];
  if (action === "stop") {
    const r = await serviceInstances(ctx, "stop", [...selected].reverse(), healthyTimeoutMs);
    out.push(...r.results, ...r.untouched);
  } else {
    // Already done: only the gate (a start of a running instance answers "already running", then gates it).
    // Found stopped after being done (it died since): started, gated.
    if (already.length) {
      const r = await serviceInstances(ctx, "start", already, healthyTimeoutMs);
      out.push(...r.results, ...r.untouched);
    }
    if (rest.length) out.push(...(await serviceStep(ctx, action, rest, healthyTimeoutMs)));
  }
  const order = new Map(selected.map((i, n) => [i.name, n]));
  return out
    .map((r) => {
      const why = found.get(r.instance);
      if (!why) return r;
      // Done before: the step's work on it stands (changed), as in a run that never stopped.
      const doneBefore = already.some((i) => i.name === r.instance);
      return { ...r, ...(doneBefore && r.status === "ok" ? { status: "changed" as const } : {}), action: `${why}: ${r.action}` };
    })
    .sort((x, y) => (order.get(x.instance) ?? 0) - (order.get(y.instance) ?? 0));
}

/**
 * The `then:` reloads and restarts that steps ended before the interruption
 * still owe (their instances changed settings and no later start, restart or
 * reload covered them), run after the host's last step as the run would
 * have: restart wins over reload; nothing when the host failed or stopped.
 */
async function owedHandlers(ctx: StepContext, steps: readonly ExecStep[], p: HostProgress, r: HostStepsResult, o: HostStepsOptions): Promise<HostStepsResult> {
  if (r.incomplete || r.lost !== undefined || r.steps.some((s) => s.status === "failed")) return r;
  const before = new Set(p.done.map((s) => s.index));
  const exec = new Map(steps.map((s) => [s.index, s]));
  const pending = { reload: new Set<string>(), restart: new Set<string>() };
  for (const s of r.steps) {
    const then = before.has(s.index) ? exec.get(s.index)?.then : undefined;
    if (then) for (const i of s.instances) if (i.status === "changed" && i.changes?.length) pending[then].add(i.instance);
    const a = s.type === "then" ? (s.name.startsWith("then: restart") ? "restart" : "reload") : s.type;
    if (a !== "start" && a !== "restart" && a !== "reload") continue;
    for (const i of s.instances) {
      if (i.status !== "changed") continue;
      pending.reload.delete(i.instance);
      if (a !== "reload") pending.restart.delete(i.instance);
    }
  }
  let index = Math.max(steps.length - 1, ...r.steps.map((s) => s.index)) + 1;
  const out = [...r.steps];
  for (const action of ["restart", "reload"] as const) {
    const names = [...pending[action]].filter((n) => action === "restart" || !pending.restart.has(n));
    if (!names.length) continue;
    const step: ExecStep = { index: index++, name: `then: ${action} ${names.join(", ")}`, selector: { kind: "names", names }, enabled: true, action: { type: action, healthyTimeoutMs: DEFAULT_HEALTHY_TIMEOUT_MS } };
    const h = await runHostSteps(ctx, [step], o);
    out.push(...h.steps.map((x) => ({ ...x, type: "then" as const })));
    if (h.lost !== undefined || h.incomplete || h.steps.some((x) => x.status === "failed")) return { ...r, ...h, steps: out };
  }
  return { ...r, steps: out };
}
