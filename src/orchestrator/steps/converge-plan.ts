// The `instances` step's plan: from a host's facts and the desired instances,
// the ordered postmulti / config / service operations that converge the host,
// per desired instance. Pure (no host): the executor (converge.ts) runs it.
//
// Order, as a mail operator does it by hand (MULTI_INSTANCE_README):
// `postmulti -e init` first when a secondary instance is to exist and
// multi-instance support is off; then each desired instance in list order
// (new ones are appended to multi_instance_directories in that order, which
// is their start order): create or assign the group, apply the settings,
// then enable, or stop and disable, or (absent) check the queue, stop,
// disable and destroy. Enabling never starts an instance.
import { MASTER_FIELDS, type ConfigSpec, type FactsResponse, type InstanceFacts, type ParamChange } from "../../protocol/index.js";
import type { DesiredInstanceSpec } from "./step-model.js";
import { instanceArg, matchesName } from "./step-context.js";

/** A postmulti request (its arguments as on postmulti's command line). */
export interface PostmultiOp {
  kind: "create" | "assign" | "enable" | "disable" | "destroy";
  args: string[];
  /**
   * --check only: refusals that merely reflect an earlier operation of this
   * plan that a dry run did not really do (create before init, destroy of an
   * instance whose disable or stop was only simulated); postmulti's own text.
   */
  tolerate?: string[];
  /** --check on an instance a dry run did not really create: reported, not asked. */
  predicted?: boolean;
}

export type ConvergeOp =
  | PostmultiOp
  /**
   * `config` with the desired settings. `newInstance`: --check of an instance
   * this step would create: the agent diffs the settings against the files
   * `postmulti -e create` would give it (ConfigRequest.newInstance).
   * `predicted`: --check of an instance only an earlier step's prediction
   * holds (its settings may already be changed there): reported from the
   * spec, not asked.
   */
  | { kind: "settings"; settings: ConfigSpec; predicted?: boolean; newInstance?: { group?: string } }
  /** Refuse to go on when the instance's queues hold mail (postmulti(1): "its queue must not contain any messages"). */
  | { kind: "queue-check" }
  /** Stop a running instance: through `service` (systemd-aware); a disabled one through `postmulti -x postfix stop`, since postmulti's -p skips disabled instances. */
  | { kind: "stop"; via: "service" | "postmulti"; args?: string[]; predicted?: boolean };

export interface InstancePlan {
  desired: DesiredInstanceSpec;
  /** The name results and `changed` use: "-" for the primary, else the instance's (or the new one's) name. */
  name: string;
  /** The agent's instance argument ("-" for the primary). */
  arg: string;
  /** The instance exists on the host now. */
  exists: boolean;
  /** It is the primary instance. */
  primary: boolean;
  ops: ConvergeOp[];
  /** Nothing to do for this spec and why it cannot be converged (reported failed, nothing run). */
  refused?: string;
  /**
   * The instance will start after instances listed later: postmulti appends
   * new instances to multi_instance_directories and this step does not
   * reorder existing ones (that would need them stopped, deported, imported).
   */
  orderNote?: string;
}

export interface ConvergePlan {
  /** `postmulti -e init` before anything else, on behalf of instances[forIndex] (the first that needs it). */
  init: { forIndex: number } | null;
  instances: InstancePlan[];
}

export const INIT_ARGS = ["-e", "init"] as const;

/** postmulti's refusals while multi-instance support is not initialized (postmulti-script's text). */
export const NOT_INITIALISED = ["run 'postmulti -e init' first"];
/** postmulti's refusal to destroy an instance that is still enabled. */
export const STILL_ENABLED = "Cannot remove enabled instances";
/** postmulti-script's refusal to destroy a running instance ("Instance '/etc/postfix-x' is not stopped"). */
export const STILL_RUNNING = "is not stopped";

export function multiInstanceReady(facts: Pick<FactsResponse, "multiInstanceWrapper" | "multiInstanceEnable">): boolean {
  return !!facts.multiInstanceWrapper && facts.multiInstanceEnable === true;
}

function hasSettings(s: ConfigSpec): boolean {
  return Object.keys(s.main ?? {}).length + (s.mainAbsent ?? []).length + Object.keys(s.master ?? {}).length > 0;
}

export interface PlanOptions {
  /** --check: plan a dry run. */
  check: boolean;
  /** --check: instances that only an earlier step's prediction holds (the agent knows nothing of them). */
  predicted?: (name: string) => boolean;
}

