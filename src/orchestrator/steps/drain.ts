// drain / undrain: stop accepting new SMTP connections without killing the
// sessions in progress (master_service_disable = inet, then reload), and wait
// until the instance's smtpd processes are gone; undrain takes `inet` out of
// master_service_disable again and reloads. A stopped instance has nothing to
// drain. Only Postfix's own parameter is used, so a drained instance is plain
// to see with `postconf master_service_disable`.
import type { InstanceFacts } from "../../protocol/index.js";
import type { InstanceStepResult } from "./step-results.js";
import { serviceInstances } from "./service.js";
import { applySettings } from "./settings.js";
import { instanceArg, perInstance, type StepContext } from "./step-context.js";
import { waitFor } from "./wait.js";

const PARAM = "master_service_disable";

async function currentDisable(ctx: StepContext, inst: InstanceFacts): Promise<string[]> {
  const r = await ctx.session.request({ op: "config", instance: instanceArg(inst), read: true }, { signal: ctx.hardStop });
  if (r.error) throw new Error(r.error.message);
  return (r.main?.[PARAM] ?? "").split(/[\s,]+/).filter(Boolean);
}

async function drainOne(ctx: StepContext, inst: InstanceFacts, timeoutMs: number, drain: boolean): Promise<InstanceStepResult> {
  const started = performance.now();
  const words = await currentDisable(ctx, inst);
  const has = words.includes("inet");
  const commands: string[] = [];
  let settings: InstanceStepResult | undefined;
  if (drain !== has) {
    const next = drain ? [...words, "inet"] : words.filter((w) => w !== "inet");
    settings = await applySettings(ctx, inst, next.length ? { main: { [PARAM]: next.join(" ") } } : { mainAbsent: [PARAM] });
    if (settings.status === "failed") return settings;
    // A drained instance no longer answers SMTP: its reload is gated on the master alone.
    const reload = await serviceInstances(ctx, "reload", [inst], timeoutMs, drain ? [{ kind: "master" }] : undefined);
    const r = reload.results[0];
    commands.push(...(r?.commands ?? []));
    if (r?.status === "failed") return { ...r, changes: settings.changes ?? [] };
  }
  const base: InstanceStepResult = {
    instance: inst.name,
    status: drain !== has ? "changed" : "ok",
    action: drain ? (has ? "already draining" : ctx.check ? "would drain" : "draining") : has ? (ctx.check ? "would undrain" : "undrained") : "not drained",
    commands,
    ...(settings?.changes ? { changes: settings.changes } : {}),
    durationMs: 0,
  };
  if (drain && !ctx.check) {
    const w = await waitFor(ctx, inst, [{ kind: "sessions", max: 0 }], timeoutMs, 1000, "drained");
    base.health = w.health;
    if (w.status === "failed") Object.assign(base, { status: "failed", error: w.error, action: "sessions still open" });
    else base.action = has ? "already drained" : "drained";
  }
  base.durationMs = Math.round(performance.now() - started);
  return base;
}

export async function drainStep(ctx: StepContext, selected: readonly InstanceFacts[], timeoutMs: number, drain: boolean): Promise<InstanceStepResult[]> {
  const out: InstanceStepResult[] = [];
  for (const inst of selected) {
    if (drain && !inst.running) {
      out.push({ instance: inst.name, status: "skipped", action: "not running: nothing to drain", durationMs: 0 });
      continue;
    }
    ctx.doing(`${drain ? "drain" : "undrain"} ${inst.name}`);
    const r = await perInstance(out, inst, `${drain ? "drain" : "undrain"} ${inst.name}`, () => drainOne(ctx, inst, timeoutMs, drain));
    out.push(r);
    if (r.status === "failed") break;
  }
  return out;
}
