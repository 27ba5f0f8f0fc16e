// wait steps: explicit health checks on the selected instances, retried by
// the agent until they pass or the timeout is up.
import type { HealthCheck, InstanceFacts } from "../../protocol/index.js";
import type { GateSettings, ProbeSettings } from "../../playbook/types.js";
import { gateRound, holdGate } from "./gate.js";
import { probeOnce } from "./probe-gate.js";
import { queueBaseline } from "./queue-gate.js";
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

/** A probe into `inst`, repeated every intervalMs until one reaches its outcome or timeoutMs is up. */
async function probeUntil(ctx: StepContext, inst: InstanceFacts, p: ProbeSettings, timeoutMs: number, intervalMs: number): Promise<InstanceStepResult> {
  const deadline = performance.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const r = await probeOnce(ctx, inst, p);
    if (r.status !== "failed" || performance.now() + intervalMs >= deadline || ctx.hardStop.aborted) {
      if (r.status === "failed" && attempt > 1) r.error = `after ${attempt} probes in ${Math.round(timeoutMs / 1000)} s, the last ${r.error}`;
      return r;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, intervalMs);
      ctx.hardStop.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}

export async function waitStep(
  ctx: StepContext,
  selected: readonly InstanceFacts[],
  checks: HealthCheck[],
  timeoutMs: number,
  intervalMs: number,
  probe?: ProbeSettings,
  gate?: GateSettings,
): Promise<InstanceStepResult[]> {
  if (gate && !ctx.check) return waitGate(ctx, selected, checks, timeoutMs, intervalMs, probe, gate);
  const out: InstanceStepResult[] = [];
  for (const inst of selected) {
    if (ctx.check) {
      out.push({ instance: inst.name, status: "skipped", action: "not checked (--check)", durationMs: 0 });
      continue;
    }
    if (checks.length) {
      const r = await perInstance(out, inst, `wait for ${inst.name}`, () => waitFor(ctx, inst, checks, timeoutMs, intervalMs));
      out.push(r);
      if (r.status === "failed") break;
    }
    if (probe) {
      const r = await perInstance(out, inst, `the mail-flow probe into ${inst.name}`, () => probeUntil(ctx, inst, probe, timeoutMs, intervalMs));
      out.push(r);
      if (r.status === "failed") break;
    }
  }
  return out;
}

/**
 * A wait with queue limits or a soak: rounds of every check (the health checks,
 * the queues against a reading taken when the wait starts, the probe) on each
 * selected instance, until they held for the soak (0: once) within the
 * healthy deadline (default: the timeout plus the soak).
 */
async function waitGate(
  ctx: StepContext,
  selected: readonly InstanceFacts[],
  checks: HealthCheck[],
  timeoutMs: number,
  intervalMs: number,
  probe: ProbeSettings | undefined,
  gate: GateSettings,
): Promise<InstanceStepResult[]> {
  const baseline = await queueBaseline(ctx, selected, gate.queue);
  const rounds = selected.map((inst) =>
    gateRound(ctx, {
      health: { checks, instances: [inst] },
      ...(gate.queue ? { queue: { settings: gate.queue, instances: [inst], baseline } } : {}),
      ...(probe ? { probe: { entry: inst, run: () => probeOnce(ctx, inst, probe) } } : {}),
    }),
  );
  const round = async () => {
    const rows: InstanceStepResult[] = [];
    for (const r of rounds) rows.push(...(await r()));
    return rows;
  };
  return holdGate(ctx, round, { soakMs: gate.soakMs ?? 0, intervalMs: gate.intervalMs ?? intervalMs, deadlineMs: gate.healthyDeadlineMs ?? timeoutMs });
}
