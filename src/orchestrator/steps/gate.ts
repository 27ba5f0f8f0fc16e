// Sustained health: a gate's checks (health, queues, probe) run in rounds
// every `interval` until they have all held continuously for the soak, within
// the healthy deadline (Nomad's min_healthy_time within healthy_deadline). A
// failed round resets the soak clock; the host fails as soon as the soak can
// no longer complete before the deadline, naming what failed and how long the
// gate had held before.
import type { HealthCheck, InstanceFacts } from "../../protocol/index.js";
import type { GateSettings } from "../../playbook/types.js";
import { queueCheck, type QueueBaseline } from "./queue-gate.js";
import type { InstanceStepResult } from "./step-results.js";
import { instanceArg, perInstance, type StepContext } from "./step-context.js";
import type { ExecStep } from "./step-model.js";

export interface Soak {
  soakMs: number;
  intervalMs: number;
  deadlineMs: number;
}

const secs = (ms: number) => `${+(ms / 1000).toFixed(2)} s`;

/** One round of checks: the results of every check (failed ones have status "failed"). */
export type GateRound = () => Promise<InstanceStepResult[]>;

function failedText(rows: readonly InstanceStepResult[]): string {
  return rows
    .filter((r) => r.status === "failed")
    .map((r) => r.error ?? `${r.instance}: ${r.action}`)
    .join("; ");
}

/** Rounds until the checks held for the soak (a summary line first, then the last round's lines) or it can no longer be. */
export async function holdGate(ctx: StepContext, round: GateRound, s: Soak): Promise<InstanceStepResult[]> {
  const started = performance.now();
  let since: number | null = null;
  let rounds = 0;
  let resets = 0;
  let lastHeld = 0;
  let lastFailure = "";
  const every = `every ${secs(s.intervalMs)}`;
  const summary = (status: "ok" | "failed", action: string, error?: string): InstanceStepResult => ({
    instance: "(gate)",
    status,
    action,
    ...(error ? { error } : {}),
    durationMs: Math.round(performance.now() - started),
  });
  for (;;) {
    ctx.doing(since === null ? "waiting for the gate to hold" : `gate held for ${secs(performance.now() - since)} of the ${secs(s.soakMs)} soak`);
    const rows = await round();
    rounds++;
    const t = performance.now();
    const failed = rows.some((r) => r.status === "failed");
    if (failed) lastFailure = failedText(rows);
    let flapped = false;
    if (!failed) {
      since ??= t;
      if (t - since >= s.soakMs) {
        const soak = s.soakMs ? `held for the ${secs(s.soakMs)} soak` : "held";
        return [summary("ok", `${soak} (${rounds} check${rounds === 1 ? "" : "s"} ${every}${resets ? `; the soak clock was reset ${resets} time${resets === 1 ? "" : "s"}` : ""})`), ...rows];
      }
    } else if (since !== null) {
      resets++;
      lastHeld = t - since;
      since = null;
      flapped = true;
    }
    const left = started + s.deadlineMs - t;
    const need = since === null ? s.soakMs : s.soakMs - (t - since);
    if (need > left || ctx.hardStop.aborted) {
      const deadline = `healthy_deadline ${secs(s.deadlineMs)}`;
      const soak = s.soakMs ? `the ${secs(s.soakMs)} soak` : "the gate";
      let error: string;
      if (ctx.hardStop.aborted) error = `gate stopped after ${rounds} checks: the run was stopped`;
      else if (flapped) error = `gate failed after holding ${secs(lastHeld)} of ${soak}: ${failedText(rows)}; ${soak} cannot complete within ${deadline}`;
      else if (failed) error = `gate did not hold within ${deadline} (${rounds} checks ${every}${resets ? `, held at most ${secs(lastHeld)} of ${soak}` : ""}): ${failedText(rows)}`;
      else error = `gate held for ${secs(t - since!)}${lastFailure ? ` since its last failure (${lastFailure})` : ""}, but ${soak} cannot complete within ${deadline}`;
      return [summary("failed", failed ? "gate did not hold" : "gate held too late", error), ...rows];
    }
    const pause = since === null ? s.intervalMs : Math.min(s.intervalMs, Math.max(0, need));
    await new Promise<void>((resolve) => {
      const tm = setTimeout(resolve, pause);
      ctx.hardStop.addEventListener("abort", () => (clearTimeout(tm), resolve()), { once: true });
    });
  }
}

