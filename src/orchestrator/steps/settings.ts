// postconf steps: main.cf and master.cf settings for the selected instances,
// applied by the agent only where they differ (with --check: what would
// change), with every parameter's before and after.
import type { ConfigSpec, InstanceFacts } from "../../protocol/index.js";
import { predictedChanges } from "./converge-plan.js";
import type { InstanceStepResult } from "./step-results.js";
import { instanceArg, perInstance, type StepContext } from "./step-context.js";

export async function applySettings(ctx: StepContext, inst: InstanceFacts, settings: ConfigSpec): Promise<InstanceStepResult> {
  ctx.doing(`settings of ${inst.name}`);
  if (ctx.check && ctx.predicted(inst.name)) {
    // Not created yet: every setting of the spec would be new.
    const changes = predictedChanges(settings);
    return { instance: inst.name, status: changes.length ? "changed" : "ok", action: changes.length ? `would change ${changes.length} setting${changes.length === 1 ? "" : "s"}` : "unchanged", changes, durationMs: 0 };
  }
  const started = performance.now();
  const r = await ctx.session.request({ op: "config", instance: instanceArg(inst), set: settings, dryRun: ctx.check }, { signal: ctx.hardStop });
  const res: InstanceStepResult = { instance: inst.name, status: "ok", action: "unchanged", durationMs: 0, changes: r.changes };
  if (r.error) {
    res.status = "failed";
    res.action = "settings not applied";
    res.error = r.error.message;
  } else if (r.changes.length > 0) {
    res.status = "changed";
    res.action = `${ctx.check ? "would change" : "changed"} ${r.changes.length} setting${r.changes.length === 1 ? "" : "s"}`;
  }
  res.durationMs = Math.round(performance.now() - started);
  return res;
}

/** The postconf step: stops at the first instance that fails. */
export async function settingsStep(ctx: StepContext, selected: readonly InstanceFacts[], settings: ConfigSpec): Promise<InstanceStepResult[]> {
  const out: InstanceStepResult[] = [];
  for (const inst of selected) {
    // A first Ctrl-C: no further instance is changed (the one being changed finishes).
    const why = ctx.interrupted();
    if (why) {
      out.push({ instance: inst.name, status: "skipped", action: `settings not applied (${why})`, durationMs: 0 });
      continue;
    }
    const r = await perInstance(out, inst, `settings of ${inst.name}`, () => applySettings(ctx, inst, settings));
    out.push(r);
    if (r.status === "failed") break;
  }
  return out;
}
