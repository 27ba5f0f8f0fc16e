// The `instances` step: converge one host's Postfix instances to the desired
// list (converge-plan.ts decides what to do; this runs it through the host's
// agent). Idempotent: on a converged host every operation is a no-op and each
// instance reports "unchanged". With --check every request is a dry run; the
// settings of an instance that does not exist yet are diffed by the agent
// against the files its create would give it (so --diff announces exactly
// what the real run then changes); its enable is reported, not asked. The first failed instance stops the step;
// later ones are reported skipped. postmulti's own rules (naming, enabled or
// running instances not destroyed) are never worked around.
//
// Transport failures (connection lost, hard stop) propagate to the engine, as
// in the other steps; an agent's refusal of one request fails that instance.
import type { ParamChange, PostmultiResponse } from "../../protocol/index.js";
import { AgentRequestError, buildCommand } from "../../transport/index.js";
import {
  describeOp,
  INIT_ARGS,
  planConverge,
  predictedChanges,
  type ConvergeOp,
  type InstancePlan,
  type PostmultiOp,
} from "./converge-plan.js";
import type { DesiredInstanceSpec } from "./step-model.js";
import type { InstanceStepResult } from "./step-results.js";
import type { StepContext } from "./step-context.js";

export interface ConvergeResult {
  /** One per desired instance, in the desired order. */
  results: InstanceStepResult[];
  /** Instances whose settings changed (or would, with --check), for `then:`; "-" is the primary. */
  changed: string[];
}

export const EARLIER_FAILED = "an earlier instance failed";

/** What one operation did, for the instance's result. */
interface OpOutcome {
  /** Words for `action`: "created", "3 settings", "enabled"… (infinitive under --check: "create"). */
  word?: string;
  changed: boolean;
  command?: string;
  changes?: ParamChange[];
  stdout?: string;
  stderr?: string;
  error?: string;
}

const PAST: Record<PostmultiOp["kind"], [done: string, would: string]> = {
  create: ["created", "create"],
  assign: ["assigned", "assign"],
  enable: ["enabled", "enable"],
  disable: ["disabled", "disable"],
  destroy: ["destroyed", "destroy"],
};

const settingsWord = (n: number, check: boolean) => `${check ? "change " : ""}${n} setting${n === 1 ? "" : "s"}`;

export async function convergeInstances(ctx: StepContext, desired: DesiredInstanceSpec[]): Promise<ConvergeResult> {
  const plan = planConverge(await ctx.facts(), desired, { check: ctx.check, predicted: (name) => ctx.predicted(name) });
  const results: InstanceStepResult[] = [];
  const changed: string[] = [];
  let stopReason: string | undefined;

  const before = stopped(ctx);
  if (before !== undefined) return { results: plan.instances.map((p) => skipped(p, before)), changed };

  let initOutcome: OpOutcome | undefined;
  if (plan.init) {
    const owner = plan.instances[plan.init.forIndex]!;
    const started = performance.now();
    ctx.doing(`postmulti -e init (for ${owner.name})`);
    initOutcome = await postmulti(ctx, { args: [...INIT_ARGS] });
    if (!ctx.check && initOutcome.changed) ctx.invalidateFacts();
    if (initOutcome.error) {
      for (const [i, p] of plan.instances.entries()) {
        if (i === plan.init.forIndex)
          results.push({
            instance: p.name,
            status: "failed",
            action: "multi-instance support not initialised",
            commands: [initOutcome.command!],
            error: `postmulti -e init failed: ${initOutcome.error}`,
            ...(initOutcome.stderr ? { stderr: initOutcome.stderr } : {}),
            durationMs: Math.round(performance.now() - started),
          });
        else results.push(skipped(p, "not attempted: postmulti -e init failed"));
      }
      return { results, changed };
    }
  }

  for (const [i, p] of plan.instances.entries()) {
    if (stopReason === undefined) stopReason = stopped(ctx);
    if (stopReason !== undefined) {
      results.push(skipped(p, stopReason));
      continue;
    }
    const pre = plan.init?.forIndex === i ? initOutcome : undefined;
    const r = await convergeOne(ctx, p, pre);
    results.push(r.result);
    if (r.settingsChanged) changed.push(p.name);
    if (r.result.status === "failed") stopReason = EARLIER_FAILED;
  }
  return { results, changed };
}

/** Why no further instance operation may start (first or second Ctrl-C), if so. */
function stopped(ctx: StepContext): string | undefined {
  return ctx.hardStop.aborted ? "the run was stopped" : ctx.interrupted();
}

function skipped(p: InstancePlan, why: string): InstanceStepResult {
  return { instance: p.name, status: "skipped", action: `not converged: ${why}`, durationMs: 0 };
}

