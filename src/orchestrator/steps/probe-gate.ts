// Mail-flow probes on a host: the agent's probe request for one instance, as
// a step result line, and the gate of start/restart/reload steps (a list of
// checks that must hold once the step's instances are back: the probe, the
// queue limits of queue-gate.ts; with a soak, held in rounds by gate.ts).
import type { InstanceFacts } from "../../protocol/index.js";
import type { GateSettings, ProbeSettings } from "../../playbook/types.js";
import type { InstanceStepResult } from "./step-results.js";
import { instanceArg, perInstance, type StepContext } from "./step-context.js";
import { gateRound, holdGate, type RoundChecks } from "./gate.js";
import { queueBaseline, type QueueBaseline } from "./queue-gate.js";
import { GATE_CHECKS, serviceStep } from "./service.js";
import type { ServiceAction } from "./step-model.js";

/** Extra time beyond the probe's own limit for the agent to answer (injection, postsuper -d). */
const PROBE_SLACK_MS = 15_000;

/** "postfix-in → postfix-filter → postfix-out → 127.0.0.1[127.0.0.1]:2525" */
export function probePath(r: NonNullable<InstanceStepResult["probe"]>): string {
  const parts = r.hops.map((h) => `${h.instance ?? h.syslogName}${h.latencyMs !== null ? ` ${h.latencyMs} ms` : ""}`);
  const last = r.hops[r.hops.length - 1];
  if (last?.status === "sent" && last.relay) parts.push(last.relay);
  return parts.join(" → ");
}

export async function probeOnce(ctx: StepContext, inst: InstanceFacts, p: ProbeSettings): Promise<InstanceStepResult> {
  ctx.doing(`probing mail flow into ${inst.name}`);
  const started = performance.now();
  const r = await ctx.session.request(
    {
      op: "probe",
      instance: instanceArg(inst),
      outcome: p.outcome,
      maxLatencyMs: p.maxLatencyMs,
      ...(p.sender !== undefined ? { sender: p.sender } : {}),
      ...(p.recipient !== undefined ? { recipient: p.recipient } : {}),
      ...(p.address !== undefined ? { address: p.address } : {}),
      ...(p.port !== undefined ? { port: p.port } : {}),
    },
    { signal: ctx.hardStop, timeoutMs: p.maxLatencyMs + ctx.opTimeoutMs + PROBE_SLACK_MS },
  );
  const { ok, outcome, messageId, injectedVia, hops, failure, removed, durationMs } = r;
  const probe = { ok, outcome, messageId, injectedVia, hops, failure, removed, durationMs };
  const res: InstanceStepResult = { instance: inst.name, status: "ok", action: `mail flows (${outcome}): ${probePath(probe)}`, probe, durationMs: Math.round(performance.now() - started) };
  if (!r.ok) {
    res.status = "failed";
    res.action = "mail-flow probe failed";
    const why = r.error ? r.error.message : failure ? `at ${failure.hop}: ${failure.reason}${failure.line ? ` (log: ${failure.line})` : ""}` : "no outcome";
    const gone = removed.length ? `; removed from the queue: ${removed.map((x) => `${x.instance} ${x.queueId}`).join(", ")}` : "";
    res.error = `probe ${messageId} via ${injectedVia || instanceArg(inst)} failed ${why}${gone}`;
  }
  return res;
}

/** The instance a gate's probe enters: the one named, else the first selected one that is not the primary. */
export function probeEntry(selected: readonly InstanceFacts[], all: readonly InstanceFacts[], p: ProbeSettings): InstanceFacts | string {
  if (p.instance !== undefined) {
    const want = p.instance === "-" ? all.find((i) => i.primary) : all.find((i) => i.name === p.instance);
    return want ?? `gate probe: no instance named ${p.instance} on this host`;
  }
  return selected.find((i) => !i.primary) ?? selected[0] ?? "gate probe: the step selected no instance to probe";
}

/** After a start/restart/reload step whose instances all came back: the gate's checks, once or held for the soak. */
export async function gateAfter(
  ctx: StepContext,
  done: readonly InstanceStepResult[],
  selected: readonly InstanceFacts[],
  gate: GateSettings,
  baseline: QueueBaseline = new Map(),
): Promise<InstanceStepResult[]> {
  const soaks = gate.healthyDeadlineMs !== undefined;
  if ((!gate.probe && !gate.queue && !soaks) || done.some((r) => r.status === "failed")) return [];
  if (ctx.check) return [{ instance: "(gate)", status: "skipped", action: `${gate.probe ? "mail-flow probe" : "gate"} not run (--check)`, durationMs: 0 }];
  let probe: RoundChecks["probe"];
  if (gate.probe) {
    const all = (await ctx.facts()).instances;
    const entry = probeEntry(selected, all, gate.probe);
    if (typeof entry === "string") return [{ instance: "(gate)", status: "failed", action: "mail-flow probe not run", error: entry, durationMs: 0 }];
    const p = gate.probe;
    probe = { entry, run: () => probeOnce(ctx, entry, p) };
  }
  // Held for a soak, the health gate is part of every round: the instances this step brought back.
  // (A reload leaves a stopped instance stopped: "not reloaded (not running)".)
  const back = new Set(done.filter((r) => r.status !== "skipped" && !r.action.endsWith("(not running)")).map((r) => r.instance));
  const round = gateRound(ctx, {
    ...(soaks ? { health: { checks: GATE_CHECKS, instances: selected.filter((i) => i.enabled && back.has(i.name)) } } : {}),
    ...(gate.queue ? { queue: { settings: gate.queue, instances: selected, baseline } } : {}),
    ...(probe ? { probe } : {}),
  });
  if (!soaks) return round();
  return holdGate(ctx, round, { soakMs: gate.soakMs ?? 0, intervalMs: gate.intervalMs ?? 5000, deadlineMs: gate.healthyDeadlineMs! });
}

/** A start/restart/reload step with its gate: the queues read before it (for growth), the step, then the gate. */
export async function gatedServiceStep(ctx: StepContext, action: ServiceAction, selected: readonly InstanceFacts[], healthyTimeoutMs: number, gate?: GateSettings): Promise<InstanceStepResult[]> {
  if (!gate) return serviceStep(ctx, action, selected, healthyTimeoutMs);
  const baseline = await queueBaseline(ctx, selected, gate.queue);
  const done = await serviceStep(ctx, action, selected, healthyTimeoutMs);
  return [...done, ...(await gateAfter(ctx, done, selected, gate, baseline))];
}