/**
 * The operations that converge `facts` to `desired`. `check`: the plan a dry
 * run follows (what cannot be asked of the agent is predicted; refusals
 * caused by earlier simulated operations are tolerated).
 */
export function planConverge(
  facts: Pick<FactsResponse, "instances" | "multiInstanceWrapper" | "multiInstanceEnable">,
  desired: readonly DesiredInstanceSpec[],
  o: PlanOptions,
): ConvergePlan {
  const isPredicted = (i: InstanceFacts) => o.check && !i.primary && (o.predicted?.(i.name) ?? false);
  const seen = new Map<InstanceFacts | string, string>();
  // An instance an earlier step would create implies that step's init.
  const needsInit = !multiInstanceReady(facts) && !facts.instances.some(isPredicted);
  let init: ConvergePlan["init"] = null;
  const instances = desired.map((d, index): InstancePlan => {
    const plan = planOne(d, index);
    const found = facts.instances.find((i) => matchesName(i, d.name));
    if (!found || !isPredicted(found) || plan.refused) return plan;
    // Only predicted: nothing to ask, everything reported from the plan.
    return { ...plan, ops: plan.ops.filter((op) => op.kind !== "queue-check").map(predict) };
  });
  noteOrder(facts.instances, instances);
  return { init, instances };

  function planOne(d: DesiredInstanceSpec, index: number): InstancePlan {
    const found = facts.instances.find((i) => matchesName(i, d.name));
    const name = d.name === "-" ? "-" : (found?.name ?? d.name);
    const primary = d.name === "-" || !!found?.primary;
    const plan: InstancePlan = { desired: d, name, arg: found ? instanceArg(found) : d.name, exists: !!found, primary, ops: [] };
    const key = found ?? d.name;
    const twice = seen.get(key);
    if (twice !== undefined) return { ...plan, refused: `listed twice (also as ${JSON.stringify(twice)})` };
    seen.set(key, d.name);
    if (primary) {
      // The primary's multi_instance_enable is multi-instance support itself
      // (postmulti -e init sets it): disabling it would turn every instance off.
      if (d.state !== "enabled") return { ...plan, refused: `the primary instance cannot be ${d.state === "absent" ? "destroyed" : "disabled"}; it can only be "enabled" (with settings)` };
      if (!found) return { ...plan, refused: "the host has no primary instance" };
      if (d.group !== undefined && d.group !== found.group) plan.ops.push({ kind: "assign", args: ["-i", "-", "-G", d.group, "-e", "assign"] });
      if (hasSettings(d.settings)) plan.ops.push({ kind: "settings", settings: d.settings });
      return plan;
    }
    if (d.state === "absent") {
      if (!found) return plan;
      const arg = plan.arg;
      const tolerate: string[] = [];
      plan.ops.push({ kind: "queue-check" });
      if (found.running) {
        plan.ops.push(found.enabled ? { kind: "stop", via: "service" } : { kind: "stop", via: "postmulti", args: ["-i", arg, "-x", "postfix", "stop"] });
        tolerate.push(STILL_RUNNING);
      }
      if (found.enabled) {
        plan.ops.push({ kind: "disable", args: ["-i", arg, "-e", "disable"] });
        tolerate.push(STILL_ENABLED);
      }
      plan.ops.push({ kind: "destroy", args: ["-i", arg, "-e", "destroy"], ...(o.check && tolerate.length ? { tolerate } : {}) });
      return plan;
    }
    // enabled or disabled: the instance is to exist.
    if (needsInit && init === null) init = { forIndex: index };
    // --check before init: postmulti refuses every edit until init has really run.
    const pendingInit = o.check && needsInit;
    const pm = (kind: PostmultiOp["kind"], args: string[], predicted = false): PostmultiOp => ({
      kind,
      args,
      ...(pendingInit && !predicted ? { tolerate: NOT_INITIALISED } : {}),
      ...(predicted ? { predicted } : {}),
    });
    if (!found) {
      const group = d.group !== undefined && d.group !== "-" ? d.group : undefined;
      const args = ["-I", d.name, ...(group !== undefined ? ["-G", group] : []), "-e", "create"];
      plan.ops.push(pm("create", args));
      // --check: the agent answers for the instance as this create would make it.
      const newInstance = group !== undefined ? { group } : {};
      if (hasSettings(d.settings)) plan.ops.push({ kind: "settings", settings: d.settings, ...(o.check ? { newInstance } : {}) });
      // A created instance is disabled: only "enabled" needs a step.
      if (d.state === "enabled") plan.ops.push(pm("enable", ["-i", d.name, "-e", "enable"], o.check));
      return plan;
    }
    const arg = plan.arg;
    if (d.group !== undefined && d.group !== found.group)
      plan.ops.push(pm("assign", ["-i", arg, "-G", d.group, "-e", "assign"]));
    if (hasSettings(d.settings)) plan.ops.push({ kind: "settings", settings: d.settings });
    if (d.state === "enabled" && !found.enabled) plan.ops.push(pm("enable", ["-i", arg, "-e", "enable"]));
    if (d.state === "disabled") {
      if (found.running) plan.ops.push(found.enabled ? { kind: "stop", via: "service" } : { kind: "stop", via: "postmulti", args: ["-i", arg, "-x", "postfix", "stop"] });
      if (found.enabled) plan.ops.push(pm("disable", ["-i", arg, "-e", "disable"]));
    }
    return plan;
  }
}