async function convergeOne(ctx: StepContext, p: InstancePlan, init: OpOutcome | undefined): Promise<{ result: InstanceStepResult; settingsChanged: boolean }> {
  const started = performance.now();
  const result: InstanceStepResult = { instance: p.name, status: "ok", action: "unchanged", durationMs: 0 };
  const done = (settingsChanged = false) => {
    result.durationMs = Math.round(performance.now() - started);
    return { result, settingsChanged };
  };
  if (p.refused) {
    Object.assign(result, { status: "failed", action: "not converged", error: `${p.desired.name}: ${p.refused}` });
    return done();
  }
  const words: string[] = [];
  const commands: string[] = [];
  const changes: ParamChange[] = [];
  const out: string[] = [];
  const err: string[] = [];
  let anyChange = false;
  let settingsChanged = false;
  const record = (o: OpOutcome) => {
    if (o.command) commands.push(o.command);
    if (o.changes) changes.push(...o.changes);
    if (o.stdout) out.push(o.stdout);
    if (o.stderr) err.push(o.stderr);
    if (o.changed) anyChange = true;
    // A failed command may still have touched files (changed), but it did not do its job.
    if (o.changed && o.word && !o.error) words.push(o.word);
  };
  if (init) record({ ...init, word: ctx.check ? "initialise multi-instance support" : "multi-instance support initialised" });

  let unfinished: string | undefined;
  for (const [k, op] of p.ops.entries()) {
    const why = stopped(ctx);
    if (why !== undefined) {
      // Interrupted between two operations: not a failure; say what was left undone.
      unfinished = `not finished (${why}): ${p.ops.slice(k).map((x) => describeOp(p, x)).join(", ")} not done`;
      break;
    }
    ctx.doing(`${describeOp(p, op)} (instances step)`);
    const o = await runOp(ctx, p, op);
    record(o);
    if (op.kind === "settings" && o.changed) settingsChanged = true;
    // Instances added, removed, renamed, enabled, stopped: the cached facts are stale.
    if (!ctx.check && o.changed && op.kind !== "settings" && op.kind !== "queue-check") ctx.invalidateFacts();
    if (o.error) {
      result.status = "failed";
      result.error = o.error;
      break;
    }
  }
  if (result.status !== "failed" && anyChange) result.status = "changed";
  const did = words.length ? (ctx.check ? `would ${words.join(", ")}` : words.join(", ")) : "";
  if (result.status === "failed") {
    result.action = did ? `${did}; then failed` : "failed";
  } else if (did) {
    result.action = did;
  } else if (p.desired.state === "absent" && !p.exists) {
    result.action = "unchanged (absent)";
  }
  if (unfinished) result.action = words.length ? `${result.action}; ${unfinished}` : unfinished;
  if (p.orderNote && result.status !== "failed") result.action += `; note: ${p.orderNote}`;
  if (commands.length) result.commands = commands;
  if (changes.length) result.changes = changes;
  if (out.length) result.stdout = out.join("");
  if (err.length) result.stderr = err.join("");
  return done(settingsChanged);
}

async function runOp(ctx: StepContext, p: InstancePlan, op: ConvergeOp): Promise<OpOutcome> {
  switch (op.kind) {
    case "settings":
      return settings(ctx, p, op);
    case "queue-check":
      return queueCheck(ctx, p);
    case "stop":
      if (op.predicted) return { changed: true, word: "stop" };
      if (op.via === "postmulti") {
        // -x reports changes to files only: a stop that ran without error stopped the (running) instance.
        const o = await postmulti(ctx, { args: op.args! });
        return o.error ? o : { ...o, changed: true, word: ctx.check ? "stop" : "stopped" };
      }
      return serviceStop(ctx, p);
    default: {
      const [past, would] = PAST[op.kind];
      let word = ctx.check ? would : past;
      if (op.kind === "assign") word += ` to group ${op.args[op.args.indexOf("-G") + 1]}`;
      if (op.predicted) return { changed: true, word, command: buildCommand(["postmulti", ...op.args]) };
      const o = await postmulti(ctx, op);
      return o.changed ? { ...o, word } : o;
    }
  }
}

