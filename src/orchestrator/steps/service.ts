// start / stop / restart / reload of the selected instances of one host, in
// postmulti's order: stop in reverse multi_instance_directories order, start
// in that order, disabled instances never started. Each start (and reload) is
// gated by health before the next instance is touched: the master runs and
// its inet SMTP listeners answer with a 220 banner, within the timeout. The
// first failure stops the step: later instances stay as they were, and the
// results say which instance is in which state.
import type { HealthCheck, InstanceFacts, ServiceResponse } from "../../protocol/index.js";
import { buildCommand } from "../../transport/index.js";
import type { ServiceAction } from "./step-model.js";
import type { InstanceStepResult } from "./step-results.js";
import { instanceArg, PartialStepError, perInstance, type StepContext } from "./step-context.js";

export const GATE_CHECKS: HealthCheck[] = [{ kind: "master" }, { kind: "smtp" }];

const DONE: Record<ServiceAction, string> = { start: "started", stop: "stopped", restart: "restarted", reload: "reloaded" };
const DOING: Record<ServiceAction, string> = { start: "starting", stop: "stopping", restart: "restarting", reload: "reloading" };

/** Run one service action on the instances, in the order given; stops at the first failure. */
export async function serviceInstances(
  ctx: StepContext,
  action: "start" | "stop" | "reload",
  instances: readonly InstanceFacts[],
  healthyTimeoutMs: number,
  gate: HealthCheck[] = GATE_CHECKS,
  /** A restart's start phase brings back what it stopped even when interrupted. */
  finishEvenIfInterrupted = false,
): Promise<{ results: InstanceStepResult[]; failed: boolean; untouched: InstanceStepResult[] }> {
  const results: InstanceStepResult[] = [];
  for (const [n, inst] of instances.entries()) {
    if (ctx.hardStop.aborted) break;
    const why = finishEvenIfInterrupted ? undefined : ctx.interrupted();
    if (why) {
      results.push({ instance: inst.name, status: "skipped", action: `not ${DONE[action]} (${why})`, durationMs: 0 });
      continue;
    }
    const r = await perInstance(results, inst, `${action} ${inst.name}`, () => serviceOne(ctx, action, inst, healthyTimeoutMs, gate));
    results.push(r);
    if (r.status === "failed") return { results, failed: true, untouched: untouched(action, instances.slice(n + 1), inst.name) };
  }
  return { results, failed: false, untouched: [] };
}

/** The instances after a failed one: left as they were, and the report says so. */
function untouched(action: "start" | "stop" | "reload" | "restart", rest: readonly InstanceFacts[], failed: string): InstanceStepResult[] {
  return rest.map((i) => ({ instance: i.name, status: "skipped", action: `not ${DONE[action]} (${failed} failed first; left as it was)`, durationMs: 0 }));
}

async function serviceOne(
  ctx: StepContext,
  action: "start" | "stop" | "reload",
  inst: InstanceFacts,
  healthyTimeoutMs: number,
  gate: HealthCheck[],
): Promise<InstanceStepResult> {
  ctx.doing(`${action} ${inst.name}`);
  if (ctx.check && ctx.predicted(inst.name)) return predictedService(action, inst);
  const started = performance.now();
  if (!ctx.check) ctx.transition?.(inst.name, DOING[action]);
  const r: ServiceResponse = await ctx.session.request(
    { op: "service", instance: instanceArg(inst), action, dryRun: ctx.check, timeoutMs: ctx.opTimeoutMs },
    { signal: ctx.hardStop },
  );
  const res: InstanceStepResult = {
    instance: inst.name,
    status: "ok",
    action: r.skipped ? `not ${DONE[action]} (${r.skipped})` : ctx.check ? `would be ${DONE[action]}` : DONE[action],
    via: r.via,
    durationMs: 0,
  };
  if (r.command) res.commands = [buildCommand(r.command)];
  if (r.stdout) res.stdout = r.stdout;
  if (r.stderr) res.stderr = r.stderr;
  if (r.error || r.exitCode !== 0) {
    res.status = "failed";
    res.action = `${action} failed`;
    res.error = r.error?.message ?? `${r.command ? buildCommand(r.command) : action} exited with status ${r.exitCode}`;
  } else if (r.skipped) {
    // Already in the asked state is success with nothing to do; "disabled" means the step did not apply.
    res.status = r.skipped === "already running" || r.skipped === "not running" ? "ok" : "skipped";
    res.action = r.skipped === "already running" ? "already running" : r.skipped === "not running" && action === "stop" ? "already stopped" : res.action;
  } else if (r.changed) {
    res.status = "changed";
  }
  if (!ctx.check) ctx.transition?.(inst.name, res.status === "failed" ? "failed" : r.changed ? DONE[action] : "unchanged", res.status === "failed" ? res.error : res.action);
  // The gate: only an instance that should now serve mail, and not in --check.
  const shouldServe = action !== "stop" && !ctx.check && res.status !== "failed" && inst.enabled && r.skipped !== "disabled" && r.skipped !== "not running";
  if (shouldServe) {
    ctx.doing(`health gate of ${inst.name}`);
    ctx.transition?.(inst.name, "health_gate");
    const h = await ctx.session.request(
      { op: "health", instance: instanceArg(inst), checks: gate, timeoutMs: healthyTimeoutMs, intervalMs: 500 },
      { signal: ctx.hardStop, timeoutMs: healthyTimeoutMs + ctx.opTimeoutMs },
    );
    res.health = h.checks;
    if (h.error || !h.ok) {
      res.status = "failed";
      const bad = h.checks.filter((c) => !c.ok).map((c) => `${c.kind}: ${c.detail}`);
      res.error = `${res.action} but not healthy within ${Math.round(healthyTimeoutMs / 1000)} s: ${h.error?.message ?? bad.join("; ")}`;
      ctx.transition?.(inst.name, "failed", res.error);
    } else {
      ctx.transition?.(inst.name, "healthy");
      if (res.status === "changed") res.action += `, healthy after ${(h.durationMs / 1000).toFixed(1)} s`;
    }
  }
  res.durationMs = Math.round(performance.now() - started);
  return res;
}

