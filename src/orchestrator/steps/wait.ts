// wait steps: explicit health checks on the selected instances, retried by
// the agent until they pass or the timeout is up.
import type { HealthCheck, InstanceFacts } from "../../protocol/index.js";
import type { InstanceStepResult } from "./step-results.js";
import { instanceArg, perInstance, type StepContext } from "./step-context.js";

export async function waitFor(
  ctx: StepContext,
  inst: InstanceFacts,
  checks: HealthCheck[],
  timeoutMs: number,
  intervalMs: number,
  what = "healthy",
): Promise<InstanceStepResult> {
  ctx.doing(`waiting for ${inst.name}`);
  const started = performance.now();
  const h = await ctx.session.request(
    { op: "health", instance: instanceArg(inst), checks, timeoutMs, intervalMs },
    { signal: ctx.hardStop, timeoutMs: timeoutMs + ctx.opTimeoutMs },
  );
  const res: InstanceStepResult = { instance: inst.name, status: "ok", action: what, health: h.checks, durationMs: Math.round(performance.now() - started) };
  if (h.error || !h.ok) {
    res.status = "failed";
    res.action = `not ${what}`;
    const bad = h.checks.filter((c) => !c.ok).map((c) => `${c.kind}: ${c.detail}`);
    res.error = `not ${what} within ${Math.round(timeoutMs / 1000)} s: ${h.error?.message ?? bad.join("; ")}`;
  }
  return res;
}

export async function waitStep(ctx: StepContext, selected: readonly InstanceFacts[], checks: HealthCheck[], timeoutMs: number, intervalMs: number): Promise<InstanceStepResult[]> {
  const out: InstanceStepResult[] = [];
  for (const inst of selected) {
    if (ctx.check) {
      out.push({ instance: inst.name, status: "skipped", action: "not checked (--check)", durationMs: 0 });
      continue;
    }
    const r = await perInstance(out, inst, `wait for ${inst.name}`, () => waitFor(ctx, inst, checks, timeoutMs, intervalMs));
    out.push(r);
    if (r.status === "failed") break;
  }
  return out;
}