/** multi_instance_directories after the plan (existing order, new ones appended): flag instances that start after later-listed ones. */
function noteOrder(current: readonly InstanceFacts[], plans: InstancePlan[]): void {
  const keep = plans.filter((p) => !p.refused && !p.primary && p.desired.state !== "absent");
  const absent = new Set(plans.filter((p) => p.desired.state === "absent").map((p) => p.name));
  const order = current.filter((i) => !i.primary && !absent.has(i.name)).map((i) => i.name);
  for (const p of keep) if (!order.includes(p.name)) order.push(p.name);
  keep.forEach((p, k) => {
    const later = keep.slice(k + 1).filter((q) => order.indexOf(q.name) < order.indexOf(p.name));
    if (later.length)
      p.orderNote = `starts after ${later.map((q) => q.name).join(", ")}, listed later (postmulti appends new instances to multi_instance_directories; this step does not reorder them)`;
  });
}

function predict(op: ConvergeOp): ConvergeOp {
  if (op.kind === "queue-check") return op;
  if (op.kind === "settings" || op.kind === "stop") return { ...op, predicted: true };
  return { kind: op.kind, args: op.args, predicted: true };
}

/** The plan as command-like lines, in execution order (for tests and --check listings). */
export function describePlan(plan: ConvergePlan): string[] {
  const out: string[] = [];
  if (plan.init) out.push(`postmulti ${INIT_ARGS.join(" ")}`);
  for (const p of plan.instances) {
    if (p.refused) {
      out.push(`refuse ${p.name}: ${p.refused}`);
      continue;
    }
    for (const op of p.ops) out.push(describeOp(p, op));
  }
  return out;
}

export function describeOp(p: Pick<InstancePlan, "arg">, op: ConvergeOp): string {
  const mark = "predicted" in op && op.predicted ? " (predicted)" : "";
  switch (op.kind) {
    case "settings":
      return `config ${p.arg}${op.newInstance ? " (as created)" : mark}`;
    case "queue-check":
      return `queue-check ${p.arg}`;
    case "stop":
      return (op.via === "service" ? `service stop ${p.arg}` : `postmulti ${op.args!.join(" ")}`) + mark;
    default:
      return `postmulti ${op.args.join(" ")}${mark}`;
  }
}

/**
 * The settings an instance not created yet would get, from its spec alone
 * (before: unknown, null). Only where the agent cannot be asked: instances an
 * earlier step's prediction holds, agents without ConfigRequest.newInstance.
 */
export function predictedChanges(spec: ConfigSpec): ParamChange[] {
  const out: ParamChange[] = [];
  for (const [name, value] of Object.entries(spec.main ?? {})) out.push({ file: "main.cf", name, before: null, after: value.trim() });
  for (const name of spec.mainAbsent ?? []) out.push({ file: "main.cf", name, before: null, after: null });
  for (const [key, entry] of Object.entries(spec.master ?? {})) {
    if (entry === null) {
      out.push({ file: "master.cf", name: key, before: null, after: null, kind: "entry" });
      continue;
    }
    for (const [field, value] of Object.entries(entry))
      out.push({ file: "master.cf", name: `${key}/${field}`, before: null, after: value === null ? null : value.trim(), kind: isField(field) ? "field" : "param" });
  }
  return out;
}

const isField = (n: string) => (MASTER_FIELDS as readonly string[]).includes(n);