/** One postmulti request; a refusal listed in `op.tolerate` (--check only) counts as "would do". */
async function postmulti(ctx: StepContext, op: Pick<PostmultiOp, "args" | "tolerate">): Promise<OpOutcome> {
  const command = buildCommand(["postmulti", ...op.args]);
  let r: PostmultiResponse;
  try {
    r = await ctx.session.request({ op: "postmulti", args: op.args, dryRun: ctx.check, timeoutMs: ctx.opTimeoutMs }, { signal: ctx.hardStop });
  } catch (e) {
    if (e instanceof AgentRequestError) return { changed: false, command, error: `${command}: ${e.agentError.message}` };
    throw e;
  }
  const stdout = r.results.map((x) => x.stdout).join("") + (r.stdout ?? "");
  const stderr = [...r.results.map((x) => x.stderr), ...r.warnings.map((w) => `postmulti: warning: ${w}\n`)].join("");
  const o: OpOutcome = { command, changed: r.changed, ...(stdout ? { stdout } : {}), ...(stderr ? { stderr } : {}) };
  const failed = r.error !== undefined || r.exitCode !== 0;
  if (!failed) return o;
  const message = r.error?.message ?? lastLine(stderr) ?? `exit status ${r.exitCode}`;
  if (ctx.check && op.tolerate?.some((t) => message.includes(t))) return { command, changed: true };
  return { ...o, error: `${command}: ${message}` };
}

/** Said when the agent cannot simulate a new instance (older agents answer "No instance named ..."). */
export const FROM_SPEC_ONLY = "from the spec alone: this host's agent cannot simulate a new instance, so settings the create already gives are counted too";

async function settings(ctx: StepContext, p: InstancePlan, op: Extract<ConvergeOp, { kind: "settings" }>): Promise<OpOutcome> {
  const spec = op.settings;
  const fromSpec = (why?: string): OpOutcome => {
    const changes = predictedChanges(spec);
    return { changed: changes.length > 0, changes, word: settingsWord(changes.length, true) + (why ? ` (${why})` : "") };
  };
  if (op.predicted) return fromSpec();
  let r;
  try {
    r = await ctx.session.request(
      { op: "config", instance: p.arg, set: spec, dryRun: ctx.check, ...(ctx.check && op.newInstance ? { newInstance: op.newInstance } : {}) },
      { signal: ctx.hardStop },
    );
  } catch (e) {
    if (e instanceof AgentRequestError) return { changed: false, error: `settings of ${p.name}: ${e.agentError.message}` };
    throw e;
  }
  if (r.error?.code === "not-found" && op.newInstance && ctx.check) return fromSpec(FROM_SPEC_ONLY);
  if (r.error) return { changed: false, changes: r.changes, error: `settings of ${p.name}: ${r.error.message}` };
  const n = r.changes.length;
  return { changed: n > 0, changes: r.changes, ...(n ? { word: settingsWord(n, ctx.check) } : {}) };
}

/** postmulti(1): an instance to destroy must have empty queues; destroy itself only warns and leaves the mail behind. */
async function queueCheck(ctx: StepContext, p: InstancePlan): Promise<OpOutcome> {
  const f = await ctx.session.request({ op: "facts", queues: true }, { signal: ctx.hardStop });
  if (f.error) return { changed: false, error: `cannot read ${p.name}'s queues: ${f.error.message}` };
  const inst = f.instances.find((i) => i.name === p.arg || (p.arg === "-" && i.primary));
  if (!inst) return { changed: false };
  if (inst.queueError) return { changed: false, error: `${p.name} is not destroyed: whether its queue is empty cannot be told (${inst.queueError}); nothing was touched` };
  const held = Object.entries(inst.queues ?? {}).filter(([, n]) => n > 0);
  if (held.length === 0) return { changed: false };
  const total = held.reduce((s, [, n]) => s + n, 0);
  return {
    changed: false,
    error: `${p.name} is not destroyed: its queue still holds ${total} message${total === 1 ? "" : "s"} (${held.map(([q, n]) => `${q} ${n}`).join(", ")}); nothing was touched: deliver or move the mail first`,
  };
}

async function serviceStop(ctx: StepContext, p: InstancePlan): Promise<OpOutcome> {
  let r;
  try {
    r = await ctx.session.request({ op: "service", instance: p.arg, action: "stop", dryRun: ctx.check, timeoutMs: ctx.opTimeoutMs }, { signal: ctx.hardStop });
  } catch (e) {
    if (e instanceof AgentRequestError) return { changed: false, error: `stop ${p.name}: ${e.agentError.message}` };
    throw e;
  }
  const command = r.command ? buildCommand(r.command) : undefined;
  const o: OpOutcome = {
    changed: r.changed,
    ...(command ? { command } : {}),
    ...(r.stdout ? { stdout: r.stdout } : {}),
    ...(r.stderr ? { stderr: r.stderr } : {}),
    ...(r.changed ? { word: ctx.check ? "stop" : "stopped" } : {}),
  };
  if (r.error || r.exitCode !== 0) return { ...o, error: `stop ${p.name}: ${r.error?.message ?? `${command ?? "stop"} exited with status ${r.exitCode}`}` };
  return o;
}

function lastLine(s: string): string | undefined {
  return s.trim().split("\n").pop()?.trim() || undefined;
}
