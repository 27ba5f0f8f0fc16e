// Queue gates: one instance's queues from the agent's `queue` request
// (postqueue -j, streamed on the host), held against the gate's limits:
// counts per queue, growth of the deferred queue and new delay reasons over a
// reading taken before the step, the age of the oldest deferred message.
import { QUEUE_GATE_QUEUES, type InstanceFacts, type QueueResponse } from "../../protocol/index.js";
import type { QueueGateSettings } from "../../playbook/types.js";
import type { InstanceStepResult } from "./step-results.js";
import { instanceArg, type StepContext } from "./step-context.js";

/** The reading before the step, per instance name: the answer, or why there is none. */
export type QueueBaseline = Map<string, QueueResponse | string>;

const MAX_LIMITS = [
  ["active", "maxActive", "max_active"],
  ["incoming", "maxIncoming", "max_incoming"],
  ["deferred", "maxDeferred", "max_deferred"],
  ["hold", "maxHold", "max_hold"],
  ["maildrop", "maxMaildrop", "max_maildrop"],
] as const;

export async function readQueue(ctx: StepContext, inst: InstanceFacts): Promise<QueueResponse> {
  ctx.doing(`reading the queues of ${inst.name}`);
  return ctx.session.request({ op: "queue", instance: instanceArg(inst) }, { signal: ctx.hardStop, timeoutMs: ctx.opTimeoutMs });
}

/** Only the limits that compare with an earlier reading need one. */
export const needsBaseline = (q: QueueGateSettings | undefined): boolean => q !== undefined && (q.maxDeferredGrowth !== undefined || q.noNewDelayReason === true);

/** Each instance's queues before the step, for growth and new delay reasons. */
export async function queueBaseline(ctx: StepContext, selected: readonly InstanceFacts[], q: QueueGateSettings | undefined): Promise<QueueBaseline> {
  const out: QueueBaseline = new Map();
  if (!needsBaseline(q) || ctx.check) return out;
  for (const inst of selected) {
    const r = await readQueue(ctx, inst);
    out.set(inst.name, r.error ? `no reading before the step: ${r.error.message}` : r);
  }
  return out;
}

const secs = (ms: number) => `${Math.round(ms / 1000)} s`;

/** What breaks the limits, one sentence each naming the instance, the figure, the limit and the value. */
export function queueViolations(instance: string, now: QueueResponse, before: QueueResponse | string | undefined, q: QueueGateSettings): string[] {
  const out: string[] = [];
  const of = `queue of ${instance}`;
  for (const [queue, key, name] of MAX_LIMITS) {
    const limit = q[key];
    if (limit !== undefined && now.counts[queue] > limit) out.push(`${of}: ${now.counts[queue]} ${queue}, more than ${name} ${limit}`);
  }
  if (q.maxOldestDeferredMs !== undefined && now.oldestDeferredS !== null && now.oldestDeferredS * 1000 > q.maxOldestDeferredMs)
    out.push(`${of}: oldest deferred message ${now.oldestDeferredS} s old, more than max_oldest_deferred ${secs(q.maxOldestDeferredMs)}`);
  if (needsBaseline(q) && (before === undefined || typeof before === "string")) {
    out.push(`${of}: ${before ?? "no reading before the step"} (needed for max_deferred_growth / no_new_delay_reason)`);
    return out;
  }
  if (!before || typeof before === "string") return out;
  const growth = now.counts.deferred - before.counts.deferred;
  if (q.maxDeferredGrowth !== undefined && growth > q.maxDeferredGrowth)
    out.push(`${of}: deferred grew by ${growth} (${before.counts.deferred} before the step, ${now.counts.deferred} now), more than max_deferred_growth ${q.maxDeferredGrowth}`);
  if (q.noNewDelayReason) {
    const known = new Set(before.delayReasons);
    const fresh = now.delayReasons.filter((r) => !known.has(r));
    if (fresh.length) {
      const partial = before.reasonsTruncated ? ` (the reading before held more than ${before.delayReasons.length} reasons: some may not be new)` : "";
      out.push(`${of}: ${fresh.length} new delay reason${fresh.length === 1 ? "" : "s"} since before the step, with no_new_delay_reason set: ${fresh.map((r) => JSON.stringify(r)).join(", ")}${partial}`);
    }
  }
  return out;
}

/** "active 0, incoming 0, deferred 3 (+3), hold 0, maildrop 0; oldest deferred 12 s" */
export function queueSummary(now: QueueResponse, before: QueueResponse | string | undefined): string {
  const growth = before && typeof before !== "string" ? now.counts.deferred - before.counts.deferred : undefined;
  const parts = QUEUE_GATE_QUEUES.map((q) => `${q} ${now.counts[q]}${q === "deferred" && growth !== undefined ? ` (${growth >= 0 ? "+" : ""}${growth})` : ""}`);
  return `${parts.join(", ")}${now.oldestDeferredS !== null ? `; oldest deferred ${now.oldestDeferredS} s` : ""}`;
}

/** One reading of `inst`'s queues against the limits, as a result line. */
export async function queueCheck(ctx: StepContext, inst: InstanceFacts, q: QueueGateSettings, baseline: QueueBaseline): Promise<InstanceStepResult> {
  const started = performance.now();
  const now = await readQueue(ctx, inst);
  const res: InstanceStepResult = { instance: inst.name, status: "ok", action: "", durationMs: 0 };
  if (now.error) {
    res.status = "failed";
    res.action = "queue not read";
    res.error = `queue of ${inst.name}: ${now.error.message}`;
  } else {
    const before = baseline.get(inst.name);
    res.action = `queue: ${queueSummary(now, before)}`;
    const bad = queueViolations(inst.name, now, before, q);
    if (bad.length) {
      res.status = "failed";
      res.error = bad.join("; ");
    }
  }
  res.durationMs = Math.round(performance.now() - started);
  return res;
}