/** Health checks of one instance, checked once; a line only when they fail. */
async function healthOnce(ctx: StepContext, inst: InstanceFacts, checks: HealthCheck[]): Promise<InstanceStepResult | undefined> {
  const h = await ctx.session.request({ op: "health", instance: instanceArg(inst), checks, timeoutMs: 0 }, { signal: ctx.hardStop, timeoutMs: ctx.opTimeoutMs * 2 });
  if (!h.error && h.ok) return undefined;
  const bad = h.checks.filter((c) => !c.ok).map((c) => `${c.kind}: ${c.detail}`);
  return { instance: inst.name, status: "failed", action: "not healthy", health: h.checks, error: `${inst.name}: ${h.error?.message ?? bad.join("; ")}`, durationMs: h.durationMs };
}

export interface RoundChecks {
  /** Health checks of each of `healthOf` (the service gate's master + smtp, or a wait's checks). */
  health?: { checks: HealthCheck[]; instances: readonly InstanceFacts[] };
  queue?: { settings: NonNullable<GateSettings["queue"]>; instances: readonly InstanceFacts[]; baseline: QueueBaseline };
  /** A probe into `entry` (probe-gate.ts's probeOnce). */
  probe?: { entry: InstanceFacts; run: () => Promise<InstanceStepResult> };
}

/** One round: health of each instance, its queues, then the probe(s); every line kept. */
export function gateRound(ctx: StepContext, c: RoundChecks): GateRound {
  return async () => {
    const rows: InstanceStepResult[] = [];
    if (c.health && c.health.checks.length)
      for (const inst of c.health.instances) {
        const h = c.health.checks;
        const r = await perInstance(rows, inst, `the health gate of ${inst.name}`, () => healthOnce(ctx, inst, h));
        if (r) rows.push(r);
      }
    if (c.queue) {
      const q = c.queue;
      for (const inst of q.instances) rows.push(await perInstance(rows, inst, `reading the queues of ${inst.name}`, () => queueCheck(ctx, inst, q.settings, q.baseline)));
    }
    if (c.probe) rows.push(await perInstance(rows, c.probe.entry, `the mail-flow probe into ${c.probe.entry.name}`, c.probe.run));
    return rows;
  };
}

/** How long a gate that did not soak before may take to hold once a canary's soak is added: as long as the soak, and this. */
export const CANARY_GATE_SLACK_MS = 60_000;

/**
 * A gate on a canary host: held for at least the canary's soak (a gate that
 * soaked less, or not at all, soaks that long; its healthy deadline grows by
 * what was added, or is the soak and CANARY_GATE_SLACK_MS when it had none).
 */
export function canaryGate(gate: GateSettings, soakMs: number): GateSettings {
  const soak = gate.soakMs ?? 0;
  if (soak >= soakMs && gate.healthyDeadlineMs !== undefined) return gate;
  const longer = Math.max(soak, soakMs);
  return { ...gate, soakMs: longer, healthyDeadlineMs: gate.healthyDeadlineMs !== undefined ? gate.healthyDeadlineMs + (longer - soak) : longer + CANARY_GATE_SLACK_MS };
}

/** A step on a canary host: its gate (start/restart/reload/wait) held for the canary's soak; other steps as they are. */
export function canaryStep(s: ExecStep, soakMs: number): ExecStep {
  const a = s.action;
  if ((a.type === "start" || a.type === "restart" || a.type === "reload" || a.type === "wait") && a.gate) return { ...s, action: { ...a, gate: canaryGate(a.gate, soakMs) } };
  return s;
}