/** --check on an instance an earlier step would create: new, so stopped; enabled ones would start. */
function predictedService(action: "start" | "stop" | "reload", inst: InstanceFacts): InstanceStepResult {
  const base = { instance: inst.name, durationMs: 0 };
  if (action !== "start") return { ...base, status: "skipped", action: `not ${DONE[action]} (not running)` };
  if (!inst.enabled) return { ...base, status: "skipped", action: "not started (disabled)" };
  return { ...base, status: "changed", action: "would be started" };
}

/** A service step: restart = stop every selected instance (reverse order), then start them (order), gated. */
export async function serviceStep(ctx: StepContext, action: ServiceAction, selected: readonly InstanceFacts[], healthyTimeoutMs: number): Promise<InstanceStepResult[]> {
  const forward = [...selected];
  const reverse = [...selected].reverse();
  const all = (r: { results: InstanceStepResult[]; untouched: InstanceStepResult[] }) => [...r.results, ...r.untouched];
  if (action === "stop") return all(await serviceInstances(ctx, "stop", reverse, healthyTimeoutMs));
  if (action === "start") return all(await serviceInstances(ctx, "start", forward, healthyTimeoutMs));
  if (action === "reload") return all(await serviceInstances(ctx, "reload", forward, healthyTimeoutMs));
  // restart: only what was running (or is enabled) comes back.
  let stop: Awaited<ReturnType<typeof serviceInstances>>;
  try {
    stop = await serviceInstances(ctx, "stop", reverse, healthyTimeoutMs);
  } catch (err) {
    // Lost while stopping: what this step stopped is down now, and the report says so.
    if (err instanceof PartialStepError)
      throw new PartialStepError(err.reason, mergeRestart(err.done, [], "stopped, and not started again: the host was lost during the restart"), err.hostLost);
    throw err;
  }
  const stopped = new Set(stop.results.filter((r) => r.status === "changed").map((r) => r.instance));
  // After a failed stop only what this step stopped comes back (the rest is left as it was); otherwise
  // everything selected, and after a first Ctrl-C still what this step stopped.
  const again = stop.failed ? forward.filter((i) => stopped.has(i.name)) : forward.filter((i) => stopped.has(i.name) || !ctx.interrupted());
  let start;
  try {
    start = await serviceInstances(ctx, "start", again, healthyTimeoutMs, GATE_CHECKS, true);
  } catch (err) {
    // Lost while starting again: one line per instance, as for a finished restart: restarted, in flight
    // (state unknown), or stopped and not started again.
    if (err instanceof PartialStepError)
      throw new PartialStepError(err.reason, mergeRestart(stop.results, err.done, "stopped, and not started again: the step was cut off before its turn"), err.hostLost);
    throw err;
  }
  const merged = mergeRestart(stop.results, start.results);
  if (!stop.failed) return merged;
  const notRestarted = stop.untouched.map((u) => ({ ...u, action: u.action.replace(/^not stopped/, "not restarted") }));
  return [...merged, ...notRestarted];
}

/** One line per instance for a restart: stopped + started → restarted. */
function mergeRestart(
  stops: InstanceStepResult[],
  starts: InstanceStepResult[],
  notStartedWhy = "stopped, and not started again because an earlier start failed",
): InstanceStepResult[] {
  const byName = new Map(stops.map((s) => [s.instance, s]));
  const out: InstanceStepResult[] = [];
  for (const st of starts) {
    const sp = byName.get(st.instance);
    byName.delete(st.instance);
    if (!sp) {
      out.push(st);
      continue;
    }
    const failed = st.status === "failed";
    const changed = sp.status === "changed" || st.status === "changed";
    out.push({
      ...st,
      status: failed ? "failed" : changed ? "changed" : st.status === "skipped" && sp.status === "skipped" ? "skipped" : "ok",
      action: failed ? st.action : `${sp.action}, ${st.action}`,
      commands: [...(sp.commands ?? []), ...(st.commands ?? [])],
      durationMs: sp.durationMs + st.durationMs,
      ...(sp.stderr || st.stderr ? { stderr: `${sp.stderr ?? ""}${st.stderr ?? ""}` } : {}),
    });
  }
  // Stopped but never started again (the start loop stopped at a failure): say so.
  for (const sp of byName.values())
    out.push(sp.status === "changed" ? { ...sp, status: "failed", action: `${sp.action}, not started again`, error: notStartedWhy } : sp);
  return out;
}
